/**
 * The CLI's failures and exit codes. Every error a command meets ends as one CliError: a stable
 * `code`, the exit code scripts branch on, a one-line message, and the original as `cause`
 * (printed only with --verbose).
 */
// The error modules themselves, not their packages' indexes: `--help` should not load a Redis client.
import { CacheError } from '../cache/errors.ts';
import { ConfigError } from '../app/config.ts';
import { RedisBootError } from '../app/redis/boot-errors.ts';

/** The exit codes, documented in `--help`, the README and docs/cli.md. */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** The operation failed: Redis, the server or the database unreachable or erring, warming incomplete. */
  failed: 1,
  /** Usage or configuration error (bad flag, argument, key, tag or environment variable): nothing was done. */
  usage: 2,
  /** Refused: the confirmation was declined, or needed and impossible (stdin not a terminal): nothing was deleted. */
  refused: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type CliErrorCode =
  /** A flag, argument or value the command does not take. */
  | 'E_CLI_USAGE'
  /** The environment (or --redis/--prefix) does not make a valid configuration, or names no Redis. */
  | 'E_CLI_CONFIG'
  /** A bulk deletion was not confirmed. */
  | 'E_CLI_REFUSED'
  /** Redis could not be reached or answered with an error. */
  | 'E_CLI_REDIS'
  /** The server named by --server could not be read. */
  | 'E_CLI_SERVER'
  /** The database could not be opened (warm). */
  | 'E_CLI_DATABASE'
  /** Warming timed out or a warmer failed. */
  | 'E_CLI_WARM'
  /** Anything else that stopped the command. */
  | 'E_CLI_FAILED';

const EXIT_OF: Record<CliErrorCode, ExitCode> = {
  E_CLI_USAGE: EXIT.usage,
  E_CLI_CONFIG: EXIT.usage,
  E_CLI_REFUSED: EXIT.refused,
  E_CLI_REDIS: EXIT.failed,
  E_CLI_SERVER: EXIT.failed,
  E_CLI_DATABASE: EXIT.failed,
  E_CLI_WARM: EXIT.failed,
  E_CLI_FAILED: EXIT.failed,
};

export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exitCode: ExitCode;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = EXIT_OF[code];
  }
}

/** Input the cache refuses before sending anything: the caller's mistake, not Redis's. */
const INPUT_CODES = new Set(['E_INVALID_KEY', 'E_INVALID_TAG', 'E_INVALID_OPTIONS', 'E_INVALID_TTL']);

/**
 * Any error thrown while running a command, as the CliError it stands for. The database's and
 * the simulator's errors are told by their `code`: importing their modules here would load the
 * database drivers and the simulator for every command.
 */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ConfigError) return new CliError('E_CLI_CONFIG', `invalid configuration: ${err.problems.join('; ')}`, { cause: err });
  if (err instanceof RedisBootError) return new CliError('E_CLI_REDIS', err.message, { cause: err });
  if (err instanceof CacheError) {
    if (INPUT_CODES.has(err.code)) return new CliError('E_CLI_USAGE', err.message, { cause: err });
    return new CliError('E_CLI_REDIS', `${err.message} (${err.code})`, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'E_DATA_OPEN') return new CliError('E_CLI_DATABASE', message, { cause: err });
  if (code === 'E_SIMULATE_USAGE') return new CliError('E_CLI_USAGE', `${message} (redis-cache-layer simulate --help lists its flags)`, { cause: err });
  return new CliError('E_CLI_FAILED', message, { cause: err });
}
