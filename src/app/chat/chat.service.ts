/**
 * Chat messages, members only. The membership check comes first and reads `chat:{id}` (name
 * and member ids, 5 min); only then is the page read (`chat:{id}:messages:{page}`, 30 s), so a
 * non-member never reads, nor causes to be cached, anything of the chat. Posting checks
 * membership in the database write and invalidates every cached page of that chat (a new
 * message shifts them all) through the chat's tag: one step, whatever the keyspace holds.
 */
import { CacheKeys } from '../../cache/index.ts';
import { CACHE_TAGS, CACHE_TTL, chatMessagesReadOptions, PAGE_SIZE } from '../cache-policy.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { BadRequestError } from '../http/errors.ts';
import type { Message } from './chat.data.ts';
import { assertMayRead } from './chat.rules.ts';

export type { Message } from './chat.data.ts';

export interface MessagePage {
  chatId: number;
  items: Message[];
  page: number;
  pageSize: number;
  hasMore: boolean;
}

async function assertMember(deps: AppDeps, chatId: number, userId: number): Promise<void> {
  const { value: chat } = await deps.cacheAccess.readFound(CacheKeys.chat(chatId), 'Chat', () => deps.data.chat.findChat(chatId), CACHE_TTL.chat);
  assertMayRead(chat, userId);
}

export async function getMessages(deps: AppDeps, userId: number, chatId: number, page: number): Promise<ReadResult<MessagePage>> {
  await assertMember(deps, chatId, userId);
  return deps.cacheAccess.read(
    CacheKeys.chatMessages(chatId, page),
    async () => {
      const { items, hasMore } = await deps.data.chat.listMessages(chatId, page, PAGE_SIZE.chatMessages);
      return { chatId, items, page, pageSize: PAGE_SIZE.chatMessages, hasMore };
    },
    chatMessagesReadOptions(chatId),
  );
}

export async function postMessage(deps: AppDeps, userId: number, chatId: number, body: string): Promise<Message> {
  if (body.trim().length === 0) throw new BadRequestError('body must not be blank', 'body');
  const message = await deps.data.chat.post(chatId, userId, body);
  await deps.cacheAccess.invalidateTags(CACHE_TAGS.chatMessages(chatId));
  return message;
}
