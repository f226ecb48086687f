/** Who may read and post in a chat: shared by every adapter of chat.data.ts and the service. */
import { ForbiddenError, type HttpError, NotFoundError } from '../http/errors.ts';
import type { ChatAccess } from './chat.data.ts';

/** Why a post was refused: 404 when the chat does not exist, 403 when the author is not a member. */
export function postRefusal(chatExists: boolean): HttpError {
  return chatExists ? new ForbiddenError('Only members can post in this chat') : new NotFoundError('Chat');
}

/** Members only (for an adapter that reads the chat before writing): throws `postRefusal`. */
export function assertMayPost(chat: ChatAccess | undefined, userId: number): void {
  if (chat === undefined || !chat.memberIds.includes(userId)) throw postRefusal(chat !== undefined);
}

/** Reading: the chat exists (the caller threw 404 otherwise) and the user is a member. */
export function assertMayRead(chat: ChatAccess, userId: number): void {
  if (!chat.memberIds.includes(userId)) throw new ForbiddenError('Only members can read this chat');
}
