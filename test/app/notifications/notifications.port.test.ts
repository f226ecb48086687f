/**
 * The notifications port (notifications.data.ts) contract, the same assertions on the SQL
 * adapter and the Firestore adapter (emulator): newest first with the unread count of all,
 * markRead's `changed`, and someone else's id answering exactly like a missing one. Plus the
 * billed operations on Firestore.
 */
import { expect, it } from 'vitest';
import { NotFoundError } from '../../../src/app/http/errors.ts';
import { describePorts } from '../../helpers/ports.ts';

const USERS = 100;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function notFoundOf(p: Promise<unknown>): Promise<{ name: string; code: string; statusCode: number; message: string }> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NotFoundError);
  const e = err as NotFoundError;
  return { name: e.name, code: e.code, statusCode: e.statusCode, message: e.message };
}

describePorts('notifications port on %s', { users: USERS }, (b) => {
  it('list: the seeded three, newest first, ISO times, the newest unread; limit cuts the items, not the count', async () => {
    const all = await b.notifications.list(2, 50);
    expect(all.items).toHaveLength(3);
    expect(all.unread).toBe(1);
    for (const n of all.items) {
      expect(Object.keys(n).sort()).toEqual(['body', 'createdAt', 'id', 'readAt']);
      expect(n.createdAt).toMatch(ISO);
    }
    const times = all.items.map((n) => Date.parse(n.createdAt));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    expect(all.items[0]?.readAt).toBeNull();
    for (const n of all.items.slice(1)) expect(n.readAt).toMatch(ISO);

    const two = await b.notifications.list(2, 2);
    expect(two.items).toEqual(all.items.slice(0, 2));
    expect(two.unread).toBe(1);
    expect(await b.notifications.list(USERS + 1_000, 50)).toEqual({ items: [], unread: 0 });
  });

  it('markRead: unread → changed with readAt set, the list shows it; again → unchanged, same readAt', async () => {
    const before = await b.notifications.list(3, 50);
    const unread = before.items.find((n) => n.readAt === null);
    if (unread === undefined) throw new Error('no unread notification for user 3');
    const first = await b.notifications.markRead(3, unread.id);
    expect(first.changed).toBe(true);
    expect(first.notification).toMatchObject({ id: unread.id, body: unread.body, createdAt: unread.createdAt });
    expect(first.notification.readAt).toMatch(ISO);
    const after = await b.notifications.list(3, 50);
    expect(after.unread).toBe(before.unread - 1);
    expect(after.items.find((n) => n.id === unread.id)).toEqual(first.notification);

    const again = await b.notifications.markRead(3, unread.id);
    expect(again).toEqual({ notification: first.notification, changed: false });
  });

  it('someone else\'s id is indistinguishable from a missing one, and is left untouched', async () => {
    const other = (await b.notifications.list(4, 50)).items.find((n) => n.readAt === null);
    if (other === undefined) throw new Error('no unread notification for user 4');
    const foreign = await notFoundOf(b.notifications.markRead(5, other.id));
    const missing = await notFoundOf(b.notifications.markRead(5, 987_654_321));
    expect(foreign).toEqual(missing);
    expect(foreign.statusCode).toBe(404);
    // (Non-integers never reach the port: the routes validate ids as integers.)
    for (const bad of [0, -1]) expect(await notFoundOf(b.notifications.markRead(5, bad))).toEqual(missing);
    expect((await b.notifications.list(4, 50)).items.find((n) => n.id === other.id)?.readAt).toBeNull();
  });

  it('two concurrent markRead of one unread notification: exactly one reports the change', async () => {
    const unread = (await b.notifications.list(6, 50)).items.find((n) => n.readAt === null);
    if (unread === undefined) throw new Error('no unread notification for user 6');
    const both = await Promise.all([b.notifications.markRead(6, unread.id), b.notifications.markRead(6, unread.id)]);
    expect(both.filter((r) => r.changed)).toHaveLength(1);
    expect(both[0]?.notification.readAt).toBe(both[1]?.notification.readAt);
    expect((await b.notifications.list(6, 50)).unread).toBe(0);
  }, 60_000);

  if (b.name === 'firestore') {
    it('bills: list = its documents + one count read; markRead = one read (+ one write when unread)', async () => {
      const { bill } = b.requireFirestore();
      bill.reset();
      const list = await b.notifications.list(7, 50);
      expect(bill.snapshot().notifications).toEqual({ reads: 3 + 1, writes: 0, deletes: 0 });
      const unread = list.items.find((n) => n.readAt === null);
      if (unread === undefined) throw new Error('no unread notification for user 7');
      bill.reset();
      await b.notifications.markRead(7, unread.id);
      expect(bill.snapshot().notifications).toEqual({ reads: 1, writes: 1, deletes: 0 });
      bill.reset();
      await b.notifications.markRead(7, unread.id);
      await notFoundOf(b.notifications.markRead(8, unread.id));
      expect(bill.snapshot().notifications).toEqual({ reads: 2, writes: 0, deletes: 0 });
    });
  }
});
