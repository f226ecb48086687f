/**
 * The load generator of `npm run loadtest`, in a process of its own (forked with an IPC channel):
 * it regenerates the workload trace from the same seed and world as the parent and sends it
 * open-loop: request k leaves at k / rate seconds whatever happened to the earlier ones, over
 * keep-alive connections (a minimal HTTP/1.1 client on node:net). Latency is measured from the scheduled send time, so a server
 * (or generator) that falls behind shows up in the percentiles instead of silently lowering
 * the rate (no coordinated omission).
 *
 * Protocol: the parent sends one `LoadgenConfig`; this process answers with `progress` messages
 * about once a second and one `done` message carrying typed arrays (IPC 'advanced' serialization).
 */
import { connect, type Socket } from 'node:net';
import { createWorkload, trace, type TraceRequest, type World } from './workload.ts';

export interface LoadgenConfig {
  baseUrl: string;
  ratePerSecond: number;
  durationSeconds: number;
  zipf: number;
  writeRatio: number;
  seed: number;
  world: World;
  /** Bearer token of each pooled session, by index. */
  tokens: string[];
  /** Most sockets open at once. */
  connections: number;
  /** A request still unanswered after this is an error. */
  timeoutMs: number;
}

/** X-Cache values, as stored in `LoadgenResult.xCache`. */
export const XCACHE_CODES = ['', 'HIT', 'MISS', 'STALE', 'BYPASS'] as const;
export type XCacheCode = 0 | 1 | 2 | 3 | 4;

export interface LoadgenResult {
  /** Wall clock (Date.now) of schedule time 0. */
  startedAtMs: number;
  /** Per request, by sequence number. */
  status: Uint16Array;
  /** Scheduled send → last byte of the response, ms. */
  latencyMs: Float64Array;
  /** Actual send → last byte, ms (without the wait for a free socket or a late timer). */
  serviceMs: Float64Array;
  /** Scheduled send → actual send, ms. */
  sendLagMs: Float64Array;
  xCache: Uint8Array;
  /** Network errors and timeouts, with their first messages. */
  networkErrors: number;
  errorSamples: string[];
  /** Schedule time 0 → last response, ms. */
  elapsedMs: number;
}

export type LoadgenMessage =
  | { type: 'progress'; sent: number; done: number; errors: number; total: number; elapsedMs: number }
  | { type: 'done'; result: LoadgenResult };

const XCODE: Record<string, XCacheCode> = { HIT: 1, MISS: 2, STALE: 3, BYPASS: 4 };

/** Builds the bytes of one HTTP/1.1 request. */
function requestBytes(r: TraceRequest, host: string, token: string | undefined): Buffer {
  const body = r.body === undefined ? undefined : JSON.stringify(r.body);
  let head = `${r.method} ${r.path} HTTP/1.1\r\nhost: ${host}\r\n`;
  if (token !== undefined) head += `authorization: Bearer ${token}\r\n`;
  if (body !== undefined) head += `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
  head += '\r\n';
  return Buffer.from(body === undefined ? head : head + body);
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

interface Pending {
  r: TraceRequest;
  bytes: Buffer;
  scheduled: number;
  sentAt: number;
}

/**
 * One keep-alive connection, one request at a time (no pipelining), with a minimal response
 * parser: status line, `content-length`, `x-cache`. node:http costs several times more CPU per
 * request, and on two cores the generator competes with the server it measures.
 */
class Connection {
  readonly socket: Socket;
  current: Pending | undefined;
  #buf: Buffer = Buffer.alloc(0);
  #need = -1;
  #status = 0;
  #xCache: XCacheCode = 0;
  #sample = '';
  closed = false;
  connected = false;

  constructor(
    port: number,
    host: string,
    readonly onDone: (c: Connection, p: Pending, status: number, xCache: XCacheCode, sample: string) => void,
    readonly onFail: (c: Connection, p: Pending | undefined, message: string) => void,
  ) {
    this.socket = connect({ port, host, noDelay: true });
    this.socket.on('data', (d: Buffer) => this.#data(d));
    this.socket.on('error', (err) => this.#close(err.message));
    this.socket.on('close', () => this.#close('connection closed'));
  }

  send(p: Pending): void {
    this.current = p;
    this.#need = -1;
    p.sentAt = performance.now();
    this.socket.write(p.bytes);
  }

  #close(message: string): void {
    if (this.closed) return;
    this.closed = true;
    const p = this.current;
    this.current = undefined;
    this.onFail(this, p, message);
  }

  #data(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    for (;;) {
      if (this.#need < 0) {
        const end = this.#buf.indexOf(CRLFCRLF);
        if (end < 0) return;
        const head = this.#buf.toString('latin1', 0, end);
        this.#status = Number(head.slice(9, 12));
        const lower = head.toLowerCase();
        const cl = /\r\ncontent-length: *(\d+)/.exec(lower);
        if (cl === null) {
          this.socket.destroy(new Error(`response without content-length (status ${this.#status})`));
          return;
        }
        const x = /\r\nx-cache: *([a-z]+)/.exec(lower)?.[1]?.toUpperCase();
        this.#xCache = x === undefined ? 0 : (XCODE[x] ?? 0);
        this.#need = Number(cl[1]);
        this.#buf = this.#buf.subarray(end + 4);
      }
      if (this.#buf.length < this.#need) return;
      this.#sample = this.#status >= 400 ? this.#buf.toString('utf8', 0, Math.min(this.#need, 200)) : '';
      this.#buf = this.#buf.subarray(this.#need);
      this.#need = -1;
      const p = this.current;
      this.current = undefined;
      if (p !== undefined) this.onDone(this, p, this.#status, this.#xCache, this.#sample);
      if (this.#buf.length === 0) return;
    }
  }
}

export async function runLoad(cfg: LoadgenConfig, onProgress?: (p: Extract<LoadgenMessage, { type: 'progress' }>) => void): Promise<LoadgenResult> {
  const url = new URL(cfg.baseUrl);
  const host = url.host;
  const port = Number(url.port);
  const workload = createWorkload({ world: cfg.world, zipf: cfg.zipf, writeRatio: cfg.writeRatio, seed: cfg.seed });
  const requests: TraceRequest[] = [...trace(workload, cfg.ratePerSecond, cfg.durationSeconds)];
  const n = requests.length;
  const status = new Uint16Array(n);
  const latencyMs = new Float64Array(n);
  const serviceMs = new Float64Array(n);
  const sendLagMs = new Float64Array(n);
  const xCache = new Uint8Array(n);
  const errorSamples: string[] = [];
  let networkErrors = 0;
  let done = 0;
  let sent = 0;

  let finish: () => void = () => {};
  const allDone = new Promise<void>((resolve) => (finish = resolve));
  const complete = (): void => {
    done++;
    if (done === n) finish();
  };

  const idle: Connection[] = [];
  const all = new Set<Connection>();
  const queue: Pending[] = [];
  let queueHead = 0;
  let connectFailures = 0;

  const dispatch = (c: Connection): void => {
    if (c.closed) return;
    if (queueHead < queue.length) {
      const p = queue[queueHead++] as Pending;
      if (queueHead > 4096 && queueHead * 2 > queue.length) {
        queue.splice(0, queueHead);
        queueHead = 0;
      }
      c.send(p);
      sent++;
    } else idle.push(c);
  };
  const onDone = (c: Connection, p: Pending, code: number, x: XCacheCode, sample: string): void => {
    const end = performance.now();
    status[p.r.i] = code;
    xCache[p.r.i] = x;
    latencyMs[p.r.i] = end - p.scheduled;
    serviceMs[p.r.i] = end - p.sentAt;
    sendLagMs[p.r.i] = p.sentAt - p.scheduled;
    if (code >= 400 && errorSamples.length < 10) errorSamples.push(`${p.r.method} ${p.r.path}: ${code} ${sample}`);
    complete();
    dispatch(c);
  };
  const onFail = (c: Connection, p: Pending | undefined, message: string): void => {
    all.delete(c);
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    if (p !== undefined) {
      networkErrors++;
      if (errorSamples.length < 10) errorSamples.push(`${p.r.method} ${p.r.path}: ${message}`);
      const end = performance.now();
      latencyMs[p.r.i] = end - p.scheduled;
      serviceMs[p.r.i] = end - p.sentAt;
      complete();
    }
    if (!c.connected) connectFailures++;
    if (connectFailures > 50) {
      // The server is gone: fail what is queued instead of reconnecting forever.
      while (queueHead < queue.length) {
        const q = queue[queueHead++] as Pending;
        networkErrors++;
        if (errorSamples.length < 10) errorSamples.push(`${q.r.method} ${q.r.path}: ${message}`);
        complete();
      }
      return;
    }
    // Whatever is queued goes out on another (or a new) connection.
    if (queueHead < queue.length) open();
  };
  const open = (): void => {
    const c = new Connection(port, url.hostname, onDone, onFail);
    all.add(c);
    c.socket.once('connect', () => {
      c.connected = true;
      dispatch(c);
    });
  };
  const submit = (r: TraceRequest, scheduled: number): void => {
    const p: Pending = { r, bytes: requestBytes(r, host, r.session >= 0 ? cfg.tokens[r.session] : undefined), scheduled, sentAt: 0 };
    const c = idle.pop();
    if (c !== undefined) {
      c.send(p);
      sent++;
      return;
    }
    queue.push(p);
    if (all.size < cfg.connections) open();
  };

  const t0 = performance.now() + 50;
  const startedAtMs = Date.now() + 50;
  // Requests unanswered after timeoutMs: their connection is destroyed, which fails them.
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const c of all) if (c.current !== undefined && now - c.current.sentAt > cfg.timeoutMs) c.socket.destroy(new Error(`no answer within ${cfg.timeoutMs} ms`));
  }, 250);
  const progress = setInterval(() => {
    onProgress?.({ type: 'progress', sent, done, errors: networkErrors, total: n, elapsedMs: performance.now() - t0 });
  }, 1000);

  // The pacer: every tick submits whatever is due; lateness shows in sendLagMs.
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now() - t0;
      while (next < n && (requests[next] as TraceRequest).atMs <= now) {
        const r = requests[next++] as TraceRequest;
        submit(r, t0 + r.atMs);
      }
      if (next >= n) {
        resolve();
        return;
      }
      // Timers fire at ~1 ms granularity: requests due within the same millisecond leave
      // together. (Spinning on setImmediate would be more punctual and burn a core.)
      const wait = (requests[next] as TraceRequest).atMs - now;
      setTimeout(tick, Math.max(1, Math.min(Math.floor(wait), 50)));
    };
    setTimeout(tick, 50);
  });
  if (n > 0) await allDone;
  clearInterval(progress);
  clearInterval(sweeper);
  onProgress?.({ type: 'progress', sent, done, errors: networkErrors, total: n, elapsedMs: performance.now() - t0 });
  for (const c of all) {
    c.closed = true;
    c.socket.destroy();
  }
  return { startedAtMs, status, latencyMs, serviceMs, sendLagMs, xCache, networkErrors, errorSamples, elapsedMs: performance.now() - t0 };
}

// Forked by loadtest.ts: one config in, progress and the result out.
if (process.send !== undefined && process.argv.includes('--loadgen-child')) {
  process.once('message', (cfg: LoadgenConfig) => {
    runLoad(cfg, (p) => process.send?.(p))
      .then((result) => {
        const msg: LoadgenMessage = { type: 'done', result };
        process.send?.(msg, () => process.disconnect());
      })
      .catch((err: unknown) => {
        process.stderr.write(`load generator failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exit(1);
      });
  });
}
