/** SQL of the sessions domain. Sessions are keyed by the SHA-256 of their token, never the token. */
import type { DbTx } from '../db/database.ts';

const Q = { domain: 'sessions' } as const;

export interface LoginRow {
  id: number;
  password_hash: string;
}

export async function findUserByEmail(db: DbTx, email: string): Promise<LoginRow | undefined> {
  const { rows } = await db.query<LoginRow>('SELECT id, password_hash FROM users WHERE email = $1', [email], Q);
  return rows[0];
}

export async function insertSession(db: DbTx, tokenHash: string, userId: number, expiresAt: Date): Promise<void> {
  await db.query('INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)', [tokenHash, userId, expiresAt], Q);
}

export interface SessionRow {
  user_id: number;
  expires_at: Date;
}

/** The session, if it exists and has not expired. */
export async function findLiveSession(db: DbTx, tokenHash: string): Promise<SessionRow | undefined> {
  const { rows } = await db.query<SessionRow>('SELECT user_id, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > now()', [tokenHash], Q);
  return rows[0];
}

/** Deletes one session; true when it existed. */
export async function deleteSession(db: DbTx, tokenHash: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash], Q);
  return rowCount > 0;
}

/** Housekeeping at log-in: the user's expired sessions (their cache entries expire by TTL). */
export async function deleteExpiredSessions(db: DbTx, userId: number): Promise<void> {
  await db.query('DELETE FROM sessions WHERE user_id = $1 AND expires_at <= now()', [userId], Q);
}
