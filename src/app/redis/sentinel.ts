/**
 * A master found through Redis Sentinel (`REDIS_SENTINELS`, `REDIS_SENTINEL_MASTER`):
 * node-redis's sentinel client, which asks the sentinels for the master and follows a failover.
 *
 * - Boot: before the client is created, a pre-flight names what fails: TCP to the sentinels (all
 *   closed: fail at once), the master's address from one of them (their password, the master
 *   name), then AUTH + PING on that master (the data nodes' password, TLS). node-redis's own
 *   connect loop retries such failures for ~17 s and prints them with console.log, so it only
 *   runs once the pre-flight has passed, under what is left of the connect window.
 * - Running: the connection is usable while a master connection is ready; the master's client
 *   reconnects by itself, forever, until the sentinels name a new master (node-redis then
 *   replaces it). Unusable starts the reconnect window; a failover is over well within it when
 *   `down-after-milliseconds` plus the election are (see docs/redis-topologies.md).
 * - The replicas and the other sentinels carry no traffic: their state is the sentinels' view,
 *   read every few seconds on a short connection to one sentinel.
 */
import { createClient, createSentinel } from 'redis';
import { reconnectDelayMs, type L1Options } from '../../cache/index.ts';
import { describeRedisTarget, hostPort, type AppConfig, type HostPort, type SentinelRedisTarget } from '../config.ts';
import { classifyBootFailure, isPermanent, probeAll, probeTcp, RedisBootError } from './boot-errors.ts';
import { connectionHandle, destroyClient, ErrorLog, every, ReconnectWindow, sleep, stateWatcher, tlsSocket, withDeadline, type PolicyLogger, type RedisConnection, type RedisNodeStatus, type RedisPolicyHooks } from './policy.ts';

/** How often the sentinels' view of replicas and sentinels is read (and after each topology change). */
const VIEW_EVERY_TICKS = 5;

interface ShortClientOptions {
  username?: string | undefined;
  password?: string | undefined;
  tls: boolean;
}

/** Commands on a fresh connection that never reconnects, under a deadline; always closed after. */
async function askOnce<T>(config: AppConfig, node: HostPort, o: ShortClientOptions, timeoutMs: number, run: (send: (args: string[]) => Promise<unknown>) => Promise<T>): Promise<T> {
  const client = createClient({
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(o.password === undefined ? {} : { password: o.password }),
    socket: { host: node.host, port: node.port, connectTimeout: Math.max(timeoutMs, 1), reconnectStrategy: false, ...tlsSocket(config, o.tls) },
  });
  let failure: unknown;
  client.on('error', (err: unknown) => {
    failure ??= err;
  });
  try {
    return await withDeadline(
      (async () => {
        await client.connect();
        return run((args) => client.sendCommand(args));
      })(),
      timeoutMs,
    );
  } catch (err) {
    // A socket error (ECONNREFUSED, a TLS alert) says more than the deadline's rejection.
    throw failure ?? err;
  } finally {
    destroyClient(client);
  }
}

/**
 * The in-process tier's channel client on a data node (createCache's `l1.sentinelNodeClient`):
 * the data nodes' credentials and TLS, as the master client below gets them. node-redis keeps a
 * sentinel client's node options private, so the cache cannot derive them from the client.
 */
export function sentinelNodeClient(config: AppConfig, target: SentinelRedisTarget): NonNullable<L1Options['sentinelNodeClient']> {
  return ({ host, port }) =>
    createClient({
      RESP: 2,
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      socket: { host, port, connectTimeout: config.redisConnectTimeoutMs, ...tlsSocket(config, target.tls) },
    });
}

/** A flat [k1, v1, k2, v2, …] reply (RESP2 map) as a Map. */
function pairs(reply: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), String(reply[i + 1]));
  return out;
}

export async function connectSentinel(config: AppConfig, target: SentinelRedisTarget, logger: PolicyLogger, hooks: RedisPolicyHooks, maxReconnectAttempts: number): Promise<RedisConnection> {
  const timeoutMs = config.redisConnectTimeoutMs;
  const commandMs = config.redisCommandTimeoutMs;
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(deadline - Date.now(), 1);
  const name = target.masterName;
  const where = describeRedisTarget(target) ?? '';
  const sentinelList = target.sentinels.map(hostPort).join(', ');
  const sentinelAuth: ShortClientOptions = { password: target.sentinelPassword, tls: target.tls };
  const dataAuth: ShortClientOptions = { username: target.username, password: target.password, tls: target.tls };
  const tlsCaFile = target.tls ? config.redisTlsCaFile : undefined;
  const sentinelCtx = { what: 'Sentinel', tls: target.tls, tlsCaFile, timeoutMs, credentials: 'REDIS_SENTINEL_PASSWORD' };
  const masterCtx = { what: 'Redis master', tls: target.tls, tlsCaFile, timeoutMs, credentials: 'REDIS_PASSWORD / REDIS_USERNAME' };

  // Pre-flight: some sentinel listens (all closed: fail at once, as a closed REDIS_URL port does),
  // it names the master, the master lets us in. The last two are retried inside the window (a
  // failover under way at boot); passwords, TLS and an unknown master name are not.
  await probeAll(target.sentinels, left(), { ...sentinelCtx, what: 'Sentinels', where: sentinelList }, timeoutMs);
  const findMaster = async (): Promise<HostPort> => {
    let lastErr: unknown;
    for (const [i, s] of target.sentinels.entries()) {
      try {
        // A share of what is left, so one silent sentinel cannot use up the window.
        const ms = Math.max(Math.floor(left() / (target.sentinels.length - i)), 1);
        const addr = await askOnce(config, s, sentinelAuth, ms, (send) => send(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]));
        if (!Array.isArray(addr) || addr.length < 2) throw new RedisBootError('unusable', `The sentinels at ${sentinelList} know no master named ${JSON.stringify(name)} (REDIS_SENTINEL_MASTER)`);
        return { host: String(addr[0]), port: Number(addr[1]) };
      } catch (err) {
        if (err instanceof RedisBootError) throw err;
        if (isPermanent(err)) throw classifyBootFailure(err, { ...sentinelCtx, where: hostPort(s), tcpConnected: true });
        lastErr = err;
      }
    }
    throw classifyBootFailure(lastErr, { ...sentinelCtx, what: 'Sentinels', where: sentinelList, tcpConnected: true });
  };
  const checkMaster = async (master: HostPort): Promise<void> => {
    const masterWhere = `${hostPort(master)} (the master the sentinels name ${JSON.stringify(name)})`;
    const tcp = await probeTcp(master, left());
    if (tcp !== 'open') throw classifyBootFailure(tcp, { ...masterCtx, where: masterWhere, tcpConnected: false });
    await askOnce(config, master, dataAuth, left(), (send) => send(['PING'])).catch((err: unknown) => {
      throw classifyBootFailure(err, { ...masterCtx, where: masterWhere, tcpConnected: true });
    });
  };
  for (;;) {
    try {
      await checkMaster(await findMaster());
      break;
    } catch (err) {
      const kind = err instanceof RedisBootError ? err.kind : 'other';
      if (kind === 'wrong-password' || kind === 'tls' || kind === 'unusable' || kind === 'dns' || deadline - Date.now() < 300) throw err;
      await sleep(250);
    }
  }

  let phase: 'boot' | 'running' | 'closed' = 'boot';
  let lastError: unknown;
  const errors = new ErrorLog(logger, 'Redis Sentinel connection error');
  const window = new ReconnectWindow(maxReconnectAttempts, (attempts) => hooks.onGiveUp?.(attempts, `no master connection through Sentinel (${name}) for the whole reconnect window`));
  const client = createSentinel({
    name,
    sentinelRootNodes: target.sentinels.map((n) => ({ host: n.host, port: n.port })),
    nodeClientOptions: {
      disableOfflineQueue: true,
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      socket: {
        connectTimeout: timeoutMs,
        ...tlsSocket(config, target.tls),
        reconnectStrategy: (retries: number, cause: Error) => {
          lastError = cause;
          if (phase === 'closed') return false;
          if (phase === 'boot') return isPermanent(cause) || Date.now() >= deadline ? new Error('boot window over') : Math.min(100 * (retries + 1), 500, left());
          // Never gives up by itself: node-redis keeps using a closed master client until the
          // sentinels name another master. Giving up is the window's decision.
          window.attempt();
          return reconnectDelayMs(Math.min(retries + 1, 1000));
        },
      },
    },
    passthroughClientErrorEvents: true,
    sentinelClientOptions: {
      ...(target.sentinelPassword === undefined ? {} : { password: target.sentinelPassword }),
      socket: { connectTimeout: timeoutMs, ...tlsSocket(config, target.tls) },
    },
  });
  // 'error' carries strings as well as Errors (node-redis's observe loop), and with
  // passthroughClientErrorEvents the master connection's errors too.
  client.on('error', (err: unknown) => {
    lastError = err;
    if (phase === 'running') errors.note(err);
  });

  try {
    await withDeadline(client.connect(), left());
    await withDeadline(client.sendCommand(false, ['PING']), left());
  } catch (err) {
    phase = 'closed';
    destroyClient(client);
    throw classifyBootFailure(lastError ?? err, { ...masterCtx, where, tcpConnected: true });
  }
  phase = 'running';

  let pingOk = true;
  let lastMaster = client.getMasterNode();
  /** Replicas and sentinels as the sentinels see them (undefined until read; stale when unread). */
  let view: RedisNodeStatus[] | undefined;
  let viewFresh = false;
  let ticks = 0;
  let viewDue = true;
  let sentinelTurn = 0;

  /** Reads SENTINEL REPLICAS and SENTINEL SENTINELS from the first sentinel that answers. */
  const readView = async (ms: number): Promise<void> => {
    const down: RedisNodeStatus[] = [];
    for (let i = 0; i < target.sentinels.length; i++) {
      const s = target.sentinels[(sentinelTurn + i) % target.sentinels.length] as HostPort;
      try {
        const [replicas, sentinels] = await askOnce(config, s, sentinelAuth, ms, (send) => Promise.all([send(['SENTINEL', 'REPLICAS', name]), send(['SENTINEL', 'SENTINELS', name])]));
        const flagged = (m: Map<string, string>): boolean => /s_down|o_down|disconnected/.test(m.get('flags') ?? '');
        const next: RedisNodeStatus[] = [];
        for (const r of (Array.isArray(replicas) ? replicas : []).map(pairs)) {
          next.push({ address: hostPort({ host: r.get('ip') ?? '', port: Number(r.get('port')) }), role: 'replica', state: flagged(r) ? 'down' : r.get('master-link-status') === 'ok' ? 'ready' : 'connecting', observedVia: 'sentinel' });
        }
        next.push({ address: hostPort(s), role: 'sentinel', state: 'ready', observedVia: 'client' });
        const seen = new Set([hostPort(s)]);
        for (const p of (Array.isArray(sentinels) ? sentinels : []).map(pairs)) {
          const address = hostPort({ host: p.get('ip') ?? '', port: Number(p.get('port')) });
          seen.add(address);
          next.push({ address, role: 'sentinel', state: flagged(p) ? 'down' : 'ready', observedVia: 'sentinel' });
        }
        for (const d of down) if (!seen.has(d.address)) next.push(d);
        view = next;
        viewFresh = true;
        sentinelTurn = (sentinelTurn + i) % target.sentinels.length;
        return;
      } catch {
        down.push({ address: hostPort(s), role: 'sentinel', state: 'down', observedVia: 'client' });
      }
    }
    viewFresh = false;
  };

  const usable = (): boolean => phase === 'running' && client.isOpen && client.getMasterNode() !== undefined;
  const state = (): RedisConnection['state'] => {
    if (phase === 'closed') return 'closed';
    if (!usable()) return 'reconnecting';
    return pingOk ? 'ready' : 'unresponsive';
  };
  const masterState = { ready: 'ready', unresponsive: 'unresponsive', reconnecting: 'reconnecting', degraded: 'reconnecting', closed: 'down' } as const;
  const nodes = (): RedisNodeStatus[] => {
    const master = client.getMasterNode() ?? lastMaster;
    const out: RedisNodeStatus[] = master === undefined ? [] : [{ address: hostPort(master), role: 'master', state: masterState[state()], observedVia: 'client' }];
    const masterAddress = out[0]?.address;
    // The sentinels may still list the new master as a replica for a moment after a failover.
    for (const n of view ?? []) if (n.address !== masterAddress) out.push(viewFresh || n.observedVia === 'client' ? n : { ...n, state: 'unknown' });
    return out;
  };
  const evaluate = stateWatcher({
    name: 'Redis Sentinel',
    logger,
    window,
    hooks,
    running: () => phase === 'running',
    usable,
    state,
    details: () => ({ master: lastMaster === undefined ? undefined : hostPort(lastMaster) }),
  });
  client.on('topology-change', (event: { type?: string; node?: { host: string; port: number } }) => {
    if (event.type === 'MASTER_CHANGE' && event.node !== undefined) {
      logger.info({ master: hostPort(event.node), name }, 'Redis Sentinel: new master');
      lastMaster = event.node;
    }
    viewDue = true;
    evaluate();
  });

  // The liveness probe goes through the client's own path (a master connection, and node-redis
  // waiting for its sentinels), so a frozen master or a stuck rediscovery turns readiness off.
  const stopMonitor = every(1000, async () => {
    const master = client.getMasterNode();
    if (master !== undefined) lastMaster = master;
    pingOk = master !== undefined && (await withDeadline(client.sendCommand(false, ['PING']), commandMs).then(() => true, () => false));
    evaluate();
    if (viewDue || ++ticks % VIEW_EVERY_TICKS === 0) {
      viewDue = false;
      await readView(commandMs);
    }
  });
  void readView(commandMs);

  return connectionHandle({
    topology: 'sentinel',
    client,
    window,
    healthy: () => usable() && pingOk,
    state,
    nodes: nodes,
    stop: () => {
      phase = 'closed';
      stopMonitor();
    },
    closeTimeoutMs: commandMs,
  });
}
