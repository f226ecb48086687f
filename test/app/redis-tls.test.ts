/**
 * Redis over TLS (`rediss://`), against a TLS-only redis-server with a certificate from a test
 * CA: the production server boots and caches when REDIS_TLS_CA_FILE names that CA, and exits 1
 * with a one-line TLS message within the connect window when it names another CA (certificate
 * verification is on). The library works over a TLS client it is given. The booting server runs
 * with CACHE_L1=true: its in-process tier's own connection (TLS, password) comes up and serves.
 */
import { readFileSync } from 'node:fs';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache } from '../../src/cache/index.ts';
import { startRedisServer, type TestRedisServer } from '../helpers/redis-server.ts';
import { OPS_HEADERS, spawnServer } from '../helpers/server-process.ts';
import { makeTlsFiles, type TestTlsFiles } from '../helpers/tls.ts';

const PASSWORD = 'tls-Pa55word-never-printed';
const CONNECT_TIMEOUT_MS = 2000;
let tls: TestTlsFiles;
let redis: TestRedisServer;

beforeAll(async () => {
  tls = await makeTlsFiles();
  redis = await startRedisServer({ password: PASSWORD, tls: { certFile: tls.certFile, keyFile: tls.keyFile, caFile: tls.caFile } });
});
afterAll(async () => {
  await redis?.stop();
  tls?.remove();
});

describe('production server on rediss://', () => {
  it('boots with REDIS_TLS_CA_FILE naming the CA and serves from the cache (MISS, then HIT), L1 included', async () => {
    expect(redis.url).toMatch(/^rediss:\/\//);
    const server = await spawnServer({ NODE_ENV: 'production', REDIS_URL: redis.url, REDIS_TLS_CA_FILE: tls.caFile, REDIS_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS), CACHE_L1: 'true' });
    try {
      await server.waitForReady();
      const url = `${server.baseUrl}/leaderboards/global?limit=10`;
      const first = await fetch(url);
      expect(first.status).toBe(200);
      expect(first.headers.get('x-cache')).toBe('MISS');
      const second = await fetch(url);
      expect(second.status).toBe(200);
      expect(second.headers.get('x-cache')).toBe('HIT');
      expect(await second.json()).toEqual(await first.json());
      // server.ts wires CACHE_L1 into the cache: the board soon comes from the process's memory
      // (a read that races the report of the board's own write is not kept, hence the polling).
      type Health = { cache: { l1Hits: number; l1: { channel: string } | null } };
      const health = async (): Promise<Health> => (await (await fetch(`${server.baseUrl}/health`, { headers: OPS_HEADERS })).json()) as Health;
      expect((await health()).cache.l1?.channel).toBe('up');
      await expect
        .poll(async () => {
          expect((await fetch(url)).headers.get('x-cache')).toBe('HIT');
          return (await health()).cache.l1Hits;
        }, { timeout: 5000, interval: 20 })
        .toBeGreaterThan(0);
    } finally {
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
      expect(server.output()).not.toContain(PASSWORD);
    }
    // A generous bound: booting the server (tsx, PGlite) on two busy cores can take a while.
  }, 90_000);

  it.each([
    ['another CA in REDIS_TLS_CA_FILE', () => tls.otherCaFile, 'REDIS_TLS_CA_FILE'],
    ["no REDIS_TLS_CA_FILE (Node's default CAs)", () => undefined, "Node's default CAs"],
  ])('exits 1 within the connect window when the certificate does not verify (%s), saying so in one line', async (_, caFile, against) => {
    const server = await spawnServer({ NODE_ENV: 'production', REDIS_URL: redis.url, REDIS_TLS_CA_FILE: caFile(), REDIS_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS) });
    const exit = await server.exited;
    const starting = server.logs().find((l) => l['msg'] === 'starting');
    const startedAt = typeof starting?.['time'] === 'number' ? starting['time'] : exit.atMs;
    expect(exit.code).toBe(1);
    expect(exit.atMs - startedAt).toBeLessThan(CONNECT_TIMEOUT_MS + 1000);
    const fatal = server.logs().filter((l) => l['level'] === 60);
    expect(fatal).toHaveLength(1);
    // One line naming TLS, that the certificate did not verify, and what it was checked against.
    expect(fatal[0]?.['msg']).toMatch(/TLS failure .*certificate verification failed against/);
    expect(fatal[0]?.['msg']).toContain(against);
    const file = caFile();
    if (file !== undefined) expect(fatal[0]?.['msg']).toContain(file);
    expect(server.output()).not.toContain(PASSWORD);
  }, 60_000);
});

describe('the library over TLS', () => {
  it('createCache({ redis: client }) works with a node-redis client built with socket.tls and the CA', async () => {
    const client = createClient({ url: redis.url, socket: { tls: true, ca: readFileSync(tls.caFile) } });
    client.on('error', () => {});
    await client.connect();
    const cache = createCache({ redis: client, prefix: 'tls:' });
    try {
      expect(cache.redisState).toBe('ready');
      expect(await cache.set('a', { n: 1 }, 60)).toBe(true);
      expect(await cache.get('a')).toEqual({ n: 1 });
      let fetches = 0;
      const fetcher = async (): Promise<string> => `v${++fetches}`;
      expect(await cache.getOrSet('b', fetcher, { ttl: 60, tags: ['t'] })).toBe('v1');
      expect(await cache.getOrSet('b', fetcher, { ttl: 60, tags: ['t'] })).toBe('v1');
      await cache.invalidateTags(['t']);
      expect(await cache.getOrSet('b', fetcher, { ttl: 60, tags: ['t'] })).toBe('v2');
      expect(await cache.del('a')).toBe(1);
      expect(await cache.get('a')).toBeNull();
      const stats = await cache.getStats();
      expect(stats.errors).toBe(0);
      expect(await client.get('tls:b')).not.toBeNull();
    } finally {
      await cache.close();
      await client.close();
    }
  });
});
