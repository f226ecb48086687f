import { InvalidOptionsError, RedisUnavailableError } from '../errors.ts';
import type { LuaScript } from '../scripts.ts';
import type { PubSubChannel } from '../lease-watch.ts';
import type { TrackingTargets } from '../tiers/node-tracking.ts';
import type { TrackingClientLike } from '../tiers/tracking.ts';
import { CACHE_COMMAND_OPTIONS, hasSlotsInternals, TRACKING_CLIENT_OVERRIDES, type RedisClusterLike } from './clients.ts';
import { clusterMastersAgree } from './cluster-nodes.ts';
import { clientPubSub, evalWith, pollReady, type MasterHandle, type RedisConnection, type RedisNodeState } from './connection.ts';
import { closeClient } from './primary.ts';
import { assertClusterKey, clusterLeaseKey, groupBySlot, keySlot } from './slots.ts';

type NodeClient = Awaited<ReturnType<RedisClusterLike['nodeClient']>>;

/** How often the slot map is re-read while a node is down: a promoted replica is found within this. */
const REDISCOVER_EVERY_MS = 250;

/**
 * Redis Cluster, through a node-redis cluster client. Every command names the key it routes by;
 * multi-key commands are split per slot and sent together, so a call costs one round trip per
 * node it touches, never CROSSSLOT. Scripts touch one entry and its lease, which share a slot
 * (slots.ts); tag versions live in their own slots, so the store reads and creates them with
 * plain commands and hands their values to the scripts (`tagsInScripts` false).
 *
 * node-redis learns a new slot map only from a MOVED or ASK reply. A dead master answers
 * nothing, so after a failover the client would keep sending its slots' commands to it; while
 * any node is down the connection re-reads the slot map every REDISCOVER_EVERY_MS instead.
 */
export class ClusterConnection implements RedisConnection {
  readonly kind = 'cluster' as const;
  readonly client: RedisClusterLike;
  readonly tagsInScripts = false;
  readonly #owned: boolean;
  #watch: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(client: RedisClusterLike, owned: boolean) {
    this.client = client;
    this.#owned = owned;
    const follow = (): void => this.#followFailover();
    client.on('node-reconnecting', follow);
    client.on('node-error', follow);
  }

  /**
   * node-redis 6 lists the masters before its cluster is ready and fails commands until then
   * (ClientOfflineError), so its own `isReady` counts where it has one (5 has none).
   */
  get isReady(): boolean {
    const c = this.client;
    return c.isOpen && c.isReady !== false && c.masters.length > 0;
  }

  get isOpen(): boolean {
    return this.client.isOpen;
  }

  firstReady(timeoutMs: number): Promise<void> {
    if (!this.client.isOpen) return Promise.reject(new RedisUnavailableError('not connected'));
    return pollReady(() => this.isReady, timeoutMs, 'Redis Cluster', (m) => new RedisUnavailableError(m));
  }

  onReady(fn: () => void): () => void {
    this.client.on('connect', fn);
    return () => this.client.off('connect', fn);
  }

  #followFailover(): void {
    if (this.#watch !== undefined || this.#closed) return;
    this.#watch = setInterval(() => {
      const masters = this.client.masters;
      if (masters.every((m) => m.client?.isReady === true) || this.#closed || !this.client.isOpen) {
        clearInterval(this.#watch);
        this.#watch = undefined;
        return;
      }
      this.#rediscover();
    }, REDISCOVER_EVERY_MS);
    this.#watch.unref();
  }

  /** Has node-redis re-read the slot map, from a master that answers. */
  #rediscover(): void {
    const healthy = this.client.masters.find((m) => m.client?.isReady === true)?.client;
    // Every cluster client the cache accepts has the slot map (clients.ts, unsupportedClient).
    if (healthy !== undefined && hasSlotsInternals(this.client)) this.client._slots.rediscover(healthy).catch(() => undefined);
  }

  /**
   * Every master, each through a duplicate of node-redis's client for it (its address mapping,
   * credentials and TLS). node-redis's list of masters is its slot map's, which it re-reads
   * only when a command is redirected (MOVED) or this connection asks after a node failed;
   * `verify` compares it with what a node says (CLUSTER NODES) so that a failover or a new
   * master is acted on within a heartbeat even when this instance sends no command there.
   */
  trackingTargets(): TrackingTargets {
    // A replica answers with what it has replicated so far: a read sent after an invalidation
    // arrived could still bring back the old value, and L1 would keep it.
    const options = (this.client as { _options?: { useReplicas?: unknown } })._options;
    if (options?.useReplicas === true) throw new InvalidOptionsError('l1 on a cluster client with useReplicas: true: a replica can answer a read with a value already invalidated, which L1 would keep; pass a client without useReplicas, or cluster: { rootNodes }');
    return {
      requireMaster: true,
      current: () =>
        this.client.masters.map((m) => ({
          address: m.address,
          connect: async (): Promise<TrackingClientLike> => (await this.client.nodeClient(m)).duplicate(TRACKING_CLIENT_OVERRIDES) as TrackingClientLike,
        })),
      verify: async () => {
        // Asked of a master that answers, a different one each time: one whose view lags (gossip
        // takes a moment to spread) cannot keep the answer wrong for long.
        const ready = this.client.masters.filter((m) => m.client?.isReady === true);
        const asked = ready[Math.floor(Math.random() * ready.length)];
        if (asked === undefined) return true;
        const nodes = await (await this.client.nodeClient(asked)).sendCommand<string>(['CLUSTER', 'NODES'], CACHE_COMMAND_OPTIONS);
        const agree = clusterMastersAgree(String(nodes), this.client.masters);
        if (agree === 'slot owners differ') this.#rediscover();
        return agree === 'same';
      },
    };
  }

  get(key: string): Promise<string | null> {
    return this.client.sendCommand<string | null>(key, true, ['GET', key], CACHE_COMMAND_OPTIONS);
  }

  async mget(keys: readonly string[]): Promise<(string | null)[]> {
    const out = new Array<string | null>(keys.length).fill(null);
    await Promise.all(
      Array.from(groupBySlot(keys).values(), async (idx) => {
        const slotKeys = idx.map((i) => keys[i] as string);
        const got = await this.client.sendCommand<(string | null)[]>(slotKeys[0], true, ['MGET', ...slotKeys], CACHE_COMMAND_OPTIONS);
        idx.forEach((i, j) => (out[i] = got[j] ?? null));
      }),
    );
    return out;
  }

  setIfAbsentGet(key: string, value: string, ttlMs: number): Promise<string | null> {
    return this.client.sendCommand<string | null>(key, false, ['SET', key, value, 'NX', 'PX', String(ttlMs), 'GET'], CACHE_COMMAND_OPTIONS);
  }

  setIfEqual(key: string, value: string, expected: string, ttlMs: number): Promise<string | null> {
    return this.client.sendCommand<string | null>(key, false, ['SET', key, value, 'IFEQ', expected, 'PX', String(ttlMs)], CACHE_COMMAND_OPTIONS);
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.client.sendCommand(key, true, ['HGET', key, field], CACHE_COMMAND_OPTIONS);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.client.sendCommand(key, false, ['SET', key, value, 'PX', String(ttlMs)], CACHE_COMMAND_OPTIONS);
  }

  pttl(key: string): Promise<number> {
    return this.client.sendCommand(key, true, ['PTTL', key], CACHE_COMMAND_OPTIONS);
  }

  evalScript(script: LuaScript, keys: readonly string[], args: readonly string[], inline?: boolean): Promise<unknown> {
    return evalWith((a) => this.client.sendCommand(keys[0], false, a, CACHE_COMMAND_OPTIONS), script, keys, args, inline);
  }

  /** One MULTI per slot: an entry and its lease (same slot) always go together. */
  async unlinkEntries(entries: readonly string[], internal: readonly string[]): Promise<number> {
    const all = [...entries, ...internal];
    let existed = 0;
    await Promise.all(
      Array.from(groupBySlot(all).values(), async (idx) => {
        const e = idx.filter((i) => i < entries.length).map((i) => all[i] as string);
        const n = idx.filter((i) => i >= entries.length).map((i) => all[i] as string);
        const route = (e[0] ?? n[0]) as string;
        const m = this.client.multi(route);
        if (e.length > 0) m.addCommand(route, false, ['UNLINK', ...e]);
        if (n.length > 0) m.addCommand(route, false, ['UNLINK', ...n]);
        const replies = await m.exec();
        if (e.length > 0) existed += Number(replies[0]);
      }),
    );
    return existed;
  }

  async setExisting(keys: readonly string[], values: readonly string[]): Promise<void> {
    await Promise.all(keys.map((k, i) => this.client.sendCommand(k, false, ['SET', k, values[i] ?? '', 'XX', 'KEEPTTL'], CACHE_COMMAND_OPTIONS)));
  }

  /** One WAIT per master that holds one of the keys, routed by one of its keys. */
  async waitReplicas(keys: readonly string[], replicas: number, timeoutMs: number): Promise<number> {
    const byMaster = new Map<string, string>();
    for (const k of keys) {
      const master = this.client.slots[keySlot(k)]?.master.address ?? k;
      if (!byMaster.has(master)) byMaster.set(master, k);
    }
    const acks = await Promise.all(Array.from(byMaster.values(), (k) => this.client.sendCommand<number>(k, false, ['WAIT', String(replicas), String(timeoutMs)], CACHE_COMMAND_OPTIONS)));
    return acks.length === 0 ? replicas : Math.min(...acks);
  }

  duplicate(): ClusterConnection {
    return new ClusterConnection(this.client.duplicate(), true);
  }

  openPubSub(): PubSubChannel {
    return clientPubSub(this.client, () => this.isReady);
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  masters(): MasterHandle[] {
    return this.client.masters.map((m) => {
      const node = async (): Promise<NodeClient> => this.client.nodeClient(m);
      return {
        address: m.address,
        scan: async (cursor, match, count) => {
          const [next, keys] = await (await node()).sendCommand<[string, string[]]>(['SCAN', cursor, 'MATCH', match, 'COUNT', String(count)], CACHE_COMMAND_OPTIONS);
          return { cursor: next, keys };
        },
        dbSize: async () => (await node()).sendCommand<number>(['DBSIZE'], CACHE_COMMAND_OPTIONS),
        command: async <T>(args: string[]) => (await node()).sendCommand<T>(args, CACHE_COMMAND_OPTIONS),
      };
    });
  }

  nodes(): RedisNodeState[] {
    const state = (c: { isReady: boolean; isOpen: boolean } | undefined): RedisNodeState['state'] => (c === undefined ? 'connecting' : c.isReady ? 'ready' : c.isOpen ? 'reconnecting' : 'closed');
    return [
      ...this.client.masters.map((m) => ({ address: m.address, role: 'master' as const, state: state(m.client) })),
      ...this.client.replicas.map((r) => ({ address: r.address, role: 'replica' as const, state: state(r.client) })),
    ];
  }

  leaseKey(fullKey: string): string {
    return clusterLeaseKey(fullKey);
  }

  checkKey(fullKey: string): void {
    assertClusterKey(fullKey);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#watch !== undefined) clearInterval(this.#watch);
    if (this.#owned) await closeClient(this.client);
  }
}
