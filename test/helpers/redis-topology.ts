/**
 * Throwaway Redis Cluster and Sentinel topologies for tests, built from the same redis-server
 * processes as redis-server.ts (own folder, own log, free ports, kill/freeze/restart). Node
 * timeouts are short so that a failover takes seconds, not the production defaults' tens of
 * seconds. Everything is asked of the servers live (CLUSTER NODES, INFO replication, SENTINEL …):
 * after a failover the roles a test started with no longer hold.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createClient, createCluster } from 'redis';
import { freePort, startRedisServer, type TestRedisServer } from './redis-server.ts';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Asking a server something
// ---------------------------------------------------------------------------------------------

/**
 * One command on a fresh connection, under a deadline (a frozen or dead node must not hang a
 * poll loop). Rejects on any failure; callers polling treat that as "not yet".
 */
export async function askNode<T = unknown>(port: number, args: string[], opts: { password?: string | undefined; timeoutMs?: number } = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const client = createClient({
    socket: { host: '127.0.0.1', port, connectTimeout: timeoutMs, reconnectStrategy: false },
    ...(opts.password === undefined ? {} : { password: opts.password }),
  });
  client.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`127.0.0.1:${port} did not answer ${args.join(' ')} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([
      (async () => {
        await client.connect();
        return client.sendCommand<T>(args);
      })(),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
    try {
      client.destroy();
    } catch {
      // already closed
    }
  }
}

/** `field:value` lines of an INFO reply. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

/**
 * Polls `check` until it returns a value (not undefined) or the deadline passes; then rejects
 * with `describe()`'s account of the last state seen, so a failure says what was wrong.
 */
async function waitUntil<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, describe: () => string, intervalMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > until) {
      const cause = lastError instanceof Error ? `\nlast error: ${lastError.message}` : '';
      throw new Error(`${what}: not within ${timeoutMs} ms${cause}\n${describe()}`);
    }
    await sleep(intervalMs);
  }
}

function logTails(servers: readonly TestRedisServer[], lines = 15): string {
  return servers.map((s) => `--- ${s.logFile} (port ${s.port})\n${s.logTail(lines)}`).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Redis Cluster
// ---------------------------------------------------------------------------------------------

export interface RedisClusterOptions {
  /** Default 3. */
  masters?: number;
  /** Default 1. */
  replicasPerMaster?: number;
  /** `requirepass` and `masterauth` of every node. */
  password?: string;
  /**
   * `cluster-node-timeout`, in ms. Default 2000: a failover takes about 3.5–5 s. 1000 halves
   * the wait for failure detection (about 2.5–3 s) but leaves less margin before a node starved
   * of CPU on a busy machine is taken for dead and failed over by mistake.
   */
  nodeTimeoutMs?: number;
  /** Longest wait for the cluster to form, in ms. Default 30,000. */
  startTimeoutMs?: number;
}

export interface ClusterNode {
  readonly port: number;
  /** The cluster bus port (`cluster-port`), chosen free rather than port + 10000, which may be out of range or taken. */
  readonly busPort: number;
  /** `CLUSTER MYID`. */
  readonly id: string;
  /** The role when the cluster formed. Ask `role()`, `masters()` or `replicaOf()` for the current one. */
  readonly initialRole: 'master' | 'replica';
  readonly server: TestRedisServer;
  /** The node's own view of its role now (`INFO replication`). */
  role(): Promise<'master' | 'replica'>;
}

/** One line of CLUSTER NODES. */
export interface ClusterNodesLine {
  id: string;
  port: number;
  flags: string[];
  /** The master's id for a replica; undefined for a master. */
  masterId: string | undefined;
  /** Slot ranges as `a-b` or `a`. */
  slots: string[];
}

export function parseClusterNodes(text: string): ClusterNodesLine[] {
  return text
    .trim()
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const f = line.trim().split(' ');
      const addr = f[1] ?? '';
      const port = Number(/:(\d+)@/.exec(addr)?.[1] ?? NaN);
      return { id: f[0] ?? '', port, flags: (f[2] ?? '').split(','), masterId: f[3] === '-' ? undefined : f[3], slots: f.slice(8) };
    });
}

const failed = (l: ClusterNodesLine): boolean => l.flags.some((f) => f === 'fail' || f === 'fail?' || f === 'handshake' || f === 'noaddr');

export interface TestRedisCluster {
  /** For `createCluster({ rootNodes, defaults })`. No password in the URLs: see `defaults`. */
  readonly rootNodes: Array<{ url: string }>;
  /** `{ password }` when the cluster has one: node-redis uses `defaults` for the nodes it discovers, not a root node's URL. */
  readonly defaults: { password?: string };
  readonly password: string | undefined;
  readonly nodes: readonly ClusterNode[];
  node(port: number): ClusterNode;
  /** The nodes that are masters now, not failed and serving slots, as a live node sees it (CLUSTER NODES). */
  masters(): Promise<ClusterNode[]>;
  /** The node replicating `master` now, if any. */
  replicaOf(master: ClusterNode | number): Promise<ClusterNode | undefined>;
  /** The master serving `key`'s slot now. */
  masterForKey(key: string): Promise<ClusterNode>;
  /** SIGKILL a master (it must be one now). */
  killMaster(port: number): Promise<void>;
  /**
   * Resolves the replica promoted in place of the master at `oldMasterPort` once every live
   * node sees it as master and reports `cluster_state:ok` with all slots served.
   */
  waitForFailover(oldMasterPort: number, timeoutMs?: number): Promise<ClusterNode>;
  /** Every live node: `cluster_state:ok`, all slots ok, no master without slots, every live replica linked to its master. */
  waitForHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes their folders. */
  stop(): Promise<void>;
}

const SLOTS = 16384;

/** Starts one cluster node, choosing both ports again if one was taken meanwhile. */
async function startClusterNode(password: string | undefined, nodeTimeoutMs: number): Promise<{ server: TestRedisServer; busPort: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let busPort = await freePort();
    while (busPort === port) busPort = await freePort();
    try {
      const server = await startRedisServer({
        port,
        ...(password === undefined ? {} : { password }),
        logLevel: 'notice',
        extraArgs: [
          '--cluster-enabled', 'yes',
          // Relative to --dir, the node's own folder, where restart() finds it again.
          '--cluster-config-file', 'nodes.conf',
          '--cluster-node-timeout', String(nodeTimeoutMs),
          '--cluster-port', String(busPort),
          // A replica may always take over, however long its link was down: tests kill masters
          // on purpose and want the failover, not a refusal over data age.
          '--cluster-replica-validity-factor', '0',
          // A replica's first full sync waits 5 s by default for more replicas to share the transfer.
          '--repl-diskless-sync-delay', '0',
          ...(password === undefined ? [] : ['--masterauth', password]),
        ],
      });
      return { server, busPort };
    } catch (err) {
      if (attempt >= 3 || !(err instanceof Error) || !/Address already in use/.test(err.message)) throw err;
    }
  }
}

/**
 * A connected node-redis cluster client on `cluster`. Its 'error' events are dropped: tests kill
 * and freeze nodes, and the commands themselves reject.
 */
export async function clusterClient(cluster: TestRedisCluster): Promise<ReturnType<typeof createCluster>> {
  const client = createCluster({ rootNodes: cluster.rootNodes, defaults: cluster.defaults });
  client.on('error', () => {});
  await client.connect();
  return client;
}

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const masterCount = opts.masters ?? 3;
  const replicasPerMaster = opts.replicasPerMaster ?? 1;
  const password = opts.password;
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 2000;
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  if (masterCount < 3) throw new Error('redis-cli --cluster create needs at least 3 masters');
  const total = masterCount * (1 + replicasPerMaster);
  const ask = <T>(port: number, args: string[]): Promise<T> => askNode<T>(port, args, { password });

  const started = await Promise.allSettled(Array.from({ length: total }, () => startClusterNode(password, nodeTimeoutMs)));
  const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const firstFailure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (firstFailure !== undefined) {
    await Promise.all(ok.map((n) => n.server.stop()));
    throw firstFailure.reason instanceof Error ? firstFailure.reason : new Error(String(firstFailure.reason));
  }
  const servers = ok.map((n) => n.server);
  const stopAll = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
  };

  let nodes: ClusterNode[] = [];
  let lastSeen = '';
  try {
    const create = ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes', ...(password === undefined ? [] : ['-a', password, '--no-auth-warning'])];
    try {
      await run('redis-cli', create, { timeout: startTimeoutMs });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message?: string };
      throw new Error(`redis-cli --cluster create failed: ${e.message ?? String(err)}\n${e.stdout ?? ''}\n${e.stderr ?? ''}\n${logTails(servers)}`);
    }
    const ids = await Promise.all(servers.map((s) => ask<string>(s.port, ['CLUSTER', 'MYID'])));
    const view = parseClusterNodes(await ask<string>(servers[0]?.port ?? 0, ['CLUSTER', 'NODES']));
    nodes = ok.map(({ server, busPort }, i) => {
      const id = ids[i] ?? '';
      const line = view.find((l) => l.id === id);
      return {
        port: server.port,
        busPort,
        id,
        initialRole: line?.flags.includes('slave') === true ? ('replica' as const) : ('master' as const),
        server,
        async role() {
          const info = parseInfo(await ask<string>(server.port, ['INFO', 'replication']));
          return info.get('role') === 'master' ? 'master' : 'replica';
        },
      };
    });
  } catch (err) {
    await stopAll();
    throw err;
  }

  /** The slots each killed master served when it was killed: its successor takes them over. */
  const slotsAtKill = new Map<number, string[]>();
  /** Dead nodes are left out of the live views; a node restart()ed is back in them. */
  const alive = (n: ClusterNode): boolean => n.server.running;
  const byPort = (port: number): ClusterNode => {
    const n = nodes.find((x) => x.port === port);
    if (n === undefined) throw new Error(`no cluster node on port ${port}`);
    return n;
  };
  const byId = (id: string | undefined): ClusterNode | undefined => nodes.find((x) => x.id === id);

  /** CLUSTER NODES from the first live node that answers. */
  const liveView = async (): Promise<ClusterNodesLine[]> => {
    let lastErr: unknown;
    for (const n of nodes.filter(alive)) {
      try {
        return parseClusterNodes(await ask<string>(n.port, ['CLUSTER', 'NODES']));
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr instanceof Error ? lastErr : new Error('no live cluster node answered');
  };

  /** One pass over the live nodes: undefined when healthy, otherwise what is wrong. */
  const unhealthy = async (): Promise<string | undefined> => {
    const live = nodes.filter(alive);
    const problems: string[] = [];
    for (const n of live) {
      const info = parseInfo(await ask<string>(n.port, ['CLUSTER', 'INFO']));
      if (info.get('cluster_state') !== 'ok') problems.push(`${n.port}: cluster_state:${info.get('cluster_state')}`);
      if (info.get('cluster_slots_ok') !== String(SLOTS)) problems.push(`${n.port}: cluster_slots_ok:${info.get('cluster_slots_ok')}`);
      const view = parseClusterNodes(await ask<string>(n.port, ['CLUSTER', 'NODES']));
      const me = view.find((l) => l.flags.includes('myself'));
      // A master that serves nothing: one that failed over on its own (a busy machine made it
      // miss the node timeout) and has not yet turned into its successor's replica.
      if (me?.flags.includes('master') === true && me.slots.length === 0) problems.push(`${n.port}: master without slots`);
      if (me?.flags.includes('slave') === true) {
        const repl = parseInfo(await ask<string>(n.port, ['INFO', 'replication']));
        if (repl.get('master_link_status') !== 'up') problems.push(`${n.port}: replica link ${repl.get('master_link_status')}`);
      }
      // Every live node must look healthy to this one (no handshake, no fail? for a live node).
      for (const other of live) {
        const l = view.find((x) => x.port === other.port);
        if (l === undefined || failed(l)) problems.push(`${n.port} sees ${other.port} as ${l?.flags.join(',') ?? 'unknown'}`);
      }
      lastSeen = `CLUSTER NODES on ${n.port}:\n${view.map((l) => `${l.port} ${l.flags.join(',')} ${l.masterId ?? '-'} ${l.slots.join(' ')}`).join('\n')}`;
    }
    return problems.length === 0 ? undefined : problems.join('; ');
  };

  let lastProblems = '';
  const waitForHealthy = async (timeoutMs = startTimeoutMs): Promise<void> => {
    await waitUntil(
      'cluster healthy',
      timeoutMs,
      async () => {
        const p = await unhealthy();
        lastProblems = p ?? '';
        return p === undefined ? true : undefined;
      },
      () => `${lastProblems}\n${lastSeen}\n${logTails(nodes.filter(alive).map((n) => n.server))}`,
    );
  };

  try {
    await waitForHealthy();
  } catch (err) {
    await stopAll();
    throw err;
  }

  const masters = async (): Promise<ClusterNode[]> => {
    const view = await liveView();
    // Masters that serve slots: a master caught between a spontaneous failover and becoming its
    // successor's replica serves none, and is no master a test can use.
    return view.filter((l) => l.flags.includes('master') && !failed(l) && l.slots.length > 0).flatMap((l) => byId(l.id) ?? []);
  };

  return {
    rootNodes: servers.map((s) => ({ url: `redis://127.0.0.1:${s.port}` })),
    defaults: password === undefined ? {} : { password },
    password,
    nodes,
    node: byPort,
    masters,
    async replicaOf(master) {
      const m = typeof master === 'number' ? byPort(master) : master;
      const view = await liveView();
      const line = view.find((l) => l.masterId === m.id && !failed(l));
      return byId(line?.id);
    },
    async masterForKey(key) {
      const slot = await ask<number>(nodes.find(alive)?.port ?? 0, ['CLUSTER', 'KEYSLOT', key]);
      const view = await liveView();
      const owner = view.find((l) => l.flags.includes('master') && !failed(l) && l.slots.some((r) => {
        const [a, b] = r.split('-').map(Number);
        return a !== undefined && slot >= a && slot <= (b ?? a);
      }));
      const node = byId(owner?.id);
      if (node === undefined) throw new Error(`no live master serves slot ${slot} of ${key}`);
      return node;
    },
    async killMaster(port) {
      const n = byPort(port);
      if ((await n.role()) !== 'master') throw new Error(`node ${port} is not a master now`);
      slotsAtKill.set(port, (await liveView()).find((l) => l.id === n.id)?.slots ?? []);
      await n.server.kill();
    },
    async waitForFailover(oldMasterPort, timeoutMs = 20_000) {
      const old = byPort(oldMasterPort);
      let promoted: ClusterNode | undefined;
      await waitUntil(
        `failover of master ${oldMasterPort}`,
        timeoutMs,
        async () => {
          const live = nodes.filter(alive);
          // The node now serving the old master's first slot range, a master other than the old
          // one, the same in every live node's view, and every live node's cluster_state ok.
          let candidate: string | undefined;
          for (const n of live) {
            const view = parseClusterNodes(await ask<string>(n.port, ['CLUSTER', 'NODES']));
            lastSeen = `CLUSTER NODES on ${n.port}:\n${view.map((l) => `${l.port} ${l.flags.join(',')} ${l.masterId ?? '-'} ${l.slots.join(' ')}`).join('\n')}`;
            if (!slotsAtKill.has(oldMasterPort)) slotsAtKill.set(oldMasterPort, view.find((l) => l.id === old.id)?.slots ?? []);
            const range = slotsAtKill.get(oldMasterPort)?.[0];
            if (range === undefined) throw new Error(`master ${oldMasterPort} served no slots`);
            const owner = view.find((l) => l.flags.includes('master') && !failed(l) && l.slots.includes(range));
            if (owner === undefined || owner.id === old.id || (candidate !== undefined && candidate !== owner.id)) return undefined;
            candidate = owner.id;
            const info = parseInfo(await ask<string>(n.port, ['CLUSTER', 'INFO']));
            if (info.get('cluster_state') !== 'ok' || info.get('cluster_slots_ok') !== String(SLOTS)) return undefined;
          }
          promoted = byId(candidate);
          return promoted;
        },
        () => `${lastSeen}\n${logTails(nodes.filter(alive).map((n) => n.server))}`,
      );
      if (promoted === undefined) throw new Error('unreachable');
      slotsAtKill.delete(oldMasterPort);
      return promoted;
    },
    waitForHealthy,
    stop: stopAll,
  };
}

// ---------------------------------------------------------------------------------------------
// Redis Sentinel
// ---------------------------------------------------------------------------------------------

export interface RedisSentinelOptions {
  /** The monitored master's name. Default `mymaster`. */
  name?: string;
  /** `requirepass` and `masterauth` of master and replica; `sentinel auth-pass` of the sentinels. */
  password?: string;
  /** `sentinel down-after-milliseconds`. Default 1000. */
  downAfterMs?: number;
  /** `sentinel failover-timeout`. Default 5000. */
  failoverTimeoutMs?: number;
  /** Longest wait for the topology to settle, in ms. Default 30,000. */
  startTimeoutMs?: number;
}

export interface TestRedisSentinel {
  readonly name: string;
  /** For `createSentinel({ name, sentinelRootNodes })`. */
  readonly sentinelRootNodes: Array<{ host: string; port: number }>;
  /** For `createSentinel({ nodeClientOptions })`: the data nodes' password, if any. */
  readonly nodeClientOptions: { password?: string };
  readonly password: string | undefined;
  /** The master when the topology started (after a failover, a replica or dead). */
  readonly master: TestRedisServer;
  /** The replica when the topology started (after a failover, the master). */
  readonly replica: TestRedisServer;
  readonly sentinels: readonly TestRedisServer[];
  /** The master the sentinels report now (`SENTINEL get-master-addr-by-name`). */
  currentMaster(): Promise<TestRedisServer>;
  /** SIGKILL the current master; resolves the server killed. */
  killMaster(): Promise<TestRedisServer>;
  /**
   * Resolves the new master once every live sentinel reports a master other than
   * `oldMasterPort` (default: the one killMaster() killed) and that server says `role:master`.
   */
  waitForFailover(oldMasterPort?: number, timeoutMs?: number): Promise<TestRedisServer>;
  /** Kills everything and removes the folders. */
  stop(): Promise<void>;
}

/** A flat [k1, v1, k2, v2, …] reply (RESP2 maps) as a Map. */
function pairs(reply: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), String(reply[i + 1]));
  return out;
}

export async function startRedisSentinel(opts: RedisSentinelOptions = {}): Promise<TestRedisSentinel> {
  const name = opts.name ?? 'mymaster';
  const password = opts.password;
  const downAfterMs = opts.downAfterMs ?? 1000;
  const failoverTimeoutMs = opts.failoverTimeoutMs ?? 5000;
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const auth = password === undefined ? {} : { password };
  // masterauth on both: after a failover the old master comes back as a replica of the new one.
  // No 5 s wait before a full sync (the default, for more replicas to share the transfer).
  const dataArgs = ['--repl-diskless-sync-delay', '0', ...(password === undefined ? [] : ['--masterauth', password])];
  const askData = <T>(port: number, args: string[]): Promise<T> => askNode<T>(port, args, { password });
  const askSentinel = <T>(port: number, args: string[]): Promise<T> => askNode<T>(port, args);

  const everything: TestRedisServer[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(everything.map((s) => s.stop()));
  };
  let lastSeen = '';

  try {
    const master = await startRedisServer({ ...auth, logLevel: 'notice', extraArgs: dataArgs });
    everything.push(master);
    const replica = await startRedisServer({ ...auth, logLevel: 'notice', extraArgs: [...dataArgs, '--replicaof', '127.0.0.1', String(master.port)] });
    everything.push(replica);

    // In sync before the sentinels start: a sentinel learns the replicas from the master's INFO,
    // which it reads at once on connecting and then only every 10 s.
    await waitUntil(
      'replica in sync',
      startTimeoutMs,
      async () => {
        const r = parseInfo(await askData<string>(replica.port, ['INFO', 'replication']));
        const m = parseInfo(await askData<string>(master.port, ['INFO', 'replication']));
        lastSeen = `replica: role ${r.get('role')}, link ${r.get('master_link_status')}; master: connected_slaves ${m.get('connected_slaves')}, slave0 ${m.get('slave0')}`;
        return r.get('master_link_status') === 'up' && m.get('slave0')?.includes('state=online') === true ? true : undefined;
      },
      () => `${lastSeen}\n${logTails([master, replica])}`,
    );

    const config = [
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
      `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
      `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
      ...(password === undefined ? [] : [`sentinel auth-pass ${name} ${password}`]),
      '',
    ].join('\n');
    const started = await Promise.allSettled([0, 1, 2].map(() => startRedisServer({ sentinel: true, config, logLevel: 'notice' })));
    for (const s of started) if (s.status === 'fulfilled') everything.push(s.value);
    const bad = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (bad !== undefined) throw bad.reason instanceof Error ? bad.reason : new Error(String(bad.reason));
    const sentinels = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));

    // Every sentinel knows the master (healthy), the replica (linked) and the two other sentinels.
    await waitUntil(
      'sentinels settled',
      startTimeoutMs,
      async () => {
        const states: string[] = [];
        let ready = true;
        for (const s of sentinels) {
          const m = pairs(await askSentinel(s.port, ['SENTINEL', 'MASTER', name]));
          const replicas = ((await askSentinel<unknown[]>(s.port, ['SENTINEL', 'REPLICAS', name])) ?? []).map(pairs);
          const peers = ((await askSentinel<unknown[]>(s.port, ['SENTINEL', 'SENTINELS', name])) ?? []).map(pairs);
          const r = replicas.find((x) => x.get('port') === String(replica.port));
          const goodPeers = peers.filter((p) => !/s_down|disconnected/.test(p.get('flags') ?? ''));
          states.push(`sentinel ${s.port}: master ${m.get('flags')}, replica ${r?.get('flags') ?? 'unknown'} link ${r?.get('master-link-status') ?? '-'}, peers ${goodPeers.length}/${peers.length}`);
          if (m.get('flags') !== 'master' || r === undefined || r.get('flags') !== 'slave' || r.get('master-link-status') !== 'ok' || goodPeers.length !== sentinels.length - 1) ready = false;
        }
        lastSeen = states.join('\n');
        return ready ? true : undefined;
      },
      () => `${lastSeen}\n${logTails(sentinels)}`,
    );

    const dataNodes = [master, replica];
    let lastKilled: number | undefined;
    const reportedMasterPort = async (s: TestRedisServer): Promise<number> => {
      const addr = await askSentinel<unknown[]>(s.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]);
      return Number(addr?.[1]);
    };
    const serverOn = (port: number): TestRedisServer => {
      const s = dataNodes.find((d) => d.port === port);
      if (s === undefined) throw new Error(`the sentinels report a master on ${port}, which is not one of this topology's servers`);
      return s;
    };
    const currentMaster = async (): Promise<TestRedisServer> => {
      let lastErr: unknown;
      for (const s of sentinels) {
        try {
          return serverOn(await reportedMasterPort(s));
        } catch (err) {
          lastErr = err;
        }
      }
      throw lastErr instanceof Error ? lastErr : new Error('no sentinel answered');
    };

    return {
      name,
      sentinelRootNodes: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
      nodeClientOptions: auth,
      password,
      master,
      replica,
      sentinels,
      currentMaster,
      async killMaster() {
        const m = await currentMaster();
        lastKilled = m.port;
        await m.kill();
        return m;
      },
      async waitForFailover(oldMasterPort = lastKilled, timeoutMs = 30_000) {
        if (oldMasterPort === undefined) throw new Error('waitForFailover: no master was killed; pass the old master port');
        let promoted: TestRedisServer | undefined;
        await waitUntil(
          `failover from ${oldMasterPort}`,
          timeoutMs,
          async () => {
            const ports = await Promise.all(sentinels.map(reportedMasterPort));
            lastSeen = `sentinels report masters on ${ports.join(', ')}`;
            const first = ports[0];
            if (first === undefined || first === oldMasterPort || ports.some((p) => p !== first)) return undefined;
            const role = parseInfo(await askData<string>(first, ['INFO', 'replication'])).get('role');
            lastSeen += `; ${first} says role:${role}`;
            if (role !== 'master') return undefined;
            promoted = serverOn(first);
            return promoted;
          },
          () => `${lastSeen}\n${logTails([...sentinels, ...dataNodes.filter((d) => d.running)])}`,
        );
        if (promoted === undefined) throw new Error('unreachable');
        return promoted;
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
