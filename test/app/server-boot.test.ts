/**
 * The Redis policy at boot, checked on the real server process: exit codes, elapsed time, log
 * text. Production refuses to start without a working Redis and says why; development starts
 * on the in-memory store. The Redis password never appears in anything the process prints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, freePort, type TestRedisServer } from '../helpers/redis-server.ts';
import { OPS_HEADERS, spawnServer, type ServerProcess } from '../helpers/server-process.ts';

const PASSWORD = 's3cret-Pa55word-for-grep';
const CONNECT_TIMEOUT_MS = 2000;
let secured: TestRedisServer;
const outputs: string[] = [];

beforeAll(async () => {
  secured = await startRedisServer({ password: PASSWORD });
});
afterAll(async () => {
  secured.resume();
  await secured.stop();
});

async function bootAndExit(env: Record<string, string>): Promise<{ code: number | null; elapsedMs: number; text: string; server: ServerProcess }> {
  const server = await spawnServer({ REDIS_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS), ...env });
  const exit = await server.exited;
  outputs.push(server.output());
  const starting = server.logs().find((l) => l['msg'] === 'starting');
  const startedAt = typeof starting?.['time'] === 'number' ? starting['time'] : exit.atMs;
  return { code: exit.code, elapsedMs: exit.atMs - startedAt, text: server.output(), server };
}

describe('production boot', () => {
  it('exits 1 at once without REDIS_URL, naming it and why', async () => {
    const r = await bootAndExit({ NODE_ENV: 'production' });
    expect(r.code).toBe(1);
    expect(r.text).toContain('REDIS_URL is required when NODE_ENV=production');
    expect(r.text).toMatch(/mandatory/);
  });

  it('exits 1 on a closed port within the connect timeout + 1 s, saying so', async () => {
    const port = await freePort();
    const r = await bootAndExit({ NODE_ENV: 'production', REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.text).toMatch(/closed port/);
    expect(r.elapsedMs).toBeLessThan(CONNECT_TIMEOUT_MS + 1000);
  });

  it('exits 1 on a wrong password, saying authentication failed', async () => {
    const r = await bootAndExit({ NODE_ENV: 'production', REDIS_URL: `redis://:wrong-${PASSWORD}@127.0.0.1:${secured.port}` });
    expect(r.code).toBe(1);
    expect(r.text).toMatch(/refused authentication/);
    expect(r.elapsedMs).toBeLessThan(CONNECT_TIMEOUT_MS + 1000);
  });

  it('exits 1 on a TLS failure (rediss:// to a plain-text server)', async () => {
    const r = await bootAndExit({ NODE_ENV: 'production', REDIS_URL: `rediss://:${PASSWORD}@127.0.0.1:${secured.port}` });
    expect(r.code).toBe(1);
    expect(r.text).toMatch(/TLS failure/);
    expect(r.elapsedMs).toBeLessThan(CONNECT_TIMEOUT_MS + 1000);
  });

  it('exits 1 on a frozen server (accepts TCP, never answers) within the connect timeout + 1 s', async () => {
    secured.freeze();
    try {
      const r = await bootAndExit({ NODE_ENV: 'production', REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${secured.port}` });
      expect(r.code).toBe(1);
      expect(r.text).toMatch(/accepted the TCP connection but did not answer/);
      expect(r.elapsedMs).toBeLessThan(CONNECT_TIMEOUT_MS + 1000);
    } finally {
      secured.resume();
    }
  });

  it('rejects bad configuration with one message per variable', async () => {
    const r = await bootAndExit({ NODE_ENV: 'production', REDIS_URL: 'http://nope', PORT: 'eighty', REDIS_COMMAND_TIMEOUT_MS: '-1' });
    expect(r.code).toBe(1);
    expect(r.text).toContain('REDIS_URL must be a redis:// or rediss:// URL');
    expect(r.text).toContain('PORT must be an integer');
    expect(r.text).toContain('REDIS_COMMAND_TIMEOUT_MS must be an integer');
  });
});

describe('development boot', () => {
  it('runs on the memory store with one warning when REDIS_URL is unset', async () => {
    const server = await spawnServer({ NODE_ENV: 'development' });
    try {
      await server.waitForLog('ready');
      const res = await fetch(`${server.baseUrl}/health`, { headers: OPS_HEADERS });
      const body = (await res.json()) as { redis: { mode: string } };
      expect(body.redis.mode).toBe('memory');
      expect(server.output().match(/REDIS_URL is not set/g)).toHaveLength(1);
    } finally {
      server.kill();
      expect((await server.exited).code).toBe(0);
    }
  });

  it('runs without Redis after 3 attempts when REDIS_URL is unreachable, warning once', async () => {
    const port = await freePort();
    const server = await spawnServer({ NODE_ENV: 'development', REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${port}`, REDIS_CONNECT_TIMEOUT_MS: '500' });
    try {
      await server.waitForLog('ready');
      expect(server.logs().filter((l) => l['msg'] === 'Redis connection attempt failed')).toHaveLength(3);
      expect(server.output().match(/running without Redis \(development only\)/g)).toHaveLength(1);
      const res = await fetch(`${server.baseUrl}/health/ready`);
      expect(res.status).toBe(200);
    } finally {
      server.kill();
      await server.exited;
      outputs.push(server.output());
    }
  });
});

describe('secrets', () => {
  it('the Redis password appears in no output of the failure cases', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(5);
    for (const text of outputs) expect(text).not.toContain(PASSWORD);
  });
});
