/** Wallets: owner-only balance (MISS then HIT), debits, no self-credit, overdraft refusal and a concurrent debit race. Admin credits: admin.test.ts. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bearer, createTestApp, describeEachDatabase, type TestApp } from '../../helpers/app.ts';

describeEachDatabase('wallets', (database) => {
  let t: TestApp;
  let demo: string;
  let user2: string;

  beforeAll(async () => {
    t = await createTestApp({ database });
    [demo, user2] = await Promise.all([t.loginAs(1), t.loginAs(2)]);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const balance = (userId: number, token = demo) => t.app.inject({ method: 'GET', url: `/wallets/${userId}/balance`, headers: bearer(token) });
  const transact = (userId: number, payload: object, token = demo) =>
    t.app.inject({ method: 'POST', url: `/wallets/${userId}/transactions`, headers: bearer(token), payload });
  /** The stored balance, through the port (never the cache). */
  const dbBalance = async (userId: number): Promise<number> => (await t.deps.data.wallets.findBalance(userId)) as number;

  describe('GET /wallets/:userId/balance', () => {
    it('the owner reads it: MISS, then HIT from wallet:{userId}:balance', async () => {
      const first = await balance(1);
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-cache']).toBe('MISS');
      expect(first.json()).toEqual({ balance: await dbBalance(1) });
      const second = await balance(1);
      expect(second.headers['x-cache']).toBe('HIT');
      expect(second.json()).toEqual(first.json());
    });

    it('answers 403 for another user\'s wallet without reading or filling the cache', async () => {
      await t.redis.del(`${t.prefix}wallet:2:balance`);
      const res = await balance(2);
      expect(res.statusCode).toBe(403);
      expect(res.headers['x-cache']).toBeUndefined();
      expect(await t.keyExists('wallet:2:balance')).toBe(false);
      // Cached by its owner, still refused to others.
      await balance(2, user2);
      expect((await balance(2)).statusCode).toBe(403);
    });

    it('answers 400 naming the field and 401 without a session', async () => {
      const bad = await balance('x' as unknown as number);
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ field: 'userId' });
      expect((await t.app.inject({ method: 'GET', url: '/wallets/1/balance' })).statusCode).toBe(401);
    });
  });

  describe('POST /wallets/:userId/transactions', () => {
    it('a debit deletes that wallet\'s balance only; the next read is a MISS with the new balance', async () => {
      await balance(1);
      await balance(2, user2);
      const before = await dbBalance(1);
      const res = await transact(1, { type: 'debit', amount: 25 });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ type: 'debit', amount: 25, balance: before - 25, transactionId: expect.any(Number) as number });
      expect(await t.keyExists('wallet:1:balance')).toBe(false);
      expect(await t.keyExists('wallet:2:balance')).toBe(true);
      const after = await balance(1);
      expect(after.headers['x-cache']).toBe('MISS');
      expect(after.json()).toEqual({ balance: before - 25 });
    });

    it('a credit to one\'s own wallet is refused: 403 E_SELF_CREDIT, balance, ledger and cache unchanged', async () => {
      await balance(1);
      const before = await dbBalance(1);
      const count = async (): Promise<number | undefined> => (await t.inspect.ledger(1)).length;
      const rows = await count();
      // The attack from issue 16, and a modest one.
      for (const amount of [1_000_000_000_000, 250]) {
        const res = await transact(1, { type: 'credit', amount });
        expect(res.statusCode).toBe(403);
        expect(res.json()).toEqual({ error: 'E_SELF_CREDIT', message: expect.any(String) as string });
      }
      expect(await dbBalance(1)).toBe(before);
      expect(await count()).toBe(rows);
      expect((await balance(1)).headers['x-cache']).toBe('HIT');
    });

    it('without ADMIN_TOKEN the admin routes do not exist: 404, even with a session', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/admin/wallets/1/credits', headers: bearer(demo), payload: { amount: 10 } });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ error: 'E_NOT_FOUND' });
    });

    it('a debit beyond the balance is refused with 409 E_INSUFFICIENT_FUNDS and changes nothing', async () => {
      const before = await dbBalance(1);
      const rows = [{ n: (await t.inspect.ledger(1)).length }];
      const res = await transact(1, { type: 'debit', amount: before + 1 });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ error: 'E_INSUFFICIENT_FUNDS' });
      expect(await dbBalance(1)).toBe(before);
      const after = [{ n: (await t.inspect.ledger(1)).length }];
      expect(after[0]?.n).toBe(rows[0]?.n);
    });

    it('never trusts the cached balance: a poisoned cache entry does not allow an overdraft', async () => {
      const real = await dbBalance(1);
      await t.cache().set('wallet:1:balance', { balance: real + 1_000_000 }, 30);
      expect((await balance(1)).json()).toEqual({ balance: real + 1_000_000 });
      const res = await transact(1, { type: 'debit', amount: real + 1 });
      expect(res.statusCode).toBe(409);
      expect(await dbBalance(1)).toBe(real);
    });

    it('answers 403 for another user\'s wallet', async () => {
      const res = await transact(2, { type: 'credit', amount: 1 });
      expect(res.statusCode).toBe(403);
    });

    it('answers 400 naming the field for a bad amount or type', async () => {
      for (const amount of [0, -5, 1.5, 1e12 + 1]) {
        const res = await transact(1, { type: 'debit', amount });
        expect(res.statusCode, `amount ${amount}`).toBe(400);
        expect(res.json()).toMatchObject({ field: 'amount' });
      }
      const type = await transact(1, { type: 'steal', amount: 1 });
      expect(type.statusCode).toBe(400);
      expect(type.json()).toMatchObject({ field: 'type' });
    });

    it('50 concurrent debits never overdraw, and the cached balance afterwards equals the database\'s', async () => {
      const token = await t.loginAs(3);
      const start = await dbBalance(3);
      // 50 debits of which only some fit: 1/20 of the balance each, so exactly 20 succeed.
      const amount = Math.floor(start / 20);
      expect(amount).toBeGreaterThan(0);
      await balance(3, token);
      const results = await Promise.all(Array.from({ length: 50 }, () => transact(3, { type: 'debit', amount }, token)));
      const statuses = results.map((r) => r.statusCode);
      expect(statuses.filter((s) => s !== 201 && s !== 409 && s !== 503)).toEqual([]);
      let ok = statuses.filter((s) => s === 201).length;
      // Firestore may abort a transaction that keeps losing to the others (503 E_CONTENTION,
      // Retry-After: 1; PostgreSQL queues on the row lock instead). Nothing of it was written:
      // retried one at a time, as a client would, they succeed until the money runs out.
      const contended = results.filter((r) => r.statusCode === 503);
      for (const r of contended) {
        expect(r.headers['retry-after']).toBe('1');
        expect(r.json<{ error: string }>().error).toBe('E_CONTENTION');
        const retry = await transact(3, { type: 'debit', amount }, token);
        expect([201, 409]).toContain(retry.statusCode);
        if (retry.statusCode === 201) ok++;
      }
      expect(ok).toBe(20);
      const final = await dbBalance(3);
      expect(final).toBe(start - ok * amount);
      expect(final).toBeGreaterThanOrEqual(0);
      const rows = [{ n: (await t.inspect.ledger(3)).filter((e) => e.type === 'debit' && e.amount === amount).length }];
      expect(rows[0]?.n).toBe(ok);
      // On a loaded machine a delete of the balance may have missed its command deadline: the
      // outbox retries it, and until then reads bypass the cache (BYPASS). Wait for it to drain.
      await vi.waitFor(() => expect(t.deps.cacheAccess.pendingInvalidations.keys).toBe(0), { timeout: 10_000, interval: 50 });
      const read = await balance(3, token);
      expect(read.headers['x-cache']).toBe('MISS');
      expect(read.json()).toEqual({ balance: final });
      expect(await t.cache().get('wallet:3:balance')).toEqual({ balance: final });
    });
  });
});
