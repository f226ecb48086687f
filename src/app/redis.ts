/**
 * The Redis policy: mandatory in production, optional in development, never hanging.
 *
 * - Boot: connect and PING within REDIS_CONNECT_TIMEOUT_MS, retrying transient failures inside
 *   that window and giving up at once on ones that will not heal by retrying (authentication,
 *   TLS). The failure is classified so the operator reads which of them it was.
 * - Running: node-redis reconnects with `min(attempt × 100, 3000)` ms ± 20 % jitter. After
 *   REDIS_RECONNECT_MAX_ATTEMPTS failed attempts `onGiveUp` runs (production: stop accepting,
 *   finish in-flight requests, exit 1). The window is the sum of the delays (`reconnectWindow`,
 *   21 s nominal for 20 attempts); a timer caps it at the jittered maximum, so attempts that hang
 *   on a host dropping packets (each up to the connect timeout) cannot stretch it.
 * - A monitor PINGs every second under the command deadline, so a frozen server (socket open,
 *   nothing answering) turns readiness off even though the client still looks connected.
 */
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { createClient } from 'redis';
import { reconnectDelayMs, reconnectWindow, type NodeRedisClient } from '../cache/index.ts';
import type { AppConfig } from './config.ts';
import { maskUrl } from './config.ts';

export type BootFailureKind = 'closed-port' | 'wrong-password' | 'tls' | 'frozen' | 'connect-timeout' | 'dns' | 'other';

export class RedisBootError extends Error {
  readonly code = 'E_REDIS_BOOT';
  readonly kind: BootFailureKind;
  constructor(kind: BootFailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisBootError';
    this.kind = kind;
  }
}

export interface PolicyLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  fatal(obj: object, msg: string): void;
}

export interface RedisPolicyHooks {
  /** The bounded reconnect window ran out. */
  onGiveUp?: (attempts: number) => void;
  onReady?: () => void;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code} ` : ''}${err.message}`;
  }
  return String(err);
}

const isAuthError = (t: string): boolean => /WRONGPASS|NOAUTH|invalid password|invalid username-password|AUTH/.test(t);
const isTlsError = (t: string): boolean => /ERR_SSL|ERR_TLS|CERT|certificate|self[- ]signed|SSL routines|wrong version number|UNABLE_TO_VERIFY|EPROTO/i.test(t);

/**
 * A plain TCP connect to the Redis host, so a failure can be told apart: nothing listening,
 * host unknown, or a server that accepts connections and then says nothing.
 */
function probeTcp(url: string, timeoutMs: number): Promise<'open' | Error> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const socket = tcpConnect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port === '' ? 6379 : u.port) });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(new Error('TCP connect timed out'));
    }, Math.max(timeoutMs, 1));
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('open');
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}

/**
 * Node's codes for a server certificate that did not verify: OpenSSL's X509 verify results
 * (`SELF_SIGNED_CERT_IN_CHAIN`, `UNABLE_TO_GET_ISSUER_CERT_LOCALLY`, `CERT_HAS_EXPIRED`, …) and
 * the host name check. OpenSSL's wording ("self-signed certificate in certificate chain" for a
 * CA file that is simply the wrong one) misleads, so the message says what was checked against what.
 */
const CERT_VERIFY_CODE = /^(UNABLE_TO_|SELF_SIGNED_CERT_IN_CHAIN$|DEPTH_ZERO_SELF_SIGNED_CERT$|CERT_|INVALID_CA$|INVALID_PURPOSE$|PATH_LENGTH_EXCEEDED$|HOSTNAME_MISMATCH$|ERR_TLS_CERT_ALTNAME_INVALID$)/;

function certVerifyCode(err: unknown): string | undefined {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && CERT_VERIFY_CODE.test(code) ? code : undefined;
}

export function classifyBootFailure(err: unknown, tcpConnected: boolean, timeoutMs: number, url: string, tlsCaFile?: string): RedisBootError {
  const text = errorText(err);
  const where = maskUrl(url) ?? '';
  if (isAuthError(text)) return new RedisBootError('wrong-password', `Redis at ${where} refused authentication (wrong password or user): ${text}`, { cause: err });
  if (certVerifyCode(err) !== undefined) {
    // Node's `ca` replaces the default trusted CAs, so with REDIS_TLS_CA_FILE only that file counts.
    const against = tlsCaFile === undefined ? "Node's default CAs (REDIS_TLS_CA_FILE is not set)" : `REDIS_TLS_CA_FILE (${tlsCaFile})`;
    return new RedisBootError('tls', `TLS failure connecting to Redis at ${where}: certificate verification failed against ${against}: ${text}`, { cause: err });
  }
  if (isTlsError(text)) return new RedisBootError('tls', `TLS failure connecting to Redis at ${where}: ${text}`, { cause: err });
  if (/ECONNREFUSED/.test(text)) return new RedisBootError('closed-port', `Redis at ${where} refused the connection (closed port: nothing listening)`, { cause: err });
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return new RedisBootError('dns', `Redis host in ${where} could not be resolved`, { cause: err });
  if (tcpConnected && url.startsWith('rediss://')) {
    return new RedisBootError('tls', `TLS failure: the TLS handshake with Redis at ${where} did not complete within ${timeoutMs} ms (is the server speaking TLS?)`, { cause: err });
  }
  if (tcpConnected) {
    return new RedisBootError('frozen', `Redis at ${where} accepted the TCP connection but did not answer within ${timeoutMs} ms (frozen or overloaded server)`, { cause: err });
  }
  if (/timeout|timed out/i.test(text) || err === undefined) {
    return new RedisBootError('connect-timeout', `No connection to Redis at ${where} within ${timeoutMs} ms`, { cause: err });
  }
  return new RedisBootError('other', `Could not connect to Redis at ${where}: ${text}`, { cause: err });
}

export interface RedisConnection {
  client: NodeRedisClient;
  /** Failed reconnect attempts since the last successful connection. */
  readonly reconnectAttempts: number;
  readonly totalReconnectAttempts: number;
  /** True when the socket is ready and the last monitor PING answered in time. */
  readonly healthy: boolean;
  readonly state: 'ready' | 'reconnecting' | 'unresponsive' | 'closed';
  close(): Promise<void>;
}

/**
 * Connects under the boot deadline. Resolves a live connection (reconnecting by the running
 * policy from then on) or rejects with a classified RedisBootError, leaving nothing open.
 */
export async function connectRedis(
  config: AppConfig,
  url: string,
  logger: PolicyLogger,
  hooks: RedisPolicyHooks = {},
  /** Failed reconnect attempts before giving up; Infinity never gives up (development). */
  maxReconnectAttempts: number = config.redisReconnectMaxAttempts,
): Promise<RedisConnection> {
  const timeoutMs = config.redisConnectTimeoutMs;
  const deadline = Date.now() + timeoutMs;
  let phase: 'boot' | 'running' | 'closed' = 'boot';
  let lastError: unknown;
  let tcpConnected = false;
  let attempts = 0;
  let totalAttempts = 0;
  let pingOk = true;
  let errorLoggedAt = 0;
  let suppressed = 0;
  let gaveUp = false;
  let windowTimer: NodeJS.Timeout | undefined;
  const giveUp = (failed: number): void => {
    if (gaveUp) return;
    gaveUp = true;
    clearTimeout(windowTimer);
    hooks.onGiveUp?.(failed);
  };

  const tls = url.startsWith('rediss://');
  const client: NodeRedisClient = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: timeoutMs,
      ...(tls ? { tls: true as const, rejectUnauthorized: true, ...(config.redisTlsCaFile === undefined ? {} : { ca: readFileSync(config.redisTlsCaFile) }) } : {}),
      reconnectStrategy: (retries: number, cause: Error) => {
        lastError = cause;
        if (phase === 'closed') return false;
        if (phase === 'boot') {
          const t = errorText(cause);
          if (isAuthError(t) || isTlsError(t) || Date.now() >= deadline) return new Error('boot window over');
          return Math.min(100 * (retries + 1), 500, Math.max(deadline - Date.now(), 1));
        }
        if (gaveUp) return new Error('reconnect window over');
        attempts = retries + 1;
        totalAttempts++;
        if (attempts === 1 && Number.isFinite(maxReconnectAttempts)) {
          const capMs = reconnectWindow(maxReconnectAttempts).maxMs;
          windowTimer = setTimeout(() => giveUp(attempts), capMs);
          windowTimer.unref();
        }
        if (attempts > maxReconnectAttempts) {
          giveUp(attempts - 1);
          return new Error(`gave up after ${attempts - 1} reconnect attempts`);
        }
        return reconnectDelayMs(Math.min(attempts, 1000));
      },
    },
  });
  client.on('connect', () => {
    tcpConnected = true;
  });
  client.on('ready', () => {
    if (phase === 'running') {
      if (attempts > 0) logger.info({ attempts }, 'Redis reconnected');
      clearTimeout(windowTimer);
      attempts = 0;
      pingOk = true;
      hooks.onReady?.();
    }
  });
  // An unhandled 'error' event would crash the process; one line per 5 s at most.
  client.on('error', (err: unknown) => {
    lastError = err;
    if (phase === 'boot') return;
    const now = Date.now();
    if (now - errorLoggedAt >= 5000) {
      logger.warn({ err: { message: errorText(err) }, suppressed, reconnectAttempt: attempts }, 'Redis connection error');
      errorLoggedAt = now;
      suppressed = 0;
    } else suppressed++;
  });

  // Fails fast and names the cause when nothing listens; otherwise marks TCP as reachable.
  const probe = await probeTcp(url, deadline - Date.now());
  if (probe === 'open') tcpConnected = true;
  else {
    phase = 'closed';
    throw classifyBootFailure(probe, false, timeoutMs, url);
  }
  try {
    await withDeadline(client.connect(), deadline - Date.now());
    await withDeadline(client.ping(), deadline - Date.now());
  } catch (err) {
    phase = 'closed';
    destroyQuietly(client);
    throw classifyBootFailure(lastError ?? err, tcpConnected, timeoutMs, url, tls ? config.redisTlsCaFile : undefined);
  }
  phase = 'running';

  // Liveness of the server, not of the socket: a SIGSTOPped Redis keeps the socket open.
  const monitor = setInterval(() => {
    if (!client.isReady) return;
    withDeadline(client.ping(), config.redisCommandTimeoutMs).then(
      () => {
        if (!pingOk) logger.info({}, 'Redis answers again');
        pingOk = true;
      },
      () => {
        if (pingOk) logger.warn({ timeoutMs: config.redisCommandTimeoutMs }, 'Redis did not answer PING in time: readiness off');
        pingOk = false;
      },
    );
  }, 1000);
  monitor.unref();

  return {
    client,
    get reconnectAttempts() {
      return attempts;
    },
    get totalReconnectAttempts() {
      return totalAttempts;
    },
    get healthy() {
      return client.isReady && pingOk;
    },
    get state() {
      if (phase === 'closed') return 'closed';
      if (!client.isReady) return 'reconnecting';
      return pingOk ? 'ready' : 'unresponsive';
    },
    async close() {
      phase = 'closed';
      clearInterval(monitor);
      clearTimeout(windowTimer);
      if (client.isOpen) await withDeadline(client.close(), config.redisCommandTimeoutMs).catch(() => destroyQuietly(client));
    },
  };
}

/** destroy() throws on a client that already closed itself (a refused reconnect, for one). */
function destroyQuietly(client: NodeRedisClient): void {
  try {
    if (client.isOpen) client.destroy();
  } catch {
    // Already closed: nothing left to release.
  }
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${Math.max(ms, 0)} ms`)), Math.max(ms, 0));
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
