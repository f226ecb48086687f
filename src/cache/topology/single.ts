import { RedisUnavailableError } from '../errors.ts';
import type { PubSubChannel } from '../lease-watch.ts';
import type { TrackingTargets } from '../tiers/node-tracking.ts';
import type { TrackingClientLike } from '../tiers/tracking.ts';
import { CACHE_COMMAND_OPTIONS, TRACKING_CLIENT_OVERRIDES, type RedisClientLike } from './clients.ts';
import { addressOf, type RedisNodeState } from './connection.ts';
import { closeClient, PrimaryConnection } from './primary.ts';

/** One Redis, through a node-redis client. */
export class SingleConnection extends PrimaryConnection {
  readonly kind = 'single' as const;
  readonly client: RedisClientLike;
  readonly #owned: boolean;
  #everReady: boolean;

  constructor(client: RedisClientLike, owned: boolean) {
    super();
    this.client = client;
    this.#owned = owned;
    this.#everReady = client.isReady;
    if (!this.#everReady) client.once('ready', () => (this.#everReady = true));
  }

  get isReady(): boolean {
    return this.client.isReady;
  }

  get isOpen(): boolean {
    return this.client.isOpen;
  }

  /**
   * Calls made right after the cache was created, while the very first connection is still
   * being set up, wait for it up to the deadline; a client that is reconnecting is not waited for.
   */
  firstReady(timeoutMs: number): Promise<void> {
    const c = this.client;
    if (c.isReady) return Promise.resolve();
    if (this.#everReady || !c.isOpen) return Promise.reject(new RedisUnavailableError(c.isOpen ? 'reconnecting' : 'not connected'));
    return new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        c.off('ready', onReady);
        reject(new RedisUnavailableError(`still connecting after ${timeoutMs} ms`));
      }, timeoutMs);
      c.once('ready', onReady);
    });
  }

  onReady(fn: () => void): () => void {
    this.client.on('ready', fn);
    return () => this.client.off('ready', fn);
  }

  /**
   * Through sendCommand: node-redis's command methods add two async frames (the method and
   * _executeCommand) on top of it, which measured 0.3–0.4 µs of CPU per call on the hit path
   * (bench/cache.bench.ts). The reply is the same: a string, or null.
   */
  get(key: string): Promise<string | null> {
    return this.client.sendCommand<string | null>(['GET', key], CACHE_COMMAND_OPTIONS);
  }

  protected send<T>(args: string[]): Promise<T> {
    return this.client.sendCommand<T>(args, CACHE_COMMAND_OPTIONS);
  }

  protected transaction(commands: string[][]): Promise<unknown[]> {
    const m = this.client.multi();
    for (const c of commands) m.addCommand(c);
    return m.exec();
  }

  protected masterAddress(): string {
    return addressOf(this.client.options?.socket);
  }

  nodes(): RedisNodeState[] {
    const c = this.client;
    return [{ address: this.masterAddress(), role: 'master', state: c.isReady ? 'ready' : c.isOpen ? (this.#everReady ? 'reconnecting' : 'connecting') : 'closed' }];
  }

  duplicate(): SingleConnection {
    return new SingleConnection(this.client.duplicate(), true);
  }

  /** One node, which never changes: a duplicate of the client (TRACKING_CLIENT_OVERRIDES says why RESP2). */
  trackingTargets(): TrackingTargets {
    const target = { address: this.masterAddress(), connect: () => this.client.duplicate(TRACKING_CLIENT_OVERRIDES) as TrackingClientLike };
    return { requireMaster: false, current: () => [target] };
  }

  openPubSub(): PubSubChannel {
    const sub = this.client.duplicate();
    sub.on('error', () => {});
    sub.connect().catch(() => undefined);
    return {
      get isReady() {
        return sub.isReady;
      },
      async subscribe(channel, listener) {
        await sub.sSubscribe(channel, listener);
      },
      async unsubscribe(channel, listener) {
        await sub.sUnsubscribe(channel, listener);
      },
      close: () => closeClient(sub),
    };
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  async close(): Promise<void> {
    if (this.#owned) await closeClient(this.client);
  }
}
