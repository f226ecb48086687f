/**
 * Pieces shared by the `pg` and PGlite implementations of `Database`. Not part of the
 * public API: import from `database.ts` instead.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseError } from './errors.ts';

/** Domain charged for queries that do not name one. */
export const DEFAULT_DOMAIN = 'other';

/** Per-domain count of rows returned to the application (SELECT and RETURNING rows). */
export class ReadCounter {
  readonly #rowsByDomain = new Map<string, number>();

  add(domain: string | undefined, rows: number): void {
    const key = domain ?? DEFAULT_DOMAIN;
    this.#rowsByDomain.set(key, (this.#rowsByDomain.get(key) ?? 0) + rows);
  }

  /** A copy, so callers can diff two snapshots without the counter moving under them. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#rowsByDomain);
  }
}

/**
 * int8 (bigint) columns come back as JS numbers from both drivers, so ids, balances and
 * scores have one type whichever database runs. A value past 2^53 would silently lose
 * precision as a number, so it fails the query instead.
 */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`int8 value ${text} does not fit in a JavaScript number without losing precision`);
  }
  return value;
}

/** OID of `int8` and `int8[]` in every PostgreSQL (they are fixed in the catalog). */
export const INT8_OID = 20;
export const INT8_ARRAY_OID = 1016;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The schema name ends up inside SQL text and a startup parameter (identifiers cannot be
 * bound as `$1`), so only plain lower-case identifiers are accepted.
 */
export function assertSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new DatabaseError(`invalid schema name ${JSON.stringify(schema)}: use lower-case letters, digits and _ (max 63)`);
  }
  return schema;
}

/** The artificial per-statement latency of `queryDelayMs`; free when it is 0. */
export async function simulatedLatency(delayMs: number): Promise<void> {
  if (delayMs > 0) await sleep(delayMs);
}
