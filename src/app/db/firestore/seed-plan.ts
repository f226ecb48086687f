/**
 * What the Firestore seed (seed.ts) writes, decided before anything is written: the seeded
 * PRNG streams and word lists its values come from, and the plan (memberships, jobs, funded
 * holds) whose totals the seed reports and checks. Pure: no Firestore here.
 */
import { MESSAGES_PER_CHAT, USERS_PER_CHAT, USERS_PER_GUILD } from '../seed.ts';
import { BOARD_TYPES, type GuildRole, type JobStatus } from './model.ts';

export const JOBS_PER_USER = 0.2;

/** Documents written per collection (subcollections by their model name). */
export const SEEDED_COLLECTIONS = [
  'users',
  'usersByEmail',
  'userGuilds',
  'guilds',
  'guildMembers',
  'jobs',
  'wallets',
  'ledger',
  'chats',
  'chatMembers',
  'messages',
  'notifications',
  'scores',
  'counters',
] as const;
export type SeededCollection = (typeof SEEDED_COLLECTIONS)[number];
export type FirestoreSeedSummary = Record<SeededCollection, number>;

// ---------------------------------------------------------------------------------------------
// Deterministic values
// ---------------------------------------------------------------------------------------------

/** mulberry32: small, fast, good enough for test data; same seed, same sequence. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One independent stream per phase, so changing one phase does not reshuffle the others. */
export function streamFor(phase: string): () => number {
  let h = 0x4242;
  for (const c of phase) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return prng(h);
}

export const FIRST_NAMES = ['Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'Edsger', 'Radia', 'Donald', 'Sophie', 'Tim', 'Hedy', 'John', 'Katherine', 'Guido', 'Anita', 'Bjarne'] as const;
export const LAST_NAMES = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson', 'Allen', 'Dijkstra', 'Perlman', 'Knuth', 'Wilson', 'Berners-Lee', 'Lamarr', 'McCarthy', 'Johnson', 'van Rossum', 'Borg', 'Stroustrup'] as const;
export const BIOS = ['Backend developer. Coffee first.', 'Building things that scale.', 'Guild raider on weekends.', 'Open source contributor.', 'Looking for interesting jobs.', 'Cache invalidation enthusiast.', 'Here for the leaderboard.', 'Writes SQL for fun.'] as const;
export const ADJECTIVES = ['Iron', 'Silver', 'Crimson', 'Silent', 'Golden', 'Shadow', 'Azure', 'Wild', 'Ancient', 'Frozen'] as const;
export const NOUNS = ['Wolves', 'Dragons', 'Coders', 'Knights', 'Owls', 'Ravens', 'Builders', 'Titans', 'Foxes', 'Pioneers'] as const;
export const JOB_TITLES = ['Fix flaky test', 'Write API docs', 'Design landing page', 'Migrate database', 'Review pull request', 'Build CSV export', 'Tune slow query', 'Translate UI strings', 'Set up CI pipeline', 'Add rate limiting'] as const;
export const MESSAGES = ['hey all', 'anyone up for a raid tonight?', 'pushed the fix, please review', 'lol', 'who took the last job?', 'gg', 'meeting in 5', 'thanks!', 'see you tomorrow', 'new leaderboard season started'] as const;
export const NOTIFICATIONS = ['Your job received a new application', 'You were mentioned in a chat', 'Your wallet was credited', 'A guild member joined', 'Weekly scores were reset'] as const;

/** `list[i]`, for an index the caller keeps in range (noUncheckedIndexedAccess). */
export function at<T>(list: readonly T[], i: number): T {
  const v = list[((i % list.length) + list.length) % list.length];
  if (v === undefined) throw new Error('empty list');
  return v;
}
export const pick = <T>(list: readonly T[], rnd: () => number): T => at(list, Math.floor(rnd() * list.length));

export const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// The plan: the structural decisions, made before writing so totals are exact
// ---------------------------------------------------------------------------------------------

export interface PlannedJob {
  id: number;
  ownerId: number;
  status: JobStatus;
  reward: number;
  assigneeId: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface Plan {
  users: number;
  guilds: number;
  chats: number;
  messages: number;
  /** Second guild of user u (0: none). */
  secondGuild: Int32Array;
  /** Second chat of user u (0: none). */
  secondChat: Int32Array;
  memberCount: Int32Array;
  jobs: PlannedJob[];
  openJobsByOwner: Map<number, PlannedJob[]>;
  openFunded: number;
}

export const guildOf = (u: number): number => Math.floor((u - 1) / USERS_PER_GUILD) + 1;
export const chatOf = (u: number): number => Math.floor((u - 1) / USERS_PER_CHAT) + 1;
export const roleOf = (u: number): GuildRole => ((u - 1) % USERS_PER_GUILD === 0 ? 'owner' : (u - 1) % USERS_PER_GUILD < 3 ? 'officer' : 'member');

export function makePlan(users: number, nowMs: number): Plan {
  const guilds = Math.ceil(users / USERS_PER_GUILD);
  const chats = Math.ceil(users / USERS_PER_CHAT);
  const secondGuild = new Int32Array(users + 1);
  const secondChat = new Int32Array(users + 1);
  const memberCount = new Int32Array(guilds + 1);
  const rg = streamFor('plan:guilds');
  const rc = streamFor('plan:chats');
  for (let u = 1; u <= users; u++) {
    memberCount[guildOf(u)] = (memberCount[guildOf(u)] ?? 0) + 1;
    // One in five joins a second guild, skewed towards low ids so some guilds are popular.
    if (rg() < 0.2) {
      const g = 1 + Math.floor(rg() ** 2 * guilds);
      if (g !== guildOf(u)) {
        secondGuild[u] = g;
        memberCount[g] = (memberCount[g] ?? 0) + 1;
      }
    }
    if (rc() < 0.1) {
      const c = 1 + Math.floor(rc() * chats);
      if (c !== chatOf(u)) secondChat[u] = c;
    }
  }
  const rj = streamFor('plan:jobs');
  const jobCount = Math.max(1, Math.round(users * JOBS_PER_USER));
  const jobs: PlannedJob[] = [];
  const openJobsByOwner = new Map<number, PlannedJob[]>();
  let openFunded = 0;
  for (let id = 1; id <= jobCount; id++) {
    const r = rj();
    const status: JobStatus = r < 0.5 ? 'open' : r < 0.75 ? 'closed' : 'completed';
    const ownerId = id <= 3 ? 1 : 1 + Math.floor(rj() * users);
    const createdAtMs = nowMs - Math.floor(rj() * 90 * DAY_MS);
    const reward = 10 * (1 + Math.floor(rj() * 500));
    // Another user than the owner (offset 1 .. users-1), none when there is only one user.
    const assigneeId = status !== 'open' && users > 1 ? 1 + ((ownerId + Math.floor(rj() * (users - 1))) % users) : null;
    const updatedAtMs = status === 'open' ? createdAtMs : createdAtMs + Math.floor(rj() * (nowMs - createdAtMs));
    const job: PlannedJob = { id, ownerId, status, reward, assigneeId, createdAtMs, updatedAtMs };
    jobs.push(job);
    if (status === 'open' && reward > 0) {
      const list = openJobsByOwner.get(ownerId) ?? [];
      list.push(job);
      openJobsByOwner.set(ownerId, list);
      openFunded++;
    }
  }
  return { users, guilds, chats, messages: chats * MESSAGES_PER_CHAT, secondGuild, secondChat, memberCount, jobs, openJobsByOwner, openFunded };
}

/** Documents each collection will receive. */
export function plannedCounts(p: Plan): FirestoreSeedSummary {
  let guildMembers = p.users;
  let chatMembers = p.users;
  for (let u = 1; u <= p.users; u++) {
    if (p.secondGuild[u] !== 0) guildMembers++;
    if (p.secondChat[u] !== 0) chatMembers++;
  }
  return {
    users: p.users,
    usersByEmail: p.users,
    userGuilds: guildMembers,
    guilds: p.guilds,
    guildMembers,
    jobs: p.jobs.length,
    wallets: p.users,
    ledger: p.users * 3 + p.openFunded * 2,
    chats: p.chats,
    chatMembers,
    messages: p.messages,
    notifications: p.users * 3,
    scores: p.users * BOARD_TYPES.length,
    counters: 7,
  };
}
