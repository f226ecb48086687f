/**
 * The invalidation source on every topology: one tracking channel (tracking.ts) per node that
 * can take a write under the cache's prefix, trusted only while every one of them is up.
 *
 * Broadcast tracking is per node: a node reports the writes it executes, nothing else. One
 * Redis is one node; through Sentinel it is the current master; on a cluster it is every master
 * (each reports the writes to its own slots, and a key moved by resharding is reported by the
 * node that owns it now, and its removal by the one it left). The topology (the
 * RedisConnection) says which nodes those are (`TrackingTargets`); this source keeps a channel
 * to each and reports up to the tier only when all are subscribed. When the set changes (a
 * failover promoted a replica, a master was added or removed), L1 is emptied at once and stays
 * bypassed until the new set is all up: a node without a channel could take a write this
 * instance would never hear of.
 *
 * Replicas are not tracked: the cache reads from masters only (a passed client set to read from
 * replicas is refused, cache.ts), so no value in L1 comes from a replica.
 */
import type { ChannelState, InvalidationHandlers, InvalidationSource, NodeChannelState } from './invalidation-source.ts';
import { TrackingChannel, type TrackingClientLike } from './tracking.ts';

/** One node to keep a channel to. */
export interface TrackingTarget {
  /** `host:port` as the topology names the node; a change of address is a change of node. */
  readonly address: string;
  /** A new client on the node, in RESP2, not connected. */
  connect(): TrackingClientLike | Promise<TrackingClientLike>;
}

/** What a topology tells the source (RedisConnection.trackingTargets). */
export interface TrackingTargets {
  /**
   * Whether a channel must find its node to be a master (ROLE) before it comes up: true where a
   * failover can demote the node a target names (cluster, Sentinel).
   */
  readonly requireMaster: boolean;
  /** The nodes that can take writes now, as the client knows them. Cheap: called every heartbeat. */
  current(): readonly TrackingTarget[];
  /**
   * Asks the servers whether the client's view is still right (a cluster's slot map, which
   * node-redis re-reads only when a command is redirected). Resolves false when it is not (the
   * topology then refreshes its view); true when it is or could not be told. Absent where the
   * client follows changes itself (Sentinel's +switch-master, one Redis).
   */
  verify?(): Promise<boolean>;
}

export interface NodeTrackingOptions {
  prefix: string;
  heartbeatMs: number;
  channelTimeoutMs: number;
  targets: TrackingTargets;
  onError?: (err: unknown) => void;
}

export class NodeTrackingSource implements InvalidationSource {
  readonly #o: NodeTrackingOptions;
  readonly #h: InvalidationHandlers;
  readonly #channels = new Map<string, TrackingChannel>();
  readonly #timer: NodeJS.Timeout;
  /** The addresses the channels were opened for, sorted and joined: the set last seen. */
  #set = '';
  /** The last verify() said the client's view is stale: not trusted until it agrees again. */
  #stale = false;
  #verifying = false;
  #verifications = 0;
  #up = false;
  #everUp = false;
  #closed = false;
  /** Reconnects of channels already closed (their node left the set), and node-set changes while up. */
  #pastReconnects = 0;

  constructor(options: NodeTrackingOptions, handlers: InvalidationHandlers) {
    this.#o = options;
    this.#h = handlers;
    this.#sync();
    // The node set is re-read every heartbeat: a change is acted on within one.
    this.#timer = setInterval(() => this.#tick(), options.heartbeatMs);
    this.#timer.unref();
  }

  get state(): ChannelState {
    if (this.#closed) return 'closed';
    if (this.#up) return 'up';
    return this.#everUp ? 'down' : 'connecting';
  }

  get reconnects(): number {
    let n = this.#pastReconnects;
    for (const c of this.#channels.values()) n += c.reconnects;
    return n;
  }

  /** Each node's channel, by address. */
  get channels(): NodeChannelState[] {
    return Array.from(this.#channels, ([address, c]) => ({ address, state: c.state }));
  }

  #tick(): void {
    if (this.#closed) return;
    this.#sync();
    const verify = this.#o.targets.verify?.bind(this.#o.targets);
    if (verify === undefined || this.#verifying) return;
    this.#verifying = true;
    // A node that stops answering must not stop the checks: past channelTimeoutMs the answer
    // no longer counts and the next heartbeat asks again (that node's channel goes down anyway).
    const asked = ++this.#verifications;
    const giveUp = setTimeout(() => {
      if (asked === this.#verifications) this.#verifying = false;
    }, this.#o.channelTimeoutMs);
    giveUp.unref();
    verify().then(
      (agrees) => {
        clearTimeout(giveUp);
        if (asked !== this.#verifications || this.#closed) return;
        this.#verifying = false;
        this.#stale = !agrees;
        // Stale: down now, before the client has re-read the map; the new set comes with a later sync.
        this.#evaluate();
        if (agrees) this.#sync();
      },
      (err: unknown) => {
        clearTimeout(giveUp);
        if (asked === this.#verifications) this.#verifying = false;
        this.#o.onError?.(err);
      },
    );
  }

  /** Opens channels to nodes that joined the set, closes those to nodes that left it. */
  #sync(): void {
    const targets = this.#o.targets.current();
    const set = targets
      .map((t) => t.address)
      .sort()
      .join(' ');
    if (set === this.#set) return;
    this.#set = set;
    if (this.#up) this.#pastReconnects++;
    // Down first: from here until every new channel is subscribed, L1 is empty and bypassed.
    this.#setUp(false);
    const wanted = new Set(targets.map((t) => t.address));
    for (const [address, c] of this.#channels) {
      if (wanted.has(address)) continue;
      this.#channels.delete(address);
      this.#pastReconnects += c.reconnects;
      void c.close();
    }
    for (const t of targets) {
      if (this.#channels.has(t.address)) continue;
      this.#channels.set(t.address, this.#open(t));
    }
    this.#evaluate();
  }

  #open(t: TrackingTarget): TrackingChannel {
    const o = this.#o;
    let channel: TrackingChannel | undefined = undefined;
    // A channel's reports count only while it is one of the current set's.
    const current = (): boolean => channel !== undefined && this.#channels.get(t.address) === channel;
    channel = new TrackingChannel(
      {
        prefix: o.prefix,
        heartbeatMs: o.heartbeatMs,
        channelTimeoutMs: o.channelTimeoutMs,
        connect: () => t.connect(),
        requireMaster: o.targets.requireMaster ? t.address : undefined,
        ...(o.onError === undefined ? {} : { onError: o.onError }),
      },
      {
        // Keys and flushes are passed on even while the set is not all up: an eviction is never wrong.
        onKey: (key) => this.#h.onKey(key),
        onFlush: () => this.#h.onFlush(),
        onUp: () => {
          if (current()) this.#evaluate();
        },
        onDown: () => {
          if (current()) this.#evaluate();
        },
      },
    );
    return channel;
  }

  #evaluate(): void {
    if (this.#closed) return;
    let all = this.#channels.size > 0 && !this.#stale;
    for (const c of this.#channels.values()) if (c.state !== 'up') all = false;
    this.#setUp(all);
  }

  #setUp(up: boolean): void {
    if (up === this.#up) return;
    this.#up = up;
    if (up) {
      this.#everUp = true;
      this.#h.onUp();
    } else {
      this.#h.onDown();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#up = false;
    const channels = Array.from(this.#channels.values());
    this.#channels.clear();
    await Promise.all(channels.map((c) => c.close()));
    this.#h.onDown();
  }
}
