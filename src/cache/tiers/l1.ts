/**
 * The in-process tier as the cache uses it: the memory tier (memory-tier.ts) kept coherent by
 * an invalidation source (invalidation-source.ts; on Redis the tracking channel, tracking.ts).
 * This file maps what the source reports (a key, a tag version key, a flush) onto the tier, and
 * what this instance writes onto the same evictions without waiting for its own messages (so an
 * instance always reads its own writes).
 */
import { tagKeyPrefix } from '../tags.ts';
import type { ChannelState, InvalidationSource, NodeChannelState, OpenInvalidations } from './invalidation-source.ts';
import { MemoryTier, type L1Options, type L1Stats, type ResolvedL1Options } from './memory-tier.ts';
import { NodeTrackingSource, type TrackingTargets } from './node-tracking.ts';
import type { RedisConnection } from '../topology/connection.ts';

export type { L1Options, ResolvedL1Options } from './memory-tier.ts';

export interface L1Snapshot extends L1Stats {
  /** Keys named by the source's reports (whether or not L1 held them); this instance's own writes are not counted. */
  invalidations: number;
  /**
   * The invalidation channel: `up` (L1 serving), `connecting`, `down` (L1 emptied and
   * bypassed), `closed`. On a cluster `up` means every master's channel is up.
   */
  channel: ChannelState;
  /** Times a node's channel was lost after being up and re-established, plus changes of the node set (a failover) while up. */
  channelReconnects: number;
  /** Each node's channel (one Redis, the Sentinel master, each cluster master); empty where the source has no nodes. */
  channels: NodeChannelState[];
}

export class L1Tier {
  readonly tier: MemoryTier;
  readonly #channel: InvalidationSource;
  #heard = 0;

  /** `prefix`: the cache's key prefix, which names the tag version keys the source reports. */
  constructor(options: ResolvedL1Options, prefix: string, open: OpenInvalidations) {
    const tier = new MemoryTier(options);
    this.tier = tier;
    const tagPrefix = tagKeyPrefix(prefix);
    this.#channel = open({
      onKey: (key) => {
        // Leases and other internal keys hold no value L1 could keep.
        if (key.includes('\0')) return;
        this.#heard++;
        if (key.startsWith(tagPrefix)) tier.invalidateTag(key.slice(tagPrefix.length));
        else tier.invalidate(key);
      },
      onFlush: () => tier.flush(),
      onUp: () => tier.channelUp(),
      onDown: () => tier.channelDown(),
    });
  }

  /** Keys this instance wrote or deleted: gone from L1 now, and reads sent before cannot bring them back. */
  dropKeys(fullKeys: readonly string[]): void {
    for (const k of fullKeys) this.tier.invalidate(k);
  }

  /** Tags this instance invalidated. */
  dropTags(tags: readonly string[]): void {
    for (const t of tags) this.tier.invalidateTag(t);
  }

  snapshot(): L1Snapshot {
    const c = this.#channel;
    return { ...this.tier.stats(), invalidations: this.#heard, channel: c.state, channelReconnects: c.reconnects, channels: c.channels === undefined ? [] : [...c.channels] };
  }

  close(): Promise<void> {
    return this.#channel.close();
  }
}

export function resolveL1Options(l1: L1Options | false | undefined, positive: (name: string, v: number | undefined, fallback: number) => number, isProduction: boolean): ResolvedL1Options | undefined {
  if (l1 === undefined || l1 === false) return undefined;
  return {
    maxEntries: positive('l1.maxEntries', l1.maxEntries, 10_000),
    maxBytes: positive('l1.maxBytes', l1.maxBytes, 64 * 1024 * 1024),
    excludeNamespaces: new Set(l1.excludeNamespaces ?? []),
    freeze: l1.freeze ?? !isProduction,
    heartbeatMs: positive('l1.heartbeatMs', l1.heartbeatMs, 250),
    channelTimeoutMs: positive('l1.channelTimeoutMs', l1.channelTimeoutMs, 1000),
    sentinelNodeClient: l1.sentinelNodeClient,
  };
}

/**
 * The cache's in-process tier, or none: none when `options` is unset, and none on the
 * in-memory store, which has no other writer to hear about. `given`: where the tier hears of
 * changes when the caller supplies it (CacheInternals.invalidations); otherwise Redis's tracking
 * channels, one on each node that takes writes. A connection that cannot name those nodes is
 * closed before the error is thrown, so a failed construction leaves nothing open.
 */
export function openL1Tier(options: ResolvedL1Options | undefined, prefix: string, connection: RedisConnection | undefined, given: OpenInvalidations | undefined, onError: (err: unknown) => void): L1Tier | undefined {
  if (options === undefined) return undefined;
  if (given !== undefined) return new L1Tier(options, prefix, given);
  if (connection === undefined) return undefined;
  let targets: TrackingTargets;
  try {
    targets = connection.trackingTargets();
  } catch (err) {
    void connection.close();
    throw err;
  }
  const tracking: OpenInvalidations = (handlers) =>
    new NodeTrackingSource({ prefix, heartbeatMs: options.heartbeatMs, channelTimeoutMs: options.channelTimeoutMs, targets, onError }, handlers);
  return new L1Tier(options, prefix, tracking);
}
