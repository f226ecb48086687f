/** The port of the chat domain. The SQL adapter is chat.sql.ts; the rules are chat.rules.ts. */
import type { Page } from '../paging.ts';

/** A chat's name and member ids: what the membership check reads (and caches). */
export interface ChatAccess {
  id: number;
  name: string;
  /** Ascending. */
  memberIds: number[];
}

export interface Message {
  id: number;
  chatId: number;
  userId: number;
  body: string;
  createdAt: string;
}

export interface ChatData {
  findChat(chatId: number): Promise<ChatAccess | undefined>;
  /** Page `page` (from 1) of the chat's messages, newest first, `pageSize` per page. */
  listMessages(chatId: number, page: number, pageSize: number): Promise<Page<Message>>;
  /**
   * Posts the message if the author is a member, checked atomically with the write (never from
   * the cache). Throws `postRefusal` (chat.rules.ts): 404 without the chat, 403 for a
   * non-member.
   */
  post(chatId: number, userId: number, body: string): Promise<Message>;
}
