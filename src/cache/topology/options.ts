import { InvalidOptionsError } from '../errors.ts';
import { unsupportedClient, type RedisClientOfAnyVersion } from './clients.ts';

/** `createCache({ cluster })`: the cache creates a node-redis cluster client and owns it. */
export interface ClusterOptions {
  /**
   * `redis://[user:password@]host:port` (or `rediss://` for TLS) of some of the cluster's nodes;
   * the others are discovered. The first URL's credentials and TLS apply to every node.
   */
  rootNodes: readonly string[];
}

/** `createCache({ sentinel })`: the cache creates a node-redis sentinel client and owns it. */
export interface SentinelOptions {
  /** The master's name, as in `sentinel monitor <name> …`. */
  name: string;
  /** Some of the sentinels; the others are discovered. */
  sentinelRootNodes: readonly { host: string; port: number }[];
  /** The data nodes' password (and ACL user), when they require one. */
  password?: string;
  username?: string;
  /** The sentinels' own password, when they require one. */
  sentinelPassword?: string;
  /** TLS to the data nodes, verified against `ca` (PEM) or the system's roots. Default off. */
  tls?: boolean;
  ca?: string | Buffer;
}

const URL_RE = /^rediss?:\/\//;

/** Validates the three ways of naming Redis: at most one of `redis`, `cluster`, `sentinel`. */
export function resolveTopology(options: { redis?: string | RedisClientOfAnyVersion; cluster?: ClusterOptions; sentinel?: SentinelOptions }): {
  redis: string | RedisClientOfAnyVersion | undefined;
  cluster: Required<ClusterOptions> | undefined;
  sentinel: SentinelOptions | undefined;
} {
  const { redis, cluster, sentinel } = options;
  const given = [redis, cluster, sentinel].filter((x) => x !== undefined).length;
  if (given > 1) throw new InvalidOptionsError('give one of redis, cluster and sentinel, not several');
  if (redis !== undefined && typeof redis !== 'string' && (typeof redis !== 'object' || redis === null)) {
    throw new InvalidOptionsError('redis must be a URL or a node-redis client');
  }
  if (typeof redis === 'object') {
    const why = unsupportedClient(redis);
    if (why !== undefined) throw new InvalidOptionsError(why);
  }
  if (typeof redis === 'string' && !URL_RE.test(redis)) throw new InvalidOptionsError('redis URL must start with redis:// or rediss://');
  if (cluster !== undefined) {
    if (!Array.isArray(cluster.rootNodes) || cluster.rootNodes.length === 0) throw new InvalidOptionsError('cluster.rootNodes must list at least one redis:// URL');
    for (const u of cluster.rootNodes) if (typeof u !== 'string' || !URL_RE.test(u)) throw new InvalidOptionsError(`cluster.rootNodes: ${String(u).replace(/\/\/[^@/]*@/, '//***@')} is not a redis:// or rediss:// URL`);
  }
  if (sentinel !== undefined) {
    if (typeof sentinel.name !== 'string' || sentinel.name === '') throw new InvalidOptionsError('sentinel.name must name the master');
    if (!Array.isArray(sentinel.sentinelRootNodes) || sentinel.sentinelRootNodes.length === 0) throw new InvalidOptionsError('sentinel.sentinelRootNodes must list at least one { host, port }');
    for (const n of sentinel.sentinelRootNodes as readonly unknown[]) {
      if (typeof n !== 'object' || n === null || !('host' in n) || !('port' in n) || typeof n.host !== 'string' || typeof n.port !== 'number' || !Number.isInteger(n.port) || n.port <= 0 || n.port > 65535) throw new InvalidOptionsError('each sentinel.sentinelRootNodes entry must be { host: string, port: 1–65535 }');
    }
  }
  return { redis, cluster: cluster === undefined ? undefined : { rootNodes: [...cluster.rootNodes] }, sentinel };
}
