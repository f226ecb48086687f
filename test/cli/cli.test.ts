/**
 * The operator CLI as an operator runs it: `bin/redis-cache-layer.mjs` in a child process (cwd a
 * temporary folder, so no .env is read), against this file's own redis-server, every command:
 * stats from Redis (table, --json) and from a running server, inspect (an entry with tags, a
 * lease), del, invalidate-tags, invalidate (--dry-run, refused, --yes), warm against a seeded
 * database, simulate, a bad flag, and a password that must never be printed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/cache/index.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { usingRealPostgres } from '../helpers/db.ts';

const BIN = resolve('bin/redis-cache-layer.mjs');
const prefix = `cli${process.pid}:`;
let t: TestApp;
let cache: Cache;
let serverUrl: string;
let workDir: string;
/** The environment that points the CLI's `warm` at a seeded database. */
let warmDb: Promise<Record<string, string>>;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Only what the test gives: the developer's REDIS_URL, DATABASE_URL or OPS_TOKEN must not leak in. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? workDir, NODE_ENV: 'test', REDIS_URL: t.redisServer.url, CACHE_PREFIX: prefix };
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: workDir, env: { ...base, ...env }, timeout: 45_000 }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

/**
 * A database the CLI (another process) can open, seeded. PostgreSQL: the test app's own schema,
 * already seeded. PGlite is one process's database: a folder seeded by `npm run seed`'s script
 * in a child process of its own (PGlite's WebAssembly holds the event loop of the process it
 * runs in for seconds, which would time out this file's Redis calls).
 */
async function seededDatabaseEnv(): Promise<Record<string, string>> {
  if (usingRealPostgres) {
    const { rows } = await t.db.query<{ schema: string }>('SELECT current_schema() AS schema');
    return { DATABASE_URL: process.env['DATABASE_URL'] ?? '', DATABASE_SCHEMA: rows[0]?.schema ?? '' };
  }
  const dir = join(workDir, 'pglite');
  await new Promise<void>((done, fail) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', '--users', '100', '--pglite-dir', dir], { env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? workDir }, timeout: 60_000 }, (err, _out, stderr) =>
      err === null ? done() : fail(new Error(`seeding ${dir} failed: ${stderr}`, { cause: err })),
    );
  });
  return { PGLITE_DATA_DIR: dir };
}

async function keysUnder(pattern: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of cache.scanKeys(pattern)) out.push(...b.keys);
  return out.sort();
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'rcl-cli-'));
  t = await createTestApp({ users: 100 });
  await new Promise<void>((ok) => t.app.server.listen(0, '127.0.0.1', ok));
  serverUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  // Seeded in the background while the Redis commands run: on PGlite it takes seconds.
  warmDb = seededDatabaseEnv();
  warmDb.catch(() => undefined);
  // A deadline for a busy machine: a set that times out resolves false, and the counts below would be off.
  cache = createCache({ redis: t.redisServer.url, prefix, commandTimeoutMs: 5000 });
  const written = [
    await cache.set('user:1', { name: 'Ada', joined: new Date('2024-03-01T00:00:00Z') }, { ttl: 300, tags: ['team:7'], graceSeconds: 60 }),
    await cache.set('user:2', { name: 'Grace' }, 300),
    await cache.set('guild:3', { id: 3 }, { ttl: 300, tags: ['team:7'] }),
    await cache.setMany(Array.from({ length: 150 }, (_, i) => ({ key: `bulk:${i}`, value: i, ttl: 300 }))),
  ];
  expect(written).toEqual([true, true, true, true]);
}, 60_000);

afterAll(async () => {
  await cache?.close();
  await warmDb?.catch(() => undefined);
  await t?.close();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

describe('redis-cache-layer', () => {
  it('stats: a table from Redis that says where its figures come from, and the same as JSON', async () => {
    const l1 = createCache({ redis: t.redisServer.url, prefix, l1: {} });
    try {
      // The in-process tier's channel connects in the background; its name is what stats counts.
      for (let i = 0; i < 100 && !(await t.redis.clientList()).some((c) => c.name === 'redis-cache-layer:l1-tracking'); i++) await new Promise((r) => setTimeout(r, 20));
      const [table, json] = await Promise.all([cli(['stats']), cli(['stats', '--json'])]);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toContain(`Stats from Redis at ${t.redisServer.url}`);
      expect(table.stdout).toContain('Source: Redis itself');
      expect(table.stdout).toMatch(/keys under the prefix +153 \(and 0 leases of fetches in flight, 1 tag versions\)/);
      expect(table.stdout).toMatch(/bulk +150/);
      expect(json.code, json.stderr).toBe(0);
      const body = JSON.parse(json.stdout) as { source: string; keys: { entries: number; tagVersions: number; byNamespace: Record<string, number> }; totals: { l1TrackingClients: number }; nodes: unknown[] };
      expect(body.source).toBe('redis');
      expect(body.keys).toMatchObject({ entries: 153, tagVersions: 1, byNamespace: { bulk: 150, user: 2, guild: 1 } });
      expect(body.totals.l1TrackingClients).toBe(1);
      expect(body.nodes).toHaveLength(1);
    } finally {
      await l1.close();
    }
  });

  it("stats --server: a running server's own cache counters from its /health", async () => {
    const token = await t.loginAs(2);
    await t.app.inject({ method: 'GET', url: '/users/2', headers: { authorization: `Bearer ${token}` } });
    const r = await cli(['stats', '--server', serverUrl]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Stats from the server at ${serverUrl}/health`);
    expect(r.stdout).toContain('Source: GET /health');
    expect(r.stdout).toMatch(/hits \/ misses +\d+ \/ [1-9]/);
    expect(r.stdout).toMatch(/^ {2}namespace +hits +misses +hit rate +errors$/m);
  });

  it('inspect: an entry with its tags; a key whose fetch holds a lease', async () => {
    let release: () => void = () => {};
    const fetching = cache.getOrSet('job:9', () => new Promise<number>((r) => (release = () => r(9))), { ttl: 60, tags: ['jobs'] });
    try {
      for (let i = 0; (await cache.inspect('job:9')).lease === null; i++) {
        if (i > 500) throw new Error('the fetch of job:9 took no lease');
        await new Promise((r) => setTimeout(r, 10));
      }
      const [entry, leased] = await Promise.all([cli(['inspect', 'user:1']), cli(['inspect', 'job:9', '--json'])]);
      expect(entry.code, entry.stderr).toBe(0);
      expect(entry.stdout).toMatch(/state +fresh: a read is a hit/);
      expect(entry.stdout).toContain(`(in Redis: ${prefix}user:1)`);
      expect(entry.stdout).toContain("value        { name: 'Ada', joined: 2024-03-01T00:00:00.000Z }");
      expect(entry.stdout).toMatch(/fresh until +\d{4}-\d\d-\d\dT.*\(in 4 min/);
      expect(entry.stdout).toMatch(/grace until +.*\(in 5 min/);
      expect(entry.stdout).toMatch(/tags +team:7 \(valid\)/);
      expect(entry.stdout).toMatch(/lease +none/);
      expect(entry.stdout).toMatch(/Redis TTL +5 min/);
      expect(leased.code, leased.stderr).toBe(0);
      const body = JSON.parse(leased.stdout) as { state: string; lease: { holder: string; token: string; expiresAtMs: number; tags: { name: string; valid: boolean }[] } };
      expect(body.state).toBe('absent');
      expect(body.lease.token.startsWith(body.lease.holder)).toBe(true);
      expect(body.lease.expiresAtMs).toBeGreaterThan(Date.now());
      expect(body.lease.tags).toMatchObject([{ name: 'jobs', valid: true }]);
    } finally {
      release();
      await fetching;
    }
  });

  it('del and invalidate-tags', async () => {
    const del = await cli(['del', 'user:2', 'user:404']);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toContain('deleted 1 of 2 keys (1 did not exist)');
    expect((await cache.inspect('user:2')).state).toBe('absent');

    const tags = await cli(['invalidate-tags', 'team:7']);
    expect(tags.code, tags.stderr).toBe(0);
    expect(tags.stdout).toContain('invalidated 1 tag (team:7)');
    expect((await cache.inspect('guild:3')).state).toBe('invalidated');
    expect((await cache.inspect('user:1')).state).toBe('invalidated');
  });

  it('invalidate: --dry-run counts, a non-terminal without --yes is refused, --yes deletes', async () => {
    // Both only read: run together.
    const [dry, refused] = await Promise.all([cli(['invalidate', 'bulk:*', '--dry-run']), cli(['invalidate', 'bulk:*'])]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`150 keys match 'bulk:*' under prefix '${prefix}'; nothing deleted (--dry-run)`);
    expect(dry.stdout).toMatch(/^sample: (bulk:\d+, ){10}…$/m);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toBe('');
    expect(lines(refused.stderr)).toEqual([
      `redis-cache-layer: refused: 150 keys match 'bulk:*' under prefix '${prefix}', more than --confirm-above 100; stdin is not a terminal, so nobody can confirm: pass --yes (or --dry-run to count only)`,
    ]);
    expect(await keysUnder('bulk:*')).toHaveLength(150);

    const yes = await cli(['invalidate', 'bulk:*', '--yes', '--json']);
    expect(yes.code, yes.stderr).toBe(0);
    expect(JSON.parse(yes.stdout)).toMatchObject({ pattern: 'bulk:*', matched: 150, deleted: 150, dryRun: false });
    expect(await keysUnder('bulk:*')).toEqual([]);
  });

  it("warm: the backend's warmers against the configured database", async () => {
    const warmPrefix = `${prefix}warm:`;
    // PGlite runs in the CLI's own process and holds its event loop during queries: on a busy
    // machine Redis replies then wait past the 500 ms default deadline, and warm rightly fails.
    const run = await cli(['warm', '--prefix', warmPrefix], { ...(await warmDb), REDIS_COMMAND_TIMEOUT_MS: '5000' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^warming: leaderboards, guilds, jobs against (postgres|pglite)$/m);
    expect(run.stderr).toMatch(/^ {2}\[3\/3\] \w+: \d+ keys loaded/m);
    expect(run.stdout).toMatch(/^ {2}leaderboards +2$/m);
    expect(run.stdout).toMatch(/keys loaded in /);
    expect(await t.redis.exists(`${warmPrefix}leaderboard:global`)).toBe(1);
    expect(await t.redis.exists(`${warmPrefix}jobs:open:1`)).toBe(1);
  }, 60_000);

  it('simulate: the simulator with its flags; a bad one is a usage error', async () => {
    const [run, bad] = await Promise.all([cli(['simulate', '--users', '200', '--rate', '5', '--duration', '10m']), cli(['simulate', '--users', 'many'])]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('# Simulation: 200 users');
    expect(run.stdout).toContain('- Command: `redis-cache-layer simulate --users 200 --rate 5 --duration 10m`');
    expect(run.stdout).toMatch(/\*\*Predicted hit rate: [\d.]+ %/);
    expect(bad.code).toBe(2);
    expect(lines(bad.stderr)).toEqual(['redis-cache-layer: --users must be a non-negative integer, got many (redis-cache-layer simulate --help lists its flags)']);
  });

  it('a bad flag: exit 2, one line, no stack; --help lists the commands and exit codes', async () => {
    const [bad, help] = await Promise.all([cli(['stats', '--frobnicate']), cli(['--help'])]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(lines(bad.stderr)).toEqual(["redis-cache-layer: Unknown option '--frobnicate' (redis-cache-layer --help)"]);
    expect(help.code).toBe(0);
    for (const c of ['stats', 'inspect <key>', 'del <key…>', 'invalidate-tags <tag…>', 'invalidate <pattern>', 'warm', 'simulate']) expect(help.stdout).toContain(`  ${c}`);
    expect(help.stdout).toMatch(/^ {2}3 {2}refused/m);
  });

  it('never prints the password of a Redis URL, even with --verbose', async () => {
    const r = await cli(['del', 'x', '--redis', 'redis://user:s3cret-pw@127.0.0.1:1', '--verbose']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)[0]).toBe('redis-cache-layer: Redis at redis://user:****@127.0.0.1:1 refused the connection (closed port: nothing listening)');
    expect(r.stderr).toContain('caused by:');
    expect(r.stdout + r.stderr).not.toContain('s3cret');
  });
});
