/**
 * The Firestore adapter of the chat port (chat.data.ts), on the model of docs/firestore.md:
 * `chats/{id}`, its members as `chats/{id}/members/{userId}` and its messages as
 * `chats/{id}/messages/{messageId}`, listed newest first on (createdAt desc, id desc). Billed
 * reads per call are noted on each method.
 */
import { Timestamp, type DocumentData, type Query } from '@google-cloud/firestore';
import { orContention } from '../db/firestore/contention.ts';
import type { FirestoreContext } from '../db/firestore/context.ts';
import { queries, toIso, type MessageCursor, type MessageDoc } from '../db/firestore/model.ts';
import type { ChatData, Message } from './chat.data.ts';
import { postRefusal } from './chat.rules.ts';

const DOMAIN = 'chat';

/** Documents fetched per query while walking to the cursor of a later page (bounds memory, not reads). */
const WALK_CHUNK = 1_000;

const toMessage = (d: MessageDoc): Message => ({ id: d.id, chatId: d.chatId, userId: d.userId, body: d.body, createdAt: toIso(d.createdAt) });

/** The ordering fields of a message read through `select('createdAt', 'id')`. */
function cursorOf(data: DocumentData): MessageCursor {
  return { createdAt: data['createdAt'] as Timestamp, id: data['id'] as number };
}

export function createFirestoreChatData(ctx: FirestoreContext): ChatData {
  const { firestore: db, bill, refs: r } = ctx;

  /**
   * The cursor after the first `skip` messages (newest first), or 'end' when the chat has no
   * more than `skip`: page N of the port starts after message (N-1)×pageSize. Firestore's
   * `offset()` would bill every skipped message without saying so; this walk bills them too
   * ((N-1)×pageSize reads for page N, in queries of at most WALK_CHUNK documents, only the two
   * ordering fields transferred), but visibly in the bill. Page 1 walks nothing. Pages are
   * bounded by MAX_PAGE and cached by the service, so the walk is paid once per page and TTL;
   * an `?after=` cursor in the API would remove it (docs/firestore.md, "Job board by cursor").
   */
  async function cursorAfter(chatId: number, skip: number): Promise<MessageCursor | undefined | 'end'> {
    let cursor: MessageCursor | undefined;
    let left = skip;
    while (left > 0) {
      const chunk = Math.min(left, WALK_CHUNK);
      const q: Query<DocumentData> = queries.latestMessages(db, chatId, chunk, cursor).select('createdAt', 'id');
      const snap = await bill.query(DOMAIN, q);
      const last = snap.docs[snap.docs.length - 1];
      if (snap.size < chunk || last === undefined) return 'end';
      cursor = cursorOf(last.data());
      left -= chunk;
    }
    return cursor;
  }

  return {
    /**
     * The chat and its member ids (ascending): 1 read for the chat plus one per member (one for
     * none), the two fetched in parallel. The service caches the answer for 5 minutes.
     */
    async findChat(chatId) {
      const [chat, members] = await Promise.all([bill.get(DOMAIN, r.chat(chatId)), bill.query(DOMAIN, r.chatMembers(chatId).select('userId'))]);
      const doc = chat.data();
      if (doc === undefined) return undefined;
      const memberIds = members.docs.map((s) => s.get('userId') as number).sort((a, b) => a - b);
      return { id: doc.id, name: doc.name, memberIds };
    },

    /**
     * Page `page` newest first: the cursor walk above, then `pageSize + 1` messages after it
     * (the extra one only says a page follows). Newest first is (createdAt desc, id desc):
     * ids come from per-process blocks, so they are unique but not time-ordered across
     * processes (ids.ts); within the seed, id order is time order, as in SQL's `ORDER BY id DESC`.
     */
    async listMessages(chatId, page, pageSize) {
      if (!Number.isSafeInteger(page) || page < 1 || !Number.isSafeInteger(pageSize) || pageSize < 1) {
        throw new RangeError(`page and pageSize must be positive integers, got ${page} and ${pageSize}`);
      }
      const after = await cursorAfter(chatId, (page - 1) * pageSize);
      if (after === 'end') return { items: [], hasMore: false };
      const snap = await bill.query(DOMAIN, queries.latestMessages(db, chatId, pageSize + 1, after));
      const rows = snap.docs.map((s) => toMessage(s.data()));
      return { items: rows.slice(0, pageSize), hasMore: rows.length > pageSize };
    },

    /**
     * The id is taken from this process's block before the transaction (ids.ts), so a retried
     * attempt writes the same message id, and `create()` could never write it twice. In the
     * transaction: the author's member document (1 read) and, only when it is missing, the
     * chat (1 more read) to choose the refusal; then the message. The membership read and the
     * write commit together, so a member removed meanwhile cannot post (never a cached check).
     */
    async post(chatId, userId, body) {
      const id = await ctx.ids('messages').nextId();
      return orContention(
        bill.tx(DOMAIN, async (tx) => {
          const member = await tx.get(r.chatMember(chatId, userId));
          if (!member.exists) throw postRefusal((await tx.get(r.chat(chatId))).exists);
          const doc: MessageDoc = { id, chatId, userId, body, createdAt: Timestamp.now() };
          tx.create(r.message(chatId, id), doc);
          return toMessage(doc);
        }),
      );
    },
  };
}
