/**
 * The Firestore adapter of the guilds port (guilds.data.ts), on the model of docs/firestore.md:
 * `guilds/{id}` holds `memberCount`, `guilds/{id}/members/{userId}` the members (with a copy of
 * the display name), and `users/{userId}/guilds/{guildId}` mirrors each membership for
 * "guilds of a user". Join and leave change all three in one transaction, so the count and the
 * mirror never drift from the member documents. Billed reads per call are noted on each method.
 */
import { FieldValue, Timestamp, type QueryDocumentSnapshot } from '@google-cloud/firestore';
import { orContention } from '../db/firestore/contention.ts';
import type { FirestoreContext } from '../db/firestore/context.ts';
import { queries, toIso, type GuildDoc, type GuildMemberDoc } from '../db/firestore/model.ts';
import { NotFoundError } from '../http/errors.ts';
import type { Guild, GuildMember, GuildsData } from './guilds.data.ts';
import { alreadyMember, assertMayRemove, JOIN_ROLE } from './guilds.rules.ts';

const DOMAIN = 'guilds';

const toGuild = (d: GuildDoc): Guild => ({
  id: d.id,
  name: d.name,
  description: d.description,
  ownerId: d.ownerId,
  memberCount: d.memberCount,
  activityScore: d.activityScore,
  createdAt: toIso(d.createdAt),
});

const toMember = (d: GuildMemberDoc): GuildMember => ({ userId: d.userId, displayName: d.displayName, role: d.role, joinedAt: toIso(d.joinedAt) });

const membersOf = (docs: readonly QueryDocumentSnapshot<GuildMemberDoc>[]): GuildMember[] => docs.map((s) => toMember(s.data()));

/** Firestore refuses a limit below 1 where SQL's `LIMIT 0` returns nothing: callers ask for at least one. */
function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
}

export function createFirestoreGuildsData(ctx: FirestoreContext): GuildsData {
  const { firestore: db, bill, refs: r } = ctx;

  return {
    /** 1 read. */
    async findGuild(id) {
      const snap = await bill.get(DOMAIN, r.guild(id));
      const doc = snap.data();
      return doc === undefined ? undefined : toGuild(doc);
    },

    /**
     * Members oldest first (joinedAt, then userId: the composite index of `queries.guildMembers`).
     * One query; only an empty result costs a second read, the guild itself, to tell "no such
     * guild" (undefined) from "no members" ([]): members exist only under an existing guild
     * (guilds are never deleted through the API).
     */
    async findMembers(guildId, limit) {
      assertLimit(limit);
      const snap = await bill.query(DOMAIN, queries.guildMembers(db, guildId, limit));
      if (!snap.empty) return membersOf(snap.docs);
      const guild = await bill.get(DOMAIN, r.guild(guildId));
      return guild.exists ? [] : undefined;
    },

    /** The mirror `users/{userId}/guilds`: one read per guild (one for none), no index. Ascending ids. */
    async guildIdsOfUser(userId) {
      const snap = await bill.query(DOMAIN, r.userGuilds(userId));
      return snap.docs.map((s) => s.data().guildId).sort((a, b) => a - b);
    },

    /**
     * One transaction, 3 reads: the guild (404), the membership (409, as the SQL adapter's
     * ON CONFLICT), and the user, whose display name the member document copies. Reading the
     * user inside the transaction also orders the join against a concurrent rename (which
     * writes `users/{id}` and rewrites the copies it finds through the mirror): either the
     * rename sees the new mirror document, or the join copies the new name. Writes: member,
     * mirror, and `memberCount + 1` (a transform on the guild document read above).
     */
    join(guildId, userId) {
      return orContention(
        bill.tx(DOMAIN, async (tx) => {
          const [guild, member, user] = await Promise.all([tx.get(r.guild(guildId)), tx.get(r.guildMember(guildId, userId)), tx.get(r.user(userId))]);
          if (!guild.exists) throw new NotFoundError('Guild');
          if (member.exists) throw alreadyMember();
          const displayName = user.data()?.displayName;
          // Unreachable through the API (the session's user exists); SQL refuses it by foreign key.
          if (displayName === undefined) throw new NotFoundError('User');
          const joinedAt = Timestamp.now();
          const doc: GuildMemberDoc = { guildId, userId, displayName, role: JOIN_ROLE, joinedAt };
          tx.create(r.guildMember(guildId, userId), doc);
          tx.create(r.userGuild(userId, guildId), { guildId, role: JOIN_ROLE, joinedAt });
          tx.update(r.guild(guildId), { memberCount: FieldValue.increment(1) });
          return toMember(doc);
        }),
      );
    },

    /**
     * One transaction, 2 reads (guild, membership). `assertMayRemove` runs on the guild before
     * the membership is looked at, as in SQL: 404 guild, 403, 409 owner, then 404 member.
     */
    removeMember(actorId, guildId, userId) {
      return orContention(
        bill.tx(DOMAIN, async (tx) => {
          const [guild, member] = await Promise.all([tx.get(r.guild(guildId)), tx.get(r.guildMember(guildId, userId))]);
          assertMayRemove(guild.data(), actorId, userId);
          if (!member.exists) throw new NotFoundError('Member');
          tx.delete(r.guildMember(guildId, userId));
          tx.delete(r.userGuild(userId, guildId));
          tx.update(r.guild(guildId), { memberCount: FieldValue.increment(-1) });
        }),
      );
    },

    /** activityScore descending, ties by id: `limit` reads (composite index guilds (activityScore desc, id)). */
    async topGuilds(limit) {
      assertLimit(limit);
      const snap = await bill.query(DOMAIN, queries.topGuilds(db, limit));
      return snap.docs.map((s) => toGuild(s.data()));
    },

    /**
     * One member query per distinct guild, in parallel (Firestore has no `IN` over parents):
     * min(members, perGuild) reads each, at least one. An unknown guild maps to [], as in SQL.
     */
    async membersOfGuilds(guildIds, perGuild) {
      const ids = [...new Set(guildIds)];
      const out = new Map<number, GuildMember[]>(ids.map((id) => [id, []]));
      // SQL's `n <= perGuild` keeps nothing for perGuild < 1; Firestore would refuse the limit.
      if (perGuild < 1) return out;
      const lists = await Promise.all(ids.map(async (id) => [id, membersOf((await bill.query(DOMAIN, queries.guildMembers(db, id, perGuild))).docs)] as const));
      for (const [id, members] of lists) out.set(id, members);
      return out;
    },
  };
}
