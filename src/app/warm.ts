/**
 * Cache warming at start-up (CACHE_WARM=true): the data every user asks for first, loaded
 * before the instance reports ready, bounded in time.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { AppDeps } from './deps.ts';
import { TIMED_OUT, within } from './within.ts';

export interface WarmReport {
  warmed: Record<string, number>;
  durationMs: number;
  timedOut: boolean;
}

/** Each domain adds its warmer here: returns how many keys it loaded. */
export type Warmer = (deps: AppDeps) => Promise<number>;

export const warmers: Record<string, Warmer> = {};

/** One warmer finished: how many keys it loaded, or why it failed; `ms` since warming began. */
export type WarmerOutcome = { name: string; ms: number } & ({ loaded: number } | { error: unknown });

export async function warmCache(deps: AppDeps, logger: FastifyBaseLogger, timeoutMs: number, onWarmerDone?: (outcome: WarmerOutcome) => void): Promise<WarmReport> {
  const started = performance.now();
  const warmed: Record<string, number> = {};
  const ms = (): number => Math.round(performance.now() - started);
  const all = Promise.all(
    Object.entries(warmers).map(async ([name, warm]) => {
      try {
        warmed[name] = await warm(deps);
        onWarmerDone?.({ name, ms: ms(), loaded: warmed[name] });
      } catch (err) {
        logger.warn({ err, warmer: name }, 'cache warmer failed');
        onWarmerDone?.({ name, ms: ms(), error: err });
      }
    }),
    // A miss answers once fetched and writes behind; "warmed" means other instances can read it.
  ).then(() => deps.cacheAccess.cache.idle());
  const timedOut = (await within(all, timeoutMs)) === TIMED_OUT;
  const report = { warmed, durationMs: Math.round(performance.now() - started), timedOut };
  logger.info(report, timedOut ? `cache warming stopped after ${timeoutMs} ms` : 'cache warmed');
  return report;
}
