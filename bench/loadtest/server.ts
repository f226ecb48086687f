/** The server under test as a child process, its /health counters, log-in, and the forked load generator. */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { LOADTEST_PASSWORD } from '../../src/app/db/seed.ts';
import { OPS_HEADERS, spawnServer } from '../../test/helpers/server-process.ts';
import type { LoadgenConfig, LoadgenMessage, LoadgenResult } from '../loadgen.ts';
import { fmtInt } from '../simulate/report.ts';
import type { BilledOps } from '../../src/app/data.ts';
import type { HealthSnapshot, LoadTestDatabase, LoadTestOptions, Mode } from './types.ts';

export interface ServerHandle {
  baseUrl: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export async function startServer(o: LoadTestOptions, db: LoadTestDatabase, redisUrl: string, mode: Mode, prefix: string): Promise<ServerHandle> {
  // spawnServer keeps the caller's app configuration out of the child; everything the run
  // needs is set here (undefined removes a variable).
  const server = await spawnServer({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    REDIS_URL: redisUrl,
    CACHE_PREFIX: prefix,
    CACHE_ENABLED: mode === 'cache' ? 'true' : 'false',
    CACHE_WARM: 'false',
    SEED_DEMO: 'false',
    DB_QUERY_DELAY_MS: String(o.dbLatencyMs),
    LOGIN_RATE_LIMIT_PER_IP: '1000000000',
    LOGIN_RATE_LIMIT_PER_ACCOUNT: '1000000000',
    WRITE_RATE_LIMIT_PER_USER: '1000000000',
    AUTH_FAILURE_LIMIT_PER_IP: '1000000000',
    ...db.serverEnv(),
  });
  await server.waitForReady(120_000).catch((err: unknown) => {
    server.kill('SIGKILL');
    throw err;
  });
  const child = server.child;
  return {
    baseUrl: server.baseUrl,
    child,
    output: () => server.output(),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await server.exited;
        clearTimeout(timer);
      }
    },
  };
}

export async function health(baseUrl: string): Promise<HealthSnapshot> {
  const res = await fetch(`${baseUrl}/health`, { headers: OPS_HEADERS });
  const body = (await res.json()) as { cache: Partial<HealthSnapshot> & { keys?: number | null }; database: { rowsRead: Record<string, number>; billed?: Record<string, BilledOps> } };
  const c = body.cache;
  return {
    rowsRead: body.database.rowsRead,
    billed: body.database.billed,
    fetches: c.fetches ?? 0,
    coalesced: c.coalesced ?? 0,
    leaseWaits: c.leaseWaits ?? 0,
    earlyRefreshes: c.earlyRefreshes ?? 0,
    staleWritesPrevented: c.staleWritesPrevented ?? 0,
    hits: c.hits ?? 0,
    misses: c.misses ?? 0,
    errors: c.errors ?? 0,
    keys: c.keys ?? null,
  };
}

/** Per-domain differences, domains that did not change left out. */
function domainDelta<T>(after: Record<string, T>, before: Record<string, T>, minus: (a: T, b: T | undefined) => T, changed: (d: T) => boolean): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = minus(v, before[k]);
    if (changed(d)) out[k] = d;
  }
  return out;
}

export function diff(after: HealthSnapshot, before: HealthSnapshot): HealthSnapshot {
  return {
    rowsRead: domainDelta(after.rowsRead, before.rowsRead, (a, b) => a - (b ?? 0), (d) => d !== 0),
    billed:
      after.billed === undefined
        ? undefined
        : domainDelta(
            after.billed,
            before.billed ?? {},
            (a, b) => ({ reads: a.reads - (b?.reads ?? 0), writes: a.writes - (b?.writes ?? 0), deletes: a.deletes - (b?.deletes ?? 0) }),
            (d) => d.reads !== 0 || d.writes !== 0 || d.deletes !== 0,
          ),
    fetches: after.fetches - before.fetches,
    coalesced: after.coalesced - before.coalesced,
    leaseWaits: after.leaseWaits - before.leaseWaits,
    earlyRefreshes: after.earlyRefreshes - before.earlyRefreshes,
    staleWritesPrevented: after.staleWritesPrevented - before.staleWritesPrevented,
    hits: after.hits - before.hits,
    misses: after.misses - before.misses,
    errors: after.errors - before.errors,
    keys: after.keys,
  };
}

/** Tries per log-in when the server answers 503 (each after its Retry-After). */
const LOGIN_ATTEMPTS = 10;

export async function login(o: LoadTestOptions, baseUrl: string, users: number[], concurrency: number): Promise<string[]> {
  const tokens: string[] = new Array<string>(users.length);
  let next = 0;
  let done = 0;
  let retried = 0;
  const t = performance.now();
  const attempt = (u: number): Promise<Response> =>
    fetch(`${baseUrl}/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `user${u}@example.com`, password: LOADTEST_PASSWORD }),
    });
  const worker = async (): Promise<void> => {
    while (next < users.length) {
      const i = next++;
      const u = users[i] as number;
      let res = await attempt(u);
      // 503 (E_CONTENTION on Firestore: a log-in is a transaction, and the emulator's locks are
      // coarse) comes with Retry-After, which asks the client to do exactly this. Log-ins are
      // set-up, not measured.
      for (let n = 1; res.status === 503 && n < LOGIN_ATTEMPTS; n++) {
        await res.arrayBuffer();
        retried++;
        const after = Number(res.headers.get('retry-after') ?? '1');
        await new Promise((r) => setTimeout(r, (Number.isFinite(after) && after > 0 ? after : 1) * 1000 * (0.5 + Math.random())));
        res = await attempt(u);
      }
      const body = (await res.json()) as { token?: string; userId?: number };
      if (res.status !== 201 || typeof body.token !== 'string' || body.userId !== u) throw new Error(`login of user ${u} failed: ${res.status} ${JSON.stringify(body)}`);
      tokens[i] = body.token;
      done++;
      if (o.bar && process.stderr.isTTY && done % 25 === 0) process.stderr.write(`\rlogging in ${fmtInt(users.length)} sessions: ${fmtInt(done)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  if (o.bar && process.stderr.isTTY) process.stderr.write('\n');
  o.log(`logged in ${fmtInt(users.length)} sessions in ${((performance.now() - t) / 1000).toFixed(1)} s${retried > 0 ? ` (${fmtInt(retried)} retries after 503)` : ''}`);
  return tokens;
}

export async function driveLoad(o: LoadTestOptions, cfg: LoadgenConfig, label: string): Promise<LoadgenResult> {
  const child = fork(join(import.meta.dirname, '..', 'loadgen.ts'), ['--loadgen-child'], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise<LoadgenResult>((resolve, reject) => {
    let result: LoadgenResult | undefined;
    child.on('message', (m: LoadgenMessage) => {
      if (m.type === 'progress') {
        if (!o.bar) return;
        if (!process.stderr.isTTY) {
          if (Math.round(m.elapsedMs / 1000) % 10 === 0 || m.done === m.total) process.stderr.write(`${label}: ${(m.elapsedMs / 1000).toFixed(0)} s, sent ${fmtInt(m.sent)}, done ${fmtInt(m.done)}/${fmtInt(m.total)}, errors ${m.errors}\n`);
          return;
        }
        const ratio = m.total === 0 ? 1 : m.done / m.total;
        const width = 30;
        const filled = Math.round(ratio * width);
        process.stderr.write(
          `\r${label.padEnd(9)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}% ${(m.elapsedMs / 1000).toFixed(0).padStart(3)} s  sent ${fmtInt(m.sent)}  done ${fmtInt(m.done)}  errors ${m.errors}`,
        );
      } else {
        result = m.result;
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (o.bar && process.stderr.isTTY) process.stderr.write('\n');
      if (result !== undefined) resolve(result);
      else reject(new Error(`load generator exited with code ${code} before reporting`));
    });
    child.send(cfg);
  });
}
