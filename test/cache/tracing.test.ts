/**
 * Issue 15's traces: the spans the cache emits, seen by an in-memory exporter. The provider is
 * passed through `tracing.tracerProvider` (no global provider to fight over between files); the
 * context manager is global, as an application's is, so spans nest across awaits.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { context, SpanStatusCode, trace, type TracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createClient } from 'redis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCache, InvalidOptionsError, ManualClock, type Cache, type CacheOptions } from '../../src/cache/index.ts';
import { redisForFile } from '../helpers/redis-file.ts';

const redis = redisForFile();
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const appTracer = provider.getTracer('the-app');
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(async () => {
  context.disable();
  await provider.shutdown();
});
beforeEach(() => exporter.reset());

const spans = (name?: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => name === undefined || s.name === name);
const only = (name: string): ReadableSpan => {
  const found = spans(name);
  expect(found, `spans named ${name}`).toHaveLength(1);
  return found[0] as ReadableSpan;
};
const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;
const idOf = (s: ReadableSpan): string => s.spanContext().spanId;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class DbDown extends Error {
  override name = 'DbDown';
}

type Store = 'redis' | 'memory';
const made: Cache[] = [];
afterAll(async () => {
  for (const c of made) {
    await c.idle();
    await c.close();
  }
});

async function cacheOn(store: Store, opts: Omit<CacheOptions, 'redis' | 'prefix'> = {}, prefix = `tr${randomBytes(4).toString('hex')}:`): Promise<Cache> {
  const c = createCache({ ...(store === 'redis' ? { redis: redis.server.url } : {}), prefix, tracing: { tracerProvider: provider }, ...opts });
  made.push(c);
  await c.ready();
  return c;
}

describe.each<Store>(['redis', 'memory'])('spans on the %s store', (store) => {
  it('one span per getOrSet: a miss with its fetch, then a hit from l2; the namespace, never the key unless asked', async () => {
    const c = await cacheOn(store);
    expect(await c.getOrSet('user:42:profile', () => ({ name: 'Ada' }), 60)).toEqual({ name: 'Ada' });
    await c.idle();
    const miss = only('cache.getOrSet');
    expect(miss.attributes).toMatchObject({ 'cache.outcome': 'miss', 'cache.namespace': 'user' });
    expect(miss.attributes['cache.tier']).toBeUndefined();
    expect(miss.attributes['cache.key']).toBeUndefined();
    expect(miss.status.code).toBe(SpanStatusCode.UNSET);
    expect(parentOf(only('cache.fetch'))).toBe(idOf(miss));

    exporter.reset();
    expect(await c.getOrSet('user:42:profile', () => ({ name: 'other' }), 60)).toEqual({ name: 'Ada' });
    const hit = only('cache.getOrSet');
    expect(hit.attributes).toMatchObject({ 'cache.outcome': 'hit', 'cache.tier': 'l2', 'cache.namespace': 'user' });
    expect(spans('cache.fetch')).toHaveLength(0);
    expect(spans()).toHaveLength(1);

    const keyed = await cacheOn(store, { tracing: { tracerProvider: provider, recordKeys: true } });
    exporter.reset();
    await keyed.getOrSet('user:7:profile', () => 1, 60);
    expect(only('cache.getOrSet').attributes['cache.key']).toBe('user:7:profile');
  });

  it('the fetch span is the active span inside the fetcher: the app spans there nest under it, the call under the request', async () => {
    const c = await cacheOn(store);
    let activeInFetcher: string | undefined;
    await appTracer.startActiveSpan('GET /users/:id', async (request) => {
      await c.getOrSet('user:1', async () => {
        activeInFetcher = trace.getActiveSpan()?.spanContext().spanId;
        await sleep(5);
        return appTracer.startActiveSpan('pg.query', (q) => {
          q.end();
          return { id: 1 };
        });
      }, 60);
      request.end();
    });
    const request = only('GET /users/:id');
    const call = only('cache.getOrSet');
    const fetch = only('cache.fetch');
    const query = only('pg.query');
    expect(parentOf(call)).toBe(idOf(request));
    expect(parentOf(fetch)).toBe(idOf(call));
    expect(activeInFetcher).toBe(idOf(fetch));
    expect(parentOf(query)).toBe(idOf(fetch));
    expect(new Set([request, call, fetch, query].map((s) => s.spanContext().traceId)).size).toBe(1);
  });

  it('a fetcher that throws: the call and the fetch span are ERROR with the exception recorded', async () => {
    const c = await cacheOn(store);
    await expect(c.getOrSet('orders:9', () => Promise.reject(new DbDown('db down')), 60)).rejects.toThrow('db down');
    for (const s of [only('cache.getOrSet'), only('cache.fetch')]) {
      expect(s.status).toEqual({ code: SpanStatusCode.ERROR, message: 'db down' });
      expect(s.attributes['error.type']).toBe('DbDown');
      const exception = s.events.find((e) => e.name === 'exception');
      expect(exception?.attributes?.['exception.message']).toBe('db down');
      expect(s.ended).toBe(true);
    }
  });

  it('a hard time-out ends both spans at once with the typed error code, though the fetcher never settles', async () => {
    const c = await cacheOn(store);
    let release!: () => void;
    const never = new Promise<string>((resolve) => (release = () => resolve('late')));
    await expect(c.getOrSet('slow:1', () => never, { ttl: 60, hardTimeoutMs: 30 })).rejects.toMatchObject({ code: 'E_FACTORY_TIMEOUT' });
    expect(only('cache.getOrSet').attributes['error.type']).toBe('E_FACTORY_TIMEOUT');
    const fetch = only('cache.fetch');
    expect(fetch.status.code).toBe(SpanStatusCode.ERROR);
    expect(fetch.attributes['error.type']).toBe('E_FACTORY_TIMEOUT');
    release();
    await c.idle();
    expect(spans('cache.fetch')).toHaveLength(1);
  });

  it('an input error still gets its span, ERROR with the code', async () => {
    const c = await cacheOn(store);
    await expect(c.getOrSet('user:1', () => 1, -5)).rejects.toMatchObject({ code: 'E_INVALID_TTL' });
    const s = only('cache.getOrSet');
    expect(s.status.code).toBe(SpanStatusCode.ERROR);
    expect(s.attributes['error.type']).toBe('E_INVALID_TTL');
  });

  it('stale within grace is flagged; a failed refresh serving stale is flagged fail-safe, its fetch span ERROR', async () => {
    const clock = new ManualClock(Date.now());
    const c = await cacheOn(store, { clock, graceSeconds: 600, jitter: 0 });
    await c.getOrSet('board:weekly', () => 'v1', 1);
    await c.idle();
    clock.advance(2000);
    exporter.reset();
    const answer = await c.getOrSetWithMeta('board:weekly', async () => {
      await sleep(20);
      return 'v2';
    }, { ttl: 1, softTimeoutMs: 0 });
    expect(answer).toEqual({ value: 'v1', status: 'stale' });
    expect(only('cache.getOrSet').attributes).toMatchObject({ 'cache.outcome': 'stale', 'cache.tier': 'l2' });
    await c.idle();
    // The refresh ran on: its fetch span, under the call's, ended when it did.
    expect(parentOf(only('cache.fetch'))).toBe(idOf(only('cache.getOrSet')));

    clock.advance(2000);
    exporter.reset();
    const failSafe = await c.getOrSetWithMeta('board:weekly', () => Promise.reject(new DbDown('db down')), 1);
    expect(failSafe).toEqual({ value: 'v2', status: 'stale' });
    const call = only('cache.getOrSet');
    expect(call.attributes).toMatchObject({ 'cache.outcome': 'stale', 'cache.fail_safe': true });
    expect(call.status.code).toBe(SpanStatusCode.UNSET);
    expect(only('cache.fetch').status.code).toBe(SpanStatusCode.ERROR);
  });

  it('a stampede: N concurrent calls, N spans, one fetch under one of them, the others coalesced', async () => {
    const c = await cacheOn(store);
    const N = 10;
    let fetches = 0;
    const results = await Promise.all(
      Array.from({ length: N }, () =>
        c.getOrSet('hot:1', async () => {
          fetches++;
          await sleep(30);
          return 'v';
        }, 60),
      ),
    );
    await c.idle();
    expect(results).toEqual(Array(N).fill('v'));
    expect(fetches).toBe(1);
    const calls = spans('cache.getOrSet');
    expect(calls).toHaveLength(N);
    const fetch = only('cache.fetch');
    const fetcher = calls.filter((s) => idOf(s) === parentOf(fetch));
    expect(fetcher).toHaveLength(1);
    expect(fetcher[0]?.attributes['cache.coalesced']).toBeUndefined();
    const others = calls.filter((s) => s !== fetcher[0]);
    expect(others.every((s) => s.attributes['cache.coalesced'] === true)).toBe(true);
    expect(calls.every((s) => s.attributes['cache.outcome'] === 'miss')).toBe(true);
  });

  it('one span per get, getMany, set, setMany, del, incr, invalidateTags, invalidatePattern', async () => {
    const c = await cacheOn(store);
    await c.set('user:1', 'a', { ttl: 60, tags: ['users'] });
    await c.setMany([
      { key: 'user:2', value: 'b', ttl: 60 },
      { key: 'user:3', value: 'c', ttl: 60 },
    ]);
    expect(await c.get('user:1')).toBe('a');
    expect(await c.get('nobody:1')).toBeNull();
    expect(await c.getMany(['user:2', 'user:3'])).toEqual(['b', 'c']);
    expect(await c.del(['user:2', 'user:9'])).toBe(1);
    expect(await c.incr('counter:x')).toBe(1);
    await c.invalidateTags(['users']);
    const deleted = await c.invalidatePattern('user:*');
    expect(deleted).toBeGreaterThan(0);
    expect(spans().map((s) => s.name)).toEqual([
      'cache.set',
      'cache.setMany',
      'cache.get',
      'cache.get',
      'cache.getMany',
      'cache.del',
      'cache.incr',
      'cache.invalidateTags',
      'cache.invalidatePattern',
    ]);
    const [hit, miss] = spans('cache.get');
    expect(hit?.attributes).toMatchObject({ 'cache.outcome': 'hit', 'cache.tier': 'l2', 'cache.namespace': 'user' });
    expect(miss?.attributes).toMatchObject({ 'cache.outcome': 'miss', 'cache.namespace': 'nobody' });
    expect(only('cache.setMany').attributes['cache.key_count']).toBe(2);
    expect(only('cache.del').attributes).toMatchObject({ 'cache.key_count': 2, 'cache.deleted': 1 });
    expect(only('cache.invalidatePattern').attributes['cache.deleted']).toBe(deleted);
    expect(spans().every((s) => s.status.code === SpanStatusCode.UNSET && s.ended)).toBe(true);
  });

  it('an invalid tag rejects invalidateTags: one span, ERROR, recorded once', async () => {
    const c = await cacheOn(store);
    await expect(c.invalidateTags([''])).rejects.toMatchObject({ code: 'E_INVALID_TAG' });
    const s = only('cache.invalidateTags');
    expect(s.attributes['error.type']).toBe('E_INVALID_TAG');
    expect(s.events.filter((e) => e.name === 'exception')).toHaveLength(1);
  });

  it('tracing disabled: no span at all', async () => {
    const c = await cacheOn(store, { tracing: { enabled: false, tracerProvider: provider } });
    await c.getOrSet('user:1', () => 1, 60);
    await c.getOrSet('user:1', () => 1, 60);
    await c.set('user:2', 2, 60);
    await c.get('user:2');
    await c.del('user:2');
    await c.idle();
    expect(spans()).toHaveLength(0);
  });
});

describe('on Redis only', () => {
  it('an L1 hit has tier l1', async () => {
    const c = await cacheOn('redis', { l1: { heartbeatMs: 50, channelTimeoutMs: 300 } });
    const deadline = performance.now() + 3000;
    while ((await c.getStats()).l1?.channel !== 'up') {
      if (performance.now() > deadline) throw new Error('the L1 channel did not come up');
      await sleep(5);
    }
    await c.getOrSet('user:5', () => 'five', 60);
    await c.idle();
    // A read is kept in L1 only once the write's own invalidation has arrived (memory-tier.ts): read until one is served there.
    for (;;) {
      exporter.reset();
      const before = (await c.getStats()).l1Hits;
      expect(await c.getOrSet('user:5', () => 'other', 60)).toBe('five');
      const fromL1 = (await c.getStats()).l1Hits === before + 1;
      const s = only('cache.getOrSet');
      expect(s.attributes).toMatchObject({ 'cache.outcome': 'hit', 'cache.tier': fromL1 ? 'l1' : 'l2' });
      if (fromL1) break;
      if (performance.now() > deadline) throw new Error('never served from L1');
      await sleep(5);
    }
    exporter.reset();
    expect(await c.get('user:5')).toBe('five');
    expect(only('cache.get').attributes).toMatchObject({ 'cache.outcome': 'hit', 'cache.tier': 'l1' });
  });

  it('a caller on another instance waiting on the lease is flagged lease_wait', async () => {
    const prefix = `tr${randomBytes(4).toString('hex')}:`;
    const a = await cacheOn('redis', {}, prefix);
    const b = await cacheOn('redis', {}, prefix);
    let fetches = 0;
    const slow = async (): Promise<string> => {
      fetches++;
      await sleep(50);
      return 'v';
    };
    const first = a.getOrSet('hot:2', slow, 60);
    await sleep(10);
    expect(await b.getOrSet('hot:2', slow, 60)).toBe('v');
    expect(await first).toBe('v');
    expect(fetches).toBe(1);
    const calls = spans('cache.getOrSet');
    expect(calls).toHaveLength(2);
    const waiter = calls.find((s) => s.attributes['cache.lease_wait'] === true);
    expect(waiter).toBeDefined();
    expect(waiter?.attributes['cache.outcome']).toBe('miss');
    expect(parentOf(only('cache.fetch'))).not.toBe(waiter === undefined ? undefined : idOf(waiter));
  });

  it("the call's span is active while its Redis commands are sent: a client instrumentation's spans nest under it", async () => {
    // What node-redis's instrumentation reads to parent its span: the active span when the command is sent.
    const client = createClient({ url: redis.server.url });
    await client.connect();
    const sentUnder: { command: string; spanId: string | undefined }[] = [];
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((args: readonly string[], ...rest: unknown[]) => {
      sentUnder.push({ command: String(args[0]), spanId: trace.getActiveSpan()?.spanContext().spanId });
      return (send as (...a: unknown[]) => unknown)(args, ...rest);
    }) as typeof client.sendCommand;
    const c = createCache({ redis: client, prefix: `tr${randomBytes(4).toString('hex')}:`, tracing: { tracerProvider: provider } });
    try {
      await c.getOrSet('user:1', () => 'v', 60); // GET, then the lease and the write
      await c.idle();
      await c.getOrSet('user:1', () => 'v', 60); // GET
      const [miss, hit] = spans('cache.getOrSet');
      const missCommands = sentUnder.filter((x) => x.spanId === (miss === undefined ? '' : idOf(miss))).map((x) => x.command);
      const hitCommands = sentUnder.filter((x) => x.spanId === (hit === undefined ? '' : idOf(hit))).map((x) => x.command);
      expect(missCommands[0]).toBe('GET');
      expect(missCommands.length).toBeGreaterThan(1);
      expect(hitCommands).toEqual(['GET']);
    } finally {
      await c.close();
      await client.close();
    }
  });

  it('Redis down: getOrSet answers from the fetcher, its span ERROR with the store error code', async () => {
    const c = createCache({ redis: 'redis://127.0.0.1:1', connectTimeoutMs: 200, tracing: { tracerProvider: provider } });
    made.push(c);
    expect(await c.getOrSet('user:1', () => 'from db', 60)).toBe('from db');
    const s = only('cache.getOrSet');
    expect(s.attributes['cache.outcome']).toBe('miss');
    expect(s.status.code).toBe(SpanStatusCode.ERROR);
    expect(String(s.attributes['error.type'])).toMatch(/^E_/);
  });

  it('the spans carry the instrumentation scope (the package name and version); bad tracing options are refused', async () => {
    const c = await cacheOn('memory');
    await c.getOrSet('user:1', () => 1, 60);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string };
    expect(only('cache.getOrSet').instrumentationScope).toMatchObject({ name: pkg.name, version: pkg.version });
    expect(() => createCache({ tracing: { enabled: 'yes' as unknown as boolean } })).toThrow(InvalidOptionsError);
    expect(() => createCache({ tracing: { recordKeys: 1 as unknown as boolean } })).toThrow(InvalidOptionsError);
    expect(() => createCache({ tracing: { tracerProvider: {} as TracerProvider } })).toThrow(InvalidOptionsError);
  });

  it('without tracerProvider the global provider is used, even one registered after createCache', async () => {
    const c = await cacheOn('redis', { tracing: {} });
    await c.getOrSet('user:1', () => 1, 60);
    expect(spans()).toHaveLength(0);
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    try {
      await c.getOrSet('user:1', () => 1, 60);
      expect(only('cache.getOrSet').attributes['cache.outcome']).toBe('hit');
    } finally {
      trace.disable();
    }
  });
});
