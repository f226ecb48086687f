/**
 * `stats`. A CLI process has served no request, so the library's own counters (hits, misses,
 * fetches…) exist only inside running servers. Two sources, and the output names which:
 *
 * - `--server URL`: that server's GET /health (OPS_TOKEN from the environment when set): its
 *   cache's counters since it started, exactly what getStats() returns there, for that one
 *   instance (several instances each have their own).
 * - otherwise Redis itself: keys under the prefix (SCAN, in steps: O(keys), never blocking
 *   Redis), split by namespace, leases in flight and tag versions; DBSIZE; and each master's
 *   INFO: memory, keyspace hits and misses (every client of that Redis, since its start or
 *   CONFIG RESETSTAT), evictions, expirations, clients and how many of them are in-process tiers
 *   (L1) listening for invalidations.
 */
import { namespaceOf } from '../../cache/index.ts';
import { maskUrl } from '../../app/config.ts';
import type { CommandContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { fmtBytes, fmtDuration, fmtInt, grid, labelled, printJson, println, Progress, quote } from '../output.ts';

const num = (info: Record<string, string>, field: string): number => {
  const n = Number(info[field]);
  return Number.isFinite(n) ? n : 0;
};
const pct = (part: number, whole: number): number => (whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 100);

export async function stats(ctx: CommandContext): Promise<void> {
  const server = ctx.values['server'];
  if (typeof server === 'string') {
    if (ctx.values['redis'] !== undefined || ctx.values['prefix'] !== undefined) throw new CliError('E_CLI_USAGE', '--server reads the server\'s own figures: --redis and --prefix do not apply to it');
    return fromServer(ctx, server);
  }
  return fromRedis(ctx);
}

async function fromRedis(ctx: CommandContext): Promise<void> {
  const { cache, where, topology, config } = await ctx.openCache();
  const byNamespace = new Map<string, number>();
  const byNode = new Map<string, number>();
  let entries = 0;
  let leases = 0;
  let tagVersions = 0;
  const progress = new Progress(ctx.io, 'counting keys under the prefix', undefined);
  for await (const b of cache.scanKeys('*', { batchSize: 1000 })) {
    entries += b.keys.length;
    leases += b.leases;
    tagVersions += b.tagVersions;
    byNode.set(b.node, (byNode.get(b.node) ?? 0) + b.keys.length);
    for (const k of b.keys) byNamespace.set(namespaceOf(k), (byNamespace.get(namespaceOf(k)) ?? 0) + 1);
    progress.update(entries);
  }
  progress.done();
  const [servers, libraryStats] = await Promise.all([cache.redisServers(), cache.getStats()]);
  const nodes = servers.map((s) => ({
    address: s.address,
    keysUnderPrefix: byNode.get(s.address) ?? 0,
    usedMemoryBytes: num(s.info, 'used_memory'),
    maxmemoryBytes: num(s.info, 'maxmemory'),
    maxmemoryPolicy: s.info['maxmemory_policy'] ?? 'unknown',
    keyspaceHits: num(s.info, 'keyspace_hits'),
    keyspaceMisses: num(s.info, 'keyspace_misses'),
    evictedKeys: num(s.info, 'evicted_keys'),
    expiredKeys: num(s.info, 'expired_keys'),
    connectedClients: num(s.info, 'connected_clients'),
    l1TrackingClients: s.trackingClients,
    redisVersion: s.info['redis_version'] ?? 'unknown',
    uptimeSeconds: num(s.info, 'uptime_in_seconds'),
  }));
  const sum = (f: (n: (typeof nodes)[number]) => number): number => nodes.reduce((a, n) => a + f(n), 0);
  const totals = {
    usedMemoryBytes: sum((n) => n.usedMemoryBytes),
    keyspaceHits: sum((n) => n.keyspaceHits),
    keyspaceMisses: sum((n) => n.keyspaceMisses),
    hitRate: pct(sum((n) => n.keyspaceHits), sum((n) => n.keyspaceHits + n.keyspaceMisses)),
    evictedKeys: sum((n) => n.evictedKeys),
    expiredKeys: sum((n) => n.expiredKeys),
    connectedClients: sum((n) => n.connectedClients),
    // A cache with l1 keeps one channel on every master: the busiest master counts the caches, a sum would count each once per master.
    l1TrackingClients: Math.max(0, ...nodes.map((n) => n.l1TrackingClients)),
  };
  const namespaces = Object.fromEntries(Array.from(byNamespace).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  const note = 'a CLI process has no cache counters of its own: these are Redis\'s figures (hits and misses count every client of this Redis); --server http://host:port reads a running server\'s cache counters';
  if (ctx.json) {
    printJson(ctx.io, { source: 'redis', note, redis: { target: where, topology }, prefix: config.cachePrefix, keys: { entries, leases, tagVersions, database: libraryStats.keys, byNamespace: namespaces }, totals, nodes });
    return;
  }
  const first = nodes[0];
  const limit = (n: (typeof nodes)[number]): string => (n.maxmemoryBytes === 0 ? 'no maxmemory' : `maxmemory ${fmtBytes(n.maxmemoryBytes)}`);
  println(ctx.io, `Stats from Redis at ${where} (${topology}), prefix ${quote(config.cachePrefix)}`);
  println(ctx.io, `Source: Redis itself. ${note[0]?.toUpperCase() ?? ''}${note.slice(1)}.`);
  println(ctx.io);
  for (const line of labelled([
    ['keys under the prefix', `${fmtInt(entries)} (and ${fmtInt(leases)} leases of fetches in flight, ${fmtInt(tagVersions)} tag versions)`],
    ['keys in the database', libraryStats.keys === null ? 'unknown' : `${fmtInt(libraryStats.keys)} (DBSIZE${nodes.length > 1 ? ', every master' : ''})`],
    ['memory used', `${fmtBytes(totals.usedMemoryBytes)}${first === undefined ? '' : ` (${limit(first)}, policy ${first.maxmemoryPolicy})`}`],
    ['keyspace hits / misses', `${fmtInt(totals.keyspaceHits)} / ${fmtInt(totals.keyspaceMisses)} (${totals.hitRate} % hits; all clients, since start or CONFIG RESETSTAT)`],
    ['evicted / expired keys', `${fmtInt(totals.evictedKeys)} / ${fmtInt(totals.expiredKeys)}`],
    ['connected clients', `${fmtInt(totals.connectedClients)}, of which ${fmtInt(totals.l1TrackingClients)} in-process tiers (L1) listening for invalidations`],
    ['Redis', first === undefined ? 'no master answered' : `${first.redisVersion}, up ${fmtDuration(first.uptimeSeconds * 1000)}`],
  ])) {
    println(ctx.io, line);
  }
  if (nodes.length > 1) {
    println(ctx.io);
    for (const line of grid(['master', 'keys', 'memory', 'hits', 'misses', 'clients', 'L1'], nodes.map((n) => [n.address, fmtInt(n.keysUnderPrefix), fmtBytes(n.usedMemoryBytes), fmtInt(n.keyspaceHits), fmtInt(n.keyspaceMisses), fmtInt(n.connectedClients), fmtInt(n.l1TrackingClients)]))) println(ctx.io, line);
  }
  const shown = Object.entries(namespaces).slice(0, 20);
  if (shown.length > 0) {
    println(ctx.io);
    for (const line of grid(['namespace', 'keys'], shown.map(([name, n]) => [name, fmtInt(n)]))) println(ctx.io, line);
    const hidden = byNamespace.size - shown.length;
    if (hidden > 0) println(ctx.io, `  … and ${fmtInt(hidden)} more namespaces (--json lists them all)`);
  }
}

interface NamespaceFigures {
  hits: number;
  misses: number;
  hitRate: number;
  errors: number;
}

/** The part of GET /health this command reads (src/app/http/health.ts). */
interface Health {
  status: string;
  uptimeSeconds: number;
  redis: { mode: string; topology: string; state: string; url?: string; nodes: unknown[] };
  cache: Record<string, unknown> & { enabled: boolean; hits: number; misses: number; hitRate: number; errors: number; keys: number | null; namespaces: Record<string, NamespaceFigures> };
  database: { kind: string; rowsRead: Record<string, number> };
}

function isHealth(body: unknown): body is Health {
  const b = body as Partial<Health> | null;
  return typeof b === 'object' && b !== null && typeof b.cache === 'object' && b.cache !== null && typeof b.cache.hits === 'number' && typeof b.redis === 'object' && typeof b.database === 'object';
}

async function fromServer(ctx: CommandContext, raw: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new CliError('E_CLI_USAGE', '--server must be an http:// or https:// URL of the server (http://host:port)');
  }
  if (!url.pathname.endsWith('/health')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/health`;
  const shown = maskUrl(url.toString()) ?? '';
  const token = ctx.config().opsToken;
  let res: Response;
  try {
    res = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    throw new CliError('E_CLI_SERVER', `could not read ${shown}: ${cause}`, { cause: err });
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const message = typeof (body as { message?: unknown } | undefined)?.message === 'string' ? (body as { message: string }).message : text.slice(0, 200);
    const hint = res.status === 401 || res.status === 403 ? ' (set OPS_TOKEN to the server\'s operator token)' : '';
    throw new CliError('E_CLI_SERVER', `${shown} answered ${res.status}: ${message}${hint}`);
  }
  if (!isHealth(body)) throw new CliError('E_CLI_SERVER', `${shown} did not answer with a redis-cache-layer server's /health`);
  const note = 'the running server\'s own cache counters since it started, for that one instance';
  if (ctx.json) {
    printJson(ctx.io, { source: 'server', url: shown, note, status: body.status, uptimeSeconds: body.uptimeSeconds, redis: body.redis, cache: body.cache, database: body.database });
    return;
  }
  const c = body.cache;
  const n = (field: string): string => (typeof c[field] === 'number' ? fmtInt(c[field]) : '-');
  const rows = Object.values(body.database.rowsRead).reduce((a, b) => a + b, 0);
  println(ctx.io, `Stats from the server at ${shown}`);
  println(ctx.io, `Source: GET /health: ${note}.`);
  println(ctx.io);
  for (const line of labelled([
    ['status', `${body.status}, up ${fmtDuration(body.uptimeSeconds * 1000)}`],
    ['Redis', body.redis.mode === 'memory' ? 'none: in-process memory store' : `${body.redis.state}: ${body.redis.topology} ${body.redis.url ?? ''} (${body.redis.nodes.length} node${body.redis.nodes.length === 1 ? '' : 's'})`],
    ['cache', c.enabled ? 'enabled' : 'disabled (CACHE_ENABLED=false: every read goes to the database)'],
    ['hits / misses', `${n('hits')} / ${n('misses')} (${c.hitRate} % hits)`],
    ['L1 / Redis hits', `${n('l1Hits')} / ${n('l2Hits')}${c['l1'] === null ? ' (no in-process tier)' : ''}`],
    ['errors', `${n('errors')} (decode errors ${n('decodeErrors')}, replication time-outs ${n('replicationTimeouts')})`],
    ['sets / deletes', `${n('sets')} / ${n('deletes')}`],
    ['fetches', `${n('fetches')} (coalesced ${n('coalesced')}, served stale ${n('stale')}, fail-safe ${n('failSafe')}, early refreshes ${n('earlyRefreshes')})`],
    ['lease waits', `${n('leaseWaits')} (woken by announcement ${n('leaseWakeups')}, lock time-outs ${n('lockTimeouts')}, stale writes prevented ${n('staleWritesPrevented')})`],
    ['keys (DBSIZE)', c.keys === null ? 'unknown' : fmtInt(c.keys)],
    ['database', `${body.database.kind}: ${fmtInt(rows)} rows read`],
  ])) {
    println(ctx.io, line);
  }
  const ns = Object.entries(c.namespaces).sort((a, b) => b[1].hits + b[1].misses - (a[1].hits + a[1].misses));
  if (ns.length > 0) {
    println(ctx.io);
    for (const line of grid(['namespace', 'hits', 'misses', 'hit rate', 'errors'], ns.map(([name, f]) => [name, fmtInt(f.hits), fmtInt(f.misses), `${f.hitRate} %`, fmtInt(f.errors)]))) println(ctx.io, line);
  }
}
