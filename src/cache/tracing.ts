/**
 * OpenTelemetry spans, one per cache call (issue 15), through `@opentelemetry/api` only: without
 * an SDK registered by the application every span is the API's non-recording span, and nothing
 * below builds an attribute, a context or a closure unless `span.isRecording()`. The library never
 * bundles an SDK or an exporter.
 *
 * What a span carries (DESIGN.md, "Traces"): the namespace (the key's first segment, as the stats
 * count it), the outcome, the tier of a hit, and how the call got its value. Keys are not
 * recorded unless `tracing.recordKeys` is set: they often hold user ids, and trace backends keep
 * attributes longer and more widely than the cache keeps values.
 */
import { context, INVALID_SPAN_CONTEXT, ProxyTracerProvider, SpanStatusCode, trace, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { createRequire } from 'node:module';
import { CacheError, InvalidOptionsError } from './errors.ts';
import { namespaceOf } from './keys.ts';

/** `createCache({ tracing })`. */
export interface TracingOptions {
  /** Emit spans. Off, no span is even started. Default `true` (spans are no-ops until an SDK is registered). */
  enabled?: boolean;
  /**
   * Where spans go. Default: the global provider (`trace.setGlobalTracerProvider`, which the
   * Node SDK's `start()` calls), looked up at each call, so an SDK started after `createCache`
   * is still used.
   */
  tracerProvider?: TracerProvider;
  /** Record the caller's key as `cache.key`. Default `false`: keys often hold user ids. */
  recordKeys?: boolean;
}

export interface ResolvedTracingOptions {
  enabled: boolean;
  tracerProvider: TracerProvider | undefined;
  recordKeys: boolean;
}

export function resolveTracingOptions(t: TracingOptions | undefined): ResolvedTracingOptions {
  if (t !== undefined && (typeof t !== 'object' || t === null)) throw new InvalidOptionsError('tracing must be an options object');
  const enabled = t?.enabled ?? true;
  const recordKeys = t?.recordKeys ?? false;
  if (typeof enabled !== 'boolean') throw new InvalidOptionsError('tracing.enabled must be a boolean');
  if (typeof recordKeys !== 'boolean') throw new InvalidOptionsError('tracing.recordKeys must be a boolean');
  const provider = t?.tracerProvider;
  if (provider !== undefined && typeof provider.getTracer !== 'function') throw new InvalidOptionsError('tracing.tracerProvider must be an OpenTelemetry TracerProvider');
  return { enabled, tracerProvider: provider, recordKeys };
}

/** The instrumentation scope: the package's name and version, as OpenTelemetry asks of libraries. */
export const TRACER_NAME = 'redis-cache-layer';
/**
 * ../../package.json from both src/cache and dist/cache, so the version never drifts from the
 * package's. A bundled application may have no such file beside the code: the scope then goes
 * without a version rather than the import failing.
 */
function packageVersion(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url)('../../package.json') as { name?: unknown; version?: unknown };
    return pkg.name === TRACER_NAME && typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}
const TRACER_VERSION = packageVersion();

/** Span names: `cache.<method>`, plus the fetcher's run and an early refresh. */
export const SPAN = {
  getOrSet: 'cache.getOrSet',
  get: 'cache.get',
  getMany: 'cache.getMany',
  set: 'cache.set',
  setMany: 'cache.setMany',
  del: 'cache.del',
  incr: 'cache.incr',
  invalidateTags: 'cache.invalidateTags',
  invalidatePattern: 'cache.invalidatePattern',
  /** The fetcher, a child of the getOrSet (or refresh) span that ran it; the app's own spans nest under it. */
  fetch: 'cache.fetch',
  /** An early refresh (XFetch) in the background, child of the context of the hit that started it. */
  refresh: 'cache.refresh',
} as const;

/** Attribute names. `error.type` is OpenTelemetry's own; the others are this library's. */
export const ATTR = {
  namespace: 'cache.namespace',
  key: 'cache.key',
  /** getOrSet: `hit` | `miss` | `stale` (as getOrSetWithMeta's status); get: `hit` | `miss`. */
  outcome: 'cache.outcome',
  /** Where a hit was found: `l1` (the in-process tier) or `l2` (Redis, or the memory store). */
  tier: 'cache.tier',
  /** The call took the outcome of a fetch another caller of this process was running. */
  coalesced: 'cache.coalesced',
  /** The call waited for another caller's lease (any instance) rather than fetching. */
  leaseWait: 'cache.lease_wait',
  /** The wait reached lockWaitMs and the call fetched without writing. */
  lockTimeout: 'cache.lock_timeout',
  /** The fetch failed or timed out and the stale value was served (fail-safe). */
  failSafe: 'cache.fail_safe',
  /** How many keys a multi-key call was given (getMany, setMany, del). */
  keyCount: 'cache.key_count',
  /** How many keys a del or invalidatePattern deleted. */
  deleted: 'cache.deleted',
  /** The typed error's `code` (E_…), or the error's name for an error of the fetcher. */
  errorType: 'error.type',
} as const;

/** What a span is when tracing is off: the API's own non-recording span, shared, free to end. */
export const NO_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** What the API's global proxy delegates to while no SDK is registered (a fresh proxy has no delegate). */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

export class CacheTracer {
  /** Undefined when tracing is off. */
  readonly #tracer: Tracer | undefined;
  readonly #recordKeys: boolean;
  /** The API's global proxy while it has no SDK behind it; undefined once it has, or with a provider of our own. */
  #unregistered: ProxyTracerProvider | undefined;

  constructor(o: ResolvedTracingOptions) {
    this.#recordKeys = o.recordKeys;
    if (!o.enabled) return;
    const provider = o.tracerProvider ?? trace.getTracerProvider();
    // The global tracer is the API's proxy: it follows a provider registered later.
    this.#tracer = provider.getTracer(TRACER_NAME, TRACER_VERSION);
    // Until an SDK registers, the proxy's tracer reads the active context and allocates a no-op
    // span per call (17–35 ns in a tight loop); asking the proxy whether it has a delegate and
    // handing out the shared NO_SPAN costs 3–4 ns (DESIGN.md, "Traces").
    if (provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_PROVIDER) this.#unregistered = provider;
  }

  /** A span for one call on `key` (the caller's key, unprefixed), parented on the active context. */
  start(name: string, key: string | undefined): Span {
    const tracer = this.#tracer;
    if (tracer === undefined) return NO_SPAN;
    const unregistered = this.#unregistered;
    if (unregistered !== undefined) {
      if (unregistered.getDelegate() === NOOP_PROVIDER) return NO_SPAN;
      this.#unregistered = undefined; // an SDK registered: the proxy's tracer delegates to it from now on
    }
    const span = tracer.startSpan(name);
    if (span.isRecording() && typeof key === 'string') {
      span.setAttribute(ATTR.namespace, namespaceOf(key));
      if (this.#recordKeys) span.setAttribute(ATTR.key, key);
    }
    return span;
  }

  /** fetch's value, for a caller that never abandons the fetch: untraced, the fetcher's own result, with no FetchRun made. */
  fetchValue<T>(parent: Span, fetcher: () => Promise<T> | T): Promise<T> | T {
    if (this.#tracer === undefined || !parent.isRecording()) return fetcher();
    return this.fetch(parent, fetcher).value;
  }

  /**
   * Runs the fetcher in a `cache.fetch` span, a child of `parent`, made the active span so the
   * application's spans inside the fetcher (its database client's) nest under it. A parent that
   * does not record gets no child: the fetcher runs as it would untraced, in the caller's context.
   */
  fetch<T>(parent: Span, fetcher: () => Promise<T> | T): FetchRun<T> {
    const tracer = this.#tracer;
    // Untraced, the fetcher is called as before tracing existed: no wrapper promise on the miss path.
    if (tracer === undefined || !parent.isRecording()) return { value: fetcher(), abandon: ignore };
    const span = tracer.startSpan(SPAN.fetch, undefined, trace.setSpan(context.active(), parent));
    let ended = false;
    const end = (failure: { err: unknown } | undefined): void => {
      if (ended) return;
      ended = true;
      if (failure !== undefined) failed(span, failure.err);
      span.end();
    };
    const value = callFetcher(() => context.with(trace.setSpan(context.active(), span), fetcher)).then(
      (v) => {
        end(undefined);
        return v;
      },
      (err: unknown) => {
        end({ err });
        throw err;
      },
    );
    return { value, abandon: (err) => end({ err }) };
  }
}

/** The fetcher's result as a promise, and how to end its span early (a hard time-out abandons it). */
export interface FetchRun<T> {
  readonly value: Promise<T> | T;
  /** Ends the fetch span now, as failed with `err`; a later settle of the fetcher changes nothing. */
  readonly abandon: (err: unknown) => void;
}

const ignore = (): void => {};

// A fetcher that throws synchronously rejects like an async one.
async function callFetcher<T>(fetcher: () => Promise<T> | T): Promise<T> {
  return fetcher();
}

/** Runs `fn` with `span` as the active span when it records (so the node-redis client's spans nest under it); as is otherwise. */
export function activeIn<R>(span: Span, fn: () => R): R {
  if (!span.isRecording()) return fn();
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** Records a failure on the span: the exception, status ERROR, and `error.type` (the typed error's code). */
export function failed(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException(e);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
  span.setAttribute(ATTR.errorType, e instanceof CacheError ? e.code : e.name);
}

export type SpanOutcome = 'hit' | 'miss' | 'stale';

/** Sets the outcome and, for a hit, the tier, on a recording span. */
export function setOutcome(span: Span, outcome: SpanOutcome, tier: 'l1' | 'l2' | undefined): void {
  if (!span.isRecording()) return;
  span.setAttribute(ATTR.outcome, outcome);
  if (tier !== undefined) span.setAttribute(ATTR.tier, tier);
}

/** Ends a getOrSet/get span with its outcome and, for a hit, the tier. */
export function endWithOutcome(span: Span, outcome: SpanOutcome, tier: 'l1' | 'l2' | undefined): void {
  setOutcome(span, outcome, tier);
  span.end();
}

/** Sets a number attribute (key_count, deleted) on a recording span. */
export function count(span: Span, name: string, n: number): void {
  if (span.isRecording()) span.setAttribute(name, n);
}

/** Sets a flag attribute (coalesced, lease_wait, …) on a recording span. */
export function flag(span: Span, name: string): void {
  if (span.isRecording()) span.setAttribute(name, true);
}
