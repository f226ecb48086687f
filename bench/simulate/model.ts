/**
 * The steady-state hit rate of the workload (bench/workload.ts), computed instead of replayed:
 * what the simulator's tables show for traffic that would take minutes to replay. The headline
 * (bench/simulate.ts) stays the trace replayed through the library; the test
 * test/bench/simulate-model.test.ts checks this model against that replay cell by cell.
 *
 * ## Derivation
 *
 * One key. Its reads arrive at rate λ and its invalidations (a write's delete, or a pattern
 * delete covering it) at rate μ, both Poisson: the trace sends requests on a fixed schedule and
 * draws each one's operation and ids independently, so the requests touching one key are an
 * independent thinning of that schedule (geometric gaps, the memoryless discrete counterpart of
 * exponential ones), and one key is a small share of all requests. The memory store is sized
 * for every key (bench/simulate.ts, keyBound), so nothing is evicted: an entry ends only by its
 * TTL or by an invalidation.
 *
 * A miss at time 0 fetches and writes the entry with a TTL T that getOrSet jitters: T uniform on
 * T0·[1 − j, 1 + j]. The entry then serves until L = min(T, X), X ~ Exp(μ) the time to the next
 * invalidation. Every read in (0, L) is a hit; the first read after L is the next miss (a read
 * after the fresh TTL is a miss even while the value is kept for grace: getOrSet fetches). The
 * misses are the renewal points of the key's history: one cycle holds one miss and, the reads
 * being Poisson and independent of L, E[hits per cycle] = λ·E[L]. By the renewal-reward theorem
 * the long-run share of the key's reads that hit is
 *
 *     h = λ·E[L] / (1 + λ·E[L]),    E[L] = E_T[(1 − e^(−μT)) / μ]    (E[L] = T0 when μ = 0).
 *
 * With μ = 0 this is λT/(1 + λT), Che's approximation for a TTL cache that refetches on a miss
 * (exact here: with no eviction there is no characteristic time to approximate). Invalidation
 * by write shortens the entry's mean life from T to E[L]; nothing else changes. E_T is taken by
 * the midpoint rule over the jitter interval (the integrand is smooth and monotone in T).
 *
 * One operation. A read route's X-Cache is its last key's status, so the hit rate of operation
 * o is Σ_k P(k | o)·h_k over the keys it reads last, and the hit rate of the traffic is the mix's
 * weighted mean over read operations. With r requests/s, mix weight w(o) and S pooled sessions,
 * the keys and their rates mirror createWorkload:
 *
 * - profile: user k with Zipf probability z(k): λ = r·w(profile)·z(k); μ = r·w(profileEdit)/S if
 *   k is a session user (the demo user 1, the most requested, never is), else 0.
 * - guild: guild k, Zipf: λ = r·w(guild)·z(k); never invalidated.
 * - guildMembers: the actor's guild g: λ = r·w(guildMembers)·n_g/S, n_g its session users;
 *   never invalidated (profile edits change the bio only).
 * - jobList: open-jobs page k, Zipf: λ = r·w(jobList)·z(k); every page is deleted by the
 *   `jobs:open:*` pattern when an open job is edited: μ = r·w(jobUpdate)·(open share of the
 *   editable jobs).
 * - job: job k, Zipf: λ = r·w(job)·z(k); μ = r·w(jobUpdate)/E if k is one of the E editable
 *   jobs, else 0.
 * - leaderboard: the global board (share GLOBAL_LEADERBOARD_SHARE) or the weekly one; never
 *   invalidated.
 * - walletBalance: the actor's: λ = r·w(walletBalance)/S, μ = r·w(transaction)/S.
 * - chatPage: the actor's chat c; its last key is the first messages page: λ = r·w(chatPage)·n_c/S,
 *   μ = r·w(message)·n_c/S (a post deletes the chat's pages by pattern). The chat key read
 *   first counts for rows only.
 * - notifications: the actor's: λ = r·w(notifications)/S; never invalidated.
 *
 * Rows per request follow the same sums: a key's rows are read on each miss (1 − h_k) with the
 * cache and on each read without it; writes read their WRITE_ROWS either way. Session lookups
 * cost SESSION_ROWS without the cache and none with it: log-in writes the session through and
 * nothing deletes it (the trace replays them only in runs longer than the session TTL). A chat
 * page's rows grow with the messages posted to it: by time t, Poisson(μ_c·t) of them.
 *
 * What the model leaves out, where the replay can differ: the warm-up (the model is the limit
 * the replay approaches), a finite window's sampling noise, and the schedule's discreteness.
 */
import { resolveOptions } from '../../src/cache/options.ts';
import type { CachedKind } from '../../src/app/cache-policy.ts';
import { LEADERBOARD_CACHED_ENTRIES } from '../../src/app/cache-policy.ts';
import {
  chatOf,
  chatPageRows,
  defaultTtls,
  DEFAULT_WRITE_RATIO,
  expectedGuildMembers,
  GLOBAL_LEADERBOARD_SHARE,
  guildOf,
  jobPageRows,
  mixWeights,
  NOTIFICATION_ROWS,
  PUBLIC_OPS,
  READ_OPS,
  SESSION_ROWS,
  WRITE_OPS,
  WRITE_ROWS,
  ZipfSampler,
  type ReadOp,
  type TtlTable,
  type World,
} from '../workload.ts';

export interface ModelOptions {
  world: World;
  ratePerSecond: number;
  /** Zipf exponent of requested ids. Default 0.99, the workload's. */
  zipf?: number;
  /** Share of writes. Default DEFAULT_WRITE_RATIO (0.05). */
  writeRatio?: number;
  /** Default: cache-policy.ts's (defaultTtls()). */
  ttls?: TtlTable;
  /** TTL jitter of getOrSet's writes, a fraction. Default: the cache's default (0.1), which the replay uses. */
  jitter?: number;
  /** When chat pages' row counts are taken, seconds into the traffic (messages accumulate). Default 0. */
  atSeconds?: number;
}

export interface ModelResult {
  /** Percent of read requests answered HIT, in steady state. */
  hitRate: number;
  /** The same per read operation. */
  perOp: Record<ReadOp, number>;
  /** Database rows per request (all requests, writes included), with and without the cache. */
  rowsPerRequestWithCache: number;
  rowsPerRequestWithoutCache: number;
}

/** Mean life of an entry, seconds: E[min(T, X)] with T uniform on ttl·[1 − jitter, 1 + jitter] and X ~ Exp(μ). */
export function meanLifeSeconds(ttlSeconds: number, jitter: number, invalidationsPerSecond: number): number {
  const mu = invalidationsPerSecond;
  if (mu <= 0) return ttlSeconds;
  const points = jitter === 0 ? 1 : 16;
  let sum = 0;
  for (let i = 0; i < points; i++) {
    const t = ttlSeconds * (1 - jitter + (2 * jitter * (i + 0.5)) / points);
    sum += -Math.expm1(-mu * t) / mu;
  }
  return sum / points;
}

/** Long-run share of a key's reads that hit (see the derivation above). */
export function keyHitProbability(readsPerSecond: number, ttlSeconds: number, jitter: number, invalidationsPerSecond: number): number {
  const x = readsPerSecond * meanLifeSeconds(ttlSeconds, jitter, invalidationsPerSecond);
  return x / (1 + x);
}

/** E[min(cap, base + N)] for N ~ Poisson(mean), via Σ_{j < cap − base} P(N > j). */
function chatRowsAfterPosts(meanPosts: number): number {
  const base = chatPageRows(0);
  const room = chatPageRows(Number.MAX_SAFE_INTEGER) - base;
  let pmf = Math.exp(-meanPosts);
  let cdf = pmf;
  let rows = base;
  for (let j = 0; j < room; j++) {
    rows += Math.max(0, 1 - cdf);
    pmf *= meanPosts / (j + 1);
    cdf += pmf;
  }
  return rows;
}

/** Accumulates Σ P(key | op)·h and the rows, over one operation's keys. */
class OpSums {
  hit = 0;
  rowsWithCache = 0;
  rowsWithoutCache = 0;
  /** `last`: the key whose status is the route's X-Cache. */
  add(probability: number, hit: number, rows: number, last = true): void {
    if (last) this.hit += probability * hit;
    this.rowsWithCache += probability * (1 - hit) * rows;
    this.rowsWithoutCache += probability * rows;
  }
}

/** Per-index counts of the pooled sessions' users grouped by `of` (guild, chat), indices 1..n. */
function sessionsPer(world: World, n: number, of: (userId: number) => number): Float64Array {
  const counts = new Float64Array(n + 1);
  for (const u of world.sessionUsers) counts[of(u)] = (counts[of(u)] ?? 0) + 1;
  return counts;
}

/** The steady-state hit rate and rows per request of the workload through the cache (see the derivation above). */
export function steadyStateModel(opts: ModelOptions): ModelResult {
  const { world } = opts;
  const r = opts.ratePerSecond;
  const s = opts.zipf ?? 0.99;
  const ttls = opts.ttls ?? defaultTtls();
  const jitter = opts.jitter ?? resolveOptions().jitter;
  const at = opts.atSeconds ?? 0;
  const S = world.sessionUsers.length;
  if (S === 0) throw new RangeError('the model needs at least one session');
  const w = mixWeights(opts.writeRatio ?? DEFAULT_WRITE_RATIO);
  // createWorkload turns a job edit into a profile edit when no session owns an editable job.
  if (world.ownedJobs.length === 0) {
    w.profileEdit += w.jobUpdate;
    w.jobUpdate = 0;
  }
  const h = (kind: CachedKind, readsPerSecond: number, invalidationsPerSecond: number): number =>
    keyHitProbability(readsPerSecond, ttls[kind], jitter, invalidationsPerSecond);
  const zipf = (n: number): ZipfSampler => new ZipfSampler(n, s, () => 0);
  const sessionUser = new Uint8Array(world.users + 1);
  for (const u of world.sessionUsers) sessionUser[u] = 1;
  const sums = {} as Record<ReadOp, OpSums>;
  for (const op of READ_OPS) sums[op] = new OpSums();

  {
    const z = zipf(world.users);
    const mu = (r * w.profileEdit) / S;
    for (let k = 1; k <= world.users; k++) {
      const p = z.probability(k);
      sums.profile.add(p, h('userProfile', r * w.profile * p, sessionUser[k] === 1 ? mu : 0), 1);
    }
  }
  {
    const z = zipf(world.guilds);
    for (let k = 1; k <= world.guilds; k++) {
      const p = z.probability(k);
      sums.guild.add(p, h('guild', r * w.guild * p, 0), 1);
    }
  }
  {
    const perGuild = sessionsPer(world, world.guilds, guildOf);
    for (let g = 1; g <= world.guilds; g++) {
      const p = (perGuild[g] ?? 0) / S;
      if (p > 0) sums.guildMembers.add(p, h('guildMembers', r * w.guildMembers * p, 0), expectedGuildMembers(world, g));
    }
  }
  {
    const z = zipf(world.openJobPages);
    const openEditable = world.ownedJobs.filter((j) => j.status === 'open').length;
    const mu = world.ownedJobs.length === 0 ? 0 : (r * w.jobUpdate * openEditable) / world.ownedJobs.length;
    for (let k = 1; k <= world.openJobPages; k++) {
      const p = z.probability(k);
      sums.jobList.add(p, h('jobList', r * w.jobList * p, mu), jobPageRows(world, k));
    }
  }
  {
    const z = zipf(world.jobs);
    const edits = new Float64Array(world.jobs + 1);
    for (const j of world.ownedJobs) edits[j.jobId] = (edits[j.jobId] ?? 0) + 1;
    const muPerEdit = world.ownedJobs.length === 0 ? 0 : (r * w.jobUpdate) / world.ownedJobs.length;
    for (let k = 1; k <= world.jobs; k++) {
      const p = z.probability(k);
      sums.job.add(p, h('job', r * w.job * p, muPerEdit * (edits[k] ?? 0)), 1);
    }
  }
  for (const p of [GLOBAL_LEADERBOARD_SHARE, 1 - GLOBAL_LEADERBOARD_SHARE]) {
    sums.leaderboard.add(p, h('leaderboard', r * w.leaderboard * p, 0), LEADERBOARD_CACHED_ENTRIES);
  }
  // Own keys: every pooled session alike, each 1/S of the operation's requests.
  sums.walletBalance.add(1, h('walletBalance', (r * w.walletBalance) / S, (r * w.transaction) / S), 1);
  sums.notifications.add(1, h('notifications', (r * w.notifications) / S, 0), NOTIFICATION_ROWS);
  {
    const perChat = sessionsPer(world, world.chats, chatOf);
    for (let c = 1; c <= world.chats; c++) {
      const p = (perChat[c] ?? 0) / S;
      if (p === 0) continue;
      const postsPerSecond = r * w.message * p;
      sums.chatPage.add(p, h('chat', r * w.chatPage * p, 0), 1, false);
      sums.chatPage.add(p, h('chatMessages', r * w.chatPage * p, postsPerSecond), chatRowsAfterPosts(postsPerSecond * at));
    }
  }

  let readWeight = 0;
  let hitWeight = 0;
  let rowsWith = 0;
  let rowsWithout = 0;
  const perOp = {} as Record<ReadOp, number>;
  for (const op of READ_OPS) {
    const o = sums[op];
    perOp[op] = o.hit * 100;
    readWeight += w[op];
    hitWeight += w[op] * o.hit;
    rowsWith += w[op] * o.rowsWithCache;
    rowsWithout += w[op] * (o.rowsWithoutCache + (PUBLIC_OPS.has(op) ? 0 : SESSION_ROWS));
  }
  for (const op of WRITE_OPS) {
    rowsWith += w[op] * WRITE_ROWS[op];
    rowsWithout += w[op] * (WRITE_ROWS[op] + SESSION_ROWS);
  }
  return {
    hitRate: readWeight === 0 ? 0 : (hitWeight / readWeight) * 100,
    perOp,
    rowsPerRequestWithCache: rowsWith,
    rowsPerRequestWithoutCache: rowsWithout,
  };
}
