/** Membership rules, shared by every adapter of guilds.data.ts. */
import { ConflictError, ForbiddenError, NotFoundError } from '../http/errors.ts';

/** Removing `userId` from a guild: the member themselves or the guild's owner may; the owner never leaves. */
export function assertMayRemove(guild: { ownerId: number } | undefined, actorId: number, userId: number): void {
  if (guild === undefined) throw new NotFoundError('Guild');
  if (actorId !== userId && actorId !== guild.ownerId) throw new ForbiddenError('Only the member or the guild owner can remove a member');
  if (userId === guild.ownerId) throw new ConflictError('E_OWNER_CANNOT_LEAVE', 'The owner cannot leave their own guild');
}

/** Joining a guild one already belongs to. */
export function alreadyMember(): ConflictError {
  return new ConflictError('E_ALREADY_MEMBER', 'You are already a member of this guild');
}

/** The role of whoever joins through the API. */
export const JOIN_ROLE = 'member';
