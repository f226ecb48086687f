/**
 * `npm run bench:freeze`: the server in production mode under steady load while its Redis is
 * frozen (SIGSTOP) for 10 s. Measures the heap before, during and after, and every request's
 * latency, against the bound "command deadline + database fallback time".
 *
 * Starts its own redis-server and server process; DATABASE_URL (own schema) or PGlite.
 * Writes bench/results/<date>-freeze.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase } from '../src/app/db/database.ts';
import { migrate } from '../src/app/db/migrate.ts';
import { seedDatabase } from '../src/app/db/seed.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';
import { OPS_HEADERS, spawnServer } from '../test/helpers/server-process.ts';
import { machineHeader, today } from './machine.ts';

const RATE = Number(process.env.FREEZE_RATE ?? 200);
const FREEZE_MS = Number(process.env.FREEZE_MS ?? 10_000);
const COMMAND_TIMEOUT_MS = 500;

interface Sample { phase: string; atMs: number; latencyMs: number; status: number; xCache: string }

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { headers: OPS_HEADERS })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/**
 * The demo data set (1,000 users, demo account included), seeded here: a production server
 * refuses SEED_DEMO, because the demo accounts have published passwords.
 */
async function seededDatabase(): Promise<{ env: Record<string, string | undefined>; cleanup: () => Promise<void> }> {
  const url = process.env['DATABASE_URL'];
  const local = url === undefined || url === '';
  const dir = local ? mkdtempSync(join(tmpdir(), 'freeze-pglite-')) : '';
  const schema = `freeze_${randomBytes(6).toString('hex')}`;
  const db = local ? await createDatabase({ pgliteDataDir: dir }) : await createDatabase({ url, schema });
  await migrate(db);
  await seedDatabase(db, { users: 1000 });
  await db.close();
  if (local) return { env: { DATABASE_URL: undefined, PGLITE_DATA_DIR: dir }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  return {
    env: { DATABASE_URL: url, DATABASE_SCHEMA: schema },
    cleanup: async () => {
      const admin = await createDatabase({ url });
      await admin.execScript(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.close());
    },
  };
}

async function main(): Promise<void> {
  const redis = await startRedisServer();
  const database = await seededDatabase();
  const server = await spawnServer({ NODE_ENV: 'production', REDIS_URL: redis.url, LOG_LEVEL: 'warn', REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS), WRITE_RATE_LIMIT_PER_USER: '1000000', ...database.env });
  await server.waitForReady(120_000);
  const base = server.baseUrl;
  const login = (await (await fetch(`${base}/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'demo@example.com', password: 'demo1234' }) })).json()) as { token: string };
  const headers = { authorization: `Bearer ${login.token}` };
  const paths = (i: number): string => {
    const id = 1 + ((i * 7919) % 1000);
    switch (i % 5) {
      case 0: return '/leaderboards/global?limit=10';
      case 1: return `/users/${id}`;
      case 2: return `/guilds/${1 + (id % 20)}`;
      case 3: return '/jobs?status=open&page=1';
      default: return '/wallets/1/balance';
    }
  };

  const samples: Sample[] = [];
  const heap: { phase: string; usedBytes: number; rssBytes: number }[] = [];
  let phase = 'before';
  let i = 0;
  const pending = new Set<Promise<void>>();
  const fire = setInterval(() => {
    const path = paths(i++);
    const started = performance.now();
    const p: Promise<void> = fetch(`${base}${path}`, { headers }).then(
      async (res) => {
        await res.arrayBuffer();
        samples.push({ phase, atMs: started, latencyMs: performance.now() - started, status: res.status, xCache: res.headers.get('x-cache') ?? '-' });
      },
      () => {
        samples.push({ phase, atMs: started, latencyMs: performance.now() - started, status: -1, xCache: '-' });
      },
    ).finally(() => pending.delete(p));
    pending.add(p);
  }, 1000 / RATE);
  const sampleHeap = setInterval(() => {
    const ph = phase;
    Promise.all([metric(base, 'nodejs_heap_size_used_bytes'), metric(base, 'process_resident_memory_bytes')]).then(
      ([usedBytes, rssBytes]) => heap.push({ phase: ph, usedBytes, rssBytes }),
      () => {},
    );
  }, 500);

  await new Promise((r) => setTimeout(r, 5000));
  phase = 'frozen';
  redis.freeze();
  await new Promise((r) => setTimeout(r, FREEZE_MS));
  phase = 'after';
  redis.resume();
  await new Promise((r) => setTimeout(r, 5000));
  clearInterval(fire);
  clearInterval(sampleHeap);
  await Promise.all(pending);
  server.kill('SIGTERM');
  await server.exited;
  await redis.stop();
  await database.cleanup();

  const missLatency = samples.filter((s) => s.phase === 'before' && s.xCache === 'MISS').map((s) => s.latencyMs);
  const fallbackMs = pct(missLatency, 100);
  const rows = ['before', 'frozen', 'after'].map((ph) => {
    const s = samples.filter((x) => x.phase === ph);
    const lat = s.map((x) => x.latencyMs);
    const h = heap.filter((x) => x.phase === ph);
    const statuses: Record<string, number> = {};
    for (const x of s) statuses[x.status] = (statuses[x.status] ?? 0) + 1;
    const mb = (b: number): string => (b / 2 ** 20).toFixed(1);
    return `| ${ph} | ${s.length} | ${JSON.stringify(statuses).replace(/"/g, '')} | ${pct(lat, 50).toFixed(1)} | ${pct(lat, 99).toFixed(1)} | ${pct(lat, 100).toFixed(1)} | ${mb(Math.min(...h.map((x) => x.usedBytes)))}–${mb(Math.max(...h.map((x) => x.usedBytes)))} | ${mb(Math.max(...h.map((x) => x.rssBytes)))} |`;
  });
  const frozenMax = pct(samples.filter((s) => s.phase === 'frozen').map((s) => s.latencyMs), 100);
  const bound = COMMAND_TIMEOUT_MS + fallbackMs;
  const report = [
    `# Redis frozen for ${FREEZE_MS / 1000} s under steady load`,
    '',
    machineHeader('npm run bench:freeze'),
    `- Load: ${RATE} requests/s open-loop (leaderboard, profiles, guilds, job listing, own wallet balance), production mode, REDIS_COMMAND_TIMEOUT_MS=${COMMAND_TIMEOUT_MS}`,
    '',
    '| phase | requests | statuses | p50 ms | p99 ms | max ms | heap used MiB (min–max) | RSS max MiB |',
    '|---|---:|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Database fallback time (slowest MISS before the freeze): ${fallbackMs.toFixed(1)} ms. Bound = command deadline ${COMMAND_TIMEOUT_MS} ms + fallback ${fallbackMs.toFixed(1)} ms = ${bound.toFixed(1)} ms.`,
    `Slowest request while frozen: ${frozenMax.toFixed(1)} ms — ${frozenMax <= bound ? 'within' : 'OVER'} the bound.`,
    '',
  ].join('\n');
  console.log(report);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${today()}-freeze.md`, report);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
