/**
 * Does node-redis's list of a cluster's masters (from its slot map) still match what a node
 * says (CLUSTER NODES)? The in-process tier needs a channel on every node that can take a
 * write under the prefix (tiers/node-tracking.ts), and node-redis re-reads its slot map only
 * when a command of this instance is redirected: a failover seen only by other instances, or a
 * master added to the cluster, would otherwise go unnoticed while L1 serves.
 *
 * Compared by node id (what CLUSTER NODES and CLUSTER SLOTS both name a node by), so address
 * forms (hostnames, a client's nodeAddressMap) cannot make them differ.
 */
import type { ClusterNodeLike } from './clients.ts';

export type MastersAgreement =
  /** The masters owning slots are the ones node-redis knows, and there is no other master. */
  | 'same'
  /** A failover, or a master that gained or lost all its slots: node-redis must re-read its map. */
  | 'slot owners differ'
  /**
   * A master that owns no slot yet (being added): during resharding it takes writes for keys
   * moved to it (ASK) before it owns their slot, and node-redis does not list it until then.
   */
  | 'a master without slots';

/** One line of CLUSTER NODES: `<id> <ip:port@bus[,host]> <flags> <master> <ping> <pong> <epoch> <link-state> <slots…>`. */
export interface ClusterNodesLine {
  id: string;
  /** `host:port`, the bus port and hostname dropped; empty, or `:port`, for a node without an address yet. */
  address: string;
  flags: string[];
  /** The master's id, for a replica. */
  masterId: string | undefined;
  /** `connected` or `disconnected`: this node's link to that one. */
  linkState: string;
  /** Slot ranges the node owns (`a-b` or `a`); the `[…]` migration markers left out. */
  slots: string[];
}

/** The lines of a CLUSTER NODES reply (the app's cluster view reads them too). */
export function parseClusterNodes(text: string): ClusterNodesLine[] {
  const out: ClusterNodesLine[] = [];
  for (const line of text.split(/\r?\n/)) {
    const f = line.trim().split(' ');
    const id = f[0];
    if (id === undefined || id === '') continue;
    out.push({
      id,
      address: (f[1] ?? '').split('@')[0] ?? '',
      flags: (f[2] ?? '').split(','),
      masterId: f[3] === undefined || f[3] === '-' ? undefined : f[3],
      linkState: f[7] ?? '',
      slots: f.slice(8).filter((s) => s !== '' && !s.startsWith('[')),
    });
  }
  return out;
}

export function clusterMastersAgree(clusterNodes: string, known: readonly ClusterNodeLike[]): MastersAgreement {
  const masters = parseClusterNodes(clusterNodes).filter((n) => n.flags.includes('master') && !n.flags.includes('handshake') && !n.flags.includes('noaddr'));
  const owners = new Set(masters.filter((n) => n.slots.length > 0).map((n) => n.id));
  const knownIds = new Set<string>();
  for (const m of known) if (m.id !== undefined) knownIds.add(m.id);
  // A client whose nodes carry no id cannot be compared; its failovers are still seen when a channel's node stops answering or is demoted (ROLE).
  if (knownIds.size === known.length) {
    if (owners.size !== knownIds.size) return 'slot owners differ';
    for (const id of owners) if (!knownIds.has(id)) return 'slot owners differ';
  }
  // A failed master without slots was replaced by its replica: it takes no writes.
  if (masters.some((n) => n.slots.length === 0 && !n.flags.includes('fail'))) return 'a master without slots';
  return 'same';
}
