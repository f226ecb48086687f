/** The port of the guilds domain. The SQL adapter is guilds.sql.ts; the rules are guilds.rules.ts. */

export interface Guild {
  id: number;
  name: string;
  description: string;
  ownerId: number;
  memberCount: number;
  activityScore: number;
  createdAt: string;
}

export type GuildRole = 'owner' | 'officer' | 'member';

export interface GuildMember {
  userId: number;
  displayName: string;
  role: GuildRole;
  joinedAt: string;
}

export interface GuildsData {
  findGuild(id: number): Promise<Guild | undefined>;
  /** The members, oldest first (ties by user id), at most `limit`; undefined when the guild does not exist. */
  findMembers(guildId: number, limit: number): Promise<GuildMember[] | undefined>;
  /** Guilds the user belongs to (their display name shows in those member lists). */
  guildIdsOfUser(userId: number): Promise<number[]>;
  /**
   * Atomically adds the user as a plain member and increments memberCount. Throws 404 without
   * the guild, 409 E_ALREADY_MEMBER (`alreadyMember()`, guilds.rules.ts).
   */
  join(guildId: number, userId: number): Promise<GuildMember>;
  /**
   * Atomically removes `userId` and decrements memberCount, when `assertMayRemove`
   * (guilds.rules.ts) allows `actorId` to; 404 without the guild or the membership.
   */
  removeMember(actorId: number, guildId: number, userId: number): Promise<void>;
  /** The most active guilds (activityScore descending, ties by id), for cache warming. */
  topGuilds(limit: number): Promise<Guild[]>;
  /** Members of several guilds at once (for cache warming), at most `perGuild` each, ordered as findMembers; every id is a key. */
  membersOfGuilds(guildIds: readonly number[], perGuild: number): Promise<Map<number, GuildMember[]>>;
}
