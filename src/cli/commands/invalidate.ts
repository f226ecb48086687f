/**
 * `invalidate <pattern>`: counts first, asks above a threshold, then deletes with the library's
 * invalidatePattern.
 *
 * The count is one SCAN pass (Cache.scanKeys) selecting exactly what invalidatePattern selects:
 * keys under the prefix matching the pattern. `--dry-run` stops there. Above `--confirm-above`
 * keys (default 100) the operator confirms at the terminal, or passes --yes; with stdin not a
 * terminal and no --yes the command refuses (exit 3) and deletes nothing. The deletion itself
 * is invalidatePattern, which scans twice so that a fetch in flight cannot write a value back
 * behind it (README, "invalidatePattern"); the number it reports may differ from the count by
 * what was written or expired in between.
 */
import { intFlag } from '../args.ts';
import { confirmOrRefuse } from '../confirm.ts';
import type { CommandContext } from '../context.ts';
import { fmtDuration, fmtInt, grid, printJson, println, Progress, quote } from '../output.ts';

const DEFAULT_CONFIRM_ABOVE = 100;
const DEFAULT_SAMPLE = 10;

export async function invalidatePattern(ctx: CommandContext): Promise<void> {
  const pattern = ctx.positionals[0] as string;
  const confirmAbove = intFlag(ctx.values, 'confirm-above', DEFAULT_CONFIRM_ABOVE);
  const sampleSize = intFlag(ctx.values, 'sample', DEFAULT_SAMPLE);
  const batchSize = intFlag(ctx.values, 'batch-size', 500, 1);
  const dryRun = ctx.values['dry-run'] === true;
  const { cache, config, where } = await ctx.openCache({ scanBatchSize: batchSize });
  const prefix = config.cachePrefix;
  const what = `${quote(pattern)} under prefix ${quote(prefix)}`;

  let matched = 0;
  let leases = 0;
  const sample: string[] = [];
  const counting = new Progress(ctx.io, 'counting', undefined);
  for await (const b of cache.scanKeys(pattern)) {
    matched += b.keys.length;
    leases += b.leases;
    for (const k of b.keys) if (sample.length < sampleSize) sample.push(k);
    counting.update(matched);
  }
  counting.done();

  if (dryRun) {
    if (ctx.json) printJson(ctx.io, { pattern, prefix, matched, leases, sample, dryRun: true, deleted: 0 });
    else {
      println(ctx.io, `${fmtInt(matched)} key${matched === 1 ? '' : 's'} match ${what}${leases > 0 ? ` (and ${fmtInt(leases)} leases of fetches in flight)` : ''}; nothing deleted (--dry-run)`);
      if (sample.length > 0) println(ctx.io, `sample: ${sample.join(', ')}${matched > sample.length ? ', …' : ''}`);
    }
    return;
  }

  if (matched > confirmAbove && ctx.values['yes'] !== true) {
    await confirmOrRefuse(ctx.io, `Delete ${fmtInt(matched)} keys matching ${what} on ${where}?`, `${fmtInt(matched)} keys match ${what}, more than --confirm-above ${fmtInt(confirmAbove)}`);
  }

  const started = performance.now();
  const deleting = new Progress(ctx.io, 'deleting', matched);
  const result = await cache.invalidatePatternByNode(pattern, { onProgress: (n) => deleting.update(n) });
  deleting.update(result.deleted, true);
  deleting.done();
  const ms = performance.now() - started;
  if (ctx.json) {
    printJson(ctx.io, { pattern, prefix, matched, leases, sample, dryRun: false, deleted: result.deleted, ms: Math.round(ms), nodes: result.nodes.map((n) => ({ ...n, ms: Math.round(n.ms) })) });
    return;
  }
  if (matched === 0 && result.deleted === 0) {
    println(ctx.io, `no keys match ${what}: nothing deleted${leases > 0 ? ` (${fmtInt(leases)} leases of fetches in flight revoked)` : ''}`);
    return;
  }
  println(ctx.io, `deleted ${fmtInt(result.deleted)} key${result.deleted === 1 ? '' : 's'} matching ${what} in ${fmtDuration(ms)} (${fmtInt(matched)} counted before; leases on them revoked)`);
  if (sample.length > 0) println(ctx.io, `among them: ${sample.join(', ')}${matched > sample.length ? ', …' : ''}`);
  if (result.nodes.length > 1) for (const line of grid(['master', 'deleted', 'time'], result.nodes.map((n) => [n.address, fmtInt(n.deleted), fmtDuration(n.ms)]))) println(ctx.io, line);
}
