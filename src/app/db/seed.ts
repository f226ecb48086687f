/**
 * Bulk seed of a realistic data set, generated inside the database: each statement is an
 * `INSERT ... SELECT` over `generate_series` for a range of ids, so no row crosses the
 * wire and 100K users take seconds. Everything runs in one transaction (all or nothing,
 * and a second process seeding at the same time waits, then refuses).
 *
 * Shape for N users: user 1 is the demo account; every user belongs to guild
 * ceil(u / 50) (its first user owns it) and chat ceil(u / 20), and some join a second
 * one; ~0.2 jobs, 1 wallet with 3 transactions (+2 per open job it owns: the operator's
 * funding and the job's hold), 3 notifications and 2 scores per user;
 * 40 messages per chat. random() is seeded, so the same N gives the same data.
 */
import type { Database, DbTx } from './database.ts';
import { SeedError } from './errors.ts';
import { hashPassword } from './passwords.ts';

/** The account documented for people trying the backend by hand. Always user id 1. */
export const DEMO_USER = { id: 1, email: 'demo@example.com', password: 'demo1234', displayName: 'Demo User' } as const;

/**
 * SEED DATA ONLY: the password of every seeded user except the demo user (user N logs in
 * as `user{N}@example.com` with it). One scrypt hash takes ~40 ms, so hashing 100K
 * passwords would take over an hour: the seed hashes this one once and reuses the hash.
 */
export const LOADTEST_PASSWORD = 'loadtest-password';

export const USERS_PER_GUILD = 50;
export const USERS_PER_CHAT = 20;
export const MESSAGES_PER_CHAT = 40;
const JOBS_PER_USER = 0.2;

export type SeedPhase =
  | 'users'
  | 'guilds'
  | 'guild_members'
  | 'jobs'
  | 'wallets'
  | 'chats'
  | 'chat_members'
  | 'chat_messages'
  | 'notifications'
  | 'scores'
  | 'finish';

export interface SeedProgress {
  phase: SeedPhase;
  /** Batches done so far, over all phases. */
  done: number;
  /** Batches in the whole seed. */
  total: number;
}

export interface SeedOptions {
  /** Users to create, the demo user included (integer >= 1). */
  users: number;
  /** Called after every batch; keep it cheap (it runs inside the seed transaction). */
  onProgress?: (progress: SeedProgress) => void;
  /** Ids per INSERT statement. Default 10 000: big enough to be fast, small enough to stay far below statement_timeout. */
  batchSize?: number;
  /**
   * User 1 is the demo account (`DEMO_USER`, published password). Default true, for
   * development and tests; false makes user 1 an ordinary seeded user (`user1@example.com`).
   * Never true for a production database: the bulk seed script turns it on only on request,
   * and refuses it when NODE_ENV=production.
   */
  demoAccount?: boolean;
}

/** Every table the seed fills. */
export const SEEDED_TABLES = [
  'users',
  'guilds',
  'guild_members',
  'jobs',
  'wallets',
  'wallet_transactions',
  'chats',
  'chat_members',
  'chat_messages',
  'notifications',
  'scores',
] as const;

/** Rows in each table after the seed. */
export type SeedSummary = Record<(typeof SEEDED_TABLES)[number], number>;

const DOMAIN = 'seed';

const FIRST_NAMES = `ARRAY['Ada','Alan','Grace','Linus','Margaret','Dennis','Barbara','Ken','Frances','Edsger','Radia','Donald','Sophie','Tim','Hedy','John','Katherine','Guido','Anita','Bjarne']`;
const LAST_NAMES = `ARRAY['Lovelace','Turing','Hopper','Torvalds','Hamilton','Ritchie','Liskov','Thompson','Allen','Dijkstra','Perlman','Knuth','Wilson','Berners-Lee','Lamarr','McCarthy','Johnson','van Rossum','Borg','Stroustrup']`;
const BIOS = `ARRAY['Backend developer. Coffee first.','Building things that scale.','Guild raider on weekends.','Open source contributor.','Looking for interesting jobs.','Cache invalidation enthusiast.','Here for the leaderboard.','Writes SQL for fun.']`;
const ADJECTIVES = `ARRAY['Iron','Silver','Crimson','Silent','Golden','Shadow','Azure','Wild','Ancient','Frozen']`;
const NOUNS = `ARRAY['Wolves','Dragons','Coders','Knights','Owls','Ravens','Builders','Titans','Foxes','Pioneers']`;
const JOB_TITLES = `ARRAY['Fix flaky test','Write API docs','Design landing page','Migrate database','Review pull request','Build CSV export','Tune slow query','Translate UI strings','Set up CI pipeline','Add rate limiting']`;
const MESSAGES = `ARRAY['hey all','anyone up for a raid tonight?','pushed the fix, please review','lol','who took the last job?','gg','meeting in 5','thanks!','see you tomorrow','new leaderboard season started']`;
const NOTIFICATIONS = `ARRAY['Your job received a new application','You were mentioned in a chat','Your wallet was credited','A guild member joined','Weekly scores were reset']`;

/** `(ARRAY[...])[i]` with i in 1..length, picked uniformly at random. */
function pick(array: string): string {
  return `(${array})[1 + floor(random() * cardinality(${array}))::int]`;
}

interface Statement {
  sql: string;
  /** Parameters after the batch bounds: `$3, $4...` (PostgreSQL rejects parameters a statement does not use). */
  extra?: unknown[];
}

interface Step {
  phase: SeedPhase;
  /** Ids from..to are split into batches; `$1` / `$2` are a batch's first and last id. */
  from: number;
  to: number;
  /** Run for each batch, in order. */
  statements: Statement[];
}

function buildSteps(users: number, loadtestHash: string): Step[] {
  const guilds = Math.ceil(users / USERS_PER_GUILD);
  const chats = Math.ceil(users / USERS_PER_CHAT);
  const jobs = Math.max(1, Math.round(users * JOBS_PER_USER));
  const messages = chats * MESSAGES_PER_CHAT;
  const ids = 'generate_series($1::bigint, $2::bigint)';
  return [
    {
      phase: 'users',
      from: 2,
      to: users,
      statements: [
        {
          // Volatile expressions sit in a subquery so each row gets its own random created_at.
          sql: `INSERT INTO users (id, email, password_hash, display_name, bio, avatar_url, created_at, updated_at)
            SELECT g, 'user' || g || '@example.com', $3::text,
                   (${FIRST_NAMES})[1 + g % 20] || ' ' || (${LAST_NAMES})[1 + (g / 20) % 20],
                   CASE WHEN random() < 0.3 THEN '' ELSE ${pick(BIOS)} END,
                   CASE WHEN random() < 0.2 THEN NULL ELSE 'https://avatars.example.com/u/' || g || '.png' END,
                   created_at, created_at + random() * (now() - created_at)
            FROM (SELECT g, now() - random() * interval '730 days' AS created_at FROM ${ids} AS g) s`,
          extra: [loadtestHash],
        },
      ],
    },
    {
      phase: 'guilds',
      from: 1,
      to: guilds,
      statements: [
        {
          // Guild g is owned by the first user of its block of 50, so guild 1 by the demo user.
          sql: `INSERT INTO guilds (id, name, description, owner_id, activity_score, created_at)
            SELECT g, (${ADJECTIVES})[1 + g % 10] || ' ' || (${NOUNS})[1 + (g / 10) % 10] || ' ' || g,
                   'Guild number ' || g || '. All welcome.', (g - 1) * $3::bigint + 1,
                   floor(power(random(), 2) * 100000)::bigint, now() - random() * interval '700 days'
            FROM ${ids} AS g`,
          extra: [USERS_PER_GUILD],
        },
      ],
    },
    {
      phase: 'guild_members',
      from: 1,
      to: users,
      statements: [
        {
          sql: `INSERT INTO guild_members (guild_id, user_id, role, joined_at)
            SELECT (u - 1) / $3::bigint + 1, u,
                   CASE WHEN (u - 1) % $3::bigint = 0 THEN 'owner' WHEN (u - 1) % $3::bigint < 3 THEN 'officer' ELSE 'member' END,
                   now() - random() * interval '600 days'
            FROM ${ids} AS u`,
          extra: [USERS_PER_GUILD],
        },
        {
          // One user in five also joins a second guild, skewed towards low ids so some guilds are popular.
          sql: `INSERT INTO guild_members (guild_id, user_id, role, joined_at)
            SELECT 1 + floor(power(random(), 2) * $3::bigint)::bigint, u, 'member', now() - random() * interval '300 days'
            FROM ${ids} AS u WHERE random() < 0.2
            ON CONFLICT DO NOTHING`,
          extra: [guilds],
        },
      ],
    },
    {
      phase: 'jobs',
      from: 1,
      to: jobs,
      statements: [
        {
          // The demo user owns the first three jobs. The assignee of a closed or completed job
          // is another user than its owner (offset 1..N-1), none when there is only one user.
          // Escrow (migration 003): an open job holds its whole reward (the wallets phase
          // writes the owner's matching ledger rows); closed and completed jobs hold nothing,
          // and a completed job was accepted by its assignee.
          sql: `INSERT INTO jobs (id, owner_id, title, description, status, reward, held, assignee_id, accepted_at, created_at, updated_at)
            SELECT j, owner_id, ${pick(JOB_TITLES)}, 'Details for job ' || j || '.', status, reward,
                   CASE WHEN status = 'open' THEN reward ELSE 0 END, assignee_id,
                   CASE WHEN status = 'completed' AND assignee_id IS NOT NULL THEN created_at + (updated_at - created_at) / 2 END,
                   created_at, updated_at
            FROM (SELECT j, owner_id, status, created_at, (10 * (1 + floor(random() * 500)))::bigint AS reward,
                         CASE WHEN status <> 'open' AND $3::bigint > 1
                              THEN 1 + (owner_id + floor(random() * ($3::bigint - 1))::bigint) % $3::bigint END AS assignee_id,
                         CASE WHEN status = 'open' THEN created_at ELSE created_at + random() * (now() - created_at) END AS updated_at
                  FROM (SELECT j, CASE WHEN j <= 3 THEN 1 ELSE 1 + floor(random() * $3::bigint)::bigint END AS owner_id,
                               CASE WHEN r < 0.5 THEN 'open' WHEN r < 0.75 THEN 'closed' ELSE 'completed' END AS status,
                               now() - random() * interval '90 days' AS created_at
                        FROM (SELECT j, random() AS r FROM ${ids} AS j) a) b) s`,
          extra: [users],
        },
      ],
    },
    {
      phase: 'wallets',
      from: 1,
      to: users,
      statements: [
        {
          // Balance = 1000 signup credit + a credit - a debit of at most half of both, so every
          // balance is positive and equals the sum of the wallet's transactions.
          sql: `WITH amounts AS MATERIALIZED (
              SELECT u, c2, 1 + floor(random() * ((1000 + c2) / 2))::bigint AS d3, t0
              FROM (SELECT u, 1 + floor(random() * 5000)::bigint AS c2, now() - interval '1 day' * (30 + random() * 300) AS t0
                    FROM ${ids} AS u) s
            ), w AS (
              INSERT INTO wallets (user_id, balance, updated_at) SELECT u, 1000 + c2 - d3, t0 + interval '20 days' FROM amounts
            )
            INSERT INTO wallet_transactions (id, user_id, type, amount, created_at)
            SELECT (u - 1) * 3 + t.k, u, t.type, t.amount, t0 + t.offset_days * interval '1 day'
            FROM amounts CROSS JOIN LATERAL (VALUES (1, 'credit', 1000::bigint, 0), (2, 'credit', c2, 10), (3, 'debit', d3, 20))
                 AS t(k, type, amount, offset_days)`,
        },
        {
          // Each open job of these owners was funded by an operator credit of its reward and
          // then held (balance unchanged, ledger complete): balance = credit + release + reward +
          // admin_credit - debit - hold. Ids after the 3 per user: 2 per job.
          sql: `INSERT INTO wallet_transactions (id, user_id, type, amount, job_id, created_at)
            SELECT $3::bigint * 3 + (j.id - 1) * 2 + t.k, j.owner_id, t.type, j.held, t.job_id, j.created_at - t.before
            FROM jobs j CROSS JOIN LATERAL (VALUES (1, 'admin_credit', NULL::bigint, interval '1 minute'), (2, 'hold', j.id, interval '0'))
                 AS t(k, type, job_id, before)
            WHERE j.status = 'open' AND j.held > 0 AND j.owner_id BETWEEN $1 AND $2`,
          extra: [users],
        },
      ],
    },
    {
      phase: 'chats',
      from: 1,
      to: chats,
      statements: [
        {
          sql: `INSERT INTO chats (id, name, created_at)
            SELECT c, CASE WHEN c = 1 THEN 'General' ELSE (${NOUNS})[1 + c % 10] || ' chat ' || c END,
                   now() - random() * interval '500 days'
            FROM ${ids} AS c`,
        },
      ],
    },
    {
      phase: 'chat_members',
      from: 1,
      to: users,
      statements: [
        {
          sql: `INSERT INTO chat_members (chat_id, user_id, joined_at)
            SELECT (u - 1) / $3::bigint + 1, u, now() - random() * interval '400 days' FROM ${ids} AS u`,
          extra: [USERS_PER_CHAT],
        },
        {
          sql: `INSERT INTO chat_members (chat_id, user_id, joined_at)
            SELECT 1 + floor(random() * $3::bigint)::bigint, u, now() - random() * interval '200 days'
            FROM ${ids} AS u WHERE random() < 0.1
            ON CONFLICT DO NOTHING`,
          extra: [chats],
        },
      ],
    },
    {
      phase: 'chat_messages',
      from: 1,
      to: messages,
      statements: [
        {
          // Message m goes to chat (m - 1) % C + 1, from a user of that chat's own block (so a
          // member), at a time that grows with m: id order is time order, as in production.
          sql: `INSERT INTO chat_messages (id, chat_id, user_id, body, created_at)
            SELECT m, chat_id, least($5::bigint, (chat_id - 1) * $4::bigint + 1 + floor(random() * $4::bigint)::bigint),
                   ${pick(MESSAGES)}, now() - ($6::bigint - m) * interval '15 seconds'
            FROM (SELECT m, (m - 1) % $3::bigint + 1 AS chat_id FROM ${ids} AS m) s`,
          extra: [chats, USERS_PER_CHAT, users, messages],
        },
      ],
    },
    {
      phase: 'notifications',
      from: 1,
      to: users,
      statements: [
        {
          // Three per user, one day apart; the newest is unread.
          sql: `INSERT INTO notifications (id, user_id, body, read_at, created_at)
            SELECT (u - 1) * 3 + k, u, ${pick(NOTIFICATIONS)}, CASE WHEN k < 3 THEN created_at + interval '1 hour' END, created_at
            FROM (SELECT u, k, now() - (3 - k) * interval '1 day' - random() * interval '12 hours' AS created_at
                  FROM ${ids} AS u CROSS JOIN generate_series(1, 3) AS k) s`,
        },
      ],
    },
    {
      phase: 'scores',
      from: 1,
      to: users,
      statements: [
        {
          // Cubed random: a long tail of low scores and a few high ones, like real leaderboards.
          sql: `INSERT INTO scores (user_id, type, score, updated_at)
            SELECT u, t.type,
                   (CASE WHEN t.type = 'global' THEN floor(power(random(), 3) * 1000000) ELSE floor(random() * 10000) END)::bigint,
                   now() - random() * interval '7 days'
            FROM ${ids} AS u CROSS JOIN (VALUES ('global'), ('weekly')) AS t(type)`,
        },
      ],
    },
  ];
}

/** Sequences of the tables seeded with explicit ids, moved past the largest id so later inserts do not collide. */
const SEQUENCED_TABLES = ['users', 'guilds', 'jobs', 'wallet_transactions', 'chats', 'chat_messages', 'notifications'] as const;

async function finish(tx: DbTx): Promise<void> {
  await tx.query(
    `UPDATE guilds g SET member_count = c.n FROM (SELECT guild_id, count(*) AS n FROM guild_members GROUP BY guild_id) c WHERE c.guild_id = g.id`,
    [],
    { domain: DOMAIN },
  );
  for (const table of SEQUENCED_TABLES) {
    await tx.query(`SELECT setval(pg_get_serial_sequence($1, 'id'), (SELECT max(id) FROM ${table}))`, [table], { domain: DOMAIN });
  }
  // Fresh statistics, or the first load test runs against plans made for empty tables.
  await tx.execScript(`ANALYZE ${SEEDED_TABLES.join(', ')}`);
}

/** Lock class of the seed's advisory lock ("see" in ASCII); see migrate.ts for the idea. */
const LOCK_CLASS = 0x736565;

/**
 * Fills an empty, migrated database. Throws `SeedError` if it already has users (nothing
 * is changed then). Returns the row count of every table.
 */
export async function seedDatabase(db: Database, opts: SeedOptions): Promise<SeedSummary> {
  const { users, onProgress } = opts;
  const batchSize = opts.batchSize ?? 10_000;
  if (!Number.isSafeInteger(users) || users < 1) throw new SeedError(`users must be an integer >= 1, got ${users}`);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new SeedError(`batchSize must be an integer >= 1, got ${batchSize}`);

  const [demoHash, loadtestHash] = await Promise.all([hashPassword(DEMO_USER.password), hashPassword(LOADTEST_PASSWORD)]);
  const steps = buildSteps(users, loadtestHash);
  const batchesOf = (s: Step): number => Math.max(0, Math.ceil((s.to - s.from + 1) / batchSize));
  const total = steps.reduce((sum, s) => sum + batchesOf(s), 0) + 1;
  let done = 0;

  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [LOCK_CLASS], { domain: DOMAIN });
    const { rows } = await tx.query<{ seeded: boolean }>('SELECT EXISTS (SELECT 1 FROM users) AS seeded', [], { domain: DOMAIN });
    if (rows[0]?.seeded === true) throw new SeedError('the database already has users: reset it first (npm run seed -- --reset)');
    // Same random() sequence on every run, so a given user count always yields the same data.
    await tx.query('SELECT setseed(0.4242)', [], { domain: DOMAIN });

    const demo = opts.demoAccount ?? true;
    await tx.query(
      `INSERT INTO users (id, email, password_hash, display_name, bio, avatar_url, created_at)
       VALUES ($1, $2, $3, $4, $5, 'https://avatars.example.com/u/1.png', now() - interval '730 days')`,
      demo
        ? [DEMO_USER.id, DEMO_USER.email, demoHash, DEMO_USER.displayName, 'The demo account.']
        : [DEMO_USER.id, `user${DEMO_USER.id}@example.com`, loadtestHash, 'Ada Lovelace', 'Backend developer. Coffee first.'],
      { domain: DOMAIN },
    );
    for (const step of steps) {
      for (let lo = step.from; lo <= step.to; lo += batchSize) {
        const hi = Math.min(step.to, lo + batchSize - 1);
        for (const st of step.statements) await tx.query(st.sql, [lo, hi, ...(st.extra ?? [])], { domain: DOMAIN });
        onProgress?.({ phase: step.phase, done: ++done, total });
      }
    }
    await finish(tx);
    onProgress?.({ phase: 'finish', done: ++done, total });
    return countRows(tx);
  });
}

/** Row count of every seeded table. */
export async function countRows(db: DbTx): Promise<SeedSummary> {
  const { rows } = await db.query<SeedSummary>(
    `SELECT ${SEEDED_TABLES.map((t) => `(SELECT count(*) FROM ${t}) AS ${t}`).join(', ')}`,
    [],
    { domain: DOMAIN },
  );
  const row = rows[0];
  if (row === undefined) throw new SeedError('row count query returned nothing');
  return row;
}
