/**
 * One suite, three topologies: `describeEachTopology` runs a block of tests against one Redis, a
 * cluster of three masters and three replicas, and a Sentinel set (master, replica, three
 * sentinels), each started for the file on free ports. The cache reaches each the way a user's
 * would (a URL, `cluster: { rootNodes }`, `sentinel: { name, sentinelRootNodes }`), and a raw
 * client of the same kind lets tests look at and write keys behind the cache's back.
 *
 * TEST_TOPOLOGIES (comma-separated: single, cluster, sentinel) narrows the set, for a quick run.
 */
import { createClient, createCluster, createSentinel } from 'redis';
import { afterAll, beforeAll, describe } from 'vitest';
import type { CacheOptions } from '../../src/cache/index.ts';
import { clusterLeaseKey, plainLeaseKey } from '../../src/cache/topology/slots.ts';
import { startRedisServer } from './redis-server.ts';
import { startRedisCluster, startRedisSentinel } from './redis-topology.ts';

export type TopologyName = 'single' | 'cluster' | 'sentinel';

const ALL: readonly TopologyName[] = ['single', 'cluster', 'sentinel'];

/** The topologies this run covers. */
export function topologiesUnderTest(): TopologyName[] {
  const env = process.env['TEST_TOPOLOGIES'];
  if (env === undefined || env.trim() === '') return [...ALL];
  const names = env.split(',').map((s) => s.trim());
  for (const n of names) if (!(ALL as readonly string[]).includes(n)) throw new Error(`TEST_TOPOLOGIES: unknown topology ${n} (single, cluster, sentinel)`);
  return names as TopologyName[];
}

/** The raw commands the tests use, routed to the right node whatever the topology. */
export interface RawRedis {
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  get(key: string): Promise<string | null>;
  exists(key: string): Promise<number>;
  hExists(key: string, field: string): Promise<boolean>;
  hSet(key: string, field: string, value: string): Promise<void>;
}

/**
 * The command deadline the parameterised suites give their caches. They check semantics (leases,
 * tags, grace); deadlines have their own tests (faults.test.ts, failover.test.ts). On a machine
 * busy with the suite's other files, 1,000 calls at once through node-redis's sentinel client
 * (several promise hops per command) measured over the 500 ms default.
 */
export const SUITE_COMMAND_TIMEOUT_MS = 2000;

export interface RunningTopology {
  readonly name: TopologyName;
  /** What createCache needs to reach it; the cache creates and owns its client. */
  readonly cacheOptions: Pick<CacheOptions, 'redis' | 'cluster' | 'sentinel'>;
  readonly raw: RawRedis;
  /** Where the cache keeps the lease of an entry on this topology. */
  leaseKey(fullKey: string): string;
  stop(): Promise<void>;
}

interface RawClient {
  set(key: string, value: string, opts?: { expiration: { type: 'EX'; value: number } }): Promise<unknown>;
  get(key: string): Promise<string | null>;
  exists(key: string): Promise<number>;
  hExists(key: string, field: string): Promise<number | boolean>;
  hSet(key: string, field: string, value: string): Promise<unknown>;
  on(event: 'error', fn: (err: unknown) => void): unknown;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
}

function rawOf(c: RawClient): RawRedis {
  return {
    set: async (key, value, ttlSeconds) => {
      await c.set(key, value, ttlSeconds === undefined ? undefined : { expiration: { type: 'EX', value: ttlSeconds } });
    },
    get: (key) => c.get(key),
    exists: (key) => c.exists(key),
    hExists: async (key, field) => Boolean(await c.hExists(key, field)),
    hSet: async (key, field, value) => {
      await c.hSet(key, field, value);
    },
  };
}

async function connected(c: RawClient): Promise<RawClient> {
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** Starts the topology; the caller stops it. */
export async function startTopology(name: TopologyName): Promise<RunningTopology> {
  if (name === 'single') {
    const server = await startRedisServer();
    const raw = await connected(createClient({ url: server.url }));
    return {
      name,
      cacheOptions: { redis: server.url },
      raw: rawOf(raw),
      leaseKey: plainLeaseKey,
      stop: async () => {
        await raw.close();
        await server.stop();
      },
    };
  }
  if (name === 'cluster') {
    const cluster = await startRedisCluster();
    const raw = await connected(createCluster({ rootNodes: cluster.rootNodes, defaults: cluster.defaults }));
    return {
      name,
      cacheOptions: { cluster: { rootNodes: cluster.rootNodes.map((n) => n.url) } },
      raw: rawOf(raw),
      leaseKey: clusterLeaseKey,
      stop: async () => {
        await raw.close().catch(() => undefined);
        await cluster.stop();
      },
    };
  }
  const sentinel = await startRedisSentinel();
  const raw = await connected(createSentinel({ name: sentinel.name, sentinelRootNodes: sentinel.sentinelRootNodes }));
  return {
    name,
    cacheOptions: { sentinel: { name: sentinel.name, sentinelRootNodes: sentinel.sentinelRootNodes } },
    raw: rawOf(raw),
    leaseKey: plainLeaseKey,
    stop: async () => {
      await raw.close().catch(() => undefined);
      await sentinel.stop();
    },
  };
}

/**
 * `body` once per topology under test, inside `describe('<title> [<topology>]')`, with the
 * running topology behind `topology()` (started before the block's tests, stopped after) and its
 * name (known while the tests are being defined).
 */
export function describeEachTopology(title: string, body: (topology: () => RunningTopology, name: TopologyName) => void): void {
  for (const name of topologiesUnderTest()) {
    describe(`${title} [${name}]`, () => {
      let running: RunningTopology | undefined;
      beforeAll(async () => {
        running = await startTopology(name);
      }, 90_000);
      afterAll(async () => {
        await running?.stop();
      }, 30_000);
      body(() => {
        if (running === undefined) throw new Error(`${name} topology did not start`);
        return running;
      }, name);
    });
  }
}
