/**
 * Chat messages, members only. The membership check comes first and reads `chat:{id}` (name
 * and member ids, 5 min); only then is the page read (`chat:{id}:messages:{page}`, 30 s), so a
 * non-member never reads, nor causes to be cached, anything of the chat. Posting checks
 * membership in SQL and deletes every cached page of that chat (a new message shifts them all).
 */
import { CacheKeys } from '../../cache/index.ts';
import { CACHE_TTL, PAGE_SIZE } from '../cache-policy.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../http/errors.ts';
import * as q from './chat.queries.ts';

export type { Message } from './chat.queries.ts';

export interface MessagePage {
  chatId: number;
  items: q.Message[];
  page: number;
  pageSize: number;
  hasMore: boolean;
}

async function assertMember(deps: AppDeps, chatId: number, userId: number): Promise<void> {
  const { value: chat } = await deps.cacheAccess.readFound(CacheKeys.chat(chatId), 'Chat', () => q.findChat(deps.db, chatId), CACHE_TTL.chat);
  if (!chat.memberIds.includes(userId)) throw new ForbiddenError('Only members can read this chat');
}

export async function getMessages(deps: AppDeps, userId: number, chatId: number, page: number): Promise<ReadResult<MessagePage>> {
  await assertMember(deps, chatId, userId);
  return deps.cacheAccess.read(
    CacheKeys.chatMessages(chatId, page),
    async () => {
      const rows = await q.listMessages(deps.db, chatId, PAGE_SIZE.chatMessages + 1, (page - 1) * PAGE_SIZE.chatMessages);
      return { chatId, items: rows.slice(0, PAGE_SIZE.chatMessages), page, pageSize: PAGE_SIZE.chatMessages, hasMore: rows.length > PAGE_SIZE.chatMessages };
    },
    CACHE_TTL.chatMessages,
  );
}

export async function postMessage(deps: AppDeps, userId: number, chatId: number, body: string): Promise<q.Message> {
  if (body.trim().length === 0) throw new BadRequestError('body must not be blank', 'body');
  const message = await q.insertMessageAsMember(deps.db, chatId, userId, body);
  if (message === undefined) {
    if (!(await q.chatExists(deps.db, chatId))) throw new NotFoundError('Chat');
    throw new ForbiddenError('Only members can post in this chat');
  }
  await deps.cacheAccess.invalidatePattern(CacheKeys.chatMessagesPattern(chatId));
  return message;
}
