/**
 * Acknowledged invalidations and failover. Redis replicates asynchronously: a DEL the master
 * acknowledged may never reach the replica that replaces it, and the invalidated value comes
 * back. The window is forced here (the replica frozen and cut off before the DEL, the master
 * killed right after), on a real Sentinel set:
 * - invalidationReplicas 0: `del` resolves, and after the failover the old value is served again;
 * - invalidationReplicas 1: `del` rejects with E_REPLICATION_TIMEOUT instead, the caller keeps
 *   it and retries (as the backend's outbox does), and the promoted replica never serves the old value.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { createCache, ReplicationTimeoutError, type Cache } from '../../src/cache/index.ts';
import { startRedisServer, type TestRedisServer } from '../helpers/redis-server.ts';
import { startRedisSentinel, type TestRedisSentinel } from '../helpers/redis-topology.ts';
import { topologiesUnderTest } from '../helpers/topologies.ts';

async function onNode(url: string, args: string[]): Promise<unknown> {
  const c = createClient({ url });
  c.on('error', () => {});
  await c.connect();
  try {
    return await c.sendCommand(args);
  } finally {
    c.destroy();
  }
}

/** Writes `old`, lets it reach the replica, then cuts the replica off (frozen, link killed): what the master acknowledges next stays on the master. */
async function isolateReplica(s: TestRedisSentinel, cache: Cache): Promise<void> {
  expect(await cache.set('wallet:1:balance', 'old', 300)).toBe(true);
  await expect.poll(async () => onNode(s.replica.url, ['EXISTS', `${cache.options.prefix}wallet:1:balance`]), { timeout: 5000 }).toBe(1);
  s.replica.freeze();
  await onNode(s.master.url, ['CLIENT', 'KILL', 'TYPE', 'replica']);
}

/** Kills the master, lets the frozen replica go, waits for its promotion; resolves the killed server. */
async function failover(s: TestRedisSentinel): Promise<TestRedisServer> {
  const killed = await s.killMaster();
  s.replica.resume();
  await s.waitForFailover(killed.port, 30_000);
  return killed;
}

describe.runIf(topologiesUnderTest().includes('sentinel'))('invalidations and failover [sentinel]', () => {
  it('invalidationReplicas 0: an acknowledged del is lost in the failover and the old value comes back (the documented window)', async () => {
    const s = await startRedisSentinel();
    const cache = createCache({ sentinel: { name: s.name, sentinelRootNodes: s.sentinelRootNodes }, prefix: `r${randomBytes(3).toString('hex')}:`, commandTimeoutMs: 1000 });
    try {
      await cache.ready(10_000);
      await isolateReplica(s, cache);
      expect(await cache.del('wallet:1:balance', { throwOnError: true })).toBe(1);
      await failover(s);
      await expect.poll(() => cache.get('wallet:1:balance'), { timeout: 15_000, interval: 200 }).toBe('old');
    } finally {
      s.replica.resume();
      await cache.close();
      await s.stop();
    }
  }, 90_000);

  it('invalidationReplicas 1: the del is not confirmed until a replica has it; retried, the promoted replica never serves the old value', async () => {
    const s = await startRedisSentinel();
    const cache = createCache({ sentinel: { name: s.name, sentinelRootNodes: s.sentinelRootNodes }, prefix: `r${randomBytes(3).toString('hex')}:`, commandTimeoutMs: 1000, invalidationReplicas: 1, invalidationReplicaTimeoutMs: 300 });
    try {
      await cache.ready(10_000);
      await isolateReplica(s, cache);
      const err = await cache.del('wallet:1:balance', { throwOnError: true }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ReplicationTimeoutError);
      expect(err).toMatchObject({ code: 'E_REPLICATION_TIMEOUT', acknowledged: 0, wanted: 1 });
      expect((await cache.getStats()).replicationTimeouts).toBe(1);
      const killed = await failover(s);
      // The caller kept the unconfirmed invalidation and retries it. The promoted replica has it
      // from the first retry that reaches it (no replica confirms yet: the old master is down)…
      await expect.poll(async () => {
        await cache.del('wallet:1:balance', { throwOnError: true }).catch(() => undefined);
        return cache.get('wallet:1:balance');
      }, { timeout: 20_000, interval: 300 }).toBeNull();
      // …and is confirmed once the old master is back, as the new master's replica.
      await killed.restart();
      await expect.poll(() => cache.del('wallet:1:balance', { throwOnError: true }).then(() => 'confirmed', () => 'retry'), { timeout: 30_000, interval: 300 }).toBe('confirmed');
      expect(await cache.get('wallet:1:balance')).toBeNull();
    } finally {
      s.replica.resume();
      await cache.close();
      await s.stop();
    }
  }, 90_000);
});

describe('invalidationReplicas on one Redis', () => {
  it('with a replica attached every invalidation resolves; without one it rejects, typed and counted, and the options are checked', async () => {
    // No 5 s wait for more replicas before the first full sync.
    const master = await startRedisServer({ extraArgs: ['--repl-diskless-sync-delay', '0'] });
    const replica = await startRedisServer({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
    const prefix = `r${randomBytes(3).toString('hex')}:`;
    const cache = createCache({ redis: master.url, prefix, invalidationReplicas: 1, invalidationReplicaTimeoutMs: 400, commandTimeoutMs: 1000 });
    try {
      await cache.ready();
      // Connected, in sync and acknowledging (a replica still loading its first copy, or just
      // online, acknowledges nothing yet): a write and a WAIT on one connection say so.
      await expect.poll(async () => {
        const c = createClient({ url: master.url });
        c.on('error', () => {});
        await c.connect();
        try {
          await c.set(`${prefix}probe`, '1', { expiration: { type: 'EX', value: 5 } });
          return await c.sendCommand<number>(['WAIT', '1', '200']);
        } finally {
          c.destroy();
        }
      }, { timeout: 15_000, interval: 200 }).toBe(1);
      await cache.set('k:1', 1, 60);
      await cache.set('k:2', 2, { ttl: 60, tags: ['t'] });
      expect(await cache.del('k:1')).toBe(1);
      await cache.invalidateTags(['t']);
      expect(await cache.invalidatePattern('k:*')).toBe(1);
      // The lease-checked write waits too, and goes through.
      expect(await cache.getOrSetWithMeta('k:4', () => 4, 60)).toEqual({ value: 4, status: 'miss' });
      expect(await cache.get('k:4')).toBe(4);
      expect((await cache.getStats()).replicationTimeouts).toBe(0);
      await replica.stop();
      await expect.poll(async () => String(await onNode(master.url, ['INFO', 'replication'])).includes('connected_slaves:0'), { timeout: 10_000 }).toBe(true);
      await cache.set('k:3', 3, 60);
      await expect(cache.del('k:3', { throwOnError: true })).rejects.toMatchObject({ code: 'E_REPLICATION_TIMEOUT' });
      await expect(cache.invalidateTags(['t'])).rejects.toMatchObject({ code: 'E_REPLICATION_TIMEOUT' });
      // A getOrSet whose write no replica confirms still answers with its value; the time-out is counted.
      expect(await cache.getOrSet('k:5', () => 5, 60)).toBe(5);
      expect((await cache.getStats()).replicationTimeouts).toBe(3);
      expect(() => createCache({ redis: master.url, invalidationReplicas: -1 })).toThrow(/invalidationReplicas/);
      expect(() => createCache({ redis: master.url, invalidationReplicas: 1, invalidationReplicaTimeoutMs: 500 })).toThrow(/below commandTimeoutMs/);
    } finally {
      await cache.close();
      await replica.stop();
      await master.stop();
    }
  }, 60_000);
});
