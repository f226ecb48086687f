/**
 * Migration 003 (money rules) on a database that already holds rows from before it, including
 * the damage of the issue-16 attack: it repairs out-of-bound rows, then adds its constraints.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BALANCE, MAX_REWARD, MAX_SCORE } from '../../../src/app/bounds.ts';
import type { Database } from '../../../src/app/db/database.ts';
import { DEFAULT_MIGRATIONS_DIR, migrate } from '../../../src/app/db/migrate.ts';
import { createTestDatabase } from '../../helpers/db.ts';

let db: Database;
let oldDir: string;
const MINTED = 2 ** 53 - 1; // the largest balance the old code allowed

beforeAll(async () => {
  oldDir = await mkdtemp(join(tmpdir(), 'migrations-old-'));
  for (const f of ['001_init.sql', '002_sessions.sql']) await copyFile(join(DEFAULT_MIGRATIONS_DIR, f), join(oldDir, f));
  db = await createTestDatabase({ migrate: false });
  await migrate(db, { dir: oldDir });
  // The state before 003: user 1 minted money through self-credits, user 2 is honest.
  await db.execScript(`
    INSERT INTO users (id, email, password_hash, display_name) VALUES (1, 'a@example.com', 'x', 'A'), (2, 'b@example.com', 'x', 'B');
    INSERT INTO wallets (user_id, balance) VALUES (1, ${MINTED}), (2, 700);
    INSERT INTO wallet_transactions (user_id, type, amount)
      SELECT 1, 'credit', 1000000000000 FROM generate_series(1, 9007);
    INSERT INTO wallet_transactions (user_id, type, amount) VALUES (1, 'credit', ${MINTED - 9007 * 1e12}), (2, 'credit', 700);
    INSERT INTO jobs (id, owner_id, title, status, reward, assignee_id) VALUES
      (1, 1, 'open, huge reward', 'open', 5000000000000, NULL),
      (2, 2, 'open', 'open', 300, 1),
      (3, 2, 'done', 'completed', 200, 1);
    INSERT INTO scores (user_id, type, score) VALUES (1, 'global', ${2 ** 60}), (1, 'weekly', -5), (2, 'global', 12);
  `);
  await migrate(db);
}, 60_000);
afterAll(async () => {
  await db?.close();
  await rm(oldDir, { recursive: true, force: true });
});

const one = async <R>(sql: string): Promise<R> => (await db.query<R>(sql)).rows[0] as R;

describe('migration 003 on existing rows', () => {
  it('clamps a minted balance to MAX_BALANCE and records the excess as correction rows, so the ledger still adds up', async () => {
    expect(await one('SELECT balance FROM wallets WHERE user_id = 1')).toEqual({ balance: MAX_BALANCE });
    expect(await one('SELECT balance FROM wallets WHERE user_id = 2')).toEqual({ balance: 700 });
    const correction = await one<{ n: number; total: string }>(
      "SELECT count(*)::int AS n, sum(amount)::text AS total FROM wallet_transactions WHERE user_id = 1 AND type = 'correction'",
    );
    expect(BigInt(correction.total)).toBe(BigInt(MINTED) - BigInt(MAX_BALANCE));
    expect(correction.n).toBe(Math.ceil((MINTED - MAX_BALANCE) / MAX_BALANCE));
    const mismatched = await one<{ n: number }>(
      `SELECT count(*)::int AS n FROM wallets w
        JOIN (SELECT user_id, sum(CASE WHEN type IN ('credit', 'release', 'reward', 'admin_credit') THEN amount ELSE -amount END) AS total
                FROM wallet_transactions GROUP BY user_id) l ON l.user_id = w.user_id
       WHERE l.total <> w.balance`,
    );
    expect(mismatched.n).toBe(0);
  });

  it('clamps rewards and scores into their bounds', async () => {
    const { rows: jobs } = await db.query('SELECT id, reward, held, accepted_at FROM jobs ORDER BY id');
    // Legacy jobs hold nothing: nobody paid for them, so they pay out nothing until funded.
    expect(jobs).toEqual([
      { id: 1, reward: MAX_REWARD, held: 0, accepted_at: null },
      { id: 2, reward: 300, held: 0, accepted_at: null },
      { id: 3, reward: 200, held: 0, accepted_at: null },
    ]);
    const { rows: scores } = await db.query('SELECT user_id, type, score FROM scores ORDER BY user_id, type');
    expect(scores).toEqual([
      { user_id: 1, type: 'global', score: MAX_SCORE },
      { user_id: 1, type: 'weekly', score: 0 },
      { user_id: 2, type: 'global', score: 12 },
    ]);
  });

  it('then enforces the bounds and the escrow shape with constraints', async () => {
    const refused = [
      `UPDATE wallets SET balance = ${MAX_BALANCE + 1} WHERE user_id = 2`,
      `UPDATE scores SET score = ${MAX_SCORE + 1} WHERE user_id = 2`,
      `UPDATE jobs SET reward = ${MAX_REWARD + 1} WHERE id = 2`,
      'UPDATE jobs SET held = 301 WHERE id = 2',
      'UPDATE jobs SET held = 100 WHERE id = 3',
      "INSERT INTO wallet_transactions (user_id, type, amount) VALUES (2, 'steal', 1)",
      "INSERT INTO wallet_transactions (user_id, type, amount) VALUES (2, 'hold', 1)",
      `INSERT INTO wallet_transactions (user_id, type, amount) VALUES (2, 'debit', ${MAX_BALANCE + 1})`,
    ];
    for (const sql of refused) await expect(db.query(sql), sql).rejects.toMatchObject({ code: 'E_DB_CONSTRAINT' });
    await db.query('UPDATE jobs SET held = 300 WHERE id = 2');
    await db.query("INSERT INTO wallet_transactions (user_id, type, amount, job_id) VALUES (2, 'hold', 300, 2)");
  });
});
