/** The operator's credit route: its own credential (ADMIN_TOKEN), never a user session. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_AMOUNT, MAX_BALANCE } from '../../../src/app/bounds.ts';
import { ConfigError, loadConfig } from '../../../src/app/config.ts';
import { bearer, createTestApp, describeEachDatabase, type TestApp } from '../../helpers/app.ts';

describeEachDatabase('wallets: operator credits', (database) => {
  const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef-xyz';
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ database, config: { adminToken: ADMIN_TOKEN } });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const credit = (userId: number, payload: object, headers: Record<string, string> = bearer(ADMIN_TOKEN)) =>
    t.app.inject({ method: 'POST', url: `/admin/wallets/${userId}/credits`, headers, payload });
  /** The stored balance, through the port (never the cache). */
  const dbBalance = async (userId: number): Promise<number> => (await t.deps.data.wallets.findBalance(userId)) as number;

  describe('POST /admin/wallets/:userId/credits', () => {
    it('credits with the admin token: 201, an admin_credit ledger row, the cached balance deleted', async () => {
      const token = await t.loginAs(7);
      await t.app.inject({ method: 'GET', url: '/wallets/7/balance', headers: bearer(token) });
      expect(await t.keyExists('wallet:7:balance')).toBe(true);
      const before = await dbBalance(7);
      const res = await credit(7, { amount: 500 });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ type: 'admin_credit', amount: 500, balance: before + 500 });
      expect(await dbBalance(7)).toBe(before + 500);
      expect(await t.keyExists('wallet:7:balance')).toBe(false);
      const rows = (await t.inspect.ledger(7)).filter((e) => e.type === 'admin_credit');
      expect(rows).toEqual([{ type: 'admin_credit', amount: 500, jobId: null }]);
    });

    it('refuses without the token (401) or with a wrong one, a user session included (403), in the one error shape', async () => {
      const before = await dbBalance(8);
      const session = await t.loginAs(8);
      const cases: [Record<string, string>, number][] = [
        [{}, 401],
        [{ authorization: 'Basic abc' }, 401],
        [bearer(`${ADMIN_TOKEN}x`), 403],
        [bearer(ADMIN_TOKEN.slice(0, -1)), 403],
        [bearer(session), 403],
      ];
      for (const [headers, status] of cases) {
        const res = await credit(8, { amount: 1_000_000 }, headers);
        expect(res.statusCode, JSON.stringify(headers)).toBe(status);
        expect(Object.keys(res.json<object>()).sort()).toEqual(['error', 'message']);
      }
      expect(await dbBalance(8)).toBe(before);
    });

    it('checks the credential before the input: a bad body without the token is 401, not 400', async () => {
      expect((await credit(8, { amount: -1 }, {})).statusCode).toBe(401);
    });

    it('answers 400 naming amount beyond its bound, 404 for an unknown wallet, 409 E_BALANCE_LIMIT past the balance bound', async () => {
      for (const amount of [0, MAX_AMOUNT + 1, 2.5]) {
        const res = await credit(9, { amount });
        expect(res.statusCode, `amount ${amount}`).toBe(400);
        expect(res.json()).toMatchObject({ field: 'amount' });
      }
      expect((await credit(999_999, { amount: 1 })).statusCode).toBe(404);
      // Fill the wallet to one below the cap through the port (an operator credit, as in production).
      await t.deps.data.wallets.adminCredit(9, MAX_BALANCE - 1 - (await dbBalance(9)));
      const full = await credit(9, { amount: 2 });
      expect(full.statusCode).toBe(409);
      expect(full.json()).toMatchObject({ error: 'E_BALANCE_LIMIT' });
      expect(await dbBalance(9)).toBe(MAX_BALANCE - 1);
    });

    it('is not behind the user session scope: the admin token is no user session', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/wallets/1/balance', headers: bearer(ADMIN_TOKEN) });
      expect(res.statusCode).toBe(401);
    });
  });

  describe('ADMIN_TOKEN', () => {
    it('is optional, and when set must be at least 32 characters (never echoed)', () => {
      expect(loadConfig({ NODE_ENV: 'test' }).adminToken).toBeUndefined();
      expect(loadConfig({ NODE_ENV: 'test', ADMIN_TOKEN: 'a'.repeat(32) }).adminToken).toBe('a'.repeat(32));
      let err: unknown;
      try {
        loadConfig({ NODE_ENV: 'test', ADMIN_TOKEN: 'short-secret-value' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toContain('ADMIN_TOKEN must be at least 32 characters');
      expect((err as ConfigError).message).not.toContain('short-secret-value');
    });
  });
});
