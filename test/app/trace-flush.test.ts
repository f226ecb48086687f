import { trace, type TracerProvider } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { flushTraces } from '../../src/app/trace-flush.ts';

/** A registered SDK provider reduced to what the flush uses. */
function register(forceFlush: () => Promise<void>): void {
  const provider: TracerProvider & { forceFlush(): Promise<void> } = { getTracer: () => trace.getTracer('noop'), forceFlush };
  trace.disable();
  expect(trace.setGlobalTracerProvider(provider)).toBe(true);
}

afterEach(() => trace.disable());

describe('flushTraces', () => {
  it('without an SDK there is nothing to flush', async () => {
    trace.disable();
    expect(await flushTraces()).toBe('no-sdk');
  });

  it("waits for the registered provider's flush", async () => {
    let done = false;
    register(async () => {
      await new Promise((r) => setTimeout(r, 20));
      done = true;
    });
    expect(await flushTraces()).toBe('flushed');
    expect(done).toBe(true);
  });

  it('gives up on a flush that does not finish (a collector that is down)', async () => {
    register(() => new Promise<void>(() => {}));
    const t0 = performance.now();
    expect(await flushTraces(50)).toBe('timed-out');
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('reports a failed flush rather than throwing', async () => {
    const err = new Error('exporter down');
    register(() => Promise.reject(err));
    expect(await flushTraces()).toEqual({ failed: err });
  });
});
