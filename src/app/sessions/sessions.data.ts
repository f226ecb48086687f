/**
 * The port of the sessions domain. Sessions are keyed by the SHA-256 of their token, never the
 * token. The SQL adapter is sessions.sql.ts.
 */

/** What a log-in checks the password against. */
export interface LoginRecord {
  userId: number;
  passwordHash: string;
}

export interface LiveSession {
  userId: number;
  expiresAt: Date;
}

export interface NewSession {
  userId: number;
  tokenHash: string;
  expiresAt: Date;
  /** The session the log-in replaces (the token the request carried), deleted with it. */
  previousTokenHash: string | undefined;
}

export interface SessionsData {
  /** By the normalised (trimmed, lower-case) email. */
  findLogin(email: string): Promise<LoginRecord | undefined>;
  /**
   * Atomically: deletes the user's expired sessions (housekeeping) and the previous session
   * if given, and stores the new one.
   */
  start(session: NewSession): Promise<void>;
  /** The session, if it exists and has not expired. */
  findLive(tokenHash: string): Promise<LiveSession | undefined>;
  /** Deletes one session; true when it existed. */
  delete(tokenHash: string): Promise<boolean>;
}
