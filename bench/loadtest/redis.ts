/** Redis housekeeping for the benches: between load-test runs, and after a bench section. */
import { execFileSync } from 'node:child_process';
import { createClient } from 'redis';
import type { RawRedisClient } from '../../test/helpers/redis-server.ts';

/** Unlinks every key under `prefix` (which holds no glob characters) that `keep` does not keep, a SCAN batch at a time; resolves how many. */
export async function unlinkUnder(c: RawRedisClient, prefix: string, keep: (key: string) => boolean = () => false): Promise<number> {
  let deleted = 0;
  for await (const batch of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    const drop = batch.filter((k) => !keep(k));
    if (drop.length > 0) deleted += await c.unlink(drop);
  }
  return deleted;
}

/** Deletes every key of the run's prefix but the sessions (SCAN + UNLINK). */
export async function dropAllButSessions(url: string, prefix: string): Promise<number> {
  const c = createClient({ url });
  c.on('error', () => {});
  await c.connect();
  try {
    const sessions = `${prefix}session:`;
    return await unlinkUnder(c, prefix, (k) => k.startsWith(sessions));
  } finally {
    await c.close();
  }
}

export async function flush(url: string): Promise<void> {
  const c = createClient({ url });
  c.on('error', () => {});
  await c.connect();
  await c.flushAll();
  await c.close();
}

export function redisVersion(): string {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version']).toString())?.[1] ?? '';
  } catch {
    return '';
  }
}
