/**
 * What the in-process tier (l1.ts) needs from whatever tells it that keys changed: a stream of
 * changed keys and flushes, and whether that stream can be trusted right now. In production the
 * source is Redis's broadcast tracking (tracking.ts). The interface exists so that the same
 * tier can be put, unchanged, in front of another store that reports its changes the same way
 * (the memory store's `subscribeChanges`, in the randomised interleaving test), and its
 * coherence checked there against a model with every message's delay under the test's control.
 *
 * The contract the tier relies on:
 * - every change to a key under the cache's prefix, by anyone, is eventually reported, after
 *   the change is applied (never before), and a source's reports are delivered in the order the
 *   changes were made;
 * - `onDown` is called whenever reports may have been lost or delayed without bound (the tier
 *   then empties itself and stops serving); `onUp` once they are flowing again;
 * - nothing is reported while the source is not up.
 */

export type ChannelState = 'connecting' | 'up' | 'down' | 'closed';

export interface InvalidationHandlers {
  /** `fullKey` (with the cache's prefix) changed. */
  onKey(fullKey: string): void;
  /** Everything changed (FLUSHALL, FLUSHDB, or the store emptied). */
  onFlush(): void;
  /** Reports are flowing: the tier may serve and admit. */
  onUp(): void;
  /** Reports may have been lost: the tier empties itself and serves nothing until `onUp`. */
  onDown(): void;
}

/** One node's channel, for a source made of several (node-tracking.ts). */
export interface NodeChannelState {
  /** `host:port`. */
  readonly address: string;
  readonly state: ChannelState;
}

export interface InvalidationSource {
  /** `up` only while every change can be heard (on Redis: every node's channel is subscribed). */
  readonly state: ChannelState;
  /** Times the source had to be re-established after it was up. */
  readonly reconnects: number;
  /** Each node's channel, where the source has them. */
  readonly channels?: readonly NodeChannelState[];
  /** Stops reporting; calls `onDown` once. */
  close(): Promise<void>;
}

/** Opens a source that reports to `handlers`; called once, by the tier's constructor. */
export type OpenInvalidations = (handlers: InvalidationHandlers) => InvalidationSource;
