/**
 * The last cache and Redis failures, for the dashboard: a small ring buffer fed by the cache's
 * onError hook (server.ts). The dashboard is read by people who may not hold the Redis or
 * database credentials, so an entry keeps only what helps diagnose: the error code, the
 * operation, the key's namespace (a full key can carry a session token hash or an e-mail) and
 * the message with any URL credentials and long tokens masked. No stack, no cause, no key.
 *
 * A burst of the same failure (an outage fails every request the same way) is one entry with a
 * count, so it does not push every other failure out of the buffer.
 */
import { namespaceOf, type CacheErrorEvent } from '../../cache/index.ts';

export interface RecentError {
  /** When the last occurrence happened (epoch ms). */
  atMs: number;
  /** When the first of the occurrences counted here happened (epoch ms). */
  firstAtMs: number;
  /** The library's stable error code, e.g. `E_COMMAND_TIMEOUT`. */
  code: string;
  /** The cache operation that failed (`get`, `getOrSet`, `del`, …). */
  operation: string;
  /** The key's namespace; `_connection` for failures not tied to a key. */
  namespace: string;
  /** The error message, secrets masked, at most MAX_MESSAGE_CHARS. */
  message: string;
  /** Consecutive occurrences of this same failure. */
  count: number;
}

export interface RecentErrorsOptions {
  /** Entries kept, newest first. Default 20. */
  capacity?: number;
  /** Time source (epoch ms). Default `Date.now`. */
  now?: () => number;
}

const MAX_MESSAGE_CHARS = 240;

/**
 * `text` with secrets masked: the user and password of any URL (`redis://user:pass@host` →
 * `redis://****@host`), `password=…`/`token=…` style pairs, and bearer credentials.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1****@')
    .replace(/\b(pass(?:word)?|pwd|secret|token|auth|api[_-]?key)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi, '$1$2****')
    .replace(/\b(bearer)\s+\S+/gi, '$1 ****');
}

export class RecentErrors {
  readonly #capacity: number;
  readonly #now: () => number;
  /** Newest first. */
  readonly #entries: RecentError[] = [];
  #total = 0;

  constructor(opts: RecentErrorsOptions = {}) {
    this.#capacity = Math.max(1, opts.capacity ?? 20);
    this.#now = opts.now ?? Date.now;
  }

  /** For the cache's onError hook: never throws (a failing hook must not fail a request). */
  record(event: CacheErrorEvent): void {
    const message = redactSecrets(event.error.message).slice(0, MAX_MESSAGE_CHARS);
    const namespace = event.key === undefined ? '_connection' : namespaceOf(event.key);
    const atMs = this.#now();
    this.#total++;
    const last = this.#entries[0];
    if (last !== undefined && last.code === event.error.code && last.operation === event.operation && last.namespace === namespace && last.message === message) {
      last.count++;
      last.atMs = atMs;
      return;
    }
    this.#entries.unshift({ atMs, firstAtMs: atMs, code: event.error.code, operation: event.operation, namespace, message, count: 1 });
    if (this.#entries.length > this.#capacity) this.#entries.length = this.#capacity;
  }

  /** Copies of the entries, newest first. */
  list(): RecentError[] {
    return this.#entries.map((e) => ({ ...e }));
  }

  /** Failures recorded since start, the ones pushed out of the buffer included. */
  get total(): number {
    return this.#total;
  }
}
