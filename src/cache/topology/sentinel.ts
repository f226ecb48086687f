import { InvalidOptionsError, RedisUnavailableError } from '../errors.ts';
import type { PubSubChannel } from '../lease-watch.ts';
import type { TrackingTarget, TrackingTargets } from '../tiers/node-tracking.ts';
import type { TrackingClientLike } from '../tiers/tracking.ts';
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
  readonly #trackingClient: ((host: string, port: number) => TrackingClientLike) | undefined;
  readonly #readyListeners = new Set<() => void>();
  #wasReady: boolean;
  #poll: NodeJS.Timeout | undefined;

  /**
   * `trackingClient`: a new RESP2 client on a data node, with the data nodes' credentials and
   * TLS. node-redis keeps a sentinel client's node options private: the cache makes it for a
   * client it created (connect.ts), the caller for one it passed (`l1.sentinelNodeClient`);
   * without it `l1` is refused.
   */
  constructor(client: RedisSentinelLike, owned: boolean, trackingClient?: (host: string, port: number) => TrackingClientLike) {
    super();
    this.client = client;
    this.#owned = owned;
    this.#trackingClient = trackingClient;
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

  /**
   * The current master, as node-redis follows it (`+switch-master` from the sentinels, or a
   * failed command that makes it ask them again). While node-redis has no ready master (it
   * is reconnecting, or a failover is under way) the last one known stays the target: its
   * channel is down then anyway, and a demoted master is refused by ROLE when it comes back.
   */
  trackingTargets(): TrackingTargets {
    const open = this.#trackingClient;
    if (open === undefined) {
      throw new InvalidOptionsError(
        'l1 through a Sentinel client passed in needs l1.sentinelNodeClient: node-redis keeps its node options (credentials, TLS) private, so the cache cannot open the invalidation channel to the master itself; give l1.sentinelNodeClient, or pass sentinel: { name, sentinelRootNodes, … } and the cache creates its own client',
      );
    }
    let last: TrackingTarget | undefined;
    return {
      requireMaster: true,
      current: () => {
        const n = this.client.getMasterNode();
        const address = n === undefined ? undefined : `${n.host}:${n.port}`;
        if (n !== undefined && address !== last?.address) {
          const { host, port } = n;
          last = { address: `${host}:${port}`, connect: () => open(host, port) };
        }
        return last === undefined ? [] : [last];
      },
    };
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
