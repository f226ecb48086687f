/**
 * The invalidation channel of the in-process tier: one dedicated connection on which Redis's
 * server-assisted client-side caching reports every change under the cache's prefix.
 *
 * `CLIENT TRACKING on REDIRECT <own id> BCAST PREFIX <prefix>`, then `SUBSCRIBE
 * __redis__:invalidate`: Redis then sends the name of every key written under the prefix, by
 * any client (this cache on any instance, another service, `redis-cli`), and `null` when the
 * database is flushed. Broadcasting mode was chosen over the default mode, in which Redis
 * remembers the keys each connection read: it needs no tracking on the connection the cache's
 * commands go through (which may be the application's own client), costs Redis no memory per
 * key, and survives reconnects of that connection. Its price: every instance hears every write
 * under the prefix, not only writes to keys it holds (README, "The in-process tier").
 *
 * The channel is up only after the subscription is confirmed, and goes down (L1 emptied and
 * bypassed) on any error or disconnect, and when a PING sent every `heartbeatMs` is not answered
 * within `channelTimeoutMs` (a frozen server, a silent network): there is no moment in which
 * L1 serves a value it could not hear about. A lost connection is replaced by a new one, each
 * with its own tracking, after a pause that grows to 1 s.
 */
import { RedisNodeError } from '../errors.ts';
import { CACHE_COMMAND_OPTIONS, type RedisClientLike } from '../topology/clients.ts';
import type { ChannelState, InvalidationHandlers, InvalidationSource } from './invalidation-source.ts';

export type { ChannelState } from './invalidation-source.ts';

/** The channel's client: a duplicate of the cache's, in RESP2 (pub/sub messages, not RESP3 pushes). */
export interface TrackingClientLike extends RedisClientLike {
  subscribe(channel: string, listener: (message: unknown, channel: unknown) => unknown, bufferMode?: boolean): Promise<unknown>;
}

export interface TrackingOptions {
  prefix: string;
  heartbeatMs: number;
  channelTimeoutMs: number;
  /** A new connection on the node, not yet connected (on a cluster, found through the cluster client: hence a promise). */
  connect: () => TrackingClientLike | Promise<TrackingClientLike>;
  /**
   * `host:port` of the node, named in errors. When set, the node must say `ROLE` master before
   * the channel comes up: on a cluster or through Sentinel a master demoted by a failover keeps
   * running as a replica, and a channel reconnected to it would hear writes only as they are
   * replicated (or not at all, were the link down) while the new master takes them.
   */
  requireMaster?: string | undefined;
  onError?: (err: unknown) => void;
}

/** The connection's name in `CLIENT LIST`, so operators (and tests) can find it. */
export const TRACKING_CLIENT_NAME = 'redis-cache-layer:l1-tracking';

const INVALIDATE_CHANNEL = '__redis__:invalidate';
const MAX_RETRY_MS = 1000;

/** The invalidation source on Redis (invalidation-source.ts): one connection with broadcast tracking. */
export class TrackingChannel implements InvalidationSource {
  readonly #o: TrackingOptions;
  readonly #h: InvalidationHandlers;
  #client: TrackingClientLike | undefined;
  #state: ChannelState = 'connecting';
  #closed = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = 25;
  /** When the last ping was sent and not yet answered; undefined when none is pending. */
  #pingSentMs: number | undefined;
  #generation = 0;
  #reconnects = 0;

  constructor(options: TrackingOptions, handlers: InvalidationHandlers) {
    this.#o = options;
    this.#h = handlers;
    void this.#open();
  }

  get state(): ChannelState {
    return this.#state;
  }

  /** Times the channel had to be re-established after it was up. */
  get reconnects(): number {
    return this.#reconnects;
  }

  async #open(): Promise<void> {
    const generation = ++this.#generation;
    let c: TrackingClientLike;
    try {
      c = await this.#o.connect();
    } catch (err) {
      this.#lost(generation, err);
      return;
    }
    if (generation !== this.#generation || this.#closed) {
      // Closed while the node's client was being found: it was never connected, nothing to end.
      return;
    }
    this.#client = c;
    c.on('error', (err: unknown) => this.#lost(generation, err));
    c.on('end', () => this.#lost(generation, undefined));
    try {
      await c.connect();
      const id = await c.sendCommand<number>(['CLIENT', 'ID'], CACHE_COMMAND_OPTIONS);
      await c.sendCommand(['CLIENT', 'SETNAME', TRACKING_CLIENT_NAME], CACHE_COMMAND_OPTIONS);
      const master = this.#o.requireMaster;
      if (master !== undefined) {
        const role = await c.sendCommand<unknown[]>(['ROLE'], CACHE_COMMAND_OPTIONS);
        if (role[0] !== 'master') throw new RedisNodeError(master, 'L1 invalidation tracking', { cause: new Error(`the node is ${String(role[0])}, not master (a failover demoted it)`) });
      }
      // An empty prefix: every key of the database.
      const prefix = this.#o.prefix === '' ? [] : ['PREFIX', this.#o.prefix];
      await c.sendCommand(['CLIENT', 'TRACKING', 'on', 'REDIRECT', String(id), 'BCAST', ...prefix], CACHE_COMMAND_OPTIONS);
      await c.subscribe(INVALIDATE_CHANNEL, (message) => this.#message(generation, message), true);
    } catch (err) {
      this.#lost(generation, err);
      return;
    }
    if (generation !== this.#generation || this.#closed) return;
    this.#retryMs = 25;
    this.#state = 'up';
    this.#h.onUp();
    this.#heartbeat = setInterval(() => this.#beat(generation), this.#o.heartbeatMs);
    this.#heartbeat.unref();
  }

  #message(generation: number, message: unknown): void {
    if (generation !== this.#generation || this.#state !== 'up') return;
    if (message === null) {
      this.#h.onFlush();
      return;
    }
    if (!Array.isArray(message)) return;
    for (const k of message) this.#h.onKey(Buffer.isBuffer(k) ? k.toString('utf8') : String(k));
  }

  #beat(generation: number): void {
    const c = this.#client;
    if (generation !== this.#generation || c === undefined) return;
    const now = performance.now();
    if (this.#pingSentMs !== undefined) {
      // Still waiting: past the timeout the channel is down until that ping (or a later one) answers.
      if (now - this.#pingSentMs >= this.#o.channelTimeoutMs && this.#state === 'up') {
        this.#state = 'down';
        this.#h.onDown();
      }
      return;
    }
    this.#pingSentMs = now;
    c.sendCommand(['PING'], CACHE_COMMAND_OPTIONS).then(
      () => {
        if (generation !== this.#generation) return;
        this.#pingSentMs = undefined;
        // Answered: the connection never broke, so no message was lost while it was silent.
        if (this.#state === 'down') {
          this.#state = 'up';
          this.#h.onUp();
        }
      },
      (err: unknown) => this.#lost(generation, err),
    );
  }

  /** The connection failed: down now, a new one after a pause. */
  #lost(generation: number, err: unknown): void {
    if (generation !== this.#generation || this.#closed) return;
    if (err !== undefined) this.#o.onError?.(err);
    this.#generation++;
    const wasUp = this.#state === 'up';
    this.#state = 'down';
    if (wasUp) this.#reconnects++;
    this.#h.onDown();
    this.#stopTimers();
    const c = this.#client;
    this.#client = undefined;
    try {
      if (c?.isOpen === true) void c.destroy();
    } catch {
      // already closed
    }
    this.#retry = setTimeout(() => void this.#open(), this.#retryMs);
    this.#retry.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
  }

  #stopTimers(): void {
    clearInterval(this.#heartbeat);
    clearTimeout(this.#retry);
    this.#heartbeat = undefined;
    this.#pingSentMs = undefined;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#generation++;
    this.#stopTimers();
    this.#state = 'closed';
    this.#h.onDown();
    const c = this.#client;
    this.#client = undefined;
    if (c === undefined) return;
    try {
      if (c.isOpen) await c.close();
    } catch {
      try {
        void c.destroy();
      } catch {
        // already closed
      }
    }
  }
}
