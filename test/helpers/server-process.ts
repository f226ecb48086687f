/**
 * Spawns the real server (`node --import tsx src/app/server.ts`) with a given environment,
 * collects everything it prints, and tells when it is ready or has exited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort } from './redis-server.ts';

/** The OPS_TOKEN every spawned server gets unless the caller sets its own (`/health`, `/metrics`). */
export const TEST_OPS_TOKEN = 'test-ops-token-0123456789abcdefghijkl';
/** Headers that open `/health` and `/metrics` on a spawned server. */
export const OPS_HEADERS: Record<string, string> = { authorization: `Bearer ${TEST_OPS_TOKEN}` };

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly baseUrl: string;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** Parsed JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  /** Resolves with the exit code (and the time of exit). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
  /** Resolves when a log line with this msg (substring) appears; rejects on exit or timeout. */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
  /** Polls /health/ready until 200 (works at any LOG_LEVEL); rejects if the process exits first. */
  waitForReady(timeoutMs?: number): Promise<void>;
}

/**
 * The database a spawned server gets: with DATABASE_URL in the test environment, real
 * PostgreSQL in a schema of its own (dropped after exit); otherwise in-memory PGlite.
 */
function databaseEnv(): { env: Record<string, string>; cleanup: () => Promise<void> } {
  const url = process.env['DATABASE_URL'];
  if (url === undefined || url === '') return { env: { PGLITE_DATA_DIR: 'memory://' }, cleanup: async () => {} };
  const schema = `srv_${randomBytes(6).toString('hex')}`;
  return {
    env: { DATABASE_URL: url, DATABASE_SCHEMA: schema },
    cleanup: async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

/** `nodeArgs`: Node.js options before the server's script, after tsx's loader (an `--import` of an SDK, say). */
export async function spawnServer(env: Record<string, string | undefined>, options: { nodeArgs?: readonly string[] } = {}): Promise<ServerProcess> {
  const port = await freePort();
  const database = databaseEnv();
  const cleanEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    // The parent's configuration must not leak into the server under test.
    if (v !== undefined && !/^(REDIS_|DATABASE_URL|NODE_ENV|CACHE_|PORT|HOST|DB_|SEED_|PGLITE_|OPS_|ADMIN_|DASHBOARD_)/.test(k)) cleanEnv[k] = v;
  }
  for (const [k, v] of Object.entries({ PORT: String(port), LOG_LEVEL: 'info', OPS_TOKEN: TEST_OPS_TOKEN, ...database.env, ...env })) {
    if (v !== undefined) cleanEnv[k] = v;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', ...(options.nodeArgs ?? []), 'src/app/server.ts'], { env: cleanEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((resolve) => {
    child.once('exit', (code, signal) => {
      const atMs = Date.now();
      // Let the pipes drain (and drop the test's schema) before reporting.
      const report = (): void => {
        resolve({ code, signal, atMs });
        for (const l of listeners) l();
      };
      setTimeout(() => {
        database.cleanup().then(report, report);
      }, 50);
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const logs = (): Array<Record<string, unknown>> =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  return {
    child,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => out,
    logs,
    exited,
    waitForLog(msg, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = logs().find((l) => typeof l['msg'] === 'string' && l['msg'].includes(msg));
          if (hit !== undefined) {
            cleanup();
            resolve(hit);
          } else if (done) {
            cleanup();
            reject(new Error(`server exited before logging "${msg}":\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no "${msg}" within ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    kill(signal = 'SIGTERM') {
      child.kill(signal);
    },
    async waitForReady(timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until && !done) {
        const status = await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.status, () => 0);
        if (status === 200) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`server not ready within ${timeoutMs} ms:\n${out}`);
    },
  };
}
