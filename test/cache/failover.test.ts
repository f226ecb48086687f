/**
 * Failover under load, on a real cluster (3 masters, 3 replicas) and a real Sentinel set: a
 * master is killed while concurrent getOrSet calls run; its replica is promoted. Every call
 * settles within commandTimeoutMs + 100 ms (plus whatever the event loop was late by: a busy
 * machine delays every timer) with the right value (a hit, a miss or a
 * fall-through to the fetcher, never a hang and never a wrong value), and afterwards hits resume.
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { createCache, type Cache, type CacheOptions } from '../../src/cache/index.ts';
import { startRedisCluster, startRedisSentinel } from '../helpers/redis-topology.ts';
import { topologiesUnderTest } from '../helpers/topologies.ts';

const COMMAND_TIMEOUT_MS = 300;
const KEYS = 60;

interface LoadReport {
  /** The worst event-loop delay seen while the load ran, in ms: no timer fires sooner than the loop lets it. */
  loopLagMs: number;
  calls: number;
  slowest: { ms: number; key: string } | undefined;
  wrong: string[];
  statuses: Map<string, number>;
}

/** Concurrent getOrSet over KEYS keys until stop() resolves; every value must be the database's. */
function runLoad(caches: Cache[], until: Promise<unknown>): Promise<LoadReport> {
  const report: LoadReport = { loopLagMs: 0, calls: 0, slowest: undefined, wrong: [], statuses: new Map() };
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  let done = false;
  void until.finally(() => (done = true));
  const worker = async (c: Cache, w: number): Promise<void> => {
    for (let i = w; !done; i++) {
      const key = `user:${i % KEYS}`;
      const t0 = performance.now();
      const { value, status } = await c.getOrSetWithMeta(key, () => ({ id: key }), 60);
      const ms = performance.now() - t0;
      report.calls++;
      report.statuses.set(status, (report.statuses.get(status) ?? 0) + 1);
      if (value.id !== key) report.wrong.push(`${key} → ${JSON.stringify(value)}`);
      if (report.slowest === undefined || ms > report.slowest.ms) report.slowest = { ms, key };
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  return Promise.all(caches.flatMap((c) => Array.from({ length: 8 }, (_, w) => worker(c, w)))).then(() => {
    lag.disable();
    report.loopLagMs = lag.max / 1e6;
    return report;
  });
}

async function caches(options: Pick<CacheOptions, 'cluster' | 'sentinel'>): Promise<Cache[]> {
  const prefix = `f${randomBytes(3).toString('hex')}:`;
  const list = [0, 1].map(() => createCache({ ...options, prefix, commandTimeoutMs: COMMAND_TIMEOUT_MS, breakerCooldownMs: 200 }));
  for (const c of list) await c.ready(10_000);
  // Warm every key.
  for (let i = 0; i < KEYS; i++) await list[0]?.getOrSet(`user:${i}`, () => ({ id: `user:${i}` }), 60);
  return list;
}

/** Hits on every key again, from both instances, within the deadline. */
async function hitsResume(list: Cache[]): Promise<void> {
  await expect
    .poll(
      async () => {
        let hits = 0;
        for (const c of list) for (let i = 0; i < KEYS; i++) if ((await c.getOrSetWithMeta(`user:${i}`, () => ({ id: `user:${i}` }), 60)).status === 'hit') hits++;
        return hits;
      },
      { timeout: 15_000, interval: 250 },
    )
    .toBe(list.length * KEYS);
}

function expectSettled(r: LoadReport): void {
  expect(r.wrong).toEqual([]);
  // The switch was felt: calls fell through to the fetcher while the master was away.
  expect(r.statuses.get('miss') ?? 0).toBeGreaterThan(0);
  expect(r.calls).toBeGreaterThan(100);
  // The deadline is a timer: on a machine busy with the rest of the suite it fires as late as the
  // event loop lets it, and that delay (measured while the load ran) is not the library's.
  expect(r.slowest?.ms ?? 0, `slowest call ${JSON.stringify(r.slowest)}, worst event-loop delay ${r.loopLagMs.toFixed(0)} ms`).toBeLessThan(COMMAND_TIMEOUT_MS + 100 + r.loopLagMs);
}

const topologies = topologiesUnderTest();

describe.runIf(topologies.includes('cluster'))('failover under load [cluster]', () => {
  it('a master killed mid-load: calls settle within the deadline with the right value; hits resume on the promoted replica', async () => {
    const cluster = await startRedisCluster();
    try {
      const list = await caches({ cluster: { rootNodes: cluster.rootNodes.map((n) => n.url) } });
      const victim = await cluster.masterForKey(`${list[0]?.options.prefix ?? ''}user:1`);
      const failover = (async () => {
        await new Promise((r) => setTimeout(r, 300));
        await cluster.killMaster(victim.port);
        const promoted = await cluster.waitForFailover(victim.port, 30_000);
        await new Promise((r) => setTimeout(r, 1500)); // load keeps running after the switch
        return promoted;
      })();
      const report = await runLoad(list, failover);
      const promoted = await failover;
      expect(promoted.port).not.toBe(victim.port);
      expectSettled(report);
      await hitsResume(list);
      // The cache now routes the victim's slots to the promoted replica.
      expect(list[0]?.redisNodes().some((n) => n.address.endsWith(`:${promoted.port}`) && n.role === 'master')).toBe(true);
      for (const c of list) await c.close();
    } finally {
      await cluster.stop();
    }
  }, 90_000);
});

describe.runIf(topologies.includes('sentinel'))('failover under load [sentinel]', () => {
  it('the master killed mid-load: calls settle within the deadline with the right value; hits resume on the new master', async () => {
    const sentinel = await startRedisSentinel();
    try {
      const list = await caches({ sentinel: { name: sentinel.name, sentinelRootNodes: sentinel.sentinelRootNodes } });
      const failover = (async () => {
        await new Promise((r) => setTimeout(r, 300));
        const killed = await sentinel.killMaster();
        const promoted = await sentinel.waitForFailover(killed.port, 30_000);
        await new Promise((r) => setTimeout(r, 1500));
        return promoted;
      })();
      const report = await runLoad(list, failover);
      await failover;
      expectSettled(report);
      await hitsResume(list);
      for (const c of list) await c.close();
    } finally {
      await sentinel.stop();
    }
  }, 90_000);
});
