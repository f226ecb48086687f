/**
 * The sessions port (sessions.data.ts) contract, the same assertions on the SQL adapter and the
 * Firestore adapter (emulator): log-in record by email, atomic start (expired sessions of the
 * user and the previous token's session go, the new one comes, all or nothing), live lookup
 * and delete. Plus the billed operations on Firestore.
 */
import { createHash, randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { verifyPassword } from '../../../src/app/db/passwords.ts';
import { DEMO_USER, LOADTEST_PASSWORD } from '../../../src/app/db/seed.ts';
import { describePorts } from '../../helpers/ports.ts';

const USERS = 100;
const newHash = (): string => createHash('sha256').update(randomBytes(32)).digest('hex');
const inMinutes = (m: number): Date => new Date(Date.now() + m * 60_000);

describePorts('sessions port on %s', { users: USERS }, (b) => {
  it('findLogin: the user id and a hash of the seeded password; undefined for unknown and impossible addresses', async () => {
    const rec = await b.sessions.findLogin('user7@example.com');
    expect(rec?.userId).toBe(7);
    expect(await verifyPassword(LOADTEST_PASSWORD, rec?.passwordHash ?? '')).toBe(true);
    expect((await b.sessions.findLogin(DEMO_USER.email))?.userId).toBe(1);
    expect(await b.sessions.findLogin('nobody@example.com')).toBeUndefined();
    // Not valid Firestore document ids once encoded: still just "unknown".
    for (const odd of ['__x__', `${'a'.repeat(1_600)}@example.com`, '']) expect(await b.sessions.findLogin(odd)).toBeUndefined();
  });

  it('start stores a live session; findLive returns its user and expiry; unknown hashes are not live', async () => {
    const hash = newHash();
    const expiresAt = inMinutes(30);
    await b.sessions.start({ userId: 2, tokenHash: hash, expiresAt, previousTokenHash: undefined });
    const live = await b.sessions.findLive(hash);
    expect(live?.userId).toBe(2);
    expect(live?.expiresAt.getTime()).toBe(expiresAt.getTime());
    expect(await b.sessions.findLive(newHash())).toBeUndefined();
  });

  it('an expired session is not live', async () => {
    const hash = newHash();
    await b.sessions.start({ userId: 3, tokenHash: hash, expiresAt: inMinutes(-1), previousTokenHash: undefined });
    expect(await b.sessions.findLive(hash)).toBeUndefined();
  });

  it('start deletes the previous token\'s session and the user\'s expired sessions, not their live ones nor other users\' sessions', async () => {
    const previous = newHash();
    const ownExpired = newHash();
    const ownLive = newHash();
    const othersExpired = newHash();
    await b.sessions.start({ userId: 4, tokenHash: previous, expiresAt: inMinutes(30), previousTokenHash: undefined });
    await b.sessions.start({ userId: 4, tokenHash: ownExpired, expiresAt: inMinutes(-5), previousTokenHash: undefined });
    await b.sessions.start({ userId: 4, tokenHash: ownLive, expiresAt: inMinutes(30), previousTokenHash: undefined });
    await b.sessions.start({ userId: 5, tokenHash: othersExpired, expiresAt: inMinutes(-5), previousTokenHash: undefined });

    const next = newHash();
    await b.sessions.start({ userId: 4, tokenHash: next, expiresAt: inMinutes(30), previousTokenHash: previous });
    expect(await b.sessions.findLive(next)).toMatchObject({ userId: 4 });
    expect(await b.sessions.findLive(previous)).toBeUndefined();
    expect(await b.sessions.findLive(ownLive)).toMatchObject({ userId: 4 });
    // Gone vs still there: delete says whether it existed.
    expect(await b.sessions.delete(ownExpired)).toBe(false);
    expect(await b.sessions.delete(othersExpired)).toBe(true);
    expect(await b.sessions.delete(previous)).toBe(false);
  });

  it('a previous token that names no session is fine', async () => {
    const hash = newHash();
    await b.sessions.start({ userId: 6, tokenHash: hash, expiresAt: inMinutes(30), previousTokenHash: newHash() });
    expect(await b.sessions.findLive(hash)).toMatchObject({ userId: 6 });
  });

  it('start is all or nothing: when the new session cannot be stored, the previous one survives', async () => {
    const previous = newHash();
    const taken = newHash();
    await b.sessions.start({ userId: 8, tokenHash: previous, expiresAt: inMinutes(30), previousTokenHash: undefined });
    await b.sessions.start({ userId: 9, tokenHash: taken, expiresAt: inMinutes(30), previousTokenHash: undefined });
    await expect(b.sessions.start({ userId: 8, tokenHash: taken, expiresAt: inMinutes(30), previousTokenHash: previous })).rejects.toThrow();
    expect(await b.sessions.findLive(previous)).toMatchObject({ userId: 8 });
    expect(await b.sessions.findLive(taken)).toMatchObject({ userId: 9 }); // not overwritten
  });

  it('delete: true once, then false; unknown hashes false', async () => {
    const hash = newHash();
    await b.sessions.start({ userId: 10, tokenHash: hash, expiresAt: inMinutes(30), previousTokenHash: undefined });
    expect(await b.sessions.delete(hash)).toBe(true);
    expect(await b.sessions.findLive(hash)).toBeUndefined();
    expect(await b.sessions.delete(hash)).toBe(false);
    expect(await b.sessions.delete(newHash())).toBe(false);
  });

  if (b.name === 'firestore') {
    it('bills one read per log-in lookup and session lookup, and a small start transaction', async () => {
      const { bill } = b.requireFirestore();
      bill.reset();
      await b.sessions.findLogin('user11@example.com');
      expect(bill.snapshot().sessions).toEqual({ reads: 1, writes: 0, deletes: 0 });

      const prev = newHash();
      await b.sessions.start({ userId: 11, tokenHash: prev, expiresAt: inMinutes(30), previousTokenHash: undefined });
      // Stored expired (the housekeeping of its own start runs before it exists).
      await b.sessions.start({ userId: 11, tokenHash: newHash(), expiresAt: inMinutes(-1), previousTokenHash: undefined });
      bill.reset();
      const hash = newHash();
      await b.sessions.start({ userId: 11, tokenHash: hash, expiresAt: inMinutes(30), previousTokenHash: prev });
      // The expired-sessions query returned one (1 read); deletes: that one and the previous; one create.
      expect(bill.snapshot().sessions).toEqual({ reads: 1, writes: 1, deletes: 2 });

      bill.reset();
      await b.sessions.findLive(hash);
      expect(await b.sessions.delete(hash)).toBe(true);
      expect(await b.sessions.delete(hash)).toBe(false);
      expect(bill.snapshot().sessions).toEqual({ reads: 1, writes: 0, deletes: 1 });
    });
  }
});
