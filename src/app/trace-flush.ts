/**
 * Spans still buffered when the server exits. The backend bundles no OpenTelemetry SDK: one
 * loaded with `node --import` registers the global provider (README, "Turning traces on in the
 * backend"), and its batch processor exports every few seconds. The server ends with
 * `process.exit`, which runs no timers, so without a flush the last seconds of every stopping
 * instance's spans would be lost.
 */
import { ProxyTracerProvider, trace, type TracerProvider } from '@opentelemetry/api';
import { TIMED_OUT, within } from './within.ts';

/** How long shutdown waits for the SDK to export what it holds: a collector that is down must not hold the exit. */
export const TRACE_FLUSH_TIMEOUT_MS = 2000;

export type TraceFlush = 'flushed' | 'no-sdk' | 'timed-out' | { failed: unknown };

/** A provider that can flush (every SDK provider can; the API's no-op one cannot). */
interface Flushable {
  forceFlush(): Promise<void>;
}

const canFlush = (p: unknown): p is Flushable => typeof p === 'object' && p !== null && typeof (p as Partial<Flushable>).forceFlush === 'function';

/** The registered SDK provider behind the API's proxy, when one is registered. */
function registeredProvider(): TracerProvider {
  const global = trace.getTracerProvider();
  return global instanceof ProxyTracerProvider ? global.getDelegate() : global;
}

/**
 * Exports the spans the registered SDK holds, waiting at most `timeoutMs`. Never rejects: the
 * outcome says what happened, for the shutdown log.
 */
export async function flushTraces(timeoutMs = TRACE_FLUSH_TIMEOUT_MS): Promise<TraceFlush> {
  const provider = registeredProvider();
  if (!canFlush(provider)) return 'no-sdk';
  try {
    return (await within(provider.forceFlush(), timeoutMs)) === TIMED_OUT ? 'timed-out' : 'flushed';
  } catch (err) {
    return { failed: err };
  }
}
