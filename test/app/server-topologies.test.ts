/**
 * The real server process (NODE_ENV=production) on Redis Cluster (REDIS_CLUSTER_NODES) and on
 * Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_MASTER), on real redis-servers: it boots, caches
 * (MISS, then HIT), shows every node in /health and /metrics; at boot, closed ports, a wrong
 * password and TLS to a plain-text server end it with exit 1 and a one-line reason within the
 * connect window; a master killed under load is a blip: every request is answered, the process
 * stays up, readiness comes back and the cache hits again once the replica is promoted; and once
 * no master is left, the bounded reconnect window runs out and the process exits 1.
 *
 * The boot failures run first: the last test of each topology kills its servers for good.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheKeys, reconnectWindow } from '../../src/cache/index.ts';
import { freePort } from '../helpers/redis-server.ts';
import { startLoad } from '../helpers/load.ts';
import { startRedisCluster, startRedisSentinel, type TestRedisCluster, type TestRedisSentinel } from '../helpers/redis-topology.ts';
import { OPS_HEADERS, spawnServer, type ServerProcess } from '../helpers/server-process.ts';

const PASSWORD = 'topologies-Pa55-never-printed';
const CONNECT_TIMEOUT_MS = 3000;
/** The cached route the tests read, and its cache key. */
const ROUTE = '/leaderboards/global?limit=10';
const KEY = CacheKeys.leaderboard('global');
/**
 * The failover servers' REDIS_RECONNECT_MAX_ATTEMPTS: a 12 s window (9.6–14.4 s), several times
 * what a failover takes here, short enough to watch it run out at the end.
 */
const ATTEMPTS = 15;
const WINDOW = reconnectWindow(ATTEMPTS);
const outputs: string[] = [];

interface NodeView {
  address: string;
  role: string;
  state: string;
  observedVia: string;
}
interface RedisView {
  topology: string;
  state: string;
  healthy: boolean;
  url: string;
  nodes: NodeView[];
}

async function boot(env: Record<string, string>): Promise<{ server: ServerProcess; bootMs: number }> {
  const started = Date.now();
  // LOG_LEVEL=info: the log times say how long the Redis part of the boot took.
  const server = await spawnServer({ NODE_ENV: 'production', LOG_LEVEL: 'info', REDIS_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS), REDIS_COMMAND_TIMEOUT_MS: '300', ...env });
  await server.waitForReady().catch((err: unknown) => {
    server.kill('SIGKILL');
    throw err;
  });
  return { server, bootMs: Date.now() - started };
}

/** From `starting` to `Redis connected`, by the server's own log times. */
function redisBootMs(server: ServerProcess): number | undefined {
  const at = (msg: string): number | undefined => {
    const t = server.logs().find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith(msg))?.['time'];
    return typeof t === 'number' ? t : undefined;
  };
  const from = at('starting');
  const to = at('Redis connected');
  return from === undefined || to === undefined ? undefined : to - from;
}

async function bootAndExit(env: Record<string, string>): Promise<{ code: number | null; elapsedMs: number; text: string; fatal: string }> {
  const server = await spawnServer({ NODE_ENV: 'production', REDIS_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS), ...env });
  const exit = await server.exited;
  outputs.push(server.output());
  const starting = server.logs().find((l) => l['msg'] === 'starting');
  const startedAt = typeof starting?.['time'] === 'number' ? starting['time'] : exit.atMs;
  const fatal = server.logs().find((l) => l['level'] === 60);
  return { code: exit.code, elapsedMs: exit.atMs - startedAt, text: server.output(), fatal: String(fatal?.['msg']) };
}

/** Stops a server a failed assertion left running. */
async function finish(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.kill('SIGTERM');
  await server.exited;
  outputs.push(server.output());
}

async function xCache(server: ServerProcess): Promise<string | null> {
  const res = await fetch(`${server.baseUrl}${ROUTE}`);
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  return res.headers.get('x-cache');
}

async function redisView(server: ServerProcess): Promise<RedisView> {
  const res = await fetch(`${server.baseUrl}/health`, { headers: OPS_HEADERS });
  return ((await res.json()) as { redis: RedisView }).redis;
}

interface L1View {
  channel: string;
  channels: { address: string; state: string }[];
  flushes: number;
}

/** The in-process tier as /health reports it (CACHE_L1=true on the failover servers). */
async function l1View(server: ServerProcess): Promise<L1View> {
  const res = await fetch(`${server.baseUrl}/health`, { headers: OPS_HEADERS });
  const l1 = ((await res.json()) as { cache: { l1: L1View | null } }).cache.l1;
  if (l1 === null) throw new Error('/health: the in-process tier is off');
  return l1;
}

/** Polls until the server's L1 is up with a channel on exactly these masters. */
async function l1TracksExactly(server: ServerProcess, masters: string[]): Promise<void> {
  await expect
    .poll(
      async () => {
        const l1 = await l1View(server);
        return { channel: l1.channel, addresses: l1.channels.map((c) => c.address).sort(), allUp: l1.channels.every((c) => c.state === 'up') };
      },
      { timeout: 15_000, interval: 100 },
    )
    .toEqual({ channel: 'up', addresses: [...masters].sort(), allUp: true });
}

async function metrics(server: ServerProcess): Promise<string> {
  return (await fetch(`${server.baseUrl}/metrics`, { headers: OPS_HEADERS })).text();
}

const readyStatus = async (s: ServerProcess): Promise<number> => (await fetch(`${s.baseUrl}/health/ready`)).status;

/**
 * Kills a master under steady load of the cached route and follows readiness every 50 ms.
 * Resolves how long readiness was off, and the load's result.
 */
async function failoverUnderLoad(server: ServerProcess, kill: () => Promise<void>, waitForFailover: () => Promise<void>): Promise<{ notReadyMs: number; load: Awaited<ReturnType<ReturnType<typeof startLoad>['stop']>> }> {
  const load = startLoad([`${server.baseUrl}${ROUTE}`], { concurrency: 4, pauseMs: 5, timeoutMs: 10_000 });
  await new Promise((r) => setTimeout(r, 300));
  let notReadySince: number | undefined;
  let notReadyMs = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const status = await readyStatus(server).catch(() => 0);
      if (status !== 200 && notReadySince === undefined) notReadySince = Date.now();
      if (status === 200 && notReadySince !== undefined) {
        notReadyMs += Date.now() - notReadySince;
        notReadySince = undefined;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await kill();
  await waitForFailover();
  // Readiness comes back once the server sees the promoted master (the library re-reads the
  // slot map while a node is down; node-redis's sentinel client follows the sentinels).
  await expect.poll(() => readyStatus(server), { timeout: 20_000, interval: 100 }).toBe(200);
  await new Promise((r) => setTimeout(r, 300));
  watching = false;
  await watcher;
  const result = await load.stop();
  return { notReadyMs, load: result };
}

/**
 * Kills what is left and waits for the exit: production gives up at the end of the window
 * (timed from the moment the topology is unusable), drains, and exits 1 saying why.
 */
async function lostForGood(server: ServerProcess, killAll: () => Promise<void>, why: RegExp): Promise<void> {
  const killedAt = Date.now();
  await killAll();
  const exit = await server.exited;
  outputs.push(server.output());
  const tookMs = exit.atMs - killedAt;
  console.log(`[timing] lost for good: exit ${exit.code} after ${tookMs} ms (window ${WINDOW.minMs}-${WINDOW.maxMs} ms)`);
  expect(exit.code).toBe(1);
  const fatal = server.logs().find((l) => l['level'] === 60);
  expect(String(fatal?.['msg'])).toMatch(why);
  expect(tookMs).toBeGreaterThanOrEqual(WINDOW.minMs);
  // Unusable is seen within a monitor tick (1 s); then draining and closing.
  expect(tookMs).toBeLessThan(WINDOW.maxMs + 1000 + 3000);
}

/**
 * Starts the server the failover test uses while the boot failures run: most of a boot is the
 * database's, and the file stays shorter. Never rejects unhandled; afterAll stops it if unused.
 */
function bootEarly(env: Record<string, string>): { booting: Promise<{ server: ServerProcess; bootMs: number }>; stop(): Promise<void> } {
  const booting = boot(env);
  booting.catch(() => undefined);
  return {
    booting,
    stop: async () => {
      const booted = await booting.catch(() => undefined);
      if (booted !== undefined) await finish(booted.server);
    },
  };
}

describe('Redis Cluster (REDIS_CLUSTER_NODES)', () => {
  let cluster: TestRedisCluster;
  let early: ReturnType<typeof bootEarly> | undefined;
  const nodesEnv = (password: string = PASSWORD): string => cluster.rootNodes.map((n) => n.url.replace('redis://', `redis://:${password}@`)).join(',');

  beforeAll(async () => {
    const started = Date.now();
    cluster = await startRedisCluster({ password: PASSWORD });
    console.log(`[timing] cluster start: ${Date.now() - started} ms`);
    // CACHE_L1 on: the in-process tier follows the failover too (a channel per master).
    early = bootEarly({ REDIS_CLUSTER_NODES: nodesEnv(), REDIS_RECONNECT_MAX_ATTEMPTS: String(ATTEMPTS), CACHE_L1: 'true' });
  }, 60_000);
  afterAll(async () => {
    await early?.stop();
    await cluster?.stop();
  });

  it('production boot: closed ports, a wrong password and TLS to a plain-text cluster exit 1 within the connect window, saying which', async () => {
    const closed = [await freePort(), await freePort()].map((p) => `redis://:${PASSWORD}@127.0.0.1:${p}`).join(',');
    const [refused, wrongPassword, tls] = await Promise.all([
      bootAndExit({ REDIS_CLUSTER_NODES: closed }),
      bootAndExit({ REDIS_CLUSTER_NODES: nodesEnv(`wrong-${PASSWORD}`) }),
      bootAndExit({ REDIS_CLUSTER_NODES: nodesEnv().replaceAll('redis://', 'rediss://') }),
    ]);
    for (const r of [refused, wrongPassword, tls]) {
      expect(r.code).toBe(1);
      expect(r.elapsedMs).toBeLessThan(CONNECT_TIMEOUT_MS + 1000);
    }
    expect(refused.fatal).toMatch(/Redis Cluster nodes at redis:\/\/127\.0\.0\.1:\d+,redis:\/\/127\.0\.0\.1:\d+ refused the connection \(closed port/);
    expect(wrongPassword.fatal).toMatch(/refused authentication \(wrong password or user; check the credentials in REDIS_CLUSTER_NODES\)/);
    expect(tls.fatal).toMatch(/TLS failure/);
  }, 60_000);

  it('boots, caches, shows each node in /health and /metrics, rides out a master failover under load, exits 1 once no master is left', async () => {
    if (early === undefined) throw new Error('the cluster did not start');
    const { server, bootMs } = await early.booting;
    console.log(`[timing] server boot on the cluster (spawn to ready, alongside the boot failures): ${bootMs} ms; Redis part: ${redisBootMs(server)} ms`);
    try {
      expect(await xCache(server)).toBe('MISS');
      expect(await xCache(server)).toBe('HIT');

      const view = await redisView(server);
      expect(view).toMatchObject({ topology: 'cluster', state: 'ready', healthy: true });
      expect(view.url).not.toContain(PASSWORD);
      const masters = (await cluster.masters()).map((m) => `127.0.0.1:${m.port}`).sort();
      expect(view.nodes.filter((n) => n.role === 'master').map((n) => n.address).sort()).toEqual(masters);
      // Replicas from the cluster's view: every node of the cluster is listed, each ready.
      await expect.poll(async () => (await redisView(server)).nodes.filter((n) => n.role === 'replica' && n.state === 'ready').length, { timeout: 5000 }).toBe(3);
      expect((await redisView(server)).nodes.map((n) => n.address).sort()).toEqual(cluster.nodes.map((n) => `127.0.0.1:${n.port}`).sort());

      const text = await metrics(server);
      for (const m of masters) expect(text).toContain(`redis_node_up{node="${m}",role="master"} 1`);
      await l1TracksExactly(server, masters);
      expect(text).toMatch(/^cache_l1_enabled 1$/m);
      // A channel per master, each named (the scrape above may predate the channels: scrape again).
      const channelsUp = (await metrics(server)).match(/^cache_l1_node_channel_up\{node="([^"]+)"\} 1$/gm) ?? [];
      expect(channelsUp.map((l) => /node="([^"]+)"/.exec(l)?.[1]).sort()).toEqual(masters);
      expect(text.match(/^redis_node_up\{node="[^"]+",role="replica"\} 1$/gm)).toHaveLength(3);
      expect(text).toContain('redis_connection_state{state="ready"} 1');

      // The master serving the route's key dies; its replica takes over.
      const victim = await cluster.masterForKey(KEY);
      const { notReadyMs, load } = await failoverUnderLoad(
        server,
        () => cluster.killMaster(victim.port),
        async () => {
          const started = Date.now();
          await cluster.waitForFailover(victim.port, 30_000);
          console.log(`[timing] cluster failover (kill to promoted, as the cluster sees it): ${Date.now() - started} ms`);
        },
      );
      console.log(`[timing] cluster: readiness off for ${notReadyMs} ms in total; ${load.requests} requests, statuses ${JSON.stringify(load.statuses)}, max latency ${load.maxLatencyMs} ms`);
      expect(server.child.exitCode).toBeNull();
      expect(load.networkErrors).toBe(0);
      expect(Object.keys(load.statuses)).toEqual(['200']);
      expect(load.requests).toBeGreaterThan(20);

      // The cache works again on the promoted master: the key is written and read there.
      await expect.poll(async () => ((await xCache(server)) === 'HIT' ? 'HIT' : (await xCache(server)) ?? 'none'), { timeout: 15_000, interval: 200 }).toBe('HIT');
      const after = await redisView(server);
      expect(after).toMatchObject({ topology: 'cluster', state: 'ready', healthy: true });
      const promoted = await cluster.masterForKey(KEY);
      expect(after.nodes).toContainEqual(expect.objectContaining({ address: `127.0.0.1:${promoted.port}`, role: 'master', state: 'ready' }));
      // The dead master is still in the cluster's node table, failed.
      expect(after.nodes).toContainEqual(expect.objectContaining({ address: `127.0.0.1:${victim.port}`, state: 'down' }));
      expect(await metrics(server)).toContain(`redis_node_up{node="127.0.0.1:${promoted.port}",role="master"} 1`);
      // L1 moved with the failover: a channel on the promoted master, none on the dead one.
      await l1TracksExactly(server, (await cluster.masters()).map((m) => `127.0.0.1:${m.port}`));

      await lostForGood(
        server,
        async () => {
          await Promise.all(cluster.nodes.filter((n) => n.server.running).map((n) => n.server.kill()));
        },
        /^Redis lost: \d+ reconnect attempts failed \(Redis Cluster unusable for the whole reconnect window/,
      );
    } finally {
      await finish(server);
    }
  }, 120_000);
});

describe('Redis Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER)', () => {
  let sentinel: TestRedisSentinel;
  let early: ReturnType<typeof bootEarly> | undefined;
  const sentinelEnv = (password: string = PASSWORD): Record<string, string> => ({
    REDIS_SENTINELS: sentinel.sentinelRootNodes.map((n) => `${n.host}:${n.port}`).join(','),
    REDIS_SENTINEL_MASTER: sentinel.name,
    REDIS_PASSWORD: password,
  });

  beforeAll(async () => {
    const started = Date.now();
    sentinel = await startRedisSentinel({ password: PASSWORD });
    console.log(`[timing] sentinel start: ${Date.now() - started} ms`);
    // CACHE_L1 on: the in-process tier follows the failover too (its channel on the master, with the data nodes' password).
    early = bootEarly({ ...sentinelEnv(), REDIS_RECONNECT_MAX_ATTEMPTS: String(ATTEMPTS), CACHE_L1: 'true' });
  }, 60_000);
  afterAll(async () => {
    await early?.stop();
    await sentinel?.stop();
  });

  it('production boot: closed sentinel ports, a wrong password and TLS to plain-text sentinels exit 1 within the connect window, saying which', async () => {
    const closed = `127.0.0.1:${await freePort()},127.0.0.1:${await freePort()}`;
    const [refused, wrongPassword, tls] = await Promise.all([
      bootAndExit({ ...sentinelEnv(), REDIS_SENTINELS: closed }),
      bootAndExit(sentinelEnv(`wrong-${PASSWORD}`)),
      bootAndExit({ ...sentinelEnv(), REDIS_SENTINEL_TLS: 'true' }),
    ]);
    for (const r of [refused, wrongPassword, tls]) {
      expect(r.code).toBe(1);
      expect(r.elapsedMs).toBeLessThan(CONNECT_TIMEOUT_MS + 1000);
    }
    expect(refused.fatal).toMatch(/Sentinels at 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+ refused the connection \(closed port/);
    expect(wrongPassword.fatal).toMatch(/Redis master at 127\.0\.0\.1:\d+ \(the master the sentinels name "mymaster"\) refused authentication \(wrong password or user; check REDIS_PASSWORD \/ REDIS_USERNAME\)/);
    // A plain-text server waits for a command line, so the handshake times out rather than fails.
    expect(tls.fatal).toMatch(/TLS failure.* Sentinels? at 127\.0\.0\.1:\d+/);
  }, 60_000);

  it('boots, caches, shows each node in /health and /metrics, rides out a master failover under load, exits 1 once no master is left', async () => {
    if (early === undefined) throw new Error('the Sentinel set did not start');
    const { server, bootMs } = await early.booting;
    console.log(`[timing] server boot on Sentinel (spawn to ready, alongside the boot failures): ${bootMs} ms; Redis part: ${redisBootMs(server)} ms`);
    try {
      expect(await xCache(server)).toBe('MISS');
      expect(await xCache(server)).toBe('HIT');

      const master = `127.0.0.1:${sentinel.master.port}`;
      const replica = `127.0.0.1:${sentinel.replica.port}`;
      const view = await redisView(server);
      expect(view).toMatchObject({ topology: 'sentinel', state: 'ready', healthy: true });
      expect(view.url).toMatch(/^sentinel:\/\/(127\.0\.0\.1:\d+,){2}127\.0\.0\.1:\d+\/mymaster$/);
      expect(view.nodes).toContainEqual({ address: master, role: 'master', state: 'ready', observedVia: 'client' });
      await expect.poll(async () => (await redisView(server)).nodes.filter((n) => n.state === 'ready').map((n) => `${n.role} ${n.address}`).sort(), { timeout: 8000 }).toEqual(
        [`master ${master}`, `replica ${replica}`, ...sentinel.sentinels.map((s) => `sentinel 127.0.0.1:${s.port}`)].sort(),
      );
      const text = await metrics(server);
      expect(text).toContain(`redis_node_up{node="${master}",role="master"} 1`);
      expect(text).toContain(`redis_node_up{node="${replica}",role="replica"} 1`);
      expect(text.match(/^redis_node_up\{node="[^"]+",role="sentinel"\} 1$/gm)).toHaveLength(3);
      await l1TracksExactly(server, [master]);
      expect(text).toMatch(/^cache_l1_enabled 1$/m);

      const { notReadyMs, load } = await failoverUnderLoad(
        server,
        async () => {
          await sentinel.killMaster();
        },
        async () => {
          const started = Date.now();
          await sentinel.waitForFailover(undefined, 30_000);
          console.log(`[timing] sentinel failover (kill to promoted, as the sentinels see it): ${Date.now() - started} ms`);
        },
      );
      console.log(`[timing] sentinel: readiness off for ${notReadyMs} ms in total; ${load.requests} requests, statuses ${JSON.stringify(load.statuses)}, max latency ${load.maxLatencyMs} ms`);
      expect(server.child.exitCode).toBeNull();
      expect(load.networkErrors).toBe(0);
      expect(Object.keys(load.statuses)).toEqual(['200']);
      expect(load.requests).toBeGreaterThan(20);

      await expect.poll(async () => ((await xCache(server)) === 'HIT' ? 'HIT' : (await xCache(server)) ?? 'none'), { timeout: 15_000, interval: 200 }).toBe('HIT');
      const after = await redisView(server);
      expect(after).toMatchObject({ topology: 'sentinel', state: 'ready', healthy: true });
      expect(after.nodes).toContainEqual({ address: replica, role: 'master', state: 'ready', observedVia: 'client' });
      expect(await metrics(server)).toContain(`redis_node_up{node="${replica}",role="master"} 1`);
      // L1 moved with the failover: its channel is on the new master.
      await l1TracksExactly(server, [replica]);

      // The promoted master dies too, with no replica left to take over.
      await lostForGood(
        server,
        async () => {
          await (await sentinel.currentMaster()).kill();
        },
        /^Redis lost: \d+ reconnect attempts failed \(no master connection through Sentinel \(mymaster\)/,
      );
    } finally {
      await finish(server);
    }
  }, 120_000);
});

describe('secrets', () => {
  it('the Redis password appears in nothing the processes printed', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(8);
    for (const text of outputs) expect(text).not.toContain(PASSWORD);
  });
});
