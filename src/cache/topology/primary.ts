import type { PubSubChannel } from '../lease-watch.ts';
import type { TrackingTargets } from '../tiers/node-tracking.ts';
import type { LuaScript } from '../scripts.ts';
import type { RedisClientOfAnyVersion } from './clients.ts';
import { evalWith, type MasterHandle, type RedisConnection, type RedisNodeState, type TopologyKind } from './connection.ts';
import { plainLeaseKey } from './slots.ts';

/**
 * The commands of a topology with one master holding every key (one Redis, or a master found
 * through Sentinel): no grouping by slot, and scripts may touch any key, tag versions
 * included. Subclasses say how a command and a transaction reach the master.
 */
export abstract class PrimaryConnection implements RedisConnection {
  abstract readonly kind: TopologyKind;
  abstract readonly client: RedisClientOfAnyVersion;
  abstract readonly isReady: boolean;
  abstract readonly isOpen: boolean;
  readonly tagsInScripts = true;

  abstract firstReady(timeoutMs: number): Promise<void>;
  abstract onReady(fn: () => void): () => void;
  abstract get(key: string): Promise<string | null>;
  abstract nodes(): RedisNodeState[];
  abstract close(): Promise<void>;
  /** One command to the master; `readonly` lets a client route it to a replica if so configured. */
  protected abstract send<T>(args: string[], readonly: boolean): Promise<T>;
  /** MULTI … EXEC on the master; resolves the replies. */
  protected abstract transaction(commands: string[][]): Promise<unknown[]>;
  /** `host:port` of the master. */
  protected abstract masterAddress(): string;

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    return this.send(['MGET', ...keys], true);
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.send(['HGET', key, field], true);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.send(['SET', key, value, 'PX', String(ttlMs)], false);
  }

  setIfAbsentGet(key: string, value: string, ttlMs: number): Promise<string | null> {
    return this.send(['SET', key, value, 'NX', 'PX', String(ttlMs), 'GET'], false);
  }

  setIfEqual(key: string, value: string, expected: string, ttlMs: number): Promise<string | null> {
    return this.send(['SET', key, value, 'IFEQ', expected, 'PX', String(ttlMs)], false);
  }

  pttl(key: string): Promise<number> {
    return this.send(['PTTL', key], true);
  }

  evalScript(script: LuaScript, keys: readonly string[], args: readonly string[], inline?: boolean): Promise<unknown> {
    return evalWith((a) => this.send(a, false), script, keys, args, inline);
  }

  async unlinkEntries(entries: readonly string[], internal: readonly string[]): Promise<number> {
    if (entries.length === 0) {
      if (internal.length > 0) await this.send(['UNLINK', ...internal], false);
      return 0;
    }
    const replies = await this.transaction(internal.length > 0 ? [['UNLINK', ...entries], ['UNLINK', ...internal]] : [['UNLINK', ...entries]]);
    return Number(replies[0]);
  }

  async setExisting(keys: readonly string[], values: readonly string[]): Promise<void> {
    const sets = keys.map((k, i) => ['SET', k, values[i] ?? '', 'XX', 'KEEPTTL']);
    if (sets.length === 1) await this.send(sets[0] as string[], false);
    else if (sets.length > 1) await this.transaction(sets);
  }

  waitReplicas(_keys: readonly string[], replicas: number, timeoutMs: number): Promise<number> {
    return this.send(['WAIT', String(replicas), String(timeoutMs)], false);
  }

  abstract duplicate(): RedisConnection | undefined;
  abstract trackingTargets(): TrackingTargets;
  abstract openPubSub(): PubSubChannel | undefined;
  abstract connect(): Promise<void>;

  masters(): MasterHandle[] {
    return [
      {
        address: this.masterAddress(),
        scan: async (cursor, match, count) => {
          const [next, keys] = await this.send<[string, string[]]>(['SCAN', cursor, 'MATCH', match, 'COUNT', String(count)], true);
          return { cursor: next, keys };
        },
        dbSize: () => this.send<number>(['DBSIZE'], true),
        command: <T>(args: string[]) => this.send<T>(args, false),
      },
    ];
  }

  leaseKey(fullKey: string): string {
    return plainLeaseKey(fullKey);
  }

  checkKey(): void {}
}

/** quit, and destroy when that fails (a client that already closed itself throws). */
export async function closeClient(client: { readonly isOpen: boolean; close(): Promise<unknown>; destroy(): unknown }): Promise<void> {
  const destroy = (): void => {
    try {
      if (client.isOpen) void client.destroy();
    } catch {
      // already closed
    }
  };
  if (client.isOpen) await client.close().then(() => undefined, destroy);
  else destroy();
}
