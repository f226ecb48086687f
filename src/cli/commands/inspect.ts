/**
 * `inspect <key>`: what Redis holds under the key, decoded by the library itself
 * (Cache.inspect: the entry's header, the cache's serializer, the lease key of the topology,
 * the tag versions under the prefix), never changed: an entry that does not decode is shown,
 * not deleted as a read would.
 */
import type { EntryInspection, EntryState, TagInspection } from '../../cache/index.ts';
import { intFlag } from '../args.ts';
import type { CommandContext } from '../context.ts';
import { fmtBytes, fmtDuration, fmtWhen, labelled, printJson, println, showValue } from '../output.ts';

const STATE: Record<EntryState, string> = {
  absent: 'no value under this key',
  fresh: 'a read is a hit',
  stale: 'past its TTL, within grace: getOrSet serves it flagged stale while one caller refreshes it',
  'fail-safe': 'a refresh failed: served stale until the retry time, then refreshed again',
  expired: 'past grace: a read is a miss (Redis drops the key at grace end)',
  invalidated: 'a tag it was written under has moved: a read is a miss',
  plain: 'not a cache entry (a counter, or a string written by other code): read as a value that never goes stale',
  undecodable: "does not decode with the cache's serializer: a read counts it as corrupt and deletes it",
  'wrong-type': 'holds another Redis type, not a string: reads of it fail',
};

const FORM: Record<EntryInspection['form'], string> = {
  absent: 'none',
  json: 'JSON entry (an untagged value of the default serializer)',
  general: 'entry (header | encoded value)',
  plain: 'plain string',
  'not-string': 'not a string',
};

function tagList(tags: readonly TagInspection[]): string {
  if (tags.length === 0) return 'none';
  return tags.map((t) => (t.valid ? `${t.name} (valid)` : `${t.name} (MOVED: recorded ${t.recorded}, now ${t.current ?? 'no version'})`)).join(', ');
}

export async function inspectKey(ctx: CommandContext): Promise<void> {
  const key = ctx.positionals[0] as string;
  const maxChars = intFlag(ctx.values, 'max-chars', 200);
  const { cache } = await ctx.openCache();
  const e = await cache.inspect(key);
  if (ctx.json) {
    printJson(ctx.io, e);
    return;
  }
  const now = e.nowMs;
  const rows: [string, string][] = [
    ['key', `${e.key} (in Redis: ${e.fullKey})`],
    ['state', `${e.state}: ${STATE[e.state]}`],
  ];
  if (e.form !== 'absent') rows.push(['form', `${FORM[e.form]}, ${fmtBytes(e.storedBytes)} stored`]);
  if (e.decodeError !== undefined) rows.push(['decode error', e.decodeError]);
  if (e.value !== undefined) {
    const shown = showValue(e.value, maxChars);
    rows.push(['value', shown.truncated ? `${shown.text} (first ${maxChars} of ${shown.length} characters; --max-chars 0 shows all)` : shown.text]);
  }
  if (e.freshUntilMs !== null && e.graceUntilMs !== null) {
    rows.push(['fresh until', fmtWhen(e.freshUntilMs, now)]);
    rows.push(['grace until', e.graceUntilMs === e.freshUntilMs ? 'no grace (ends with freshness)' : fmtWhen(e.graceUntilMs, now)]);
    rows.push(['fetch took', e.fetchMs === 0 ? 'not recorded (written by set)' : fmtDuration(e.fetchMs ?? 0)]);
    if (e.failSafe) rows.push(['fail-safe', 'yes: a refresh failed, the value is served stale']);
    rows.push(['tags', tagList(e.tags)]);
  }
  if (e.lease === null) rows.push(['lease', 'none (no fetch in flight)']);
  else {
    const l = e.lease;
    const until = l.expiresAtMs === null ? 'unknown expiry' : `lapses ${fmtWhen(l.expiresAtMs, now)}`;
    rows.push(['lease', `held by process ${l.holder} (token ${l.token}), ${until}`]);
    if (l.tags.length > 0) rows.push(['lease tags', `${tagList(l.tags)}${l.tags.some((t) => !t.valid) ? ': its write will be refused' : ''}`]);
  }
  const entry = e.form === 'json' || e.form === 'general';
  if (e.ttlMs !== null) rows.push(['Redis TTL', e.ttlMs < 0 ? 'none (the key never expires)' : `${fmtDuration(e.ttlMs)}${entry ? ' (Redis drops the key when grace ends)' : ''}`]);
  for (const line of labelled(rows)) println(ctx.io, line);
}
