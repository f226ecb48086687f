/** Redis housekeeping between load-test runs. */
import { execFileSync } from 'node:child_process';
import { createClient } from 'redis';

/** Deletes every key of the run's prefix but the sessions (SCAN + UNLINK). */
export async function dropAllButSessions(url: string, prefix: string): Promise<number> {
  const c = createClient({ url });
  c.on('error', () => {});
  await c.connect();
  let deleted = 0;
  try {
    const keep = `${prefix}session:`;
    for await (const batch of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      const drop = batch.filter((k) => !k.startsWith(keep));
      if (drop.length > 0) deleted += await c.unlink(drop);
    }
  } finally {
    await c.close();
  }
  return deleted;
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
