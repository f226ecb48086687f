/**
 * Instance B of the propagation bench (l1.bench.ts): a child process with its own cache (L1 on)
 * that reads one key. For each version the parent announces it reports, in wall-clock ms, when
 * the first read that returned it started (`goneAtMs`: that read found no old copy in L1, so
 * from then on B no longer serves the old value) and when it answered (`atMs`: after its round
 * trip to Redis), and then that it holds the new version in L1 (so the next write has an L1
 * copy to evict).
 *
 * Two ways of reading, as two kinds of server:
 * - `spin`: a server that is always busy. B reads in a loop, yielding to the event loop between
 *   reads (setImmediate), so it is always runnable: on a 2-core machine it competes with Redis
 *   and instance A for the cores, and when the scheduler takes the core from it, for a slice of
 *   a few milliseconds, the invalidation waits in its socket.
 * - `idle`: a server between requests. B reads once (an L1 hit), then sleeps in the event loop
 *   until Redis reports a write under the prefix, then reads in the `spin` way until a read
 *   returns the new version. The report that wakes B arrives on a connection of the bench's own
 *   (the same `CLIENT TRACKING … BCAST` the tier uses): it only decides when B looks, not what
 *   B sees; B's reads go through `getOrSet` and its L1, and a read that still returns the old
 *   value (the tier's own report not yet handled) keeps B reading.
 */
import { createClient } from 'redis';
import { createCache } from './library.ts';

interface Expect { type: 'expect'; version: number }
interface Stop { type: 'stop' }
type Mode = 'spin' | 'idle';

const wallNow = (): number => performance.timeOrigin + performance.now();
const [url, prefix, key, modeArg] = process.argv.slice(2);
if (url === undefined || prefix === undefined || key === undefined || (modeArg !== 'spin' && modeArg !== 'idle') || process.send === undefined) {
  throw new Error('usage: l1-reader.ts <redis-url> <prefix> <key> spin|idle (as a forked child)');
}
const mode: Mode = modeArg;
const send = process.send.bind(process);
const cache = createCache({ redis: url, prefix, l1: {} });
await cache.ready();
while ((await cache.getStats()).l1?.channel !== 'up') await new Promise((r) => setTimeout(r, 5));

// idle mode: the wake-up connection (RESP2: reports go to a subscribed connection).
let reported = false;
let onReport: () => void = () => undefined;
const wakeUp = mode === 'idle' ? createClient({ url, RESP: 2 }) : undefined;
if (wakeUp !== undefined) {
  await wakeUp.connect();
  const id = await wakeUp.sendCommand<number>(['CLIENT', 'ID']);
  await wakeUp.sendCommand(['CLIENT', 'TRACKING', 'on', 'REDIRECT', String(id), 'BCAST', 'PREFIX', prefix]);
  await wakeUp.subscribe('__redis__:invalidate', () => {
    reported = true;
    onReport();
  });
}

let waitingFor = -1;
let seenAt = 0;
let goneAt = 0;
let stopped = false;
// Between versions the loop sleeps until the next message instead of spinning.
let wake: () => void = () => undefined;
process.on('message', (m: Expect | Stop) => {
  if (m.type === 'stop') stopped = true;
  else {
    waitingFor = m.version;
    reported = false;
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
let last: { version: number } | undefined;
while (!stopped) {
  if (waitingFor >= 0) {
    const startedAt = wallNow();
    const v = await cache.getOrSet<{ version: number }>(key, missing, 3600);
    if (v.version === waitingFor) {
      if (seenAt === 0) {
        seenAt = wallNow();
        goneAt = startedAt;
      }
      if (v === last) {
        send({ type: 'seen', version: waitingFor, atMs: seenAt, goneAtMs: goneAt });
        waitingFor = -1;
        seenAt = 0;
      }
    }
    last = v;
  }
  if (stopped) break;
  if (waitingFor < 0) await new Promise<void>((r) => (wake = r));
  else if (mode === 'idle' && !reported && last?.version !== waitingFor) {
    // Holding the old version: nothing to do until Redis reports a write (or the parent stops B).
    await new Promise<void>((r) => {
      onReport = r;
      wake = r;
    });
    onReport = () => undefined;
  } else await new Promise((r) => setImmediate(r));
}
await wakeUp?.close();
await cache.close();
process.exit(0);
