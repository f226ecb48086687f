/**
 * Throwaway redis-server processes for tests. Each test file starts its own server on a
 * free port with persistence off, so it can kill, freeze, restart and flush it without
 * touching 127.0.0.1:6379 or anybody else's data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';

export interface RedisServerOptions {
  /** `requirepass` for the server; default none. */
  password?: string;
  /** Extra `--flag value` arguments for redis-server. */
  extraArgs?: string[];
}

export interface TestRedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` (with the password when one is set). */
  readonly url: string;
  readonly pid: number | undefined;
  /** SIGKILL the server: the TCP port closes and clients see a dropped connection. */
  kill(): Promise<void>;
  /** SIGSTOP: the socket stays open and accepts, but nothing answers. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  resume(): void;
  /** Start the server again on the same port after kill(). */
  restart(): Promise<void>;
  /** Stop for good and remove its folder. */
  stop(): Promise<void>;
}

/** A TCP port that nothing is listening on at the time of the call. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        reject(new Error('no port'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server did not open port ${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<TestRedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rcl-redis-'));
  let child: ChildProcess | undefined;
  let frozen = false;

  const launch = async (): Promise<void> => {
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--dir', dir,
      '--daemonize', 'no',
      '--loglevel', 'warning',
      ...(opts.password === undefined ? [] : ['--requirepass', opts.password]),
      ...(opts.extraArgs ?? []),
    ];
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPort(port, 10_000);
  };

  const killChild = async (): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    if (frozen) c.kill('SIGCONT');
    frozen = false;
    c.kill('SIGKILL');
    await exited;
  };

  await launch();
  const auth = opts.password === undefined ? '' : `:${encodeURIComponent(opts.password)}@`;
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    kill: killChild,
    freeze() {
      frozen = true;
      child?.kill('SIGSTOP');
    },
    resume() {
      frozen = false;
      child?.kill('SIGCONT');
    },
    async restart() {
      await killChild();
      await launch();
    },
    async stop() {
      await killChild();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type RawRedisClient = ReturnType<typeof createClient>;

/** A throwaway server and a plain node-redis client on it, for looking at what the cache wrote. */
export async function startRedisWithClient(): Promise<{ server: TestRedisServer; raw: RawRedisClient }> {
  const server = await startRedisServer();
  const raw = createClient({ url: server.url });
  raw.on('error', () => {});
  await raw.connect();
  return { server, raw };
}
