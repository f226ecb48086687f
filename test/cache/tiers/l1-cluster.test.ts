/**
 * The in-process tier on a real Redis Cluster (3 masters, 1 replica each), one cluster for the
 * file: a channel on every master; writes on each master, through another instance or a raw
 * cluster client, evict B's copy; one master's channel lost or frozen puts the whole of B's L1
 * out of use until it is back (keys on the other masters included); a manual failover (the old
 * master stays up, as a replica) and a killed master each empty L1 and move the channel to the
 * promoted node, and nothing written meanwhile is missed; a master added and resharded to keeps
 * L1 off from the moment it joins without slots until it has a channel. Destructive tests last.
 */
import { randomBytes } from 'node:crypto';
import type { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache, type Cache, type CacheOptions } from '../../../src/cache/index.ts';
import { TRACKING_CLIENT_NAME } from '../../../src/cache/tiers/tracking.ts';
import type { ClusterNodeLike } from '../../../src/cache/topology/clients.ts';
import { clusterMastersAgree } from '../../../src/cache/topology/cluster-nodes.ts';
import { keySlot } from '../../../src/cache/topology/slots.ts';
import { FAST_CHANNEL, l1Hits, loadIntoL1, until } from '../../helpers/l1.ts';
import { freePort, startRedisServer } from '../../helpers/redis-server.ts';
import { askNode, clusterClient, type ClusterNode, type TestRedisCluster, startRedisCluster } from '../../helpers/redis-topology.ts';
import { topologiesUnderTest } from '../../helpers/topologies.ts';

let cluster: TestRedisCluster;
let raw: ReturnType<typeof createCluster>;

const l1Of = async (c: Cache): Promise<NonNullable<Awaited<ReturnType<Cache['getStats']>>['l1']>> => {
  const l1 = (await c.getStats()).l1;
  if (l1 === null) throw new Error('l1 is off');
  return l1;
};

describe.runIf(topologiesUnderTest().includes('cluster'))('the in-process tier on Redis Cluster', () => {
  beforeAll(async () => {
    cluster = await startRedisCluster();
    raw = await clusterClient(cluster);
  }, 90_000);

  afterAll(async () => {
    // destroy, not close: commands queued for a killed master would hold close() up.
    raw?.destroy();
    await cluster?.stop();
  });

  async function pair(opts: Pick<CacheOptions, 'breakerCooldownMs'> = {}): Promise<{ a: Cache; b: Cache; prefix: string; close: () => Promise<void> }> {
    const prefix = `l1c${randomBytes(3).toString('hex')}:`;
    const make = (): Cache => createCache({ cluster: { rootNodes: cluster.rootNodes.map((n) => n.url) }, prefix, commandTimeoutMs: 300, l1: { ...FAST_CHANNEL }, ...opts });
    const a = make();
    const b = make();
    for (const c of [a, b]) await c.ready(10_000);
    for (const c of [a, b]) await until('every master channel up', async () => (await l1Of(c)).channel === 'up', 10_000);
    return {
      a,
      b,
      prefix,
      close: async () => {
        for (const c of [a, b]) await c.idle();
        for (const c of [a, b]) await c.close();
      },
    };
  }

  /** One key (under `prefix`) per master now (three: the slots' owners), by port: `guild:<n>` for the first n landing on each. */
  async function keyPerMaster(prefix: string): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (let i = 0; out.size < 3 && i < 200; i++) {
      const owner = await cluster.masterForKey(`${prefix}guild:${i}`);
      if (!out.has(owner.port)) out.set(owner.port, `guild:${i}`);
    }
    expect(out.size).toBe(3);
    return out;
  }

  /** Ids of this file's tracking connections on one node (A's and B's, of the caches open now). */
  async function trackersOn(node: ClusterNode): Promise<string[]> {
    const list = await askNode<string>(node.port, ['CLIENT', 'LIST']);
    return list
      .split('\n')
      .filter((l) => l.includes(`name=${TRACKING_CLIENT_NAME}`))
      .map((l) => /id=(\d+)/.exec(l)?.[1] ?? '');
  }

  it("compares node-redis's masters with CLUSTER NODES by id: the same; a failover; a master that owns no slot yet", async () => {
    // The live view, from a client that read the slot map just now. On a loaded machine a node
    // starved of CPU can be failed over by mistake, and a master that comes back holds no slots
    // until it turns replica: the comparison then rightly differs, so a settled view is waited for.
    let text = '';
    let known: ClusterNodeLike[] = [];
    let agreement = '';
    for (let attempt = 0; attempt < 20 && agreement !== 'same'; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
      const fresh = await clusterClient(cluster);
      try {
        known = fresh.masters.map((m) => ({ address: m.address, id: m.id }));
        text = await askNode<string>(cluster.nodes[0]?.port ?? 0, ['CLUSTER', 'NODES']);
        agreement = clusterMastersAgree(text, known);
      } finally {
        fresh.destroy();
      }
    }
    expect(agreement).toBe('same');
    const lines = text.trim().split('\n');
    const masterLine = lines.find((l) => l.split(' ')[2]?.includes('master') === true) ?? '';
    const [id] = masterLine.split(' ');
    // That master's replica promoted: the old one now a replica without slots, another id owning them.
    const failedOver = lines.map((l) => (l === masterLine ? l.split(' ').slice(0, 8).join(' ').replace('master', 'slave') : l)).join('\n');
    const promoted = `${failedOver}\n${'f'.repeat(40)} 127.0.0.1:1@2 master - 0 0 9 connected ${masterLine.split(' ').slice(8).join(' ')}`;
    expect(clusterMastersAgree(promoted, known)).toBe('slot owners differ');
    // A node added as a master with no slots: it can take ASK writes during resharding.
    expect(clusterMastersAgree(`${text.trim()}\n${'e'.repeat(40)} 127.0.0.1:3@4 master - 0 0 10 connected`, known)).toBe('a master without slots');
    // ...but not once it has failed (its replica took over): it takes no writes.
    expect(clusterMastersAgree(`${text.trim()}\n${'e'.repeat(40)} 127.0.0.1:3@4 master,fail - 0 0 10 disconnected`, known)).toBe('same');
    expect(id).toHaveLength(40);
  });

  it('keeps a channel on every master; a write to a key on each master, by A or by a raw client, evicts B\'s copy', async () => {
    const { a, b, prefix, close } = await pair();
    try {
      const masters = await cluster.masters();
      expect(masters).toHaveLength(3);
      const channels = (await l1Of(b)).channels;
      expect(channels.map((c) => c.address).sort()).toEqual(masters.map((m) => `127.0.0.1:${m.port}`).sort());
      expect(channels.every((c) => c.state === 'up')).toBe(true);
      for (const m of masters) expect(await trackersOn(m)).toHaveLength(2);

      const keys = await keyPerMaster(prefix);
      for (const [port, key] of keys) {
        await a.set(key, { v: 'old', port }, 60);
        await loadIntoL1(b, key, { v: 'old', port });
        await a.set(key, { v: 'new', port }, 60);
        await until(`B hears A's set of ${key} (master ${port})`, async () => JSON.stringify(await b.getOrSet(key, () => 'fetched', 60)) === JSON.stringify({ v: 'new', port }));
        await loadIntoL1(b, key, { v: 'new', port });
        await raw.del(`${prefix}${key}`);
        await until(`B hears a raw DEL of ${key} (master ${port})`, async () => (await b.getOrSet(key, () => 'fetched', 60)) === 'fetched');
      }
      expect((await l1Of(b)).invalidations).toBeGreaterThanOrEqual(6);
    } finally {
      await close();
    }
  }, 30_000);

  it("one master's channel killed: B empties L1 and serves nothing from it, on any master, until that channel is back", async () => {
    const { a, b, prefix, close } = await pair();
    try {
      const keys = await keyPerMaster(prefix);
      const [[victimPort, victimKey], [, otherKey]] = Array.from(keys) as [[number, string], [number, string]];
      for (const k of [victimKey, otherKey]) {
        await a.set(k, { k }, 60);
        await loadIntoL1(b, k, { k });
      }
      const flushes = (await l1Of(b)).flushes;
      for (const id of await trackersOn(cluster.node(victimPort))) await askNode(victimPort, ['CLIENT', 'KILL', 'ID', id]);
      await until('B noticed', async () => (await l1Of(b)).flushes > flushes);
      // Emptied: whatever the channel's state now, neither key is served by the L1 filled before.
      const hits = await l1Hits(b);
      expect(await b.getOrSet(otherKey, () => 'fetched', 60)).toEqual({ k: otherKey });
      expect(await b.getOrSet(victimKey, () => 'fetched', 60)).toEqual({ k: victimKey });
      expect(await l1Hits(b)).toBe(hits);
      await until('B is back', async () => (await l1Of(b)).channel === 'up');
      expect((await l1Of(b)).channelReconnects).toBeGreaterThanOrEqual(1);
      // Back: a raw write on the victim master is heard again.
      await loadIntoL1(b, victimKey, { k: victimKey });
      await raw.set(`${prefix}${victimKey}`, 'changed');
      await until('B hears the change', async () => (await b.getOrSet(victimKey, () => 'fetched', 60)) === 'fetched');
    } finally {
      await close();
    }
  }, 30_000);

  it('one master frozen (SIGSTOP, shorter than the node timeout): keys on the other masters are read from Redis, not L1, until it answers again', async () => {
    const { a, b, prefix, close } = await pair({ breakerCooldownMs: 10 });
    try {
      const keys = await keyPerMaster(prefix);
      const [[frozenPort, frozenKey], [, otherKey]] = Array.from(keys) as [[number, string], [number, string]];
      for (const k of [frozenKey, otherKey]) {
        await a.set(k, { k }, 60);
        await loadIntoL1(b, k, { k });
      }
      const node = cluster.node(frozenPort);
      node.server.freeze();
      try {
        await until('B gives up on the frozen master', async () => (await l1Of(b)).channel === 'down');
        expect((await l1Of(b)).channels.find((c) => c.address.endsWith(`:${frozenPort}`))?.state).toBe('down');
        // getStats asks every master for DBSIZE: the frozen one's time-out opens the cache's
        // circuit breaker (one for all nodes), so each read waits out the short cooldown first.
        const hits = await l1Hits(b);
        for (let i = 0; i < 5; i++) {
          await new Promise((r) => setTimeout(r, 30));
          expect(await b.getOrSetWithMeta(otherKey, () => 'fetched', 60)).toMatchObject({ value: { k: otherKey }, status: 'hit' });
        }
        expect(await l1Hits(b)).toBe(hits);
        expect((await l1Of(b)).entries).toBe(0);
      } finally {
        node.server.resume();
      }
      await until('B is back', async () => (await l1Of(b)).channel === 'up', 5000);
      // L1 serves again (a read may still meet the breaker's cooldown: the fetcher gives the same value).
      await until('B serves from L1 again', async () => {
        const before = await l1Hits(b);
        expect(await b.getOrSet(otherKey, () => ({ k: otherKey }), 60)).toEqual({ k: otherKey });
        return (await l1Hits(b)) === before + 1;
      });
    } finally {
      await close();
    }
  }, 30_000);

  it('a manual failover (CLUSTER FAILOVER: the old master lives on as a replica) empties L1, moves the channel to the promoted node, and its writes are heard', async () => {
    const { a, b, prefix, close } = await pair();
    try {
      const keys = await keyPerMaster(prefix);
      const [[oldPort, key]] = Array.from(keys) as [[number, string]];
      const replica = await cluster.replicaOf(oldPort);
      if (replica === undefined) throw new Error(`master ${oldPort} has no replica`);
      await a.set(key, { v: 1 }, 60);
      await loadIntoL1(b, key, { v: 1 });
      const flushes = (await l1Of(b)).flushes;
      await askNode(replica.port, ['CLUSTER', 'FAILOVER']);
      await until('the replica is master', async () => (await replica.role()) === 'master', 10_000);
      // B sent nothing to that slot: it finds out from the nodes (CLUSTER NODES), not from a MOVED.
      await until('B tracks the promoted node instead', async () => {
        const l1 = await l1Of(b);
        const addresses = l1.channels.map((c) => c.address);
        return l1.channel === 'up' && addresses.includes(`127.0.0.1:${replica.port}`) && !addresses.includes(`127.0.0.1:${oldPort}`);
      }, 10_000);
      expect((await l1Of(b)).flushes).toBeGreaterThan(flushes);
      await loadIntoL1(b, key, { v: 1 }, 5000);
      await raw.set(`${prefix}${key}`, 'written on the promoted node');
      await until('B hears the write on the promoted node', async () => (await b.getOrSet(key, () => 'fetched', 60)) === 'fetched');
      await cluster.waitForHealthy(20_000);
    } finally {
      await close();
    }
  }, 60_000);

  it('a master killed: L1 emptied at once and bypassed until the promoted replica has a channel; a write made meanwhile is what B reads after', async () => {
    const { a, b, prefix, close } = await pair();
    try {
      const keys = await keyPerMaster(prefix);
      const [[victimPort, key], [, otherKey]] = Array.from(keys) as [[number, string], [number, string]];
      await a.set(key, { v: 'before' }, 60);
      await a.set(otherKey, { v: 'other' }, 60);
      await loadIntoL1(b, key, { v: 'before' });
      await loadIntoL1(b, otherKey, { v: 'other' });
      const flushes = (await l1Of(b)).flushes;
      await cluster.killMaster(victimPort);
      await until('B noticed', async () => (await l1Of(b)).channel !== 'up' && (await l1Of(b)).flushes > flushes);
      const promoted = await cluster.waitForFailover(victimPort, 30_000);
      // Written on the promoted node by someone else, possibly before B has a channel there.
      await askNode(promoted.port, ['SET', `${prefix}${key}`, 'written after the failover']);
      await until('B tracks the promoted node', async () => {
        const l1 = await l1Of(b);
        return l1.channel === 'up' && l1.channels.some((c) => c.address === `127.0.0.1:${promoted.port}`) && !l1.channels.some((c) => c.address === `127.0.0.1:${victimPort}`);
      }, 15_000);
      // Never the value L1 held before the failover: the write made meanwhile is what B reads.
      await until('B reads the promoted node', async () => {
        try {
          return (await b.getOrSet(key, () => 'fetched', 60)) === 'fetched';
        } catch {
          return false;
        }
      }, 5000);
      // And L1 works again across the new set of masters.
      // A's own client may still be re-reading the slot map: set resolves false until it has.
      await until('A writes again', () => a.set(otherKey, { v: 'other 2' }, 60), 10_000);
      await loadIntoL1(b, otherKey, { v: 'other 2' }, 5000);
    } finally {
      await close();
    }
  }, 90_000);

  it('resharding to a new master: L1 is off from the moment it joins without slots until it owns one and has a channel; a key moved there is heard there', async () => {
    const { a, b, prefix, close } = await pair();
    const busPort = await freePort();
    const added = await startRedisServer({ extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--cluster-port', String(busPort)] });
    try {
      const addedId = await askNode<string>(added.port, ['CLUSTER', 'MYID']);
      const keys = await keyPerMaster(prefix);
      const [[fromPort, key]] = Array.from(keys) as [[number, string]];
      const slot = keySlot(`${prefix}${key}`);
      const from = cluster.node(fromPort);
      await a.set(key, { v: 'before the move' }, 60);
      await loadIntoL1(b, key, { v: 'before the move' });
      await askNode(added.port, ['CLUSTER', 'MEET', '127.0.0.1', String(fromPort), String(from.busPort)]);
      // A master without slots is in the cluster: L1 is not trusted, on A and B alike.
      await until('B sees the master without slots', async () => (await l1Of(b)).channel === 'down', 10_000);
      expect((await l1Of(b)).entries).toBe(0);
      await until('the new node sees the cluster up', async () => (await askNode<string>(added.port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'), 15_000);
      // The slot moves with its key, as redis-cli --cluster reshard does it.
      await askNode(added.port, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id]);
      await askNode(fromPort, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', addedId]);
      await askNode(fromPort, ['MIGRATE', '127.0.0.1', String(added.port), `${prefix}${key}`, '0', '5000']);
      await askNode(added.port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', addedId]);
      await askNode(fromPort, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', addedId]);
      await until('B tracks the new master too', async () => {
        const l1 = await l1Of(b);
        return l1.channel === 'up' && l1.channels.length === 4 && l1.channels.some((c) => c.address === `127.0.0.1:${added.port}`);
      }, 15_000);
      await loadIntoL1(b, key, { v: 'before the move' }, 5000);
      await askNode(added.port, ['DEL', `${prefix}${key}`]);
      await until('B hears the DEL on the new master', async () => (await b.getOrSet(key, () => 'fetched', 60)) === 'fetched');
    } finally {
      await close();
      await added.stop();
    }
  }, 60_000);
});
