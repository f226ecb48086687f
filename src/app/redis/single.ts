/**
 * One Redis (`REDIS_URL`): one client, whose reconnect attempts drive the window directly.
 */
import { createClient } from 'redis';
import { reconnectDelayMs, type NodeRedisClient } from '../../cache/index.ts';
import { maskUrl, type AppConfig, type SingleRedisTarget } from '../config.ts';
import { classifyBootFailure, isPermanent, probeTcp } from './boot-errors.ts';
import { connectionHandle, destroyClient, ErrorLog, every, ReconnectWindow, tlsSocket, windowCapMs, withDeadline, type PolicyLogger, type RedisConnection, type RedisPolicyHooks } from './policy.ts';

export async function connectSingle(config: AppConfig, target: SingleRedisTarget, logger: PolicyLogger, hooks: RedisPolicyHooks, maxReconnectAttempts: number): Promise<RedisConnection> {
  const { url } = target;
  const timeoutMs = config.redisConnectTimeoutMs;
  const deadline = Date.now() + timeoutMs;
  let phase: 'boot' | 'running' | 'closed' = 'boot';
  let lastError: unknown;
  let tcpConnected = false;
  let pingOk = true;
  const errors = new ErrorLog(logger, 'Redis connection error');
  const window = new ReconnectWindow(maxReconnectAttempts, (attempts) => hooks.onGiveUp?.(attempts, 'no connection to Redis'));

  const u = new URL(url);
  const node = { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port === '' ? 6379 : u.port) };
  const tls = url.startsWith('rediss://');
  const ctx = { what: 'Redis', where: maskUrl(url) ?? '', tls, tlsCaFile: tls ? config.redisTlsCaFile : undefined, timeoutMs };
  const client: NodeRedisClient = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: timeoutMs,
      ...tlsSocket(config, tls),
      reconnectStrategy: (retries: number, cause: Error) => {
        lastError = cause;
        if (phase === 'closed') return false;
        if (phase === 'boot') {
          if (isPermanent(cause) || Date.now() >= deadline) return new Error('boot window over');
          return Math.min(100 * (retries + 1), 500, Math.max(deadline - Date.now(), 1));
        }
        if (window.gaveUp) return new Error('reconnect window over');
        const attempt = window.attempt();
        // The timer caps the window even when each attempt hangs for a connect timeout.
        if (attempt === 1) window.lost(windowCapMs(maxReconnectAttempts));
        if (attempt > maxReconnectAttempts) {
          window.giveUp(attempt - 1);
          return new Error(`gave up after ${attempt - 1} reconnect attempts`);
        }
        return reconnectDelayMs(Math.min(attempt, 1000));
      },
    },
  });
  client.on('connect', () => {
    tcpConnected = true;
  });
  client.on('ready', () => {
    if (phase !== 'running') return;
    if (window.attempts > 0) logger.info({ attempts: window.attempts }, 'Redis reconnected');
    window.recovered();
    pingOk = true;
    hooks.onReady?.();
  });
  client.on('error', (err: unknown) => {
    lastError = err;
    if (phase !== 'boot') errors.note(err, { reconnectAttempt: window.attempts });
  });

  // Fails fast and names the cause when nothing listens; otherwise marks TCP as reachable.
  const probe = await probeTcp(node, deadline - Date.now());
  if (probe !== 'open') {
    phase = 'closed';
    throw classifyBootFailure(probe, { ...ctx, tcpConnected: false });
  }
  tcpConnected = true;
  try {
    await withDeadline(client.connect(), deadline - Date.now());
    await withDeadline(client.ping(), deadline - Date.now());
  } catch (err) {
    phase = 'closed';
    destroyClient(client);
    throw classifyBootFailure(lastError ?? err, { ...ctx, tcpConnected });
  }
  phase = 'running';

  // Liveness of the server, not of the socket: a SIGSTOPped Redis keeps the socket open.
  const stopMonitor = every(1000, async () => {
    if (!client.isReady) return;
    await withDeadline(client.ping(), config.redisCommandTimeoutMs).then(
      () => {
        if (!pingOk) logger.info({}, 'Redis answers again');
        pingOk = true;
      },
      () => {
        if (pingOk) logger.warn({ timeoutMs: config.redisCommandTimeoutMs }, 'Redis did not answer PING in time: readiness off');
        pingOk = false;
      },
    );
  });

  const state = (): RedisConnection['state'] => {
    if (phase === 'closed') return 'closed';
    if (!client.isReady) return 'reconnecting';
    return pingOk ? 'ready' : 'unresponsive';
  };
  const nodeState = { ready: 'ready', reconnecting: 'reconnecting', unresponsive: 'unresponsive', degraded: 'unresponsive', closed: 'down' } as const;
  return connectionHandle({
    topology: 'single',
    client,
    window,
    healthy: () => client.isReady && pingOk,
    state,
    nodes: () => [{ address: `${node.host.includes(':') ? `[${node.host}]` : node.host}:${node.port}`, role: 'master', state: nodeState[state()], observedVia: 'client' }],
    stop: () => {
      phase = 'closed';
      stopMonitor();
    },
    closeTimeoutMs: config.redisCommandTimeoutMs,
  });
}
