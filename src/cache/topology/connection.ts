import type { createClient, createCluster, createSentinel } from 'redis';
import type { PubSubChannel } from '../lease-watch.ts';
import type { LuaScript } from '../scripts.ts';
import type { RedisClientOfAnyVersion } from './clients.ts';
import type { TrackingTargets } from '../tiers/node-tracking.ts';

/** A node-redis v5 client as `createClient()` returns it (the version the cache creates its own clients with). */
export type NodeRedisClient = ReturnType<typeof createClient>;
/** A node-redis v5 cluster client as `createCluster()` returns it. */
export type NodeRedisCluster = ReturnType<typeof createCluster>;
/** A node-redis v5 sentinel client as `createSentinel()` returns it. */
export type NodeRedisSentinel = ReturnType<typeof createSentinel>;
/** Any client the cache creates itself (node-redis 5). A client passed in may be of another version: RedisClientOfAnyVersion. */
export type AnyRedisClient = NodeRedisClient | NodeRedisCluster | NodeRedisSentinel;

export type TopologyKind = 'single' | 'sentinel' | 'cluster';

export type NodeConnectionState = 'ready' | 'connecting' | 'reconnecting' | 'closed';

/** One Redis node as the cache sees it (for /health and metrics). */
export interface RedisNodeState {
  /** `host:port` (never a password). */
  readonly address: string;
  readonly role: 'master' | 'replica';
  readonly state: NodeConnectionState;
}

/** One master, for the calls that visit every master (SCAN, DBSIZE, and the operator's INFO). */
export interface MasterHandle {
  readonly address: string;
  scan(cursor: string, match: string, count: number): Promise<{ cursor: string; keys: string[] }>;
  dbSize(): Promise<number>;
  /** A command about the node itself (INFO, CLIENT LIST), sent to this master, never a replica. */
  command<T>(args: string[]): Promise<T>;
}

/**
 * What the Redis store needs from a topology: one Redis, a Sentinel-managed master, or a
 * cluster. Every method sends commands whose keys share one slot, or groups them by slot and
 * sends one command per slot (all at once, so one round trip per node). The store keeps its
 * semantics in one place (redis-store.ts); the topologies differ only in routing.
 */
export interface RedisConnection {
  readonly kind: TopologyKind;
  /** The client commands go through (the caller's, of node-redis 5 or 6, or the one the cache created). */
  readonly client: RedisClientOfAnyVersion;
  /** Commands can be sent now. */
  readonly isReady: boolean;
  /** The client is open (connected, connecting or reconnecting). */
  readonly isOpen: boolean;
  /**
   * The nodes the in-process tier keeps an invalidation channel to, and how to reach them
   * (tiers/node-tracking.ts): the one Redis, the current Sentinel master, every cluster master.
   * Throws InvalidOptionsError when this client cannot be tracked safely (cache.ts refuses `l1`).
   */
  trackingTargets(): TrackingTargets;
  /** Resolves the first time the connection is ready; rejects after timeoutMs. */
  firstReady(timeoutMs: number): Promise<void>;
  /** Calls fn each time the connection becomes ready; returns the unsubscribe function. */
  onReady(fn: () => void): () => void;

  /** GET, the hit path: the client's own promise, no wrapper. */
  get(key: string): Promise<string | null>;
  /** GET of many keys: one MGET, or one per slot on a cluster. Order kept. */
  mget(keys: readonly string[]): Promise<(string | null)[]>;
  hget(key: string, field: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /**
   * `SET key value NX PX ttlMs GET` (Redis ≥ 7.0): resolves null when it was set, otherwise what
   * the key holds (left as it was). Rejects with WRONGTYPE when the key is not a string.
   */
  setIfAbsentGet(key: string, value: string, ttlMs: number): Promise<string | null>;
  /**
   * `SET key value IFEQ expected PX ttlMs` (Valkey ≥ 8.1, Redis ≥ 8.4): resolves Redis's reply,
   * `OK` when it was set (see isOk), which it is only when the key holds exactly `expected`, and
   * null when not; the caller judges it in its own handler (one promise fewer per write).
   * Rejects with Redis's syntax error where IFEQ is unknown, and with WRONGTYPE when the key is
   * not a string.
   */
  setIfEqual(key: string, value: string, expected: string, ttlMs: number): Promise<string | null>;
  pttl(key: string): Promise<number>;
  /**
   * EVALSHA, falling back to EVAL on NOSCRIPT. Every key in `keys` must share a slot. `inline`:
   * EVAL with the source every time, never NOSCRIPT, so the script runs in the order it was
   * sent (a NOSCRIPT retry would run after commands sent meanwhile); for short scripts that an
   * answer does not wait for.
   */
  evalScript(script: LuaScript, keys: readonly string[], args: readonly string[], inline?: boolean): Promise<unknown>;
  /**
   * UNLINK of entries and of internal keys (leases, tag versions) in one MULTI per slot, so
   * an entry and its lease go together. Resolves how many entries existed.
   */
  unlinkEntries(entries: readonly string[], internal: readonly string[]): Promise<number>;
  /** Sets each key (no expiry change) when it exists: `SET k v XX KEEPTTL`, per key. */
  setExisting(keys: readonly string[], values: readonly string[]): Promise<void>;
  /**
   * WAIT on each node that holds one of `keys` (all at once): resolves the fewest replicas that
   * acknowledged every write this connection sent to its node so far.
   */
  waitReplicas(keys: readonly string[], replicas: number, timeoutMs: number): Promise<number>;
  /**
   * A second connection of the same kind and options, which the caller owns and connects; for
   * writes that WAIT (which blocks its connection) so they never hold up the hit path. undefined
   * when the client cannot be duplicated (node-redis's sentinel client).
   */
  duplicate(): RedisConnection | undefined;
  /**
   * Sharded pub/sub for lease announcements (lease-watch.ts): a connection of its own on one
   * Redis (a subscribed connection takes no other command), the client's own pub/sub
   * connections on a cluster or through Sentinel.
   */
  openPubSub(): PubSubChannel | undefined;
  /** Connects a connection from duplicate(). */
  connect(): Promise<void>;
  /** The masters, for SCAN and DBSIZE. */
  masters(): MasterHandle[];
  /** Every node the connection knows, with its state. */
  nodes(): RedisNodeState[];

  /** The lease key of an entry, in the entry's slot. */
  leaseKey(fullKey: string): string;
  /** Throws InvalidKeyError when the key cannot be used on this topology. */
  checkKey(fullKey: string): void;
  /**
   * Whether scripts may read tag version keys themselves. On a cluster they live in other
   * slots, so the store reads them first and hands them to the script (see scripts.ts).
   */
  readonly tagsInScripts: boolean;

  /** Closes a client the cache created (quit, or destroy when that fails). */
  close(): Promise<void>;
}

export function isNoScript(err: unknown): boolean {
  return err instanceof Error && /NOSCRIPT/.test(err.message);
}

/** Whether a `SET`'s reply says it was applied (`OK`; a `SET` whose condition failed answers null). */
export const isOk = (reply: unknown): boolean => reply === 'OK';

/** EVALSHA through `send`, and EVAL once when the node has not seen the script (restart, flush, new node). */
export function evalWith(send: (args: string[]) => Promise<unknown>, script: LuaScript, keys: readonly string[], args: readonly string[], inline = false): Promise<unknown> {
  if (inline) return send(['EVAL', script.source, String(keys.length), ...keys, ...args]);
  return evalShaThenEval(send, script, [String(keys.length), ...keys, ...args]);
}

async function evalShaThenEval(send: (args: string[]) => Promise<unknown>, script: LuaScript, tail: string[]): Promise<unknown> {
  try {
    return await send(['EVALSHA', script.sha1, ...tail]);
  } catch (err) {
    if (isNoScript(err)) return send(['EVAL', script.source, ...tail]);
    throw err;
  }
}

/** `host:port` of a socket option object, never a password. */
export function addressOf(socket: unknown): string {
  if (typeof socket === 'object' && socket !== null) {
    const s = socket as { host?: unknown; port?: unknown; path?: unknown };
    if (typeof s.path === 'string') return s.path;
    return `${typeof s.host === 'string' ? s.host : 'localhost'}:${typeof s.port === 'number' ? s.port : 6379}`;
  }
  return 'unknown';
}

/** Polls `ready()` until true; rejects after timeoutMs. For clients that emit no 'ready' event. */
export function pollReady(ready: () => boolean, timeoutMs: number, what: string, onTimeout: (msg: string) => Error): Promise<void> {
  if (ready()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (ready()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started >= timeoutMs) {
        clearInterval(timer);
        reject(onTimeout(`${what} not ready within ${timeoutMs} ms`));
      }
    }, 10);
  });
}

/** Sharded pub/sub through a client that keeps its own pub/sub connections (cluster, sentinel). */
export function clientPubSub(
  client: {
    sSubscribe(channel: string, listener: () => void): Promise<unknown>;
    sUnsubscribe(channel: string, listener: () => void): Promise<unknown>;
  },
  isReady: () => boolean,
): PubSubChannel {
  const mine = new Map<string, () => void>();
  return {
    get isReady() {
      return isReady();
    },
    async subscribe(channel, listener) {
      mine.set(channel, listener);
      await client.sSubscribe(channel, listener);
    },
    async unsubscribe(channel, listener) {
      mine.delete(channel);
      await client.sUnsubscribe(channel, listener);
    },
    async close() {
      // The client may be the caller's: only what the cache subscribed goes.
      await Promise.allSettled(Array.from(mine, ([channel, listener]) => client.sUnsubscribe(channel, listener)));
      mine.clear();
    },
  };
}
