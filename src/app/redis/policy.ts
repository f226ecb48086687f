/**
 * What the three topologies share: the app-level connection they return, the bounded reconnect
 * window, the rate-limited error log, the monitor loop and the socket options.
 */
import { readFileSync } from 'node:fs';
import { reconnectDelayMs, reconnectWindow } from '../../cache/index.ts';
import type { AnyRedisClient } from '../../cache/topology/connection.ts';
import type { AppConfig } from '../config.ts';
import { errorText } from './boot-errors.ts';

export interface PolicyLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  fatal(obj: object, msg: string): void;
}

export interface RedisPolicyHooks {
  /** The bounded reconnect window ran out: `attempts` failed reconnects, `detail` says what was lost. */
  onGiveUp?: (attempts: number, detail: string) => void;
  /** The connection became usable again after being lost. */
  onReady?: () => void;
}

export type RedisTopologyKind = 'single' | 'cluster' | 'sentinel';

/**
 * - `ready`: every node the server uses is connected and answers.
 * - `degraded` (cluster): usable, but some master is not connected or not answering.
 * - `reconnecting`: not usable (no master connected; on a cluster also `cluster_state` not ok):
 *   the reconnect window runs.
 * - `unresponsive`: connected, but not answering the monitor's PING in time.
 */
export type RedisConnectionState = 'ready' | 'degraded' | 'reconnecting' | 'unresponsive' | 'closed';

/** A node's state: `ready` answers; `down` is how the cluster or the sentinels see it. */
export type RedisNodeHealth = 'ready' | 'connecting' | 'reconnecting' | 'unresponsive' | 'down' | 'unknown';

export interface RedisNodeStatus {
  /** `host:port`, never a password. */
  address: string;
  role: 'master' | 'replica' | 'sentinel';
  state: RedisNodeHealth;
  /**
   * Who says so: `client` the server's own connection; `cluster` the cluster's view (CLUSTER
   * NODES; the server holds no connection to replicas); `sentinel` the sentinels' view.
   */
  observedVia: 'client' | 'cluster' | 'sentinel';
}

/** The server's Redis connection, whatever the topology. */
export interface RedisConnection {
  readonly topology: RedisTopologyKind;
  /** The node-redis client, handed to createCache (it stays the server's to close). */
  readonly client: AnyRedisClient;
  /** Failed reconnect attempts (every node's) since the connection was last usable. */
  readonly reconnectAttempts: number;
  readonly totalReconnectAttempts: number;
  /** Readiness: usable, and every node the server uses connected and answering. */
  readonly healthy: boolean;
  readonly state: RedisConnectionState;
  nodes(): RedisNodeStatus[];
  close(): Promise<void>;
}

/**
 * The bounded reconnect window of the running phase (production: its end exits the process).
 *
 * One Redis counts node-redis's reconnect attempts: `attempt()` returns the count and the caller
 * gives up past the maximum, with a timer capping the window at its jittered maximum. Cluster and
 * Sentinel hold a client per node, so there the window is driven by "unusable" (`lost()`) and
 * lasts what `maxAttempts` failed attempts would: Σ reconnectDelayMs(n), n = 1…max, the same
 * delays and jitter (21 s nominal for 20, 16.8–25.2 s).
 */
export class ReconnectWindow {
  readonly #maxAttempts: number;
  readonly #onGiveUp: (attempts: number) => void;
  #attempts = 0;
  #total = 0;
  #timer: NodeJS.Timeout | undefined;
  #gaveUp = false;

  constructor(maxAttempts: number, onGiveUp: (attempts: number) => void) {
    this.#maxAttempts = maxAttempts;
    this.#onGiveUp = onGiveUp;
  }

  get attempts(): number {
    return this.#attempts;
  }
  get totalAttempts(): number {
    return this.#total;
  }
  get gaveUp(): boolean {
    return this.#gaveUp;
  }
  /** Whether the window is running. */
  get open(): boolean {
    return this.#timer !== undefined;
  }

  /** One failed reconnect attempt; resolves its number since the connection was last usable. */
  attempt(): number {
    this.#total++;
    return ++this.#attempts;
  }

  /** Starts the window (when not running): gives up after `ms`, or after the sampled window. */
  lost(ms: number = sampledWindowMs(this.#maxAttempts)): void {
    if (this.#timer !== undefined || this.#gaveUp || !Number.isFinite(this.#maxAttempts)) return;
    this.#timer = setTimeout(() => this.giveUp(), ms);
    this.#timer.unref();
  }

  /** Usable again: the window stops and the attempt count restarts. */
  recovered(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#attempts = 0;
  }

  /** Ends the window: `failed` is the count reported (default: the attempts so far). */
  giveUp(failed: number = this.#attempts): void {
    if (this.#gaveUp) return;
    this.#gaveUp = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#onGiveUp(failed);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** One draw of the window `maxAttempts` failed attempts take: each delay jittered on its own. */
function sampledWindowMs(maxAttempts: number): number {
  let ms = 0;
  for (let n = 1; n <= maxAttempts; n++) ms += reconnectDelayMs(n);
  return Math.min(ms, reconnectWindow(maxAttempts).maxMs);
}

/** The cap of the single-Redis window: the jittered maximum. */
export function windowCapMs(maxAttempts: number): number {
  return reconnectWindow(maxAttempts).maxMs;
}

/**
 * The running policy of a topology with a client per node (Cluster, Sentinel), evaluated on
 * every monitor tick and client event: unusable starts the reconnect window, usable again stops
 * it; every change of state is one log line.
 */
export function stateWatcher(o: {
  /** `Redis Cluster`, `Redis Sentinel`. */
  name: string;
  logger: PolicyLogger;
  window: ReconnectWindow;
  hooks: RedisPolicyHooks;
  running: () => boolean;
  usable: () => boolean;
  state: () => RedisConnectionState;
  /** What the log line adds: nodes not ready, the cluster's state. */
  details: () => object;
}): () => void {
  let last = o.state();
  return () => {
    if (!o.running()) return;
    if (o.usable()) {
      if (o.window.open) o.hooks.onReady?.();
      o.window.recovered();
    } else o.window.lost();
    const now = o.state();
    if (now === last) return;
    const details = { from: last, to: now, reconnectAttempts: o.window.attempts, ...o.details() };
    if (now === 'ready') o.logger.info(details, `${o.name} ready: every node in use answers`);
    else if (now === 'reconnecting') o.logger.warn(details, `${o.name} unusable: reconnect window running, readiness off`);
    else o.logger.warn(details, `${o.name} ${now}: readiness off`);
    last = now;
  };
}

/** An unhandled 'error' event would crash the process: one log line per 5 s at most. */
export class ErrorLog {
  readonly #logger: PolicyLogger;
  readonly #msg: string;
  #loggedAt = 0;
  #suppressed = 0;
  constructor(logger: PolicyLogger, msg: string) {
    this.#logger = logger;
    this.#msg = msg;
  }
  note(err: unknown, extra: object = {}): void {
    const now = Date.now();
    if (now - this.#loggedAt >= 5000) {
      this.#logger.warn({ err: { message: errorText(err) }, suppressed: this.#suppressed, ...extra }, this.#msg);
      this.#loggedAt = now;
      this.#suppressed = 0;
    } else this.#suppressed++;
  }
}

/** Runs `tick` every `everyMs`, never two at once; unref'd. Returns the stop function. */
export function every(everyMs: number, tick: () => Promise<void>): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    // A monitor that throws must not become an unhandled rejection (the server exits on those).
    const done = (): void => {
      running = false;
    };
    tick().then(done, done);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

export function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${Math.max(ms, 0)} ms`)), Math.max(ms, 0));
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(ms, 0)));

/** TLS socket options: verification always on, REDIS_TLS_CA_FILE added to the roots when set. */
export function tlsSocket(config: AppConfig, tls: boolean): { tls: true; rejectUnauthorized: true; ca?: Buffer } | Record<string, never> {
  if (!tls) return {};
  return { tls: true, rejectUnauthorized: true, ...(config.redisTlsCaFile === undefined ? {} : { ca: readFileSync(config.redisTlsCaFile) }) };
}

/**
 * Closes a client under a deadline, destroying it when that fails (a client that already closed
 * itself throws on destroy; a reconnecting one may never finish close).
 */
export async function closeClient(client: Closable, timeoutMs: number): Promise<void> {
  if (!client.isOpen) return destroyClient(client);
  await withDeadline(client.close(), timeoutMs).catch(() => destroyClient(client));
}

interface Closable {
  readonly isOpen: boolean;
  close(): Promise<unknown>;
  destroy(): unknown;
}

/** destroy() throws on a client that already closed itself; the sentinel client's returns a promise. */
export function destroyClient(client: Closable): void {
  try {
    if (client.isOpen) void Promise.resolve(client.destroy()).catch(() => undefined);
  } catch {
    // Already closed: nothing left to release.
  }
}

/**
 * The RedisConnection a topology's connect returns: the window's counters, and close() that stops
 * the topology's own timers (`stop`) before closing the client under the deadline.
 */
export function connectionHandle(o: {
  topology: RedisTopologyKind;
  client: AnyRedisClient;
  window: ReconnectWindow;
  healthy: () => boolean;
  state: () => RedisConnectionState;
  nodes: () => RedisNodeStatus[];
  stop: () => void;
  closeTimeoutMs: number;
}): RedisConnection {
  return {
    topology: o.topology,
    client: o.client,
    get reconnectAttempts() {
      return o.window.attempts;
    },
    get totalReconnectAttempts() {
      return o.window.totalAttempts;
    },
    get healthy() {
      return o.healthy();
    },
    get state() {
      return o.state();
    },
    nodes: o.nodes,
    async close() {
      o.stop();
      o.window.close();
      await closeClient(o.client, o.closeTimeoutMs);
    },
  };
}
