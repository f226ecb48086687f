/**
 * Issue 16, replayed: an attacker and a colluding account try to inflate a leaderboard score
 * (and mint money) the way production was attacked. Every step is refused or money-neutral,
 * no score passes MAX_SCORE, and the public boards keep answering 200, even with a bad row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REWARD, MAX_SCORE } from '../../../src/app/bounds.ts';
import { bearer, createTestApp, type TestApp } from '../../helpers/app.ts';

let t: TestApp;
const ATTACKER = 20;
const ACCOMPLICE = 21;
let attacker: string;
let accomplice: string;

beforeAll(async () => {
  t = await createTestApp();
  [attacker, accomplice] = await Promise.all([t.loginAs(ATTACKER), t.loginAs(ACCOMPLICE)]);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

interface Job {
  id: number;
}

const send = (method: 'POST' | 'PATCH', url: string, payload: object, token: string) => t.app.inject({ method, url, payload, headers: bearer(token) });
const balance = async (userId: number): Promise<number> =>
  (await t.db.query<{ balance: number }>('SELECT balance FROM wallets WHERE user_id = $1', [userId])).rows[0]?.balance as number;
const score = async (userId: number, type: string): Promise<number> =>
  (await t.db.query<{ score: number }>('SELECT score FROM scores WHERE user_id = $1 AND type = $2', [userId, type])).rows[0]?.score as number;
const board = (type: string) => t.app.inject({ method: 'GET', url: `/leaderboards/${type}?limit=100` });

/** One full, legitimate job cycle: `from` pays `reward` to `to`. */
async function payVia(fromToken: string, toId: number, toToken: string, reward: number): Promise<number> {
  const job = await send('POST', '/jobs', { title: 'favour', reward }, fromToken);
  expect(job.statusCode).toBe(201);
  const id = job.json<Job>().id;
  expect((await send('PATCH', `/jobs/${id}`, { assigneeId: toId }, fromToken)).statusCode).toBe(200);
  expect((await send('POST', `/jobs/${id}/accept`, {}, toToken)).statusCode).toBe(200);
  expect((await send('PATCH', `/jobs/${id}`, { status: 'completed' }, fromToken)).statusCode).toBe(200);
  return id;
}

describe('the score-inflation attack', () => {
  it('cannot mint money: self-credit 403, a reward without funds 409, a reward past the bound 400', async () => {
    const before = await balance(ATTACKER);
    const credit = await send('POST', `/wallets/${ATTACKER}/transactions`, { type: 'credit', amount: 1_000_000_000_000 }, attacker);
    expect(credit.statusCode).toBe(403);
    const huge = await send('POST', '/jobs', { title: 'pay me', reward: MAX_REWARD }, attacker);
    expect(huge.statusCode).toBe(409);
    expect(huge.json()).toMatchObject({ error: 'E_INSUFFICIENT_FUNDS' });
    const past = await send('POST', '/jobs', { title: 'pay me', reward: 2 ** 53 }, attacker);
    expect(past.statusCode).toBe(400);
    expect(past.json()).toMatchObject({ field: 'reward' });
    expect(await balance(ATTACKER)).toBe(before);
  });

  it('cannot pay itself or pay without the assignee: self-assign 400, completion before acceptance 409, reward locked once accepted', async () => {
    const id = (await send('POST', '/jobs', { title: 'cheap', reward: 10 }, attacker)).json<Job>().id;
    const self = await send('PATCH', `/jobs/${id}`, { assigneeId: ATTACKER, status: 'completed' }, attacker);
    expect(self.statusCode).toBe(400);
    expect(self.json()).toMatchObject({ field: 'assigneeId' });
    const unaccepted = await send('PATCH', `/jobs/${id}`, { assigneeId: ACCOMPLICE, status: 'completed' }, attacker);
    expect(unaccepted.statusCode).toBe(409);
    expect(unaccepted.json()).toMatchObject({ error: 'E_JOB_NOT_ACCEPTED' });
    // The refused PATCH changed nothing, the assignment included (one transaction).
    expect((await t.app.inject({ method: 'GET', url: `/jobs/${id}`, headers: bearer(attacker) })).json()).toMatchObject({ assigneeId: null });
    await send('PATCH', `/jobs/${id}`, { assigneeId: ACCOMPLICE }, attacker);
    // The attacker cannot accept on the accomplice's behalf.
    expect((await send('POST', `/jobs/${id}/accept`, {}, attacker)).statusCode).toBe(403);
    expect((await send('POST', `/jobs/${id}/accept`, {}, accomplice)).statusCode).toBe(200);
    const raise = await send('PATCH', `/jobs/${id}`, { reward: MAX_REWARD, status: 'completed' }, attacker);
    expect(raise.statusCode, raise.body).toBe(409);
    expect(raise.json()).toMatchObject({ error: 'E_JOB_ACCEPTED' });
  });

  it('a loop of jobs between colluding accounts is money-neutral; scores grow only by what was actually paid', async () => {
    const money = async (): Promise<number> => (await balance(ATTACKER)) + (await balance(ACCOMPLICE));
    const [moneyBefore, scoreBefore] = [await money(), await score(ACCOMPLICE, 'global')];
    const reward = Math.floor((await balance(ATTACKER)) / 2);
    for (let i = 0; i < 4; i++) {
      await payVia(attacker, ACCOMPLICE, accomplice, reward);
      await payVia(accomplice, ATTACKER, attacker, reward);
    }
    expect(await money()).toBe(moneyBefore);
    expect(await score(ACCOMPLICE, 'global')).toBe(scoreBefore + 4 * reward);
  });

  it('a score at the bound stays at the bound on both boards (saturates, never passes MAX_SCORE)', async () => {
    await t.db.query('UPDATE scores SET score = $1 WHERE user_id = $2', [MAX_SCORE, ACCOMPLICE]);
    await t.db.query('UPDATE scores SET score = $1 WHERE user_id = $2', [MAX_SCORE - 5, ATTACKER]);
    const paid = await balance(ACCOMPLICE);
    await payVia(attacker, ACCOMPLICE, accomplice, 100);
    await payVia(accomplice, ATTACKER, attacker, 100);
    expect(await balance(ACCOMPLICE)).toBe(paid);
    for (const type of ['global', 'weekly']) {
      expect(await score(ACCOMPLICE, type)).toBe(MAX_SCORE);
      expect(await score(ATTACKER, type)).toBe(MAX_SCORE);
    }
    const over = t.db.query('UPDATE scores SET score = $1 WHERE user_id = $2', [MAX_SCORE + 1, ACCOMPLICE]);
    await expect(over).rejects.toMatchObject({ code: 'E_DB_CONSTRAINT' });
  });

  it('afterwards both public boards answer 200, capped at the bound', async () => {
    for (const type of ['global', 'weekly']) {
      const res = await board(type);
      expect(res.statusCode).toBe(200);
      const entries = res.json<{ entries: { userId: number; score: number }[] }>().entries;
      expect(entries[0]?.score).toBe(MAX_SCORE);
      expect(entries.every((e) => Number.isSafeInteger(e.score) && e.score <= MAX_SCORE)).toBe(true);
    }
  });

  it('even a score past 2^53 that got in around the constraint does not take the boards down', async () => {
    // Simulates a row restored from before migration 003 (the constraint is this test's own schema's).
    await t.db.query('ALTER TABLE scores DROP CONSTRAINT scores_score_bounds');
    await t.db.query("UPDATE scores SET score = 9007199254740993 WHERE user_id = $1 AND type IN ('global', 'weekly')", [ATTACKER]);
    await t.cache().del(['leaderboard:global', 'leaderboard:weekly']);
    for (const type of ['global', 'weekly']) {
      const res = await board(type);
      expect(res.statusCode).toBe(200);
      expect(res.json<{ entries: { userId: number; score: number }[] }>().entries[0]).toMatchObject({ userId: ATTACKER, score: MAX_SCORE });
    }
  });
});
