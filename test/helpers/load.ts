/** A small closed-loop HTTP load for process tests: N workers, each request timed, bounded in time. */
import { request } from 'node:http';

export interface LoadResult {
  requests: number;
  statuses: Record<string, number>;
  /** Requests that failed at the network level (connection refused or reset). */
  networkErrors: number;
  /** The network errors by code: ECONNREFUSED (never accepted) against ECONNRESET and the like (accepted, then dropped). */
  errorCodes: Record<string, number>;
  maxLatencyMs: number;
  latenciesMs: number[];
}

export interface LoadHandle {
  stop(): Promise<LoadResult>;
  /** Results so far (a copy). */
  snapshot(): LoadResult;
}

export interface LoadOptions {
  concurrency: number;
  headers?: Record<string, string>;
  pauseMs?: number;
  timeoutMs?: number;
  /**
   * One connection per request (node:http, no agent) instead of fetch's keep-alive pool. A
   * test that watches a server stop accepting needs it: on a pooled connection a request sent
   * just as the server closes the idle socket fails though the server never accepted it.
   */
  freshConnections?: boolean;
}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  const code = e.cause?.code ?? e.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown';
}

function getFresh(url: string, headers: Record<string, string> | undefined, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.once('error', reject);
    req.end();
  });
}

export function startLoad(urls: string[], opts: LoadOptions): LoadHandle {
  const result: LoadResult = { requests: 0, statuses: {}, networkErrors: 0, errorCodes: {}, maxLatencyMs: 0, latenciesMs: [] };
  let running = true;
  const worker = async (w: number): Promise<void> => {
    let i = w;
    while (running) {
      const url = urls[i++ % urls.length] as string;
      const t0 = performance.now();
      try {
        let status: number;
        if (opts.freshConnections === true) status = await getFresh(url, opts.headers, opts.timeoutMs ?? 10_000);
        else {
          const res = await fetch(url, { headers: opts.headers, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
          await res.arrayBuffer();
          status = res.status;
        }
        result.statuses[status] = (result.statuses[status] ?? 0) + 1;
      } catch (err) {
        result.networkErrors++;
        const code = errorCode(err);
        result.errorCodes[code] = (result.errorCodes[code] ?? 0) + 1;
      }
      const ms = performance.now() - t0;
      result.requests++;
      result.latenciesMs.push(ms);
      if (ms > result.maxLatencyMs) result.maxLatencyMs = ms;
      if (opts.pauseMs !== undefined) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
  };
  const workers = Array.from({ length: opts.concurrency }, (_, w) => worker(w));
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return result;
    },
    snapshot: () => ({ ...result, statuses: { ...result.statuses }, errorCodes: { ...result.errorCodes }, latenciesMs: [...result.latenciesMs] }),
  };
}
