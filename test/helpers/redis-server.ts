/**
 * Throwaway redis-server processes for tests. Each test file starts its own server on a
 * free port with persistence off, so it can kill, freeze, restart and flush it without
 * touching 127.0.0.1:6379 or anybody else's data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';

export interface RedisServerOptions {
  /** `requirepass` for the server; default none. */
  password?: string;
  /** Extra `--flag value` arguments for redis-server (after the helper's own: later ones win). */
  extraArgs?: string[];
  /**
   * A fixed port instead of a free one. Without it a port that turns out to be taken between
   * `freePort()` and the bind is replaced by another; with it the caller chose, so it fails.
   */
  port?: number;
  /**
   * Text of a config file written to `<dir>/redis.conf` and passed first on the command line.
   * Sentinels need one: they rewrite it with what they learn (CONFIG REWRITE).
   */
  config?: string;
  /** Run as a sentinel (`redis-server <conf> --sentinel`); needs `config` (`sentinel monitor …`). */
  sentinel?: boolean;
  /** TLS only: `--port 0 --tls-port <port>`; the url becomes `rediss://`. */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** `--loglevel`; default `warning`. The log goes to `<dir>/redis.log`. */
  logLevel?: 'debug' | 'verbose' | 'notice' | 'warning';
  /** Longest wait for the server to answer after spawning it, in ms. Default 10,000. */
  startTimeoutMs?: number;
  /**
   * The server program: `redis-server` (on the PATH) by default, or a path, such as Valkey's from
   * `valkeyServerPath()`. Valkey takes the same arguments and answers the same protocol.
   */
  program?: string;
}

/**
 * Valkey ≥ 8.1 (`SET … IFEQ`), for the suites' `valkey` topology and `npm run bench`:
 * `$VALKEY_SERVER`, else what `scripts/fetch-valkey.sh` leaves in `.cache/valkey/bin` (.ci/run
 * runs it); undefined when neither is there.
 */
export function valkeyServerPath(): string | undefined {
  const fromEnv = process.env['VALKEY_SERVER'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const fetched = resolve(fileURLToPath(new URL('../../.cache/valkey/bin/valkey-server', import.meta.url)));
  return existsSync(fetched) ? fetched : undefined;
}

export interface TestRedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` (with the password when one is set); `rediss://` with `tls`. */
  readonly url: string;
  readonly pid: number | undefined;
  /** Whether the process is running (started and neither killed nor exited; a frozen one is running). */
  readonly running: boolean;
  /** The server's own folder (its `--dir`): config, log, cluster `nodes.conf`. Removed by stop(). */
  readonly dir: string;
  /** `<dir>/redis.log`. */
  readonly logFile: string;
  /** The last `lines` lines of the log (for error messages). */
  logTail(lines?: number): string;
  /** SIGKILL the server: the TCP port closes and clients see a dropped connection. */
  kill(): Promise<void>;
  /** SIGSTOP: the socket stays open and accepts, but nothing answers. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  resume(): void;
  /** Start the server again on the same port (and folder) after kill(). */
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

function tcpOpen(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The last lines of a file, or a note that there is none. */
export function fileTail(file: string, lines = 30): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** A server could not bind its port: another process took it after freePort() found it free. */
export class PortTakenError extends Error {}

/** Attempts on a fresh port when the one freePort() found is taken before the server binds it. */
export const PORT_ATTEMPTS = 5;

/** Whether a server's output says its port was taken (redis-server and Java both word it so). */
export const portTakenIn = (output: string): boolean => /Address already in use/.test(output);

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<TestRedisServer> {
  let port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), opts.sentinel === true ? 'rcl-sentinel-' : 'rcl-redis-'));
  const logFile = join(dir, 'redis.log');
  const configFile = join(dir, 'redis.conf');
  if (opts.config !== undefined) writeFileSync(configFile, opts.config);
  if (opts.sentinel === true && opts.config === undefined) throw new Error('a sentinel needs a config (sentinel monitor …)');
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  const program = opts.program ?? 'redis-server';
  let child: ChildProcess | undefined;
  let frozen = false;

  const args = (): string[] => [
    ...(opts.config === undefined ? [] : [configFile]),
    ...(opts.sentinel === true ? ['--sentinel'] : []),
    ...(opts.tls === undefined
      ? ['--port', String(port)]
      : ['--port', '0', '--tls-port', String(port), '--tls-cert-file', opts.tls.certFile, '--tls-key-file', opts.tls.keyFile, '--tls-ca-cert-file', opts.tls.caFile, '--tls-auth-clients', 'no']),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--logfile', logFile,
    '--loglevel', opts.logLevel ?? 'warning',
    ...(opts.password === undefined ? [] : ['--requirepass', opts.password]),
    ...(opts.extraArgs ?? []),
  ];

  /**
   * The port answering is not enough: if another process took it after freePort(), our server
   * exits on the bind while the port answers for the other one. So: our process is still
   * running, and the server on the port reports our process id.
   */
  const answersAsUs = async (c: ChildProcess): Promise<boolean> => {
    const client = createClient({
      socket: {
        host: '127.0.0.1',
        port,
        connectTimeout: 1000,
        reconnectStrategy: false,
        ...(opts.tls === undefined ? {} : { tls: true as const, ca: readFileSync(opts.tls.caFile) }),
      },
      ...(opts.password === undefined ? {} : { password: opts.password }),
    });
    client.on('error', () => {});
    try {
      await client.connect();
      const info = await client.sendCommand<string>(['INFO', 'server']);
      return new RegExp(`process_id:${c.pid}\\r?\\n`).test(info);
    } catch {
      return false;
    } finally {
      // A client whose connect failed has already closed itself, and destroy() would throw.
      if (client.isOpen) client.destroy();
    }
  };

  const launchOnce = async (): Promise<void> => {
    const c = spawn(program, args(), { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    let stderr = '';
    c.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const until = Date.now() + startTimeoutMs;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) {
        const log = fileTail(logFile);
        if (opts.port === undefined && portTakenIn(log + stderr)) throw new PortTakenError(`port ${port} taken`);
        throw new Error(`${program} on port ${port} exited (${c.exitCode ?? c.signalCode}) before answering; ${logFile}:\n${log}\n${stderr}`);
      }
      if ((await tcpOpen(port)) && (await answersAsUs(c))) return;
      if (Date.now() > until) {
        c.kill('SIGKILL');
        throw new Error(`${program} (pid ${c.pid}) did not answer on port ${port} within ${startTimeoutMs} ms; ${logFile}:\n${fileTail(logFile)}\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const launch = async (first: boolean): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await launchOnce();
        return;
      } catch (err) {
        if (!(err instanceof PortTakenError) || !first || attempt >= PORT_ATTEMPTS) throw err;
        port = await freePort();
      }
    }
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

  try {
    await launch(true);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const auth = opts.password === undefined ? '' : `:${encodeURIComponent(opts.password)}@`;
  const scheme = opts.tls === undefined ? 'redis' : 'rediss';
  return {
    get port() {
      return port;
    },
    get url() {
      return `${scheme}://${auth}127.0.0.1:${port}`;
    },
    get pid() {
      return child?.pid;
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    dir,
    logFile,
    logTail: (lines?: number) => fileTail(logFile, lines),
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
      await launch(false);
    },
    async stop() {
      await killChild();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type RawRedisClient = ReturnType<typeof createClient>;

/** A throwaway server and a plain node-redis client on it, for looking at what the cache wrote. */
export async function startRedisWithClient(opts: RedisServerOptions = {}): Promise<{ server: TestRedisServer; raw: RawRedisClient }> {
  const server = await startRedisServer(opts);
  const raw = createClient({ url: server.url });
  raw.on('error', () => {});
  await raw.connect();
  return { server, raw };
}
