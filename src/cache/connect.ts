import { createClient, createCluster, createSentinel } from 'redis';
import { reconnectDelayMs } from './backoff.ts';
import { Guard, classify } from './guard.ts';
import { MemoryStore } from './memory-store.ts';
import type { ResolvedCacheOptions } from './options.ts';
import { RedisStore } from './redis-store.ts';
import { defaultSerializer } from './serializer.ts';
import type { ErrorReporter } from './reporter.ts';
import type { CacheStore } from './store.ts';
import type { SentinelOptions } from './topology/options.ts';
import type { TrackingClientLike } from './tiers/tracking.ts';
import { tagKeyPrefix } from './tags.ts';
import { ClusterConnection } from './topology/cluster.ts';
import { isCluster, isSentinel, type RedisClientOfAnyVersion } from './topology/clients.ts';
import type { AnyRedisClient, RedisConnection } from './topology/connection.ts';
import { SentinelConnection } from './topology/sentinel.ts';
import { SingleConnection } from './topology/single.ts';

export interface Backing {
  store: CacheStore;
  /** The Redis connection, when the cache runs on Redis. */
  connection: RedisConnection | undefined;
}

/** The topology of a client the caller passed (which stays theirs), or one the cache created. */
export function connectionOf(client: RedisClientOfAnyVersion, owned: boolean, sentinelTracking?: (host: string, port: number) => TrackingClientLike): RedisConnection {
  if (isCluster(client)) return new ClusterConnection(client, owned);
  if (isSentinel(client)) return new SentinelConnection(client, owned, sentinelTracking);
  return new SingleConnection(client, owned);
}

type Socket = { connectTimeout: number; reconnectStrategy: (retries: number) => number };

/** Connects have a deadline, and reconnects back off (backoff.ts). */
const socketOf = (o: ResolvedCacheOptions): Socket => ({ connectTimeout: o.connectTimeoutMs, reconnectStrategy: (retries: number) => reconnectDelayMs(retries + 1) });

/** The data nodes' options of a Sentinel topology: for node-redis's clients and the L1 channel's. */
function sentinelNodeOptions(s: SentinelOptions, socket: Socket): { disableOfflineQueue: true; username?: string; password?: string; socket: Socket & { tls?: true; ca?: string | Buffer } } {
  return {
    disableOfflineQueue: true,
    ...(s.username === undefined ? {} : { username: s.username }),
    ...(s.password === undefined ? {} : { password: s.password }),
    socket: { ...socket, ...(s.tls === true ? { tls: true as const, ...(s.ca === undefined ? {} : { ca: s.ca }) } : {}) },
  };
}

/**
 * The L1 channel's client on a Sentinel-managed data node (SentinelConnection.trackingTargets):
 * RESP2, as on the other topologies (clients.ts, TRACKING_CLIENT_OVERRIDES), with the options
 * node-redis's own master clients get.
 */
function sentinelTrackingClient(s: SentinelOptions, socket: Socket): (host: string, port: number) => TrackingClientLike {
  return (host, port) => {
    const o = sentinelNodeOptions(s, socket);
    return createClient({ ...o, RESP: 2, socket: { ...o.socket, host, port } });
  };
}

/**
 * A client the cache creates from its options. Whatever the topology: commands issued while a
 * node is away fail at once instead of piling up in memory (disableOfflineQueue), connects have
 * a deadline, and reconnects back off (backoff.ts).
 */
function createOwned(o: ResolvedCacheOptions): AnyRedisClient | undefined {
  const socket = socketOf(o);
  if (typeof o.redis === 'string') return createClient({ url: o.redis, disableOfflineQueue: true, socket });
  if (o.cluster !== undefined) {
    const first = new URL(o.cluster.rootNodes[0] as string);
    const tls = first.protocol === 'rediss:';
    return createCluster({
      rootNodes: o.cluster.rootNodes.map((url) => ({ url })),
      defaults: {
        disableOfflineQueue: true,
        ...(first.username === '' ? {} : { username: decodeURIComponent(first.username) }),
        ...(first.password === '' ? {} : { password: decodeURIComponent(first.password) }),
        socket: { ...socket, ...(tls ? { tls: true as const } : {}) },
      },
    });
  }
  if (o.sentinel !== undefined) {
    const s = o.sentinel;
    return createSentinel({
      name: s.name,
      sentinelRootNodes: s.sentinelRootNodes.map((n) => ({ host: n.host, port: n.port })),
      nodeClientOptions: sentinelNodeOptions(s, socket),
      ...(s.sentinelPassword === undefined ? {} : { sentinelClientOptions: { password: s.sentinelPassword } }),
    });
  }
  return undefined;
}

/** The store a cache runs on: the one given, the memory store, or Redis behind the deadline guard. */
export function openStore(o: ResolvedCacheOptions, reporter: ErrorReporter, given: CacheStore | undefined): Backing {
  let connection: RedisConnection | undefined;
  if (given === undefined) {
    const owned = createOwned(o);
    if (owned !== undefined) {
      connection = connectionOf(owned, true, o.sentinel === undefined ? undefined : sentinelTrackingClient(o.sentinel, socketOf(o)));
      const connecting = owned.connect() as Promise<unknown>;
      connecting.catch((err: unknown) => reporter.report('connect', undefined, classify('connect', err)));
    } else if (o.redis !== undefined && typeof o.redis !== 'string') {
      const nodeClient = o.l1?.sentinelNodeClient;
      connection = connectionOf(o.redis, false, nodeClient === undefined ? undefined : (host, port) => nodeClient({ host, port }));
    }
  }
  if (connection === undefined) {
    const store = given ?? new MemoryStore({ clock: o.clock, maxEntries: o.memory.maxEntries, maxBytes: o.memory.maxBytes, tagKeyPrefix: tagKeyPrefix(o.prefix) });
    return { store, connection: undefined };
  }
  // An 'error' event without a listener crashes the process; with one, it is a rate-limited log line.
  const client = connection.client;
  client.on('error', (err: unknown) => reporter.report('connection', undefined, classify('connection', err)));
  if (connection.kind === 'cluster') client.on('node-error', (err: unknown) => reporter.report('connection', undefined, classify('connection', err)));
  const guard = new Guard({
    commandTimeoutMs: o.commandTimeoutMs,
    breakerThreshold: o.breakerThreshold,
    breakerCooldownMs: o.breakerCooldownMs,
    now: () => Date.now(),
  });
  // Invalidations that WAIT for replicas get a connection of their own: WAIT blocks the
  // connection it runs on, and the hit path must not queue behind it.
  let invalidator: RedisConnection | undefined;
  if (o.invalidationReplicas > 0) {
    invalidator = connection.duplicate();
    if (invalidator !== undefined) {
      const dup = invalidator.client;
      dup.on('error', (err: unknown) => reporter.report('connection', undefined, classify('connection', err)));
      invalidator.connect().catch((err: unknown) => reporter.report('connect', undefined, classify('connect', err)));
    }
  }
  const store = new RedisStore(connection, guard, {
    keyPrefix: o.prefix,
    firstConnectWaitMs: o.commandTimeoutMs,
    jsonEntries: o.serializer === defaultSerializer,
    replicas: o.invalidationReplicas,
    replicaTimeoutMs: o.invalidationReplicaTimeoutMs,
    ...(invalidator === undefined ? {} : { invalidator }),
  });
  return { store, connection };
}
