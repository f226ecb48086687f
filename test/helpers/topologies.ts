/**
 * One suite, four servers: `describeEachTopology` runs a block of tests against one Redis, a
 * cluster of three masters and three replicas, a Sentinel set (master, replica, three
 * sentinels), and one Valkey ≥ 8.1 (whose `SET … IFEQ` the cache uses for lease-checked writes
 * in place of a script), each started for the file on free ports. The cache reaches each the way a user's
 * would (a URL, `cluster: { rootNodes }`, `sentinel: { name, sentinelRootNodes }`), and a raw
 * client of the same kind lets tests look at and write keys behind the cache's back.
 *
 * TEST_TOPOLOGIES (comma-separated: single, cluster, sentinel, valkey) narrows the set, for a quick
 * run. Valkey comes from `scripts/fetch-valkey.sh` (.ci/run runs it): without it the `valkey`
 * block is one test that says so and passes only outside CI.
 */
import { createClient, createCluster, createSentinel } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheOptions } from '../../src/cache/index.ts';
import { clusterLeaseKey, plainLeaseKey } from '../../src/cache/topology/slots.ts';
import { startRedisServer, valkeyServerPath } from './redis-server.ts';
import { startRedisCluster, startRedisSentinel } from './redis-topology.ts';

export type TopologyName = 'single' | 'cluster' | 'sentinel' | 'valkey';

const ALL: readonly TopologyName[] = ['single', 'cluster', 'sentinel', 'valkey'];

/** The topologies this run covers. */
export function topologiesUnderTest(): TopologyName[] {
  const env = process.env['TEST_TOPOLOGIES'];
  if (env === undefined || env.trim() === '') return [...ALL];
  const names = env.split(',').map((s) => s.trim());
  for (const n of names) if (!(ALL as readonly string[]).includes(n)) throw new Error(`TEST_TOPOLOGIES: unknown topology ${n} (single, cluster, sentinel, valkey)`);
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
  /** What the cache reports as its topology (`cache.topology`): Valkey is one server, `single`. */
  readonly kind: 'single' | 'cluster' | 'sentinel';
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
  if (name === 'single' || name === 'valkey') {
    const program = name === 'valkey' ? valkeyServerPath() : undefined;
    if (name === 'valkey' && program === undefined) throw new Error('no Valkey: run scripts/fetch-valkey.sh (or set VALKEY_SERVER)');
    const server = await startRedisServer(program === undefined ? {} : { program });
    const raw = await connected(createClient({ url: server.url }));
    return {
      name,
      kind: 'single',
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
      kind: 'cluster',
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
    kind: 'sentinel',
    cacheOptions: { sentinel: { name: sentinel.name, sentinelRootNodes: sentinel.sentinelRootNodes } },
    raw: rawOf(raw),
    leaseKey: plainLeaseKey,
    stop: async () => {
      await raw.close().catch(() => undefined);
      await sentinel.stop();
    },
  };
}

/** The one test of a Valkey block where there is no Valkey: it passes only outside CI, where the rest is not run. */
export function itHasNoValkey(): void {
  it('has no Valkey to run on: allowed outside CI only (scripts/fetch-valkey.sh fetches it; .ci/run does)', () => {
    expect(process.env['CI'], 'CI=true but there is no Valkey: run scripts/fetch-valkey.sh').not.toBe('true');
  });
}

/**
 * `body` once per topology under test, inside `describe('<title> [<topology>]')`, with the
 * running topology behind `topology()` (started before the block's tests, stopped after) and its
 * name (known while the tests are being defined).
 */
export function describeEachTopology(title: string, body: (topology: () => RunningTopology, name: TopologyName) => void): void {
  for (const name of topologiesUnderTest()) {
    if (name === 'valkey' && valkeyServerPath() === undefined) {
      describe(`${title} [valkey]`, itHasNoValkey);
      continue;
    }
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
