/**
 * Instance B of the propagation bench (l1.bench.ts): a child process with its own cache (L1 on)
 * that reads one key in a loop, yielding to the event loop between reads as a server does
 * between requests. For each version the parent announces it reports, in wall-clock ms, when a
 * read first returned it, and then that it holds it in L1 (so the next write has an L1 copy to
 * evict).
 */
import { createCache } from '../src/cache/index.ts';

interface Expect { type: 'expect'; version: number }
interface Stop { type: 'stop' }

const wallNow = (): number => performance.timeOrigin + performance.now();
const [url, prefix, key] = process.argv.slice(2);
if (url === undefined || prefix === undefined || key === undefined || process.send === undefined) throw new Error('usage: l1-reader.ts <redis-url> <prefix> <key> (as a forked child)');
const send = process.send.bind(process);
const cache = createCache({ redis: url, prefix, l1: {} });
await cache.ready();
while ((await cache.getStats()).l1?.channel !== 'up') await new Promise((r) => setTimeout(r, 5));

let waitingFor = -1;
let seenAt = 0;
let stopped = false;
// Between versions the loop sleeps until the next message instead of spinning: a spinning reader
// takes a core from Redis and instance A on a 2-core machine.
let wake: () => void = () => undefined;
process.on('message', (m: Expect | Stop) => {
  if (m.type === 'stop') stopped = true;
  else {
    waitingFor = m.version;
    // The parent writes only once this is back, so the message's own delivery is not timed.
    send({ type: 'armed' });
  }
  wake();
});
send({ type: 'ready' });

const missing = (): never => {
  throw new Error(`${key} is missing: the parent writes it before announcing a version`);
};
// An L1 hit returns the very object L1 holds; a read from Redis decodes a new one.
let last: unknown;
while (!stopped) {
  if (waitingFor >= 0) {
    const v = await cache.getOrSet<{ version: number }>(key, missing, 3600);
    if (v.version === waitingFor) {
      if (seenAt === 0) seenAt = wallNow();
      if (v === last) {
        send({ type: 'seen', version: waitingFor, atMs: seenAt });
        waitingFor = -1;
        seenAt = 0;
      }
    }
    last = v;
  }
  if (waitingFor < 0 && !stopped) await new Promise<void>((r) => (wake = r));
  else await new Promise((r) => setImmediate(r));
}
await cache.close();
process.exit(0);
