/**
 * Typed errors of the database layer. Callers branch on the stable `code` (or on
 * `instanceof`), never on driver messages, because `pg` and PGlite word them differently.
 * The driver error is always kept as `cause`.
 */

/** Every `code` a database-layer error can carry. */
export type DatabaseErrorCode =
  | 'E_DATABASE'
  | 'E_DB_CONSTRAINT'
  | 'E_DB_TIMEOUT'
  | 'E_DB_UNAVAILABLE'
  | 'E_DB_CLOSED'
  | 'E_DB_MIGRATION'
  | 'E_DB_SEED';

/** Which kind of integrity constraint a write violated. */
export type ConstraintKind = 'check' | 'unique' | 'foreign_key' | 'not_null' | 'exclusion';

export interface DatabaseErrorOptions {
  cause?: unknown;
  /** The five-character SQLSTATE reported by the server, when there is one. */
  sqlState?: string;
  /** True when running the same statement again may succeed (serialization failure, deadlock, lost connection). */
  retryable?: boolean;
}

/** Base class: any failure of a query, a transaction or the connection. Code `E_DATABASE`. */
export class DatabaseError extends Error {
  readonly code: DatabaseErrorCode = 'E_DATABASE';
  readonly sqlState: string | undefined;
  readonly retryable: boolean;

  constructor(message: string, options: DatabaseErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.sqlState = options.sqlState;
    this.retryable = options.retryable ?? false;
  }
}

/** A write broke a CHECK, UNIQUE, FOREIGN KEY, NOT NULL or EXCLUDE constraint. Code `E_DB_CONSTRAINT`. */
export class ConstraintViolationError extends DatabaseError {
  override readonly code = 'E_DB_CONSTRAINT';
  /** E.g. `wallets_balance_check`; undefined if the server did not name it. */
  readonly constraint: string | undefined;
  readonly table: string | undefined;

  constructor(
    message: string,
    readonly constraintKind: ConstraintKind,
    details: { constraint?: string; table?: string },
    options: DatabaseErrorOptions = {},
  ) {
    super(message, options);
    this.constraint = details.constraint;
    this.table = details.table;
  }
}

/** A statement, a connection attempt or a wait for a pooled connection took too long. Code `E_DB_TIMEOUT`. */
export class DatabaseTimeoutError extends DatabaseError {
  override readonly code = 'E_DB_TIMEOUT';
}

/** The server could not be reached or dropped the connection. Code `E_DB_UNAVAILABLE`. */
export class DatabaseUnavailableError extends DatabaseError {
  override readonly code = 'E_DB_UNAVAILABLE';
}

/** The `Database` was used after `close()`. Code `E_DB_CLOSED`. */
export class DatabaseClosedError extends DatabaseError {
  override readonly code = 'E_DB_CLOSED';
}

/** A migration file is malformed, was edited after being applied, or failed to apply. Code `E_DB_MIGRATION`. */
export class MigrationError extends DatabaseError {
  override readonly code = 'E_DB_MIGRATION';
}

/** Seeding was refused (database not empty, bad options) or failed. Code `E_DB_SEED`. */
export class SeedError extends DatabaseError {
  override readonly code = 'E_DB_SEED';
}

/** The fields `pg` and PGlite both put on server errors (same names in both drivers). */
interface ServerErrorFields {
  code?: unknown;
  constraint?: unknown;
  table?: unknown;
}

const CONSTRAINT_KINDS: Readonly<Record<string, ConstraintKind>> = {
  '23514': 'check',
  '23505': 'unique',
  '23503': 'foreign_key',
  '23502': 'not_null',
  '23P01': 'exclusion',
};

/** Node socket errors that mean "no server there" rather than "bad query". */
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Turns whatever a driver threw into one of the typed errors above. Already-typed errors
 * pass through unchanged so wrapping twice is harmless.
 */
export function toDatabaseError(err: unknown): DatabaseError {
  if (err instanceof DatabaseError) return err;
  const fields: ServerErrorFields = typeof err === 'object' && err !== null ? err : {};
  const code = stringField(fields.code);
  const message = err instanceof Error ? err.message : String(err);
  // SQLSTATEs are exactly five characters; Node errnos (ECONNREFUSED...) are longer.
  const sqlState = code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;

  if (sqlState !== undefined) {
    const kind = CONSTRAINT_KINDS[sqlState];
    if (kind !== undefined) {
      const details: { constraint?: string; table?: string } = {};
      const constraint = stringField(fields.constraint);
      const table = stringField(fields.table);
      if (constraint !== undefined) details.constraint = constraint;
      if (table !== undefined) details.table = table;
      return new ConstraintViolationError(message, kind, details, { cause: err, sqlState });
    }
    // 57014 query_canceled: statement_timeout fired. 55P03 lock_not_available: lock_timeout.
    if (sqlState === '57014' || sqlState === '55P03') return new DatabaseTimeoutError(message, { cause: err, sqlState, retryable: true });
    // Class 08 connection exceptions, 57P01..57P03 server shutting down or not yet accepting.
    if (sqlState.startsWith('08') || /^57P0[1-3]$/.test(sqlState)) {
      return new DatabaseUnavailableError(message, { cause: err, sqlState, retryable: true });
    }
    // 40001 serialization_failure, 40P01 deadlock_detected: the transaction may simply be retried.
    const retryable = sqlState === '40001' || sqlState === '40P01';
    return new DatabaseError(message, { cause: err, sqlState, retryable });
  }
  if (code !== undefined && UNAVAILABLE_ERRNOS.has(code)) return new DatabaseUnavailableError(message, { cause: err, retryable: true });
  // pg reports its client-side timeouts only through the message text.
  if (/timeout/i.test(message)) return new DatabaseTimeoutError(message, { cause: err, retryable: true });
  if (/Connection terminated/i.test(message)) return new DatabaseUnavailableError(message, { cause: err, retryable: true });
  return new DatabaseError(message, { cause: err });
}
