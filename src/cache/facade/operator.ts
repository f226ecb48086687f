/**
 * Operator reads (inspect.ts) for tools such as the CLI: Redis only, nothing written. Each
 * rejects with a typed error if Redis fails, and with InvalidOptionsError on the memory store.
 */
import { escapeGlob, prefixedKey } from '../keys.ts';
import { globToRegExp } from '../glob.ts';
import { classifyScan, describeInspection, serverInfoOf, type EntryInspection, type KeyScanBatch, type RawInspection, type RedisServerInfo } from '../inspect.ts';
import { defaultSerializer } from '../serializer.ts';
import { redisOnly, type FacadeParts } from './parts.ts';

export async function inspectKey(p: FacadeParts, key: string): Promise<EntryInspection> {
  p.assertOpen();
  const full = p.key(key);
  const store = p.store;
  if (store.inspect === undefined) throw redisOnly('inspect');
  let raw: RawInspection;
  try {
    raw = await store.inspect(full);
  } catch (err) {
    throw p.fail('inspect', key, err);
  }
  const o = p.options;
  return describeInspection(key, full, raw, o.serializer, o.serializer === defaultSerializer, o.clock.now());
}

export async function* scanKeysIn(p: FacadeParts, pattern: string, options: { batchSize?: number }): AsyncGenerator<KeyScanBatch> {
  p.assertOpen();
  const prefix = p.options.prefix;
  const match = prefixedKey(escapeGlob(prefix), pattern);
  const store = p.store;
  if (store.scan === undefined) throw redisOnly('scanKeys');
  const exact = globToRegExp(match);
  try {
    for await (const batch of store.scan(`${match}*`, options.batchSize ?? p.options.scanBatchSize)) yield classifyScan(batch, prefix, exact);
  } catch (err) {
    throw p.fail('scanKeys', pattern, err);
  }
}

export async function serverInfos(p: FacadeParts): Promise<RedisServerInfo[]> {
  p.assertOpen();
  const store = p.store;
  if (store.serverInfo === undefined) throw redisOnly('redisServers');
  try {
    return (await store.serverInfo()).map(serverInfoOf);
  } catch (err) {
    throw p.fail('redisServers', undefined, err);
  }
}
