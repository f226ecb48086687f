/** A small closed-loop HTTP load for process tests: N workers, each request timed, bounded in time. */
export interface LoadResult {
  requests: number;
  statuses: Record<string, number>;
  /** Requests that failed at the network level (connection refused or reset). */
  networkErrors: number;
  maxLatencyMs: number;
  latenciesMs: number[];
}

export interface LoadHandle {
  stop(): Promise<LoadResult>;
  /** Results so far (a copy). */
  snapshot(): LoadResult;
}

export function startLoad(urls: string[], opts: { concurrency: number; headers?: Record<string, string>; pauseMs?: number; timeoutMs?: number }): LoadHandle {
  const result: LoadResult = { requests: 0, statuses: {}, networkErrors: 0, maxLatencyMs: 0, latenciesMs: [] };
  let running = true;
  const worker = async (w: number): Promise<void> => {
    let i = w;
    while (running) {
      const url = urls[i++ % urls.length] as string;
      const t0 = performance.now();
      try {
        const res = await fetch(url, { headers: opts.headers, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
        await res.arrayBuffer();
        result.statuses[res.status] = (result.statuses[res.status] ?? 0) + 1;
      } catch {
        result.networkErrors++;
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
    snapshot: () => ({ ...result, statuses: { ...result.statuses }, latenciesMs: [...result.latenciesMs] }),
  };
}
