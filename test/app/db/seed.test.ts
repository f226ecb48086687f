import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeedError, type Database } from '../../../src/app/db/database.ts';
import { verifyPassword } from '../../../src/app/db/passwords.ts';
import {
  DEMO_USER,
  LOADTEST_PASSWORD,
  MESSAGES_PER_CHAT,
  USERS_PER_CHAT,
  USERS_PER_GUILD,
  seedDatabase,
  type SeedProgress,
  type SeedSummary,
} from '../../../src/app/db/seed.ts';
import { createTestDatabase } from '../../helpers/db.ts';

const USERS = 1_000;
let db: Database;
let summary: SeedSummary;
const progress: SeedProgress[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  // A small batch size so even 1,000 users go through several batches per phase.
  summary = await seedDatabase(db, { users: USERS, batchSize: 300, onProgress: (p) => progress.push(p) });
}, 60_000);

afterAll(async () => {
  await db.close();
});

async function one<R>(sql: string, params: unknown[] = []): Promise<R> {
  const { rows } = await db.query<R>(sql, params);
  const row = rows[0];
  if (row === undefined) throw new Error(`no row for ${sql}`);
  return row;
}

describe('seedDatabase (1,000 users)', () => {
  it('creates the data set in the documented proportions', async () => {
    expect(summary).toMatchObject({
      users: USERS,
      guilds: USERS / USERS_PER_GUILD,
      jobs: USERS / 5,
      wallets: USERS,
      chats: USERS / USERS_PER_CHAT,
      chat_messages: (USERS / USERS_PER_CHAT) * MESSAGES_PER_CHAT,
      notifications: USERS * 3,
      scores: USERS * 2,
    });
    // 3 per wallet, plus the operator's funding and the hold of every open job with a reward.
    const open = await one<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE status = 'open' AND reward > 0");
    expect(open.n).toBeGreaterThan(0);
    expect(summary.wallet_transactions).toBe(USERS * 3 + 2 * open.n);
    // Everyone is in one guild and one chat; some join a second one.
    expect(summary.guild_members).toBeGreaterThan(USERS);
    expect(summary.chat_members).toBeGreaterThan(USERS);
  });

  it('creates the demo user as user 1 with a verifiable password', async () => {
    const demo = await one<{ id: number; email: string; password_hash: string }>('SELECT id, email, password_hash FROM users WHERE email = $1', [
      DEMO_USER.email,
    ]);
    expect(demo.id).toBe(1);
    expect(demo.password_hash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$[^$]+\$[^$]+$/);
    expect(await verifyPassword('demo1234', demo.password_hash)).toBe(true);
    expect(await verifyPassword('demo12345', demo.password_hash)).toBe(false);
  });

  it('makes the demo user a member of guild 1 and chat 1 with a positive wallet', async () => {
    const guild = await one<{ role: string; owner_id: number }>(
      'SELECT m.role, g.owner_id FROM guild_members m JOIN guilds g ON g.id = m.guild_id WHERE m.guild_id = 1 AND m.user_id = 1',
    );
    expect(guild).toEqual({ role: 'owner', owner_id: 1 });
    await one('SELECT 1 FROM chat_members WHERE chat_id = 1 AND user_id = 1');
    const wallet = await one<{ balance: number }>('SELECT balance FROM wallets WHERE user_id = 1');
    expect(wallet.balance).toBeGreaterThan(0);
  });

  it('gives user N the email userN@example.com and the shared load-test password', async () => {
    const user = await one<{ email: string; password_hash: string }>('SELECT email, password_hash FROM users WHERE id = $1', [777]);
    expect(user.email).toBe('user777@example.com');
    expect(await verifyPassword(LOADTEST_PASSWORD, user.password_hash)).toBe(true);
    const distinct = await one<{ n: number }>('SELECT count(DISTINCT password_hash) AS n FROM users');
    expect(distinct.n).toBe(2);
  });

  it('keeps every wallet equal to the signed sum of its ledger (holds included)', async () => {
    const mismatched = await one<{ n: number }>(
      `SELECT count(*) AS n FROM wallets w
       JOIN (SELECT user_id, sum(CASE WHEN type IN ('credit', 'release', 'reward', 'admin_credit') THEN amount ELSE -amount END) AS total
               FROM wallet_transactions GROUP BY user_id) t
         ON t.user_id = w.user_id
       WHERE t.total <> w.balance`,
    );
    expect(mismatched.n).toBe(0);
  });

  it('escrows rewards: an open job holds its reward, with a hold row from its owner; other jobs hold nothing', async () => {
    const bad = await one<{ n: number }>(
      `SELECT count(*)::int AS n FROM jobs j
       WHERE j.held <> CASE WHEN j.status = 'open' THEN j.reward ELSE 0 END
          OR j.held <> COALESCE((SELECT sum(amount) FROM wallet_transactions t WHERE t.job_id = j.id AND t.type = 'hold' AND t.user_id = j.owner_id), 0)`,
    );
    expect(bad.n).toBe(0);
    const unaccepted = await one<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE status = 'completed' AND accepted_at IS NULL");
    expect(unaccepted.n).toBe(0);
  });

  it('keeps member_count in step with guild_members and messages from chat members', async () => {
    const wrongCount = await one<{ n: number }>(
      `SELECT count(*) AS n FROM guilds g WHERE member_count <> (SELECT count(*) FROM guild_members m WHERE m.guild_id = g.id)`,
    );
    expect(wrongCount.n).toBe(0);
    const strangers = await one<{ n: number }>(
      `SELECT count(*) AS n FROM chat_messages cm
       WHERE NOT EXISTS (SELECT 1 FROM chat_members m WHERE m.chat_id = cm.chat_id AND m.user_id = cm.user_id)`,
    );
    expect(strangers.n).toBe(0);
  });

  it('mixes open, closed and completed jobs, with an assignee other than the owner when not open', async () => {
    const { rows } = await db.query<{ status: string; n: number; bad: number }>(
      `SELECT status, count(*) AS n,
              count(*) FILTER (WHERE (status = 'open') <> (assignee_id IS NULL) OR assignee_id = owner_id) AS bad
       FROM jobs GROUP BY status ORDER BY status`,
    );
    expect(rows.map((r) => r.status)).toEqual(['closed', 'completed', 'open']);
    for (const r of rows) expect(r.bad).toBe(0);
  });

  it('moves the sequences past the seeded ids, so the app can insert right away', async () => {
    const user = await one<{ id: number }>(
      `INSERT INTO users (email, password_hash, display_name) VALUES ('after-seed@example.com', 'x', 'New') RETURNING id`,
    );
    expect(user.id).toBe(USERS + 1);
    const message = await one<{ id: number }>(`INSERT INTO chat_messages (chat_id, user_id, body) VALUES (1, 1, 'hi') RETURNING id`);
    expect(message.id).toBe(summary.chat_messages + 1);
  });

  it('reports progress batch by batch up to 100%', () => {
    const last = progress.at(-1);
    expect(last).toMatchObject({ phase: 'finish' });
    expect(last?.done).toBe(last?.total);
    expect(progress.map((p) => p.done)).toEqual(progress.map((_, i) => i + 1));
    expect(new Set(progress.map((p) => p.phase)).size).toBe(11);
  });

  it('counts its reads under the seed domain', () => {
    expect(db.readStats().seed).toBeGreaterThan(0);
  });

  it('refuses to seed a database that already has users, changing nothing', async () => {
    const before = await one<{ n: number }>('SELECT count(*) AS n FROM users');
    await expect(seedDatabase(db, { users: 10 })).rejects.toBeInstanceOf(SeedError);
    const after = await one<{ n: number }>('SELECT count(*) AS n FROM users');
    expect(after.n).toBe(before.n);
  });

  it('rejects a nonsensical user count', async () => {
    await expect(seedDatabase(db, { users: 0 })).rejects.toBeInstanceOf(SeedError);
    await expect(seedDatabase(db, { users: 1.5 })).rejects.toBeInstanceOf(SeedError);
  });
});

describe('seedDatabase (edge sizes)', () => {
  it('seeds a single user: just the demo account, in guild 1 and chat 1', async () => {
    const tiny = await createTestDatabase();
    try {
      const result = await seedDatabase(tiny, { users: 1 });
      expect(result).toMatchObject({ users: 1, guilds: 1, chats: 1, wallets: 1, jobs: 1 });
      const { rows } = await tiny.query<{ assignee_id: number | null }>('SELECT assignee_id FROM jobs');
      expect(rows[0]?.assignee_id).toBeNull();
    } finally {
      await tiny.close();
    }
  });
});

describe('seedDatabase without the demo account (the bulk seed, a production database)', () => {
  it('makes user 1 an ordinary seeded user: no account with the published demo password', async () => {
    const other = await createTestDatabase();
    try {
      await seedDatabase(other, { users: 10, demoAccount: false });
      const { rows } = await other.query<{ id: number; email: string; password_hash: string; bio: string }>('SELECT id, email, password_hash, bio FROM users ORDER BY id');
      expect(rows.map((r) => r.email)).not.toContain(DEMO_USER.email);
      expect(rows[0]?.email).toBe('user1@example.com');
      for (const r of rows) {
        expect(r.bio).not.toContain(DEMO_USER.password);
        expect(await verifyPassword(DEMO_USER.password, r.password_hash)).toBe(false);
      }
    } finally {
      await other.close();
    }
  });

  it('never writes a password into a bio, even the demo account', async () => {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE bio ILIKE '%password%' OR bio LIKE $1`, [`%${DEMO_USER.password}%`]);
    expect(rows[0]?.n).toBe(0);
  });
});
