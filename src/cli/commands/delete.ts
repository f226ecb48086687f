/**
 * `del <key…>` and `invalidate-tags <tag…>`: the library's own calls, so a deletion also revokes
 * the key's lease (a fetch in flight will not write its value afterwards) and a tag invalidation
 * reaches every instance, their in-process tiers included. Both throw on a Redis failure
 * (nothing is silently lost) and WAIT for REDIS_INVALIDATION_REPLICAS replicas as the server does.
 */
import type { CommandContext } from '../context.ts';
import { fmtInt, printJson, println } from '../output.ts';

export async function delKeys(ctx: CommandContext): Promise<void> {
  const keys = ctx.positionals;
  const { cache, config } = await ctx.openCache();
  const deleted = await cache.del(keys, { throwOnError: true });
  if (ctx.json) {
    printJson(ctx.io, { prefix: config.cachePrefix, keys, deleted });
    return;
  }
  const missing = keys.length - deleted;
  println(ctx.io, `deleted ${fmtInt(deleted)} of ${fmtInt(keys.length)} key${keys.length === 1 ? '' : 's'}${missing > 0 ? ` (${fmtInt(missing)} did not exist)` : ''}; their leases are revoked`);
}

export async function invalidateTags(ctx: CommandContext): Promise<void> {
  const tags = ctx.positionals;
  const { cache, config } = await ctx.openCache();
  await cache.invalidateTags(tags);
  if (ctx.json) {
    printJson(ctx.io, { prefix: config.cachePrefix, tags, invalidated: true });
    return;
  }
  println(ctx.io, `invalidated ${fmtInt(tags.length)} tag${tags.length === 1 ? '' : 's'} (${tags.join(', ')}): every entry written under them is a miss from now on, on every instance`);
}
