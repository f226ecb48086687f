/**
 * The Database contract, identical on both backends: run with DATABASE_URL for real
 * PostgreSQL, without it for in-memory PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConstraintViolationError,
  DatabaseClosedError,
  DatabaseError,
  createDatabase,
  type Database,
  type DbTx,
} from '../../../src/app/db/database.ts';
import { createTestDatabase, usingRealPostgres } from '../../helpers/db.ts';

let db: Database;

/** A user with a wallet; returns its id. Emails are unique per call. */
let nextUser = 0;
async function insertUser(target: Pick<Database, 'query'>, balance = 100): Promise<number> {
  nextUser++;
  const { rows } = await target.query<{ id: number }>(
    `INSERT INTO users (email, password_hash, display_name) VALUES ($1, 'x', $2) RETURNING id`,
    [`db-test-${nextUser}@example.com`, `User ${nextUser}`],
  );
  const id = rows[0]?.id;
  if (id === undefined) throw new Error('no id returned');
  await target.query('INSERT INTO wallets (user_id, balance) VALUES ($1, $2)', [id, balance]);
  return id;
}

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.close();
});

describe('Database', () => {
  it('uses the backend selected by DATABASE_URL', () => {
    expect(db.kind).toBe(usingRealPostgres ? 'postgres' : 'pglite');
  });

  it('isolates each test database in its own schema on real PostgreSQL', async () => {
    const { rows } = await db.query<{ schema: string }>('SELECT current_schema() AS schema');
    if (usingRealPostgres) expect(rows[0]?.schema).toMatch(/^t_[0-9a-f]{12}$/);
    else expect(rows[0]?.schema).toBe('public');
  });

  it('returns int8 as number, timestamptz as Date and numeric as string on both backends', async () => {
    const { rows } = await db.query<{ big: number; arr: number[]; ts: Date; num: string }>(
      'SELECT $1::int8 AS big, $2::int8[] AS arr, now() AS ts, 1.50::numeric AS num',
      [9_007_199_254_740_991, [1, 2]],
    );
    expect(rows[0]).toMatchObject({ big: 9_007_199_254_740_991, arr: [1, 2], num: '1.50' });
    expect(rows[0]?.ts).toBeInstanceOf(Date);
  });

  it('fails the query rather than lose precision on an int8 past 2^53', async () => {
    await expect(db.query("SELECT '9007199254740993'::int8 AS v")).rejects.toBeInstanceOf(DatabaseError);
  });

  it('accepts exactly one statement per query, so a stray ";" cannot run a second one', async () => {
    await expect(db.query('SELECT 1; SELECT 2')).rejects.toBeInstanceOf(DatabaseError);
  });

  it('counts the rows each query read under its domain', async () => {
    const before = db.readStats();
    const id = await insertUser(db); // RETURNING: 1 row, default domain
    await db.query('SELECT * FROM users WHERE id = $1', [id], { domain: 'users' });
    await db.query('SELECT * FROM users WHERE id <= $1 ORDER BY id LIMIT 3', [id], { domain: 'users' });
    await db.query('SELECT * FROM wallets WHERE user_id = $1', [id], { domain: 'wallets' });
    await db.query('UPDATE wallets SET balance = balance + 1 WHERE user_id = $1', [id], { domain: 'wallets' }); // no rows returned
    await db.query('SELECT 1 FROM users WHERE false', [], { domain: 'empty' });
    const after = db.readStats();

    const delta = (domain: string): number => (after[domain] ?? 0) - (before[domain] ?? 0);
    expect(delta('other')).toBe(1);
    expect(delta('users')).toBe(1 + Math.min(3, id));
    expect(delta('wallets')).toBe(1);
    expect(after.empty).toBe(0);
  });

  it('counts reads inside transactions too, and hands out copies of the stats', async () => {
    const snapshot = db.readStats();
    await db.transaction(async (tx) => {
      await tx.query('SELECT generate_series(1, 2) AS n', [], { domain: 'in_tx' });
    });
    expect(snapshot.in_tx).toBeUndefined();
    expect(db.readStats().in_tx).toBe(2);
  });

  it('reports rowCount for reads and writes', async () => {
    const id = await insertUser(db);
    const upd = await db.query('UPDATE wallets SET balance = balance WHERE user_id = $1', [id]);
    expect(upd).toEqual({ rows: [], rowCount: 1 });
    const sel = await db.query('SELECT id FROM users WHERE id IN ($1, $2)', [id, -1]);
    expect(sel.rowCount).toBe(1);
  });

  it('commits a transaction and returns its result', async () => {
    const result = await db.transaction(async (tx) => {
      const id = await insertUser(tx, 50);
      await tx.query('UPDATE wallets SET balance = balance + 25 WHERE user_id = $1', [id]);
      return id;
    });
    const { rows } = await db.query<{ balance: number }>('SELECT balance FROM wallets WHERE user_id = $1', [result]);
    expect(rows[0]?.balance).toBe(75);
  });

  it('rolls a transaction back when fn throws, and rethrows the same error', async () => {
    const marker = new Error('domain failure');
    let id = 0;
    await expect(
      db.transaction(async (tx) => {
        id = await insertUser(tx);
        throw marker;
      }),
    ).rejects.toBe(marker);
    const { rows } = await db.query('SELECT 1 FROM users WHERE id = $1', [id]);
    expect(rows).toHaveLength(0);
  });

  it('rolls back and throws when a statement failed inside and fn swallowed the error', async () => {
    let id = 0;
    const err = await db
      .transaction(async (tx) => {
        id = await insertUser(tx);
        await tx.query('UPDATE wallets SET balance = -1 WHERE user_id = $1', [id]).catch(() => undefined);
        return 'pretend all is well';
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect((err as DatabaseError).sqlState).toBe('25P02');
    const { rows } = await db.query('SELECT 1 FROM users WHERE id = $1', [id]);
    expect(rows).toHaveLength(0);
  });

  it('refuses a tx object kept past its transaction', async () => {
    let leaked: DbTx | undefined;
    await db.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked?.query('SELECT 1')).rejects.toBeInstanceOf(DatabaseError);
  });

  it('keeps transactions isolated from concurrent queries', async () => {
    const id = await insertUser(db, 10);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = db.transaction(async (tx) => {
      await tx.query('UPDATE wallets SET balance = 999 WHERE user_id = $1', [id]);
      await gate;
      throw new Error('abort');
    });
    // Outside the transaction nobody may see the uncommitted 999, before or after the rollback.
    const during = db.query<{ balance: number }>('SELECT balance FROM wallets WHERE user_id = $1', [id]);
    release();
    await expect(slow).rejects.toThrow('abort');
    expect((await during).rows[0]?.balance).toBe(10);
  });

  it('turns a CHECK violation into a typed ConstraintViolationError', async () => {
    const id = await insertUser(db, 5);
    const err = await db.query('UPDATE wallets SET balance = balance - 10 WHERE user_id = $1', [id]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConstraintViolationError);
    const typed = err as ConstraintViolationError;
    expect(typed.code).toBe('E_DB_CONSTRAINT');
    expect(typed.constraintKind).toBe('check');
    expect(typed.constraint).toBe('wallets_balance_check');
    expect(typed.table).toBe('wallets');
    expect(typed.sqlState).toBe('23514');
    expect(typed.cause).toBeInstanceOf(Error);
  });

  it('turns UNIQUE and FOREIGN KEY violations into typed errors too', async () => {
    const id = await insertUser(db);
    const { rows } = await db.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [id]);
    const dup = await db
      .query(`INSERT INTO users (email, password_hash, display_name) VALUES ($1, 'x', 'y')`, [rows[0]?.email])
      .catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(ConstraintViolationError);
    expect((dup as ConstraintViolationError).constraintKind).toBe('unique');
    const fk = await db.query('INSERT INTO wallets (user_id, balance) VALUES ($1, 1)', [-42]).catch((e: unknown) => e);
    expect((fk as ConstraintViolationError).constraintKind).toBe('foreign_key');
  });

  it('adds queryDelayMs before every statement', async () => {
    const slow = await createTestDatabase({ migrate: false, queryDelayMs: 40 });
    try {
      const start = performance.now();
      await slow.query('SELECT 1');
      await slow.query('SELECT 1');
      // Timers may fire a millisecond early; two delays of 40 ms cannot take under 75 ms.
      expect(performance.now() - start).toBeGreaterThanOrEqual(75);
    } finally {
      await slow.close();
    }
  });

  it('throws DatabaseClosedError after close(), and close() is idempotent', async () => {
    const other = await createTestDatabase({ migrate: false });
    await other.close();
    await other.close();
    await expect(other.query('SELECT 1')).rejects.toBeInstanceOf(DatabaseClosedError);
  });
});

describe.runIf(usingRealPostgres)('createDatabase on real PostgreSQL', () => {
  it('fails fast with a typed error when the server is unreachable', async () => {
    // Port 1 is never a PostgreSQL server: the connection is refused at once.
    const bad = await createDatabase({ url: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutMs: 1_000 });
    try {
      const err = await bad.query('SELECT 1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseError);
      expect((err as DatabaseError).code).toBe('E_DB_UNAVAILABLE');
    } finally {
      await bad.close();
    }
  });

  it('turns statement_timeout into DatabaseTimeoutError', async () => {
    const url = process.env.DATABASE_URL ?? '';
    const quick = await createDatabase({ url, statementTimeoutMs: 100 });
    try {
      const err = await quick.query('SELECT pg_sleep(2)').catch((e: unknown) => e);
      expect((err as DatabaseError).code).toBe('E_DB_TIMEOUT');
    } finally {
      await quick.close();
    }
  });

  it('drops the test schema on close', async () => {
    const temp = await createTestDatabase({ migrate: false });
    const { rows } = await temp.query<{ schema: string }>('SELECT current_schema() AS schema');
    await temp.close();
    const left = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [rows[0]?.schema]);
    expect(left.rows).toHaveLength(0);
  });
});
