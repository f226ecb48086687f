/**
 * The chat port (chat.data.ts) as a contract: the same assertions against the SQL adapter and
 * the Firestore adapter (emulator), each on its own seeded data set. Seed structure used: user u
 * is a member of chat ceil(u/20), some of a second chat; every chat has 40 messages from its
 * members, later ids newer.
 */
import { expect, it } from 'vitest';
import type { ChatData, Message } from '../../../src/app/chat/chat.data.ts';
import { MESSAGES_PER_CHAT } from '../../../src/app/db/seed.ts';
import { ContentionError } from '../../../src/app/http/errors.ts';
import { describePorts, PORT_BACKENDS } from '../../helpers/ports.ts';

const USERS = 100; // chats 1..5
const NO_CHAT = 999;

/** Every message of a chat, newest first, by walking pages of `pageSize`. */
async function allPages(chat: ChatData, chatId: number, pageSize: number): Promise<{ items: Message[]; pages: boolean[] }> {
  const items: Message[] = [];
  const pages: boolean[] = [];
  for (let page = 1; ; page++) {
    const p = await chat.listMessages(chatId, page, pageSize);
    items.push(...p.items);
    pages.push(p.hasMore);
    if (!p.hasMore) return { items, pages };
  }
}

describePorts('chat port: %s adapter', { users: USERS }, (b) => {
  const chat = b.chat;

  /** A user of chat 1's block (1..20) who is not a member of `chatId`. */
  async function outsider(chatId: number): Promise<number> {
    const members = new Set((await chat.findChat(chatId))?.memberIds);
    const u = [...Array(20).keys()].map((i) => i + 1).find((x) => !members.has(x));
    if (u === undefined) throw new Error('no outsider');
    return u;
  }

  it('findChat: name and ascending member ids (the block of 20, plus second-chat members); undefined when missing', async () => {
    const c1 = await chat.findChat(1);
    expect(c1).toMatchObject({ id: 1, name: 'General' });
    const ids = c1?.memberIds ?? [];
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    for (let u = 1; u <= 20; u++) expect(ids).toContain(u);
    const c3 = await chat.findChat(3);
    for (let u = 41; u <= 60; u++) expect(c3?.memberIds).toContain(u);
    expect(await chat.findChat(NO_CHAT)).toBeUndefined();
  });

  it('listMessages: newest first, pages that tile the whole chat, hasMore only before the last one', async () => {
    const first = await chat.listMessages(2, 1, 100);
    expect(first.hasMore).toBe(false);
    expect(first.items).toHaveLength(MESSAGES_PER_CHAT);
    const members = new Set((await chat.findChat(2))?.memberIds);
    for (const m of first.items) {
      expect(m).toMatchObject({ chatId: 2, body: expect.any(String) as string });
      expect(members.has(m.userId)).toBe(true);
      expect(new Date(m.createdAt).toISOString()).toBe(m.createdAt);
    }
    // Seeded ids grow with time: newest first is id descending.
    const ids = first.items.map((m) => m.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    for (let i = 1; i < first.items.length; i++) expect((first.items[i - 1]?.createdAt ?? '') >= (first.items[i]?.createdAt ?? '')).toBe(true);

    const walked = await allPages(chat, 2, 15); // 15 + 15 + 10
    expect(walked.items).toEqual(first.items);
    expect(walked.pages).toEqual([true, true, false]);
    expect(await chat.listMessages(2, 2, 20)).toEqual({ items: first.items.slice(20, 40), hasMore: false });
    expect(await chat.listMessages(2, 3, 20)).toEqual({ items: [], hasMore: false });
    expect(await chat.listMessages(2, 50, 20)).toEqual({ items: [], hasMore: false });
    expect(await chat.listMessages(NO_CHAT, 1, 20)).toEqual({ items: [], hasMore: false });
  });

  it('post: 404 without the chat, 403 for a non-member, nothing written; a member posts on top of page 1', async () => {
    const stranger = await outsider(3);
    const before = await chat.listMessages(3, 1, 100);
    expect(before.items).toHaveLength(MESSAGES_PER_CHAT);
    await expect(chat.post(NO_CHAT, 1, 'hello')).rejects.toMatchObject({ statusCode: 404, code: 'E_NOT_FOUND' });
    await expect(chat.post(3, stranger, 'hello')).rejects.toMatchObject({ statusCode: 403, code: 'E_FORBIDDEN' });
    expect(await chat.listMessages(3, 1, 100)).toEqual(before);

    const m = await chat.post(3, 45, 'first post');
    expect(m).toMatchObject({ chatId: 3, userId: 45, body: 'first post' });
    expect(Number.isSafeInteger(m.id) && m.id > 0).toBe(true);
    expect(new Date(m.createdAt).toISOString()).toBe(m.createdAt);
    expect(before.items.some((x) => x.id === m.id)).toBe(false);

    const after = await chat.listMessages(3, 1, 100);
    expect(after.items).toHaveLength(MESSAGES_PER_CHAT + 1);
    expect(after.items[0]).toEqual(m);
    expect(after.items.slice(1)).toEqual(before.items);
    // Page 2 of 20 now starts one message later.
    expect((await chat.listMessages(3, 2, 20)).items).toEqual(after.items.slice(20, 40));
  });

  it('concurrent posts by members: each written once, distinct ids (a loser is a typed 503, never a 500)', async () => {
    const authors = [61, 62, 63, 64, 65, 66, 67, 68, 69, 70]; // chat 4
    const before = (await chat.listMessages(4, 1, 1000)).items.length;
    const settled = await Promise.allSettled(authors.map((u, i) => chat.post(4, u, `burst ${i}`)));
    for (const s of settled) if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(ContentionError);
    const posted = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    expect(posted.length).toBeGreaterThan(0);
    expect(new Set(posted.map((m) => m.id)).size).toBe(posted.length);
    const after = (await chat.listMessages(4, 1, 1000)).items;
    expect(after.length).toBe(before + posted.length);
    for (const m of posted) expect(after.filter((x) => x.id === m.id)).toEqual([m]);
  }, 60_000);

  if (b.name === 'firestore') {
    it('bills what docs/firestore.md says: post 1 read + 1 write; page N walks (N-1)×pageSize ordering fields first', async () => {
      const { bill } = b.requireFirestore();
      const line = (): unknown => bill.snapshot().chat;
      await chat.post(5, 81, 'warm the id block'); // the block reservation is billed once per 100 ids
      bill.reset();
      await chat.post(5, 81, 'counted');
      expect(line()).toEqual({ reads: 1, writes: 1, deletes: 0 });
      bill.reset();
      await chat.listMessages(5, 1, 10);
      expect(line()).toEqual({ reads: 11, writes: 0, deletes: 0 });
      bill.reset();
      await chat.listMessages(5, 3, 10); // 20 walked + 11
      expect(line()).toEqual({ reads: 31, writes: 0, deletes: 0 });
      bill.reset();
      const members = (await chat.findChat(5))?.memberIds.length ?? 0;
      expect(members).toBeGreaterThanOrEqual(20);
      expect(line()).toEqual({ reads: 1 + members, writes: 0, deletes: 0 });
    });
  }
});

it('has both adapters', () => {
  expect([...PORT_BACKENDS]).toEqual(['sql', 'firestore']);
});
