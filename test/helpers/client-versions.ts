/**
 * The node-redis versions a caller may pass to `createCache({ redis })`, each installed beside the
 * package's own `redis` as an npm alias (package.json devDependencies: `redis-v5-0`, `redis-v6`,
 * and `redis-v4`, which is refused). test/cache/client-versions.test.ts runs the cache on a
 * client of each; bench/clients.bench.ts measures each.
 */
import { createRequire } from 'node:module';
import * as own from 'redis';
import * as v50 from 'redis-v5-0';
import * as v6 from 'redis-v6';
import type { CacheOptions } from '../../src/cache/index.ts';
import type { RedisClientLike, RedisClientOfAnyVersion, RedisClusterLike, RedisSentinelLike } from '../../src/cache/topology/clients.ts';

const require = createRequire(import.meta.url);

/** The installed version of a package (or alias) name. */
export function installedVersion(pkg: string): string {
  return (require(`${pkg}/package.json`) as { version: string }).version;
}

type SentinelTarget = { name: string; sentinelRootNodes: readonly { host: string; port: number }[] };

/** A one-Redis client of any supported version, with the command method a caller's own code uses. */
export type VersionedClient = RedisClientLike & { get(key: string): Promise<unknown> };

export interface ClientVersion {
  /** `5.12.1`, `6.3.1 RESP2`: the version, and the protocol when the test pins one. */
  readonly label: string;
  client(url: string): VersionedClient;
  cluster(rootNodes: readonly string[]): RedisClusterLike;
  sentinel(target: SentinelTarget): RedisSentinelLike;
  /** A cluster client of this version serves the cache (clients.ts, unsupportedClient). */
  readonly clusterSupported: boolean;
}

const nodesOf = (urls: readonly string[]): { url: string }[] => urls.map((url) => ({ url }));
const sentinelOf = (t: SentinelTarget): { name: string; sentinelRootNodes: { host: string; port: number }[] } => ({ name: t.name, sentinelRootNodes: [...t.sentinelRootNodes] });

/** The package's own node-redis (the one the cache creates its clients with). */
export const OWN_VERSION: ClientVersion = {
  label: installedVersion('redis'),
  client: (url) => own.createClient({ url }),
  cluster: (rootNodes) => own.createCluster({ rootNodes: nodesOf(rootNodes) }),
  sentinel: (t) => own.createSentinel(sentinelOf(t)),
  clusterSupported: true,
};

/** Every supported version, oldest first, node-redis 6 on both protocols (RESP3 is its default). */
export const CLIENT_VERSIONS: readonly ClientVersion[] = [
  {
    label: installedVersion('redis-v5-0'),
    client: (url) => v50.createClient({ url }),
    cluster: (rootNodes) => v50.createCluster({ rootNodes: nodesOf(rootNodes) }),
    sentinel: (t) => v50.createSentinel(sentinelOf(t)),
    // Its slot map is private: the cache could not follow a failover (5.1.1 made it reachable).
    clusterSupported: false,
  },
  OWN_VERSION,
  {
    label: `${installedVersion('redis-v6')} RESP2`,
    client: (url) => v6.createClient({ url, RESP: 2 }),
    cluster: (rootNodes) => v6.createCluster({ rootNodes: nodesOf(rootNodes), RESP: 2 }),
    sentinel: (t) => v6.createSentinel({ ...sentinelOf(t), RESP: 2 }),
    clusterSupported: true,
  },
  {
    label: `${installedVersion('redis-v6')} RESP3`,
    client: (url) => v6.createClient({ url }),
    cluster: (rootNodes) => v6.createCluster({ rootNodes: nodesOf(rootNodes) }),
    sentinel: (t) => v6.createSentinel(sentinelOf(t)),
    clusterSupported: true,
  },
];

/** A client of `version` for the topology the cache options name (not connected). */
export function passedClientFor(version: ClientVersion, o: Pick<CacheOptions, 'redis' | 'cluster' | 'sentinel'>): RedisClientOfAnyVersion {
  if (o.cluster !== undefined) return version.cluster(o.cluster.rootNodes);
  if (o.sentinel !== undefined) return version.sentinel(o.sentinel);
  if (typeof o.redis !== 'string') throw new Error('the single topology is reached by URL');
  return version.client(o.redis);
}
