/** Who may read and post in a chat: shared by every adapter of chat.data.ts and the service. */
import { ForbiddenError, NotFoundError } from '../http/errors.ts';
import type { ChatAccess } from './chat.data.ts';

/** Members only: 404 when the chat does not exist, 403 for anyone outside it. */
export function assertMayPost(chat: ChatAccess | undefined, userId: number): void {
  if (chat === undefined) throw new NotFoundError('Chat');
  if (!chat.memberIds.includes(userId)) throw new ForbiddenError('Only members can post in this chat');
}

/** Reading: the chat exists (the caller threw 404 otherwise) and the user is a member. */
export function assertMayRead(chat: ChatAccess, userId: number): void {
  if (!chat.memberIds.includes(userId)) throw new ForbiddenError('Only members can read this chat');
}
