import { RedisUnavailableError } from '../errors.ts';
import type { PubSubChannel } from '../lease-watch.ts';
import { CACHE_COMMAND_OPTIONS, type RedisSentinelLike } from './clients.ts';
import { clientPubSub, pollReady, type RedisNodeState } from './connection.ts';
import { closeClient, PrimaryConnection } from './primary.ts';

/**
 * A master found through Redis Sentinel (node-redis `createSentinel`). One master holds every
 * key, so the layout and the scripts are those of one Redis; node-redis follows a failover
 * (it re-asks the sentinels when the master stops answering or says READONLY) and the store's
 * deadline bounds every call while it does.
 */
export class SentinelConnection extends PrimaryConnection {
  readonly kind = 'sentinel' as const;
  readonly client: RedisSentinelLike;
  readonly #owned: boolean;
  readonly #readyListeners = new Set<() => void>();
  #wasReady: boolean;
  #poll: NodeJS.Timeout | undefined;

  constructor(client: RedisSentinelLike, owned: boolean) {
    super();
    this.client = client;
    this.#owned = owned;
    this.#wasReady = client.isReady;
  }

  get isReady(): boolean {
    return this.client.isReady;
  }

  get isOpen(): boolean {
    return this.client.isOpen;
  }

  firstReady(timeoutMs: number): Promise<void> {
    if (!this.client.isOpen && !this.client.isReady) return Promise.reject(new RedisUnavailableError('not connected'));
    return pollReady(() => this.client.isReady, timeoutMs, 'Redis Sentinel master', (m) => new RedisUnavailableError(m));
  }

  /** The sentinel client emits no 'ready': readiness is polled while someone listens. */
  onReady(fn: () => void): () => void {
    this.#readyListeners.add(fn);
    if (this.#poll === undefined) {
      this.#poll = setInterval(() => {
        const ready = this.client.isReady;
        if (ready && !this.#wasReady) for (const l of this.#readyListeners) l();
        this.#wasReady = ready;
      }, 50);
      this.#poll.unref();
    }
    return () => {
      this.#readyListeners.delete(fn);
      if (this.#readyListeners.size === 0 && this.#poll !== undefined) {
        clearInterval(this.#poll);
        this.#poll = undefined;
      }
    };
  }

  get(key: string): Promise<string | null> {
    return this.client.sendCommand<string | null>(true, ['GET', key], CACHE_COMMAND_OPTIONS);
  }

  protected send<T>(args: string[], readonly: boolean): Promise<T> {
    return this.client.sendCommand<T>(readonly, args, CACHE_COMMAND_OPTIONS);
  }

  protected transaction(commands: string[][]): Promise<unknown[]> {
    const m = this.client.multi();
    for (const c of commands) m.addCommand(false, c);
    return m.exec();
  }

  protected masterAddress(): string {
    const n = this.client.getMasterNode();
    return n === undefined ? 'unknown' : `${n.host}:${n.port}`;
  }

  nodes(): RedisNodeState[] {
    const c = this.client;
    const out: RedisNodeState[] = [{ address: this.masterAddress(), role: 'master', state: c.isReady ? 'ready' : c.isOpen ? 'connecting' : 'closed' }];
    for (const [n] of c.getReplicaNodes()) out.push({ address: `${n.host}:${n.port}`, role: 'replica', state: c.isOpen ? 'ready' : 'closed' });
    return out;
  }

  /** node-redis's sentinel client has no duplicate(): WAIT shares the connection (DESIGN.md). */
  duplicate(): undefined {
    return undefined;
  }

  openPubSub(): PubSubChannel | undefined {
    const { sSubscribe, sUnsubscribe } = this.client;
    if (sSubscribe === undefined || sUnsubscribe === undefined) return undefined;
    return clientPubSub({ sSubscribe: sSubscribe.bind(this.client), sUnsubscribe: sUnsubscribe.bind(this.client) }, () => this.isReady);
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  async close(): Promise<void> {
    if (this.#poll !== undefined) clearInterval(this.#poll);
    if (this.#owned) await closeClient(this.client);
  }
}
