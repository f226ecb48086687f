/**
 * `warm`: the backend's cache warmers (src/app/warm.ts, registered by the domains in
 * routes.ts) run as the server runs them at start-up with CACHE_WARM=true, against the database
 * the server is configured with (src/app/open-data.ts: PostgreSQL, PGlite or Firestore;
 * migrations applied as at boot, the demo seed never) and the server's Redis and prefix. Each
 * warmer's result is printed on stderr as it finishes; a warmer that fails, a cache write that did not land, or the time-out exits 1.
 */
import type { AppDeps, Lifecycle } from '../../app/deps.ts';
import type { CommandContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { fmtDuration, fmtInt, grid, printJson, println } from '../output.ts';

export async function warm(ctx: CommandContext): Promise<void> {
  const config = ctx.config();
  const timeoutMs = ctx.values['timeout-ms'] === undefined ? config.cacheWarmTimeoutMs : Number(ctx.values['timeout-ms']);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new CliError('E_CLI_USAGE', `--timeout-ms must be a whole number of at least 1, got ${JSON.stringify(ctx.values['timeout-ms'])}`);
  // Loaded here, not at start: the database drivers and every domain are needed by this command only.
  const [{ openData }, { redisStatusOf }, { CacheAccess }, { AppMetrics }, { warmCache, warmers }, { RecentErrors }] = await Promise.all([
    import('../../app/open-data.ts'),
    import('../../app/cache-setup.ts'),
    import('../../app/http/cache-access.ts'),
    import('../../app/http/metrics.ts'),
    import('../../app/warm.ts'),
    import('../../app/dashboard/recent-errors.ts'),
    // The domains register their warmers when the routes module loads.
    import('../../app/routes.ts'),
  ]);
  const { cache, connection, failures: cacheFailures } = await ctx.openCache();
  const data = await openData(config, ctx.logger, { seed: false });
  const access = new CacheAccess({ cache, enabled: true, fallbackConcurrency: config.dbFallbackConcurrency, isRedisHealthy: () => connection.healthy });
  try {
    const lifecycle: Lifecycle = { startedAtMs: Date.now(), warmed: false, shuttingDown: false };
    const deps: AppDeps = { config, data, cacheAccess: access, metrics: new AppMetrics(), recentErrors: new RecentErrors(), redisStatus: () => redisStatusOf(config, connection), lifecycle };
    const names = Object.keys(warmers);
    const failures: string[] = [];
    let finished = 0;
    ctx.io.stderr.write(`warming: ${names.join(', ')} against ${data.kind}\n`);
    const report = await warmCache(deps, ctx.logger, timeoutMs, (o) => {
      finished++;
      const result = 'loaded' in o ? `${fmtInt(o.loaded)} keys loaded` : `FAILED: ${o.error instanceof Error ? o.error.message : String(o.error)}`;
      if (!('loaded' in o)) failures.push(`${o.name}: ${o.error instanceof Error ? o.error.message : String(o.error)}`);
      ctx.io.stderr.write(`  [${finished}/${names.length}] ${o.name}: ${result} (${fmtDuration(o.ms)})\n`);
    });
    const total = Object.values(report.warmed).reduce((a, b) => a + b, 0);
    if (ctx.json) printJson(ctx.io, { database: data.kind, prefix: config.cachePrefix, ...report, keysLoaded: total, failed: failures, cacheFailures: cacheFailures.count });
    else {
      for (const line of grid(['warmer', 'keys loaded'], names.map((n) => [n, report.warmed[n] === undefined ? '-' : fmtInt(report.warmed[n])]))) println(ctx.io, line);
      println(ctx.io, `${fmtInt(total)} keys loaded in ${fmtDuration(report.durationMs)} (keys already cached are not counted)`);
    }
    if (report.timedOut) throw new CliError('E_CLI_WARM', `warming stopped after ${fmtInt(timeoutMs)} ms (--timeout-ms, CACHE_WARM_TIMEOUT_MS) before every warmer finished`);
    if (failures.length > 0) throw new CliError('E_CLI_WARM', `${failures.length} warmer${failures.length === 1 ? '' : 's'} failed: ${failures.join('; ')}`);
    const first = cacheFailures.first[0];
    if (first !== undefined) {
      // A warmer counts what it fetched; a write that timed out behind it left the key unwarmed.
      throw new CliError('E_CLI_WARM', `${fmtInt(cacheFailures.count)} cache operation${cacheFailures.count === 1 ? '' : 's'} failed while warming, so some keys may not be warmed (first: ${first.operation} ${first.key ?? ''}: ${first.error.message}); rerun, or raise REDIS_COMMAND_TIMEOUT_MS if Redis answers slowly`);
    }
  } finally {
    access.close();
    await data.close();
  }
}
