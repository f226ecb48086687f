/** The PostgreSQL/PGlite adapter of the sessions port (sessions.data.ts). */
import type { Database, DbTx } from '../db/database.ts';
import type { LiveSession, LoginRecord, SessionsData } from './sessions.data.ts';

const Q = { domain: 'sessions' } as const;

async function findLogin(db: DbTx, email: string): Promise<LoginRecord | undefined> {
  const { rows } = await db.query<{ id: number; password_hash: string }>('SELECT id, password_hash FROM users WHERE email = $1', [email], Q);
  const row = rows[0];
  return row === undefined ? undefined : { userId: row.id, passwordHash: row.password_hash };
}

async function insertSession(db: DbTx, tokenHash: string, userId: number, expiresAt: Date): Promise<void> {
  await db.query('INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)', [tokenHash, userId, expiresAt], Q);
}

/** The session, if it exists and has not expired. */
async function findLiveSession(db: DbTx, tokenHash: string): Promise<LiveSession | undefined> {
  const { rows } = await db.query<{ user_id: number; expires_at: Date }>(
    'SELECT user_id, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > now()',
    [tokenHash],
    Q,
  );
  const row = rows[0];
  return row === undefined ? undefined : { userId: row.user_id, expiresAt: row.expires_at };
}

/** Deletes one session; true when it existed. */
async function deleteSession(db: DbTx, tokenHash: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash], Q);
  return rowCount > 0;
}

/** Housekeeping at log-in: the user's expired sessions (their cache entries expire by TTL). */
async function deleteExpiredSessions(db: DbTx, userId: number): Promise<void> {
  await db.query('DELETE FROM sessions WHERE user_id = $1 AND expires_at <= now()', [userId], Q);
}

export function createSqlSessionsData(db: Database): SessionsData {
  return {
    findLogin: (email) => findLogin(db, email),
    start: (s) =>
      db.transaction(async (tx) => {
        await deleteExpiredSessions(tx, s.userId);
        if (s.previousTokenHash !== undefined) await deleteSession(tx, s.previousTokenHash);
        await insertSession(tx, s.tokenHash, s.userId, s.expiresAt);
      }),
    findLive: (tokenHash) => findLiveSession(db, tokenHash),
    delete: (tokenHash) => deleteSession(db, tokenHash),
  };
}
