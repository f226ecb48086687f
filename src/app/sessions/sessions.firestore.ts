/**
 * The Firestore adapter of the sessions port (sessions.data.ts); the SQL one is sessions.sql.ts.
 *
 * - Log-in record: `usersByEmail/{emailKey}` (userId + passwordHash), one read by key.
 * - Sessions: `sessions/{sha256 hex}` (userId, createdAt, expiresAt), one read by key. Firestore's
 *   TTL policy on `expiresAt` deletes expired ones eventually (usually within a day), so every
 *   read still checks `expiresAt > now`.
 * - `start` is one transaction: the user's expired sessions (query, composite index
 *   sessions (userId, expiresAt)), the previous token's session and the new one, all or nothing.
 */
import { Timestamp } from '@google-cloud/firestore';
import { orContention } from '../db/firestore/contention.ts';
import type { FirestoreContext } from '../db/firestore/context.ts';
import { emailKey, queries } from '../db/firestore/model.ts';
import type { LiveSession, LoginRecord, SessionsData } from './sessions.data.ts';

const DOMAIN = 'sessions';

/**
 * Expired sessions deleted per log-in. The TTL policy is the real clean-up; this housekeeping
 * only keeps a user who logs in often from piling up sessions between two TTL sweeps. Bounded
 * so that one log-in is one small transaction (billed reads and deletes ≤ this), however many
 * expired sessions have accumulated: the rest go at the next log-ins or by TTL.
 */
export const EXPIRED_SESSIONS_PER_LOGIN = 100;

/** Firestore refuses these document ids (`__.*__` is reserved, ids are at most 1,500 bytes). */
function isUsableDocId(id: string): boolean {
  return id !== '' && Buffer.byteLength(id, 'utf8') <= 1_500 && !/^__.*__$/.test(id);
}

/** Session keys are SHA-256 in hex; anything else cannot name a session (and must not reach Firestore as a path). */
const TOKEN_HASH = /^[0-9a-f]{64}$/;

export function createFirestoreSessionsData(ctx: FirestoreContext): SessionsData {
  const { bill, refs, firestore } = ctx;
  return {
    async findLogin(email): Promise<LoginRecord | undefined> {
      // An address that cannot be a document id was never registered (sign-up would have failed
      // creating it): "unknown", as SQL answers, rather than a Firestore INVALID_ARGUMENT.
      if (!isUsableDocId(emailKey(email))) return undefined;
      const snap = await bill.get(DOMAIN, refs.userByEmail(email));
      const doc = snap.data();
      return doc === undefined ? undefined : { userId: doc.userId, passwordHash: doc.passwordHash };
    },

    async start(s): Promise<void> {
      if (!TOKEN_HASH.test(s.tokenHash)) throw new RangeError('tokenHash must be a hex SHA-256');
      const expiresAt = Timestamp.fromDate(s.expiresAt);
      await orContention(
        bill.tx(DOMAIN, async (tx) => {
          // All reads before the writes. Only the reads of this query take part in the
          // transaction; the deletes need no read of their own.
          const now = Timestamp.now();
          const expired = await tx.query(queries.expiredSessions(firestore, s.userId, now).limit(EXPIRED_SESSIONS_PER_LOGIN));
          const doomed = new Set(expired.docs.map((d) => d.id));
          if (s.previousTokenHash !== undefined && TOKEN_HASH.test(s.previousTokenHash)) doomed.add(s.previousTokenHash);
          doomed.delete(s.tokenHash);
          for (const hash of doomed) tx.delete(refs.session(hash));
          // create(): a new token never overwrites a session (a collision would fail the log-in, not hijack one).
          tx.create(refs.session(s.tokenHash), { userId: s.userId, createdAt: now, expiresAt });
        }),
      );
    },

    async findLive(tokenHash): Promise<LiveSession | undefined> {
      if (!TOKEN_HASH.test(tokenHash)) return undefined;
      const doc = (await bill.get(DOMAIN, refs.session(tokenHash))).data();
      if (doc === undefined || doc.expiresAt.toMillis() <= Date.now()) return undefined;
      return { userId: doc.userId, expiresAt: doc.expiresAt.toDate() };
    },

    async delete(tokenHash): Promise<boolean> {
      if (!TOKEN_HASH.test(tokenHash)) return false;
      // A precondition instead of a read: one delete, no read; a missing session fails it (NOT_FOUND).
      try {
        await bill.write(DOMAIN).delete(refs.session(tokenHash), { exists: true });
        return true;
      } catch (err) {
        if ((err as { code?: unknown }).code === 5) return false;
        throw err;
      }
    },
  };
}
