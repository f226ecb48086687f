/**
 * The workload model shared by the load test (`bench/loadtest.ts`, which sends it over HTTP) and
 * the simulator (`bench/simulate.ts`, which replays it through the cache library with a manual
 * clock). One seeded generator yields the same request sequence in both, so what the simulator
 * predicts and what the load test measures differ only by what the real system adds.
 *
 * - The world follows the seed's rules (src/app/db/seed.ts): user u is in guild ceil(u/50) and
 *   chat ceil(u/20); ~0.2 jobs per user, half of them open; 40 messages per chat.
 * - Requested ids (profiles, guilds, jobs, job-board pages) are Zipf-distributed over 1..N
 *   (`zipf` = the exponent s; 0 = uniform), id 1 the most popular.
 * - The acting user is drawn uniformly from a pool of logged-in sessions; "own" data (wallet,
 *   notifications, chat, guild roster) is the actor's.
 * - Each operation names the cache keys its route reads (in the order the route reads them; the
 *   last one sets `X-Cache`) and the keys / tags its write invalidates, mirroring
 *   src/app/cache-policy.ts and the domain services.
 */
import { CacheKeys } from '../src/cache/index.ts';
import { CACHE_TAGS, CACHE_TTL, GUILD_MEMBERS_LIMIT, LEADERBOARD_CACHED_ENTRIES, MAX_PAGE, PAGE_SIZE, type CachedKind } from '../src/app/cache-policy.ts';
import { MESSAGES_PER_CHAT, USERS_PER_CHAT, USERS_PER_GUILD } from '../src/app/db/seed.ts';
import { createRng, ZipfSampler } from './workload/random.ts';

export { createRng, ZipfSampler, type Rng } from './workload/random.ts';

// ---------------------------------------------------------------------------------------------
// The world

/** Jobs per user in the seed (seed.ts: JOBS_PER_USER). The load test checks it against the database. */
export const SEED_JOBS_PER_USER = 0.2;

export type JobStatus = 'open' | 'closed' | 'completed';

/** A job a pooled session owns and may edit (never a completed one: those refuse edits). */
export interface OwnedJob {
  jobId: number;
  status: Exclude<JobStatus, 'completed'>;
  /** Index of its owner in `World.sessionUsers`. */
  session: number;
}

export interface World {
  users: number;
  guilds: number;
  chats: number;
  jobs: number;
  openJobs: number;
  /** Pages of the open-jobs board that requests are spread over (1..MAX_PAGE). */
  openJobPages: number;
  /** User id of each logged-in session (the demo user is never in the pool: it has another password). */
  sessionUsers: number[];
  ownedJobs: OwnedJob[];
}

export function guildOf(userId: number): number {
  return Math.ceil(userId / USERS_PER_GUILD);
}

export function chatOf(userId: number): number {
  return Math.ceil(userId / USERS_PER_CHAT);
}

export function seededJobCount(users: number): number {
  return Math.max(1, Math.round(users * SEED_JOBS_PER_USER));
}

/** `sessions` distinct users out of 2..users, drawn with the seeded RNG. */
export function drawSessionUsers(users: number, sessions: number, seed: number): number[] {
  const pool = users - 1;
  if (pool < 1) throw new RangeError('the session pool needs at least 2 users (user 1 is the demo account)');
  const count = Math.min(sessions, pool);
  const rng = createRng(seed ^ 0x5e55);
  if (count * 4 < pool) {
    const picked = new Set<number>();
    while (picked.size < count) picked.add(2 + Math.floor(rng() * pool));
    return [...picked];
  }
  // Partial Fisher-Yates over 2..users.
  const ids = new Int32Array(pool);
  for (let i = 0; i < pool; i++) ids[i] = i + 2;
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng() * (pool - i));
    const t = ids[i] as number;
    ids[i] = ids[j] as number;
    ids[j] = t;
  }
  return Array.from(ids.subarray(0, count));
}

/**
 * A world with the seed's shape and no database: job owners and statuses are drawn with the
 * seed's distribution (owner uniform, jobs 1-3 the demo user's; 50 % open, 25 % closed,
 * 25 % completed). The load test builds its world from the real database instead.
 */
export function syntheticWorld(users: number, sessions: number, seed: number): World {
  const jobs = seededJobCount(users);
  const sessionUsers = drawSessionUsers(users, sessions, seed);
  const sessionIndex = new Map<number, number>();
  sessionUsers.forEach((u, i) => sessionIndex.set(u, i));
  const rng = createRng(seed ^ 0x10b5);
  const ownedJobs: OwnedJob[] = [];
  let openJobs = 0;
  for (let j = 1; j <= jobs; j++) {
    const owner = j <= 3 ? 1 : 1 + Math.floor(rng() * users);
    const r = rng();
    const status: JobStatus = r < 0.5 ? 'open' : r < 0.75 ? 'closed' : 'completed';
    if (status === 'open') openJobs++;
    const session = sessionIndex.get(owner);
    if (session !== undefined && status !== 'completed') ownedJobs.push({ jobId: j, status, session });
  }
  return worldFrom({ users, jobs, openJobs, sessionUsers, ownedJobs });
}

export function worldFrom(w: { users: number; jobs: number; openJobs: number; sessionUsers: number[]; ownedJobs: OwnedJob[] }): World {
  return {
    users: w.users,
    guilds: Math.ceil(w.users / USERS_PER_GUILD),
    chats: Math.ceil(w.users / USERS_PER_CHAT),
    jobs: w.jobs,
    openJobs: w.openJobs,
    openJobPages: Math.min(MAX_PAGE, Math.max(1, Math.ceil(w.openJobs / PAGE_SIZE.jobs))),
    sessionUsers: w.sessionUsers,
    ownedJobs: w.ownedJobs,
  };
}

// ---------------------------------------------------------------------------------------------
// Operations

export const READ_OPS = ['profile', 'guild', 'guildMembers', 'jobList', 'job', 'leaderboard', 'walletBalance', 'chatPage', 'notifications'] as const;
export const WRITE_OPS = ['profileEdit', 'message', 'transaction', 'jobUpdate'] as const;
export type ReadOp = (typeof READ_OPS)[number];
export type WriteOp = (typeof WRITE_OPS)[number];
export type OpName = ReadOp | WriteOp;
export const OPS: readonly OpName[] = [...READ_OPS, ...WRITE_OPS];

export function isReadOp(op: OpName): op is ReadOp {
  return (READ_OPS as readonly string[]).includes(op);
}

/** What each operation is, for reports. */
export const OP_LABEL: Record<OpName, string> = {
  profile: 'GET /users/:id',
  guild: 'GET /guilds/:id',
  guildMembers: 'GET /guilds/:id/members (own guild)',
  jobList: 'GET /jobs?status=open&page=N',
  job: 'GET /jobs/:id',
  leaderboard: 'GET /leaderboards/:type',
  walletBalance: 'GET /wallets/:me/balance',
  chatPage: 'GET /chats/:mine/messages',
  notifications: 'GET /notifications',
  profileEdit: 'PATCH /users/:me (bio)',
  message: 'POST /chats/:mine/messages',
  transaction: 'POST /wallets/:me/transactions (debit)',
  jobUpdate: 'PATCH /jobs/:id (owner, title)',
};

/**
 * The default mix, in percent of all requests: 95 % reads, 5 % writes. `writeRatio` rescales
 * the two groups and keeps the proportions inside each.
 */
export const DEFAULT_MIX: Record<OpName, number> = {
  profile: 20,
  guild: 8,
  guildMembers: 7,
  jobList: 10,
  job: 12,
  leaderboard: 8,
  walletBalance: 10,
  chatPage: 12,
  notifications: 8,
  profileEdit: 1.5,
  message: 1,
  transaction: 1.5,
  jobUpdate: 1,
};

export const DEFAULT_WRITE_RATIO = 0.05;

export function mixWeights(writeRatio: number): Record<OpName, number> {
  if (!(writeRatio >= 0 && writeRatio <= 1)) throw new RangeError(`write ratio must be in [0, 1], got ${writeRatio}`);
  const readSum = READ_OPS.reduce((s, op) => s + DEFAULT_MIX[op], 0);
  const writeSum = WRITE_OPS.reduce((s, op) => s + DEFAULT_MIX[op], 0);
  const out = {} as Record<OpName, number>;
  for (const op of READ_OPS) out[op] = (DEFAULT_MIX[op] / readSum) * (1 - writeRatio);
  for (const op of WRITE_OPS) out[op] = (DEFAULT_MIX[op] / writeSum) * writeRatio;
  return out;
}

/** TTL per cached kind in seconds (cache-policy.ts unless overridden), plus the session TTL. */
export type TtlTable = Record<CachedKind, number>;

export const SESSION_TTL_SECONDS = 86_400;

export function defaultTtls(): TtlTable {
  return { ...CACHE_TTL, session: SESSION_TTL_SECONDS };
}

/**
 * `--ttl` overrides: `300` sets every kind (sessions excepted), `userProfile=60,guild=600` sets
 * some. Unknown kinds are an error.
 */
export function parseTtlOverrides(text: string | undefined, base: TtlTable = defaultTtls()): TtlTable {
  const out = { ...base };
  if (text === undefined || text === '') return out;
  const positive = (v: string, what: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${what}: TTL must be a positive number of seconds, got ${JSON.stringify(v)}`);
    return n;
  };
  if (/^[\d.]+$/.test(text)) {
    const n = positive(text, '--ttl');
    for (const k of Object.keys(out) as CachedKind[]) if (k !== 'session') out[k] = n;
    return out;
  }
  for (const part of text.split(',')) {
    const [name, value] = part.split('=');
    if (name === undefined || value === undefined || !(name in out)) {
      throw new RangeError(`--ttl: expected kind=seconds with kind one of ${Object.keys(out).join(', ')}, got ${JSON.stringify(part)}`);
    }
    out[name as CachedKind] = positive(value, `--ttl ${name}`);
  }
  return out;
}

/** One cache read a route makes. */
export interface KeyRead {
  kind: CachedKind;
  key: string;
  /** The tag whose invalidation removes this key, if any (`chat:7:messages`, `jobs:open`: CACHE_TAGS). */
  group: string | undefined;
  /** Rows the database returns when this key is fetched (an estimate from the seed's shape). */
  rows: number;
}

export interface TraceRequest {
  /** Sequence number, from 0. */
  i: number;
  /** Scheduled send time, ms from the start of the run. */
  atMs: number;
  op: OpName;
  /** Index of the acting session in `World.sessionUsers`; -1 for public routes. */
  session: number;
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  body: Record<string, unknown> | undefined;
  /** Cache reads of the route, in order; the last one sets X-Cache. Empty for writes. */
  reads: KeyRead[];
  /** Keys the write deletes after its commit. */
  invalidates: string[];
  /** Tags the write invalidates: every key read under them. */
  tags: string[];
  /** Rows a write statement returns (RETURNING, locks): counted by the database read counter too. */
  writeRows: number;
}

export interface WorkloadOptions {
  world: World;
  /** Zipf exponent of requested ids. Default 0.99. */
  zipf?: number;
  writeRatio?: number;
  seed?: number;
  ttls?: TtlTable;
}

/** Expected members of guild g (cap GUILD_MEMBERS_LIMIT): its 50 plus the skewed second-guild joins (seed.ts). */
export function expectedGuildMembers(world: World, g: number): number {
  const own = Math.max(0, Math.min(USERS_PER_GUILD, world.users - (g - 1) * USERS_PER_GUILD));
  const share = Math.sqrt(g / world.guilds) - Math.sqrt((g - 1) / world.guilds);
  return Math.min(GUILD_MEMBERS_LIMIT, Math.round(own + 0.2 * world.users * share));
}

/** Rows of the session lookup and of each write, as the domain queries return them. */
export const SESSION_ROWS = 1;
export const WRITE_ROWS: Readonly<Record<WriteOp, number>> = { profileEdit: 1, message: 1, transaction: 2, jobUpdate: 2 };
/** notifications: 3 rows + the unread count row. */
export const NOTIFICATION_ROWS = 4;
/** Routes that send no session (their requests carry session -1). */
export const PUBLIC_OPS: ReadonlySet<OpName> = new Set<OpName>(['leaderboard']);
/** Share of leaderboard requests for the global board (the rest: weekly). */
export const GLOBAL_LEADERBOARD_SHARE = 0.7;

/** Rows of page p of the open-jobs board: a page and the look-ahead row, fewer at the end. */
export function jobPageRows(world: World, p: number): number {
  return Math.max(0, Math.min(PAGE_SIZE.jobs + 1, world.openJobs - (p - 1) * PAGE_SIZE.jobs));
}

/** Rows of a chat's first page after `posted` messages beyond the seed's: a page and the look-ahead row. */
export function chatPageRows(posted: number): number {
  return Math.min(PAGE_SIZE.chatMessages + 1, MESSAGES_PER_CHAT + posted);
}

// One object literal per request, no spreads: a day of traffic is a million of them.
function getRequest(i: number, atMs: number, op: OpName, session: number, path: string, reads: KeyRead[]): TraceRequest {
  return { i, atMs, op, session, method: 'GET', path, body: undefined, reads, invalidates: [], tags: [], writeRows: 0 };
}

function writeRequest(
  i: number,
  atMs: number,
  op: WriteOp,
  session: number,
  method: 'POST' | 'PATCH',
  path: string,
  body: Record<string, unknown>,
  invalidates: string[],
  tags: string[],
): TraceRequest {
  return { i, atMs, op, session, method, path, body, reads: [], invalidates, tags, writeRows: WRITE_ROWS[op] };
}

export interface Workload {
  readonly world: World;
  readonly weights: Record<OpName, number>;
  readonly ttls: TtlTable;
  /** The next request; `atMs` is set by the caller's schedule. */
  next(atMs: number): TraceRequest;
}

export function createWorkload(opts: WorkloadOptions): Workload {
  const world = opts.world;
  const s = opts.zipf ?? 0.99;
  const rng = createRng(opts.seed ?? 1);
  const weights = mixWeights(opts.writeRatio ?? DEFAULT_WRITE_RATIO);
  const ttls = opts.ttls ?? defaultTtls();
  if (world.sessionUsers.length === 0) throw new RangeError('the workload needs at least one session');
  const users = new ZipfSampler(world.users, s, rng);
  const guilds = new ZipfSampler(world.guilds, s, rng);
  const jobs = new ZipfSampler(world.jobs, s, rng);
  const pages = new ZipfSampler(world.openJobPages, s, rng);
  const cumulative: Array<[OpName, number]> = [];
  let acc = 0;
  for (const op of OPS) {
    acc += weights[op];
    cumulative.push([op, acc]);
  }
  /** Messages per chat beyond the seed's, so the page's row count follows the posts. */
  const posted = new Map<number, number>();
  let i = 0;

  const pickOp = (): OpName => {
    const u = rng() * acc;
    for (const [op, c] of cumulative) if (u < c) return op;
    return OPS[OPS.length - 1] as OpName;
  };
  const read = (kind: CachedKind, key: string, rows: number, group?: string): KeyRead => ({ kind, key, group, rows });

  return {
    world,
    weights,
    ttls,
    next(atMs: number): TraceRequest {
      let op = pickOp();
      const session = Math.floor(rng() * world.sessionUsers.length);
      if (op === 'jobUpdate' && world.ownedJobs.length === 0) op = 'profileEdit';
      const me = world.sessionUsers[session] as number;
      const seq = i++;
      // No helper closures here: built per request (and wrapped by tsx's keepNames), they were a
      // visible share of the simulator's time.
      switch (op) {
        case 'profile': {
          const id = users.sample();
          return getRequest(seq, atMs, op, session, `/users/${id}`, [read('userProfile', CacheKeys.userProfile(id), 1)]);
        }
        case 'guild': {
          const id = guilds.sample();
          return getRequest(seq, atMs, op, session, `/guilds/${id}`, [read('guild', CacheKeys.guild(id), 1)]);
        }
        case 'guildMembers': {
          const id = guildOf(me);
          return getRequest(seq, atMs, op, session, `/guilds/${id}/members`, [read('guildMembers', CacheKeys.guildMembers(id), expectedGuildMembers(world, id))]);
        }
        case 'jobList': {
          const p = pages.sample();
          return getRequest(seq, atMs, op, session, `/jobs?status=open&page=${p}`, [read('jobList', CacheKeys.jobList('open', p), jobPageRows(world, p), CACHE_TAGS.jobList('open'))]);
        }
        case 'job': {
          const id = jobs.sample();
          return getRequest(seq, atMs, op, session, `/jobs/${id}`, [read('job', CacheKeys.job(id), 1)]);
        }
        case 'leaderboard': {
          const type = rng() < GLOBAL_LEADERBOARD_SHARE ? 'global' : 'weekly';
          const limit = [10, 25, 50, 100][Math.floor(rng() * 4)] ?? 10;
          return getRequest(seq, atMs, op, -1, `/leaderboards/${type}?limit=${limit}`, [read('leaderboard', CacheKeys.leaderboard(type), LEADERBOARD_CACHED_ENTRIES)]);
        }
        case 'walletBalance':
          return getRequest(seq, atMs, op, session, `/wallets/${me}/balance`, [read('walletBalance', CacheKeys.walletBalance(me), 1)]);
        case 'chatPage': {
          const c = chatOf(me);
          const rows = chatPageRows(posted.get(c) ?? 0);
          return getRequest(seq, atMs, op, session, `/chats/${c}/messages?page=1`, [read('chat', CacheKeys.chat(c), 1), read('chatMessages', CacheKeys.chatMessages(c, 1), rows, CACHE_TAGS.chatMessages(c))]);
        }
        case 'notifications':
          return getRequest(seq, atMs, op, session, '/notifications', [read('notifications', CacheKeys.notifications(me), NOTIFICATION_ROWS)]);
        case 'profileEdit':
          // The bio only: a display-name change would also delete guild rosters and boards that
          // show the user, which depends on data the model does not hold.
          return writeRequest(seq, atMs, op, session, 'PATCH', `/users/${me}`, { bio: `Load test edit ${seq}` }, [CacheKeys.userProfile(me)], []);
        case 'message': {
          const c = chatOf(me);
          posted.set(c, (posted.get(c) ?? 0) + 1);
          return writeRequest(seq, atMs, op, session, 'POST', `/chats/${c}/messages`, { body: `load test message ${seq}` }, [], [CACHE_TAGS.chatMessages(c)]);
        }
        case 'transaction':
          // A debit: owners can no longer credit themselves (issue 16). Small amounts, so a pooled
          // user's seeded balance (at least ~500) lasts any realistic run without a 409.
          return writeRequest(seq, atMs, op, session, 'POST', `/wallets/${me}/transactions`, { type: 'debit', amount: 1 + Math.floor(rng() * 10) }, [CacheKeys.walletBalance(me)], []);
        case 'jobUpdate': {
          const owned = world.ownedJobs[Math.floor(rng() * world.ownedJobs.length)] as OwnedJob;
          // Title only: the status stays, so the job never becomes completed (which refuses edits
          // and would move the leaderboards), and no money moves (a reward change now moves the
          // escrow hold and could fail for want of funds). The owner's session sends it.
          return writeRequest(seq, atMs, op, owned.session, 'PATCH', `/jobs/${owned.jobId}`, { title: `Load test job edit ${seq}` }, [CacheKeys.job(owned.jobId)], [CACHE_TAGS.jobList(owned.status)]);
        }
      }
    },
  };
}

/** Requests of a fixed-rate open-loop schedule: request k is due at k / rate seconds. */
export function scheduleMs(k: number, ratePerSecond: number): number {
  return (k * 1000) / ratePerSecond;
}

/** The whole trace of a run: `rate` requests/s for `durationSeconds`. */
export function* trace(workload: Workload, ratePerSecond: number, durationSeconds: number): Generator<TraceRequest> {
  const total = Math.floor(ratePerSecond * durationSeconds);
  for (let k = 0; k < total; k++) yield workload.next(scheduleMs(k, ratePerSecond));
}
