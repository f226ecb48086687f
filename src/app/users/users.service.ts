/**
 * Profiles. Read through `user:{id}:profile` (5 min). An edit deletes that key; when the
 * display name changed it also deletes the other cached values that show the name: the member
 * lists of the user's guilds and the leaderboards whose cached top entries hold the user.
 */
import { CacheKeys } from '../../cache/index.ts';
import { CACHE_TTL } from '../cache-policy.ts';
import type { AppDeps } from '../deps.ts';
import { memberListKeysOfUser } from '../guilds/guilds.service.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../http/errors.ts';
import { leaderboardKeysShowingUser } from '../leaderboards/leaderboards.service.ts';
import type { Profile, ProfilePatch } from './users.data.ts';

export type { Profile, ProfilePatch } from './users.data.ts';

export async function getProfile(deps: AppDeps, id: number): Promise<ReadResult<Profile>> {
  return deps.cacheAccess.readFound(CacheKeys.userProfile(id), 'User', () => deps.data.users.findProfile(id), CACHE_TTL.userProfile);
}

function validatePatch(patch: ProfilePatch): ProfilePatch {
  if (patch.displayName === undefined && patch.bio === undefined && patch.avatarUrl === undefined) {
    throw new BadRequestError('Give at least one of displayName, bio, avatarUrl', 'body');
  }
  const out: ProfilePatch = { ...patch };
  if (patch.displayName !== undefined) {
    out.displayName = patch.displayName.trim();
    if (out.displayName.length === 0) throw new BadRequestError('displayName must not be blank', 'displayName');
  }
  if (typeof patch.avatarUrl === 'string') {
    let url: URL | undefined;
    try {
      url = new URL(patch.avatarUrl);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new BadRequestError('avatarUrl must be an http(s) URL', 'avatarUrl');
    }
  }
  return out;
}

export async function updateProfile(deps: AppDeps, actorId: number, id: number, patch: ProfilePatch): Promise<Profile> {
  if (actorId !== id) throw new ForbiddenError('You can only edit your own profile');
  const result = await deps.data.users.updateProfile(id, validatePatch(patch));
  if (result === undefined) throw new NotFoundError('User');
  const stale = [CacheKeys.userProfile(id)];
  if (result.previousDisplayName !== result.profile.displayName) {
    stale.push(...(await memberListKeysOfUser(deps, id)), ...(await leaderboardKeysShowingUser(deps, id)));
  }
  await deps.cacheAccess.invalidate(...stale);
  return result.profile;
}
