/**
 * Guilds and their members, each cached for 1 h (`guild:{id}`, `guild:{id}:members`): they
 * change only when someone joins or leaves, and those writes delete both keys (the guild
 * holds member_count).
 */
import { CacheKeys } from '../../cache/index.ts';
import { CACHE_TTL, GUILD_MEMBERS_LIMIT } from '../cache-policy.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { NotFoundError } from '../http/errors.ts';
import type { Guild, GuildMember } from './guilds.data.ts';

export type { Guild, GuildMember } from './guilds.data.ts';

export interface GuildMembers {
  guildId: number;
  members: GuildMember[];
}

export async function getGuild(deps: AppDeps, id: number): Promise<ReadResult<Guild>> {
  return deps.cacheAccess.readFound(CacheKeys.guild(id), 'Guild', () => deps.data.guilds.findGuild(id), CACHE_TTL.guild);
}

export async function getMembers(deps: AppDeps, id: number): Promise<ReadResult<GuildMembers>> {
  return deps.cacheAccess.read(
    CacheKeys.guildMembers(id),
    async () => {
      const members = await deps.data.guilds.findMembers(id, GUILD_MEMBERS_LIMIT);
      if (members === undefined) throw new NotFoundError('Guild');
      return { guildId: id, members };
    },
    CACHE_TTL.guildMembers,
  );
}

/** The user joins the guild. */
export async function join(deps: AppDeps, userId: number, guildId: number): Promise<GuildMember> {
  const member = await deps.data.guilds.join(guildId, userId);
  await deps.cacheAccess.invalidate(CacheKeys.guild(guildId), CacheKeys.guildMembers(guildId));
  return member;
}

/** Removes `userId` from the guild: the member themselves, or the guild's owner. */
export async function removeMember(deps: AppDeps, actorId: number, guildId: number, userId: number): Promise<void> {
  await deps.data.guilds.removeMember(actorId, guildId, userId);
  await deps.cacheAccess.invalidate(CacheKeys.guild(guildId), CacheKeys.guildMembers(guildId));
}

/** Member-list keys that show this user's display name (for a profile edit). */
export async function memberListKeysOfUser(deps: AppDeps, userId: number): Promise<string[]> {
  return (await deps.data.guilds.guildIdsOfUser(userId)).map((id) => CacheKeys.guildMembers(id));
}

export const WARM_GUILDS = 50;

/** Warmer: the most active guilds and their member lists, in two queries. */
export async function warmGuilds(deps: AppDeps): Promise<number> {
  const guilds = await deps.data.guilds.topGuilds(WARM_GUILDS);
  const members = await deps.data.guilds.membersOfGuilds(
    guilds.map((g) => g.id),
    GUILD_MEMBERS_LIMIT,
  );
  let loaded = 0;
  await Promise.all(
    guilds.map(async (g) => {
      const [a, b] = await Promise.all([
        deps.cacheAccess.read(CacheKeys.guild(g.id), async () => g, CACHE_TTL.guild),
        deps.cacheAccess.read(CacheKeys.guildMembers(g.id), async () => ({ guildId: g.id, members: members.get(g.id) ?? [] }), CACHE_TTL.guildMembers),
      ]);
      loaded += (a.xCache === 'MISS' ? 1 : 0) + (b.xCache === 'MISS' ? 1 : 0);
    }),
  );
  return loaded;
}
