/** Counting the commands a client sends, from MONITOR (cache.bench.ts, l1.bench.ts). */
import type { createClient } from 'redis';

type RedisClient = ReturnType<typeof createClient>;

/**
 * Client commands (not those run inside scripts) Redis executes while fn runs, from MONITOR.
 * Lines matching `ignore` are not counted (another connection's background traffic, such as
 * the in-process tier's heartbeat PING).
 */
export async function countCommands(raw: RedisClient, fn: () => Promise<unknown>, ignore?: RegExp): Promise<number> {
  const monitor = raw.duplicate();
  monitor.on('error', () => {});
  await monitor.connect();
  let n = 0;
  let marker = false;
  await monitor.monitor((line) => {
    if (line.includes(' lua]')) return;
    if (line.includes('"ECHO" "bench-marker"')) marker = true;
    else if (!marker && (ignore === undefined || !ignore.test(line))) n++;
  });
  await fn();
  await raw.echo('bench-marker'); // MONITOR is ordered: once the marker shows, every command before it has too
  while (!marker) await new Promise((r) => setTimeout(r, 10));
  await monitor.close();
  return n;
}
