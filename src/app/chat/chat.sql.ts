/** The PostgreSQL/PGlite adapter of the chat port (chat.data.ts). */
import type { Database, DbTx } from '../db/database.ts';
import { toPage } from '../paging.ts';
import type { ChatAccess, ChatData, Message } from './chat.data.ts';
import { postRefusal } from './chat.rules.ts';

const Q = { domain: 'chat' } as const;

interface MessageRow {
  id: number;
  chat_id: number;
  user_id: number;
  body: string;
  created_at: Date;
}

const toMessage = (r: MessageRow): Message => ({ id: r.id, chatId: r.chat_id, userId: r.user_id, body: r.body, createdAt: r.created_at.toISOString() });

/** The chat with its member ids (for the membership check), or undefined. */
async function findChat(db: DbTx, chatId: number): Promise<ChatAccess | undefined> {
  const { rows } = await db.query<{ id: number; name: string; member_ids: number[] }>(
    `SELECT c.id, c.name, COALESCE(array_agg(m.user_id ORDER BY m.user_id) FILTER (WHERE m.user_id IS NOT NULL), '{}') AS member_ids
       FROM chats c LEFT JOIN chat_members m ON m.chat_id = c.id
      WHERE c.id = $1
      GROUP BY c.id`,
    [chatId],
    Q,
  );
  const row = rows[0];
  return row === undefined ? undefined : { id: row.id, name: row.name, memberIds: row.member_ids };
}

/** Newest first. */
async function listMessages(db: DbTx, chatId: number, limit: number, offset: number): Promise<Message[]> {
  const { rows } = await db.query<MessageRow>(
    'SELECT id, chat_id, user_id, body, created_at FROM chat_messages WHERE chat_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3',
    [chatId, limit, offset],
    Q,
  );
  return rows.map(toMessage);
}

/**
 * Posts the message if the author is a member, checked in the same statement (never from the
 * cache); undefined when they are not, or the chat does not exist.
 */
async function insertMessageAsMember(db: DbTx, chatId: number, userId: number, body: string): Promise<Message | undefined> {
  const { rows } = await db.query<MessageRow>(
    `INSERT INTO chat_messages (chat_id, user_id, body)
     SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM chat_members WHERE chat_id = $1 AND user_id = $2)
     RETURNING id, chat_id, user_id, body, created_at`,
    [chatId, userId, body],
    Q,
  );
  const row = rows[0];
  return row === undefined ? undefined : toMessage(row);
}

async function chatExists(db: DbTx, chatId: number): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>('SELECT EXISTS (SELECT 1 FROM chats WHERE id = $1) AS found', [chatId], Q);
  return rows[0]?.found === true;
}

export function createSqlChatData(db: Database): ChatData {
  return {
    findChat: (chatId) => findChat(db, chatId),
    listMessages: async (chatId, page, pageSize) => toPage(await listMessages(db, chatId, pageSize + 1, (page - 1) * pageSize), pageSize),
    async post(chatId, userId, body) {
      const message = await insertMessageAsMember(db, chatId, userId, body);
      if (message !== undefined) return message;
      // Not posted: the chat is missing (404) or the author is not a member (403).
      throw postRefusal(await chatExists(db, chatId));
    },
  };
}
