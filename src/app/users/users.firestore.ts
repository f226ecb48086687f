/**
 * The Firestore adapter of the users port (users.data.ts); the SQL one is users.sql.ts.
 *
 * A profile is `users/{id}` (one read; the password hash lives in `usersByEmail`, never here).
 *
 * The display name is copied into other documents so that hot lists are one query
 * (docs/firestore.md, "Display names copied..."): `guilds/{g}/members/{id}` for every guild of
 * the user (found through the mirror `users/{id}/guilds`) and `leaderboards/{type}/scores/{id}`
 * for both boards. A rename rewrites them in the SAME transaction as the profile, with all
 * reads first: user (1) + mirror (≥ 1) + those member documents + 2 scores, then the writes.
 * Copies already holding the new name, or missing (a user without a score yet), are not written.
 *
 * Bounded transaction. A user may belong to any number of guilds, and a transaction should stay
 * small (Firestore advises against touching more than ~100 documents in one; older limits were
 * 500 writes per commit). The profile transaction therefore rewrites at most
 * `copiesPerTransaction` member copies (default 100; any real user is far below: the seed puts
 * people in 1 or 2 guilds) plus the two scores. Past that, the remaining member copies are
 * rewritten AFTER the profile commit, in follow-up transactions of `copiesPerTransaction`
 * documents each, before updateProfile returns. The window: between the profile commit and the
 * last follow-up, a reader of those guilds' member lists (database or a cache refilled from it)
 * can see the old name; the service invalidates the member-list keys only after updateProfile
 * returns, so the cache holds the new name afterwards. Each follow-up reads the CURRENT
 * `users/{id}.displayName` inside its transaction and writes that, so two renames racing
 * converge on the last committed name whatever order their follow-ups run in. If the process
 * dies (or a follow-up fails with contention, surfaced as ContentionError after the profile
 * committed) the remaining copies stay stale until the next rename of that user.
 *
 * What keeps new copies right is the writers of those documents (guild join, job completion):
 * they must read `users/{id}` inside their own transaction to copy the name, which serialises
 * them with this one.
 */
import { Timestamp } from '@google-cloud/firestore';
import { orContention } from '../db/firestore/contention.ts';
import type { FirestoreContext } from '../db/firestore/context.ts';
import { BOARD_TYPES, toIso, type UserDoc } from '../db/firestore/model.ts';
import type { Profile, UsersData } from './users.data.ts';

const DOMAIN = 'users';

/** Member copies one transaction rewrites (the profile transaction, then each follow-up). */
export const RENAME_COPIES_PER_TRANSACTION = 100;

export interface FirestoreUsersOptions {
  /** Default RENAME_COPIES_PER_TRANSACTION; tests lower it to exercise the follow-ups. */
  copiesPerTransaction?: number;
}

const toProfile = (d: UserDoc): Profile => ({
  id: d.id,
  displayName: d.displayName,
  bio: d.bio,
  avatarUrl: d.avatarUrl,
  createdAt: toIso(d.createdAt),
  updatedAt: toIso(d.updatedAt),
});

const isId = (n: number): boolean => Number.isSafeInteger(n) && n >= 1;

export function createFirestoreUsersData(ctx: FirestoreContext, opts: FirestoreUsersOptions = {}): UsersData {
  const { bill, refs } = ctx;
  const perTx = opts.copiesPerTransaction ?? RENAME_COPIES_PER_TRANSACTION;
  if (!Number.isSafeInteger(perTx) || perTx < 1) throw new RangeError(`copiesPerTransaction must be a positive integer, got ${perTx}`);

  /**
   * One follow-up: rewrites the member copies of `guildIds` (≤ perTx) with the name the user
   * has NOW (read in the same transaction), so racing renames converge.
   */
  const rewriteMemberCopies = (userId: number, guildIds: readonly number[]): Promise<void> =>
    orContention(
      bill.tx(DOMAIN, async (tx) => {
        const user = (await tx.get(refs.user(userId))).data();
        if (user === undefined) return;
        const members = await tx.getAll(...guildIds.map((g) => refs.guildMember(g, userId)));
        for (const m of members) {
          const doc = m.data();
          if (doc !== undefined && doc.displayName !== user.displayName) tx.update(m.ref, { displayName: user.displayName });
        }
      }),
    );

  return {
    async findProfile(id) {
      if (!isId(id)) return undefined;
      const doc = (await bill.get(DOMAIN, refs.user(id))).data();
      return doc === undefined ? undefined : toProfile(doc);
    },

    async updateProfile(id, patch) {
      if (!isId(id)) return undefined;
      const userRef = refs.user(id);
      const done = await orContention(
        bill.tx(DOMAIN, async (tx) => {
          // Reads first (a transaction may not read after writing).
          const old = (await tx.get(userRef)).data();
          if (old === undefined) return undefined;
          const next: UserDoc = {
            ...old,
            displayName: patch.displayName ?? old.displayName,
            bio: patch.bio ?? old.bio,
            avatarUrl: patch.avatarUrl !== undefined ? patch.avatarUrl : old.avatarUrl,
            updatedAt: Timestamp.now(),
          };
          let later: number[] = [];
          const copyWrites: Array<() => void> = [];
          if (next.displayName !== old.displayName) {
            const guildIds = (await tx.query(refs.userGuilds(id))).docs.map((d) => d.data().guildId).sort((a, b) => a - b);
            later = guildIds.slice(perTx);
            const members = await tx.getAll(...guildIds.slice(0, perTx).map((g) => refs.guildMember(g, id)));
            const scores = await tx.getAll(...BOARD_TYPES.map((type) => refs.score(type, id)));
            for (const snap of members) {
              const doc = snap.data();
              if (doc !== undefined && doc.displayName !== next.displayName) copyWrites.push(() => tx.update(snap.ref, { displayName: next.displayName }));
            }
            for (const snap of scores) {
              const doc = snap.data();
              if (doc !== undefined && doc.displayName !== next.displayName) copyWrites.push(() => tx.update(snap.ref, { displayName: next.displayName }));
            }
          }
          tx.update(userRef, { displayName: next.displayName, bio: next.bio, avatarUrl: next.avatarUrl, updatedAt: next.updatedAt });
          for (const write of copyWrites) write();
          return { profile: toProfile(next), previousDisplayName: old.displayName, later };
        }),
      );
      if (done === undefined) return undefined;
      for (let i = 0; i < done.later.length; i += perTx) await rewriteMemberCopies(id, done.later.slice(i, i + perTx));
      return { profile: done.profile, previousDisplayName: done.previousDisplayName };
    },
  };
}
