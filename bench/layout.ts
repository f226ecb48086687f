/**
 * `npm run bench:layout`: why an entry is a plain string (read with GET) and not a hash field
 * (HGET), on a throwaway redis-server.
 *
 * 1. Redis's own time per call (INFO commandstats: command execution, not network or parsing)
 *    of GET on 1,000 strings against HGET on 1,000 one-field hashes holding the same ~650-byte
 *    values, all with a TTL as entries have, 64 calls in flight from the raw client, in
 *    alternating rounds so both see the same machine.
 * 2. MEMORY USAGE against the same value as a plain JSON string: the value in a hash, and a cache
 *    entry (100 keys each of two sizes).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createClient } from 'redis';
import { createCache, LIBRARY_MEASURED } from './library.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';
import { IN_FLIGHT, KEYS, keepInFlight, profile } from './hit-load.ts';
import { machineHeader, today } from './machine.ts';

const ROUNDS = 10;
const ROUND_MS = 300;

const small = (id: number) => ({ id, ok: true });

/** usec_per_call of one command from INFO commandstats. */
function usecPerCall(info: string, command: string): number {
  const line = info.split('\n').find((l) => l.startsWith(`cmdstat_${command}:`));
  const m = line?.match(/usec_per_call=([\d.]+)/);
  return m?.[1] === undefined ? Number.NaN : Number(m[1]);
}

const server = await startRedisServer();
const raw = createClient({ url: server.url });
await raw.connect();
try {
  for (let i = 0; i < KEYS; i++) {
    const v = JSON.stringify(profile(i));
    await raw.set(`s:${i}`, v, { expiration: { type: 'EX', value: 3600 } });
    await raw.hSet(`h:${i}`, 'v', v);
    await raw.expire(`h:${i}`, 3600);
  }
  const encoding = await raw.sendCommand<string>(['OBJECT', 'ENCODING', 'h:0']);
  const get = (i: number) => raw.sendCommand(['GET', `s:${i}`]);
  const hget = (i: number) => raw.sendCommand(['HGET', `h:${i}`, 'v']);
  await keepInFlight(get, 300);
  await keepInFlight(hget, 300);
  await raw.configResetStat();
  for (let r = 0; r < ROUNDS; r++) {
    await keepInFlight(r % 2 === 0 ? get : hget, ROUND_MS);
    await keepInFlight(r % 2 === 0 ? hget : get, ROUND_MS);
  }
  const info = await raw.info('commandstats');
  let hashExtra = 0;
  for (let i = 0; i < 100; i++) hashExtra += ((await raw.memoryUsage(`h:${i}`)) ?? Number.NaN) - ((await raw.memoryUsage(`s:${i}`)) ?? Number.NaN);

  const cache = createCache({ redis: server.url, prefix: 'm:c:' });
  await cache.ready();
  const memory: string[] = [];
  for (const [name, make] of [['~650-byte profile', profile], ['small object', small]] as const) {
    let extra = 0;
    for (let i = 0; i < 100; i++) {
      await cache.set(`u:${i}`, make(i), 3600);
      await raw.set(`m:r:u:${i}`, JSON.stringify(make(i)), { expiration: { type: 'EX', value: 3600 } });
      extra += ((await raw.memoryUsage(`m:c:u:${i}`)) ?? Number.NaN) - ((await raw.memoryUsage(`m:r:u:${i}`)) ?? Number.NaN);
    }
    memory.push(`| ${name} | ${(extra / 100).toFixed(1)} |`);
  }
  await cache.close();

  const report = [
      '# Entry layout: GET on a string vs HGET on a hash field',
      '',
      machineHeader('npm run bench:layout'),
      `- Redis: ${(await raw.info('server')).match(/redis_version:(\S+)/)?.[1] ?? 'unknown'}, started by the bench; hashes are ${encoding}-encoded; ${LIBRARY_MEASURED}`,
      '',
      `Redis time per call (INFO commandstats), ${KEYS} keys, ${IN_FLIGHT} in flight, ${ROUNDS} alternating rounds of ${ROUND_MS} ms each:`,
      '',
      '| command | µs per call |',
      '|---|---:|',
      `| GET on a string | ${usecPerCall(info, 'get').toFixed(2)} |`,
      `| HGET on a one-field hash | ${usecPerCall(info, 'hget').toFixed(2)} |`,
      '',
      'MEMORY USAGE minus that of the same value as a plain JSON string, mean over 100 keys:',
      '',
      '| what | extra bytes per key |',
      '|---|---:|',
      `| the ~650-byte value in a one-field hash (${encoding}) | ${(hashExtra / 100).toFixed(1)} |`,
      ...memory.map((row) => row.replace('| ', '| a cache entry, ')),
  ].join('\n');
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${today()}-layout.md`;
  writeFileSync(file, report + '\n');
  console.log(report + `\n\nWritten to ${file}`);
} finally {
  await raw.close();
  await server.stop();
}
