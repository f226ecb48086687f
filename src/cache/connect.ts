import { createClient } from 'redis';
import { reconnectDelayMs } from './backoff.ts';
import { RedisUnavailableError } from './errors.ts';
import { Guard, classify } from './guard.ts';
import { MemoryStore } from './memory-store.ts';
import type { ResolvedCacheOptions } from './options.ts';
import { RedisStore, type NodeRedisClient } from './redis-store.ts';
import { defaultSerializer } from './serializer.ts';
import type { ErrorReporter } from './reporter.ts';
import type { CacheStore } from './store.ts';
import { tagKeyPrefix } from './tags.ts';

export interface Backing {
  store: CacheStore;
  redis: NodeRedisClient | undefined;
  /** The cache created the client, so close() quits it. */
  ownsClient: boolean;
}

/** The store a cache runs on: the one given, the memory store, or Redis behind the deadline guard. */
export function openStore(o: ResolvedCacheOptions, reporter: ErrorReporter, given: CacheStore | undefined): Backing {
  if (given !== undefined || o.redis === undefined) {
    const store = given ?? new MemoryStore({ clock: o.clock, maxEntries: o.memory.maxEntries, maxBytes: o.memory.maxBytes, tagKeyPrefix: tagKeyPrefix(o.prefix) });
    return { store, redis: undefined, ownsClient: false };
  }
  let redis: NodeRedisClient;
  const ownsClient = typeof o.redis === 'string';
  if (typeof o.redis === 'string') {
    redis = createClient({
      url: o.redis,
      // Commands issued while disconnected fail at once instead of piling up in memory.
      disableOfflineQueue: true,
      socket: { connectTimeout: o.connectTimeoutMs, reconnectStrategy: (retries: number) => reconnectDelayMs(retries + 1) },
    });
    redis.connect().catch((err: unknown) => reporter.report('connect', undefined, classify('connect', err)));
  } else {
    redis = o.redis;
  }
  // An 'error' event without a listener crashes the process; with one, it is a rate-limited log line.
  redis.on('error', (err: unknown) => reporter.report('connection', undefined, classify('connection', err)));
  const guard = new Guard({
    commandTimeoutMs: o.commandTimeoutMs,
    breakerThreshold: o.breakerThreshold,
    breakerCooldownMs: o.breakerCooldownMs,
    now: () => Date.now(),
  });
  return { store: new RedisStore(redis, guard, { keyPrefix: o.prefix, firstConnectWaitMs: o.commandTimeoutMs, jsonEntries: o.serializer === defaultSerializer }), redis, ownsClient };
}

/** Resolves once the client is ready (at once without one); rejects after timeoutMs. */
export async function whenReady(client: NodeRedisClient | undefined, timeoutMs: number): Promise<void> {
  if (client === undefined || client.isReady) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new RedisUnavailableError(`Redis not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
