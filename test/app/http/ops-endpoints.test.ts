/**
 * The operational endpoints: probes open to everyone; /health (detailed) and /metrics behind
 * OPS_TOKEN when it is set, and refused in production when it is not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.ts';

const TOKEN = 'ops-token-for-tests-0123456789abcdef';
const apps: TestApp[] = [];
let production: TestApp;
let withToken: TestApp;
let development: TestApp;

beforeAll(async () => {
  [production, withToken, development] = await Promise.all([
    createTestApp({ users: 5, config: { nodeEnv: 'production' } }),
    createTestApp({ users: 5, config: { nodeEnv: 'production', opsToken: TOKEN } }),
    createTestApp({ users: 5, config: { nodeEnv: 'development' } }),
  ]);
  apps.push(production, withToken, development);
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
});

const get = (t: TestApp, url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });

describe('operational endpoints', () => {
  it('probes stay open in production', async () => {
    expect((await get(production, '/health/live')).statusCode).toBe(200);
    expect((await get(production, '/health/ready')).statusCode).toBe(200);
  });

  it('production without OPS_TOKEN: /health and /metrics are refused, and say why', async () => {
    for (const url of ['/health', '/metrics']) {
      const res = await get(production, url);
      expect(res.statusCode).toBe(403);
      const body = res.json<{ error: string; message: string }>();
      expect(body.error).toBe('E_FORBIDDEN');
      expect(body.message).toContain('OPS_TOKEN');
      expect(res.body).not.toContain('redis');
    }
  });

  it('with OPS_TOKEN: refused without it or with a wrong one, served with it (any case of "Bearer")', async () => {
    for (const url of ['/health', '/metrics']) {
      expect((await get(withToken, url)).statusCode).toBe(401);
      expect((await get(withToken, url, { authorization: `Bearer ${TOKEN}x` })).statusCode).toBe(401);
      expect((await get(withToken, url, { authorization: `Basic ${TOKEN}` })).statusCode).toBe(401);
      expect((await get(withToken, url, { authorization: `Bearer ${TOKEN}` })).statusCode).toBe(200);
      expect((await get(withToken, url, { authorization: `bearer  ${TOKEN}` })).statusCode).toBe(200);
    }
    const metrics = await get(withToken, '/metrics', { authorization: `Bearer ${TOKEN}` });
    expect(metrics.body).toContain('cache_hits_total');
  });

  it('development without OPS_TOKEN: open, for people trying the backend', async () => {
    expect((await get(development, '/health')).statusCode).toBe(200);
    expect((await get(development, '/metrics')).statusCode).toBe(200);
  });

  it('without CACHE_L1: /health has no L1 block, and the L1 series say it is off', async () => {
    const health = (await get(development, '/health')).json<{ cache: { l1: unknown; l1Hits: number } }>();
    expect(health.cache.l1).toBeNull();
    expect(health.cache.l1Hits).toBe(0);
    const metrics = (await get(development, '/metrics')).body;
    for (const line of ['cache_l1_enabled 0', 'cache_l1_channel_up 0', 'cache_l1_hits_total 0', 'cache_l1_entries 0']) expect(metrics).toContain(`\n${line}\n`);
    // No node channels while L1 is off: no series.
    expect(metrics).not.toContain('cache_l1_node_channel_up{');
    expect(metrics).toContain('# TYPE cache_l2_hits_total counter');
    expect(metrics).toContain('# TYPE cache_hits_total counter');
  });

  it('during a shutdown, a request on an open connection gets 503 in the one error shape', async () => {
    development.deps.lifecycle.shuttingDown = true;
    try {
      const res = await get(development, '/leaderboards/global');
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.headers['connection']).toBe('close');
      expect(res.json()).toEqual({ error: 'E_SHUTTING_DOWN', message: 'This instance is shutting down; retry' });
    } finally {
      development.deps.lifecycle.shuttingDown = false;
    }
  });
});
