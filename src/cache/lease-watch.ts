/**
 * How a caller waiting for another instance's fetch learns that it ended: the scripts that drop a
 * lease (the write, a release, fail-safe) announce it on the shard channel named after the lease
 * key (`SPUBLISH`, scripts.ts). A waiter subscribes to that channel while it waits, so it reads
 * the value within a round trip of the write instead of at its next poll. Polling stays as the
 * fallback: a channel that is down, or a message lost in a reconnect, costs latency, never
 * correctness, since a waiter only ever acts on what its next ACQUIRE returns.
 */

export interface LeaseWatch {
  /**
   * True once a drop announced from now on will be seen; false when the channel is not up (the
   * waiter then polls at the fallback pace).
   */
  readonly armed: Promise<boolean>;
  /** Resolves when the lease is announced dropped. Never rejects. */
  readonly released: Promise<void>;
  /** Stops watching (idempotent). */
  close(): void;
}

/** Sharded pub/sub as a topology provides it (topology/*.ts `openPubSub`). */
export interface PubSubChannel {
  readonly isReady: boolean;
  subscribe(channel: string, listener: () => void): Promise<void>;
  unsubscribe(channel: string, listener: () => void): Promise<void>;
  close(): Promise<void>;
}

/**
 * A watch that is never armed: stores or channels that cannot announce. A fresh one each time:
 * a shared never-settling promise would keep every reaction a waiter ever attached to it.
 */
export function unarmed(): LeaseWatch {
  return { armed: Promise.resolve(false), released: new Promise<void>(() => {}), close: () => {} };
}

/** How long a subscription may take before the waiter stops counting on it, in ms. */
const ARM_TIMEOUT_MS = 250;

interface Watched {
  readonly listeners: Set<() => void>;
  readonly dispatch: () => void;
  readonly subscribed: Promise<boolean>;
}

/**
 * One subscription per watched lease key, shared by every waiter of this process on that key
 * (in-process coalescing makes that usually one), opened on first use and dropped when the
 * last waiter leaves.
 */
export class LeaseWatcher {
  readonly #open: () => PubSubChannel | undefined;
  #channel: PubSubChannel | undefined;
  #opened = false;
  readonly #watched = new Map<string, Watched>();

  constructor(open: () => PubSubChannel | undefined) {
    this.#open = open;
  }

  watch(leaseKey: string): LeaseWatch {
    if (!this.#opened) {
      this.#opened = true;
      this.#channel = this.#open();
    }
    const channel = this.#channel;
    if (channel === undefined || !channel.isReady) return unarmed();
    let w = this.#watched.get(leaseKey);
    if (w === undefined) {
      const listeners = new Set<() => void>();
      const dispatch = (): void => {
        for (const l of listeners) l();
      };
      const subscribed = withTimeout(channel.subscribe(leaseKey, dispatch), ARM_TIMEOUT_MS);
      w = { listeners, dispatch, subscribed };
      this.#watched.set(leaseKey, w);
    }
    const entry = w;
    let onRelease: () => void = () => {};
    const released = new Promise<void>((resolve) => (onRelease = resolve));
    entry.listeners.add(onRelease);
    let closed = false;
    return {
      armed: entry.subscribed,
      released,
      close: () => {
        if (closed) return;
        closed = true;
        entry.listeners.delete(onRelease);
        if (entry.listeners.size > 0 || this.#watched.get(leaseKey) !== entry) return;
        this.#watched.delete(leaseKey);
        channel.unsubscribe(leaseKey, entry.dispatch).catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    this.#watched.clear();
    const c = this.#channel;
    this.#channel = undefined;
    if (c !== undefined) await c.close().catch(() => undefined);
  }
}

function withTimeout(p: Promise<void>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    p.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}
