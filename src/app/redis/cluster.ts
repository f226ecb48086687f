/**
 * Redis Cluster (`REDIS_CLUSTER_NODES`): node-redis's cluster client, one connection per master.
 *
 * - Boot: TCP probe of the root nodes (all closed: fail at once), then discovery and a check that
 *   the cluster serves (`cluster_state:ok`), retried inside the connect window; authentication
 *   and TLS failures end it at once.
 * - Running: each master's client reconnects by itself, forever. The connection is *usable* while
 *   some master is connected and the cluster says `cluster_state:ok`; one master down is not a
 *   loss (its slots fail over to its replica, and the library re-reads the slot map), only an
 *   unusable cluster starts the reconnect window. Readiness needs every master connected and
 *   answering PING, so it is off during a failover and back once the promoted replica serves.
 * - Replicas carry no traffic (reads on replicas could serve a value an invalidation already
 *   deleted on the master), so their state is the cluster's view (CLUSTER NODES).
 */
import { createCluster } from 'redis';
import { reconnectDelayMs, type NodeRedisClient } from '../../cache/index.ts';
import { parseClusterNodes } from '../../cache/topology/cluster-nodes.ts';
import { describeRedisTarget, hostPort, type AppConfig, type ClusterRedisTarget } from '../config.ts';
import { classifyBootFailure, isPermanent, probeAll, RedisBootError } from './boot-errors.ts';
import { connectionHandle, destroyClient, ErrorLog, every, ReconnectWindow, sleep, stateWatcher, tlsSocket, withDeadline, type PolicyLogger, type RedisConnection, type RedisNodeStatus, type RedisPolicyHooks } from './policy.ts';

/** A node as the cluster sees it (a CLUSTER NODES line, cluster-nodes.ts parses them). */
interface ClusterViewNode {
  address: string;
  role: 'master' | 'replica';
  failed: boolean;
  connected: boolean;
}

function clusterView(text: string): ClusterViewNode[] {
  return parseClusterNodes(text).flatMap((n) => {
    // A node without an address yet (handshake) has nothing to show.
    if (n.address === '' || n.address.startsWith(':') || n.flags.includes('noaddr') || n.flags.includes('handshake')) return [];
    return [{ address: n.address, role: n.flags.includes('master') ? ('master' as const) : ('replica' as const), failed: n.flags.includes('fail') || n.flags.includes('fail?'), connected: n.linkState === 'connected' || n.flags.includes('myself') }];
  });
}

class ClusterNotServingError extends Error {
  readonly code = 'E_CLUSTER_NOT_SERVING';
  constructor(state: string) {
    super(`the cluster answers but reports cluster_state:${state} (not every slot is served)`);
    this.name = 'ClusterNotServingError';
  }
}

export async function connectCluster(config: AppConfig, target: ClusterRedisTarget, logger: PolicyLogger, hooks: RedisPolicyHooks, maxReconnectAttempts: number): Promise<RedisConnection> {
  const timeoutMs = config.redisConnectTimeoutMs;
  const commandMs = config.redisCommandTimeoutMs;
  const deadline = Date.now() + timeoutMs;
  const where = describeRedisTarget(target) ?? '';
  const ctx = { what: 'Redis Cluster nodes', where, tls: target.tls, tlsCaFile: target.tls ? config.redisTlsCaFile : undefined, timeoutMs, credentials: 'the credentials in REDIS_CLUSTER_NODES' };
  let phase: 'boot' | 'running' | 'closed' = 'boot';
  let lastError: unknown;
  /** An authentication or TLS failure seen at boot: the root nodes are tried in random order, so a later refusal must not hide it. */
  let permanentError: unknown;
  const noteError = (err: unknown): void => {
    lastError = err;
    if (phase === 'boot' && permanentError === undefined && isPermanent(err)) permanentError = err;
  };
  const errors = new ErrorLog(logger, 'Redis Cluster connection error');
  const window = new ReconnectWindow(maxReconnectAttempts, (attempts) => hooks.onGiveUp?.(attempts, 'Redis Cluster unusable for the whole reconnect window (no master connected, or cluster_state not ok)'));

  await probeAll(target.rootNodes, deadline - Date.now(), ctx, timeoutMs);

  const client = createCluster({
    rootNodes: target.rootNodes.map((n) => ({ socket: { host: n.host, port: n.port } })),
    // Applied to every node, the discovered ones included (a root node's URL would not be).
    defaults: {
      disableOfflineQueue: true,
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      socket: {
        connectTimeout: timeoutMs,
        ...tlsSocket(config, target.tls),
        reconnectStrategy: (retries: number, cause: Error) => {
          noteError(cause);
          if (phase === 'closed') return false;
          if (phase === 'boot') {
            if (isPermanent(cause) || Date.now() >= deadline) return new Error('boot window over');
            return Math.min(100 * (retries + 1), 500, Math.max(deadline - Date.now(), 1));
          }
          // A node never gives up by itself: a closed node client would stay in the slot map
          // closed. Giving up is the window's decision, for the cluster as a whole.
          window.attempt();
          return reconnectDelayMs(Math.min(retries + 1, 1000));
        },
      },
    },
  });
  client.on('error', (err: unknown) => {
    noteError(err);
    if (phase === 'running') errors.note(err);
  });
  client.on('node-error', (err: unknown, node: unknown) => {
    noteError(err);
    if (phase === 'running') errors.note(err, { node: addressOf(node) });
  });

  /** PING of each master, by address: false when it did not answer in time. */
  let answered = new Map<string, boolean>();
  /** `cluster_state` and the node list as the last master that answered saw them. */
  let clusterState: string | undefined;
  let view: ClusterViewNode[] = [];
  let viewFresh = false;

  const masterClients = (): Array<{ address: string; client: NodeRedisClient | undefined }> =>
    client.masters.map((m) => ({ address: m.address, client: m.client }));

  /** PINGs every master, then asks one that answered for CLUSTER INFO and CLUSTER NODES. */
  const probe = async (ms: number): Promise<void> => {
    const masters = masterClients();
    const results = await Promise.all(
      masters.map(async (m) => {
        if (m.client?.isReady !== true) return [m.address, false] as const;
        const ok = await withDeadline(m.client.ping(), ms).then(() => true, () => false);
        return [m.address, ok] as const;
      }),
    );
    answered = new Map(results);
    const asked = masters.find((m) => answered.get(m.address) === true)?.client;
    viewFresh = false;
    if (asked === undefined) return;
    try {
      const [info, nodes] = await Promise.all([withDeadline(asked.sendCommand<string>(['CLUSTER', 'INFO']), ms), withDeadline(asked.sendCommand<string>(['CLUSTER', 'NODES']), ms)]);
      clusterState = /cluster_state:(\w+)/.exec(String(info))?.[1] ?? 'unknown';
      view = clusterView(String(nodes));
      viewFresh = true;
    } catch {
      // No answer this round: the previous view stands, marked stale.
    }
  };

  // Boot: discovery (which connects every master), then proof that the cluster serves.
  for (;;) {
    try {
      if (!client.isOpen) await withDeadline(client.connect(), deadline - Date.now());
      await probe(Math.max(deadline - Date.now(), 1));
      if (clusterState === undefined || !masterClients().some((m) => answered.get(m.address) === true)) throw lastError instanceof Error ? lastError : new Error('no master answered PING');
      if (clusterState !== 'ok') throw new ClusterNotServingError(clusterState);
      break;
    } catch (err) {
      const cause = err instanceof ClusterNotServingError ? err : (permanentError ?? lastError ?? err);
      if (isPermanent(cause) || Date.now() >= deadline - 50) {
        phase = 'closed';
        destroyClient(client);
        if (cause instanceof ClusterNotServingError) throw new RedisBootError('unusable', `Redis Cluster at ${where}: ${cause.message}, within ${timeoutMs} ms`, { cause });
        throw classifyBootFailure(cause, { ...ctx, tcpConnected: true });
      }
      await sleep(Math.min(250, deadline - Date.now() - 50));
    }
  }
  phase = 'running';

  const anyMasterConnected = (): boolean => masterClients().some((m) => m.client?.isReady === true);
  const usable = (): boolean => phase === 'running' && client.isOpen && anyMasterConnected() && clusterState === 'ok';
  const everyMasterAnswers = (): boolean => {
    const masters = masterClients();
    return masters.length > 0 && masters.every((m) => m.client?.isReady === true && answered.get(m.address) !== false);
  };
  const state = (): RedisConnection['state'] => {
    if (phase === 'closed') return 'closed';
    if (!usable()) return 'reconnecting';
    if (everyMasterAnswers()) return 'ready';
    return masterClients().every((m) => m.client?.isReady === true && answered.get(m.address) === false) ? 'unresponsive' : 'degraded';
  };

  const nodes = (): RedisNodeStatus[] => {
    const out: RedisNodeStatus[] = masterClients().map((m) => ({
      address: m.address,
      role: 'master',
      state: m.client === undefined ? 'connecting' : !m.client.isReady ? (m.client.isOpen ? 'reconnecting' : 'down') : answered.get(m.address) === false ? 'unresponsive' : 'ready',
      observedVia: 'client',
    }));
    const known = new Set(out.map((n) => n.address));
    for (const v of view) {
      if (known.has(v.address)) continue;
      known.add(v.address);
      out.push({ address: v.address, role: v.role, state: !viewFresh ? 'unknown' : v.failed || !v.connected ? 'down' : 'ready', observedVia: 'cluster' });
    }
    return out;
  };

  const evaluate = stateWatcher({
    name: 'Redis Cluster',
    logger,
    window,
    hooks,
    running: () => phase === 'running',
    usable,
    state,
    details: () => ({ clusterState, mastersNotReady: nodes().filter((n) => n.observedVia === 'client' && n.state !== 'ready').map((n) => n.address) }),
  });
  for (const event of ['node-ready', 'node-reconnecting', 'node-disconnect', 'connect', 'disconnect']) client.on(event, evaluate);
  const stopMonitor = every(1000, async () => {
    await probe(commandMs);
    evaluate();
  });

  return connectionHandle({
    topology: 'cluster',
    client,
    window,
    healthy: () => usable() && everyMasterAnswers(),
    state,
    nodes: nodes,
    stop: () => {
      phase = 'closed';
      stopMonitor();
    },
    closeTimeoutMs: commandMs,
  });
}

/** `host:port` of a node-redis `{ host, port }`, for logs. */
function addressOf(node: unknown): string | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const n = node as { host?: unknown; port?: unknown };
  return typeof n.host === 'string' && typeof n.port === 'number' ? hostPort({ host: n.host, port: n.port }) : undefined;
}
