/**
 * The part of a node-redis client the cache calls, written out so that a client the caller
 * passes may come from node-redis 5 or 6 (another copy of the package than the cache's own):
 * the cache calls only these members, and `test/cache/client-versions.test.ts` runs it on
 * clients of each supported version. node-redis 4 is refused (`unsupportedClient`).
 */

/**
 * Per-command options the cache sends with each of its commands. node-redis 6 gives every
 * command a 5 s timer by default (`commandOptions.timeout`: an AbortSignal.timeout per command),
 * and with it a raw `GET` + `JSON.parse` at 64 in flight ran at about 0.3 of its throughput
 * without (`npm run bench:clients`). The cache bounds every call with its own deadline
 * (guard.ts), so its commands opt out; the caller's own commands keep whatever the client was
 * configured with. node-redis 5 sets no timer unless its user configured one. A MULTI (`del`,
 * `invalidateTags` of several tags) takes no per-command options and keeps the client's timer.
 */
export const CACHE_COMMAND_OPTIONS: { readonly timeout: 0 } = { timeout: 0 };

/**
 * The per-command options parameter, typed loosely: node-redis 5.0's options have no `timeout`,
 * and a narrower type here would make its clients' types unassignable.
 */
type CommandOptionsLike = object;

/** A listener the cache adds ('error', 'ready', 'connect', cluster node events). */
type Listener = (...args: unknown[]) => void;

interface ClientEvents {
  on(event: string, listener: Listener): unknown;
  once(event: string, listener: Listener): unknown;
  off(event: string, listener: Listener): unknown;
}

/** Sharded pub/sub (SSUBSCRIBE), for lease announcements (lease-watch.ts). */
interface ShardedPubSub {
  sSubscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  sUnsubscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
}

interface Closable {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): unknown;
}

/**
 * What the in-process tier's channel client changes on a duplicate (tiers/tracking.ts): RESP2,
 * so invalidations arrive as pub/sub messages rather than RESP3 pushes node-redis keeps for its
 * own client-side cache; and, on a node-redis 6 client, the RESP3-only features turned off, or
 * node-redis refuses RESP2.
 */
export const TRACKING_CLIENT_OVERRIDES = { RESP: 2, maintNotifications: 'disabled', clientSideCache: undefined, emitInvalidate: undefined } as const;

type DuplicateOverrides = { RESP?: 2 | 3; maintNotifications?: 'disabled'; clientSideCache?: undefined; emitInvalidate?: undefined };

/** `createClient()`. */
export interface RedisClientLike extends ClientEvents, Closable, ShardedPubSub {
  readonly isReady: boolean;
  readonly options?: { readonly socket?: unknown } | undefined;
  sendCommand<T>(args: string[], options?: CommandOptionsLike): Promise<T>;
  multi(): { addCommand(args: string[]): unknown; exec(): Promise<unknown[]> };
  duplicate(overrides?: DuplicateOverrides): RedisClientLike;
}

/** A cluster node, as `masters`, `replicas` and `slots` list them. */
export interface ClusterNodeLike {
  readonly address: string;
  /** The node's cluster id (`CLUSTER MYID`), as CLUSTER SLOTS names it. */
  readonly id?: string;
  /** Set once the cluster client has connected to the node. */
  readonly client?: { readonly isReady: boolean; readonly isOpen: boolean } | undefined;
}

/** The client of one cluster node. */
export interface ClusterNodeClientLike {
  sendCommand<T>(args: string[], options?: CommandOptionsLike): Promise<T>;
  duplicate(overrides?: DuplicateOverrides): RedisClientLike;
}

/** `createCluster()`. */
export interface RedisClusterLike extends ClientEvents, Closable, ShardedPubSub {
  /** node-redis 6 only: the slot map is known and the cluster is usable. */
  readonly isReady?: boolean;
  readonly masters: readonly ClusterNodeLike[];
  readonly replicas: readonly ClusterNodeLike[];
  readonly slots: readonly { readonly master: ClusterNodeLike }[];
  sendCommand<T>(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[], options?: CommandOptionsLike): Promise<T>;
  multi(routing?: string): { addCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): unknown; exec(): Promise<unknown[]> };
  nodeClient(node: ClusterNodeLike): ClusterNodeClientLike | Promise<ClusterNodeClientLike>;
  duplicate(): RedisClusterLike;
}

/** `createSentinel()`. node-redis 5.0's sentinel client has no sharded pub/sub: its waiters poll. */
export interface RedisSentinelLike extends ClientEvents, Closable, Partial<ShardedPubSub> {
  readonly isReady: boolean;
  sendCommand<T>(isReadonly: boolean | undefined, args: string[], options?: CommandOptionsLike): Promise<T>;
  multi(): { addCommand(isReadonly: boolean | undefined, args: string[]): unknown; exec(): Promise<unknown[]> };
  getMasterNode(): { readonly host: string; readonly port: number } | undefined;
  getReplicaNodes(): Map<{ readonly host: string; readonly port: number }, number>;
}

/** A node-redis 5 or 6 client, cluster or sentinel client, as `createCache({ redis })` accepts it. */
export type RedisClientOfAnyVersion = RedisClientLike | RedisClusterLike | RedisSentinelLike;

export function isCluster(c: RedisClientOfAnyVersion): c is RedisClusterLike {
  return 'nodeClient' in c && 'masters' in c;
}

export function isSentinel(c: RedisClientOfAnyVersion): c is RedisSentinelLike {
  return 'getMasterNode' in c;
}

/**
 * The cluster client's slot map. node-redis learns a new one only from a MOVED or ASK reply, and
 * a dead master answers nothing, so after a failover the cache re-reads it itself
 * (ClusterConnection). node-redis keeps it in `_slots` from 5.1.1 on; before, it was private.
 */
export interface ClusterSlotsInternals {
  readonly _slots: { rediscover(startWith: unknown): Promise<void> };
}

export function hasSlotsInternals(c: object): c is ClusterSlotsInternals {
  const slots = (c as { _slots?: { rediscover?: unknown } })._slots;
  return typeof slots === 'object' && slots !== null && typeof slots.rediscover === 'function';
}

/**
 * Why a client cannot serve the cache, or undefined when it can. Checked by what the cache needs
 * rather than by version number, which a client does not carry:
 * - node-redis 4 (and older) has no `close()` and, on a cluster, a MULTI whose `addCommand`
 *   takes other arguments (an `UNLINK` would go out malformed);
 * - a cluster client before 5.1.1 keeps its slot map private, so the cache could not follow a
 *   failover: the failed master's slots would stay unreachable until the client is recreated.
 */
export function unsupportedClient(c: object): string | undefined {
  const close = (c as { close?: unknown }).close;
  if (typeof close !== 'function' || typeof (c as { sendCommand?: unknown }).sendCommand !== 'function') {
    return 'redis must be a URL or a node-redis 5 or 6 client (createClient, createCluster or createSentinel); node-redis 4 clients are not supported: pass a URL and the cache creates its own client';
  }
  if ('nodeClient' in c && 'masters' in c && !hasSlotsInternals(c)) {
    return 'this node-redis cluster client predates 5.1.1: the cache could not follow a failover with it (its slot map is private); upgrade redis to 5.1.1 or later, or pass cluster: { rootNodes } and the cache creates its own client';
  }
  return undefined;
}
