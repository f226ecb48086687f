// 12. Traces: the cache's OpenTelemetry spans, with the application's database span nested under
// the fetch. The first three lines stand in for an application's SDK set-up (in production:
// @opentelemetry/sdk-node started before the app, README "Traces"); the cache needs no option.
import { context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CacheKeys, CacheTTL } from '../src/cache/index.ts';
import { db, exampleCache } from './_setup.ts';

const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));

const app = trace.getTracer('example-app');
const cache = exampleCache(); // tracing is on by default, through the global provider
await cache.ready();

// The application's own span around its query, as a pg instrumentation would make.
const loadProfile = (id: number) => (): Promise<{ id: number; name: string }> =>
  app.startActiveSpan('SELECT users', async (span: Span) => {
    try {
      return await db.query({ id, name: 'Ada' });
    } finally {
      span.end();
    }
  });

// Two requests: the first misses (fetch, then the query under it), the second hits.
for (let i = 0; i < 2; i++) {
  await app.startActiveSpan('GET /users/:id', async (request: Span) => {
    await cache.getOrSet(CacheKeys.userProfile(7), loadProfile(7), CacheTTL.MEDIUM);
    request.end();
  });
}

// Each trace as a tree: name, duration, and the cache's attributes.
const spans = exporter.getFinishedSpans();
const children = (parent: ReadableSpan | undefined): ReadableSpan[] =>
  spans.filter((s) => (parent === undefined ? s.parentSpanContext === undefined : s.parentSpanContext?.spanId === parent.spanContext().spanId));
const ms = (s: ReadableSpan): string => `${(s.duration[0] * 1e3 + s.duration[1] / 1e6).toFixed(1)} ms`;
const lines: string[] = [];
const print = (s: ReadableSpan, depth: number): void => {
  const attrs = Object.entries(s.attributes).filter(([k]) => k.startsWith('cache.')).map(([k, v]) => `${k}=${String(v)}`);
  lines.push(`${'  '.repeat(depth)}${s.name} (${ms(s)}) ${attrs.join(' ')}`.trimEnd());
  for (const c of children(s)) print(c, depth + 1);
};
for (const root of children(undefined)) print(root, 0);
console.log(lines.join('\n'));
// GET /users/:id (7.9 ms)
//   cache.getOrSet (7.6 ms) cache.namespace=user cache.outcome=miss
//     cache.fetch (6.2 ms)
//       SELECT users (6.1 ms)
// GET /users/:id (0.4 ms)
//   cache.getOrSet (0.3 ms) cache.namespace=user cache.outcome=hit cache.tier=l2

const names = lines.map((l) => l.trim().split(' ')[0]);
if (names.join(',') !== 'GET,cache.getOrSet,cache.fetch,SELECT,GET,cache.getOrSet' || db.reads !== 1) throw new Error(`unexpected traces:\n${lines.join('\n')}`);
await cache.del(CacheKeys.userProfile(7));
await cache.close();
