/**
 * Argument parsing (node:util parseArgs): `redis-cache-layer <command> [args] [options]`, the
 * global options anywhere on the line. A flag the command does not take, a missing or extra
 * argument, or a bad number is a usage error (exit 2) before anything connects.
 * `simulate` hands everything after its name to the simulator's own parser.
 */
import { parseArgs } from 'node:util';
import { CliError } from './errors.ts';

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown in --help after the flag, for string options. */
  value?: string;
  description: string;
}

export const GLOBAL_OPTIONS = {
  redis: { type: 'string', value: 'URL', description: 'one Redis (redis:// or rediss://), instead of REDIS_URL / REDIS_CLUSTER_NODES / REDIS_SENTINELS; a password here shows in `ps`: prefer REDIS_URL' },
  prefix: { type: 'string', value: 'P', description: 'the key prefix, instead of CACHE_PREFIX' },
  json: { type: 'boolean', description: 'print the result as one JSON document' },
  verbose: { type: 'boolean', short: 'v', description: "log the connection's progress to stderr; errors with their stack and causes" },
  help: { type: 'boolean', short: 'h', description: 'this help, or the command\'s' },
} as const satisfies Record<string, OptionSpec>;

export interface CommandSpec {
  name: string;
  /** The positional part of the usage line. */
  args: string;
  summary: string;
  minArgs: number;
  maxArgs: number;
  options: Record<string, OptionSpec>;
}

export const COMMANDS = [
  {
    name: 'stats',
    args: '',
    summary: "what Redis can tell about the cache (keys under the prefix, memory, hits and misses, L1 listeners); with --server, a running server's own cache counters",
    minArgs: 0,
    maxArgs: 0,
    options: {
      server: { type: 'string', value: 'URL', description: "a running server (http://host:port): read its GET /health (with OPS_TOKEN when set) instead of Redis" },
    },
  },
  {
    name: 'inspect',
    args: '<key>',
    summary: 'the decoded entry: value (truncated), state, fresh-until, grace-until, tags and their validity, lease holder, TTL',
    minArgs: 1,
    maxArgs: 1,
    options: {
      'max-chars': { type: 'string', value: 'N', description: 'characters of the value shown (default 200; 0: all)' },
    },
  },
  { name: 'del', args: '<key…>', summary: 'deletes keys (and revokes their leases)', minArgs: 1, maxArgs: Infinity, options: {} },
  { name: 'invalidate-tags', args: '<tag…>', summary: 'invalidates every entry written under the tags, on every instance', minArgs: 1, maxArgs: Infinity, options: {} },
  {
    name: 'invalidate',
    args: '<pattern>',
    summary: 'deletes the keys matching a glob pattern inside the prefix: counts them first, asks above a threshold',
    minArgs: 1,
    maxArgs: 1,
    options: {
      'dry-run': { type: 'boolean', description: 'count the matching keys, show a sample, delete nothing' },
      yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation' },
      'confirm-above': { type: 'string', value: 'N', description: 'ask before deleting more than N keys (default 100)' },
      sample: { type: 'string', value: 'N', description: 'matching keys listed (default 10)' },
      'batch-size': { type: 'string', value: 'N', description: 'keys per SCAN step and UNLINK (default 500)' },
    },
  },
  {
    name: 'warm',
    args: '',
    summary: "runs the backend's cache warmers against the configured database (DATABASE_URL, PGlite without it)",
    minArgs: 0,
    maxArgs: 0,
    options: {
      'timeout-ms': { type: 'string', value: 'MS', description: 'give up after this long (default CACHE_WARM_TIMEOUT_MS, 10000)' },
    },
  },
  { name: 'simulate', args: '[simulator flags]', summary: 'the hit-rate simulator (npm run simulate); `simulate --help` lists its flags', minArgs: 0, maxArgs: Infinity, options: {} },
] as const satisfies readonly CommandSpec[];

export type CommandName = (typeof COMMANDS)[number]['name'];

export interface ParsedCommand {
  command: CommandName | undefined;
  /** Global and command options, by name. */
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** `simulate` only: everything after its name, for the simulator's parser. */
  rest: string[];
}

const specOf = (name: string): CommandSpec | undefined => (COMMANDS as readonly CommandSpec[]).find((c) => c.name === name);

export function commandSpec(name: CommandName): CommandSpec {
  return specOf(name) as CommandSpec;
}

function parseConfig(options: Record<string, OptionSpec>): Record<string, { type: 'string' | 'boolean'; short?: string }> {
  return Object.fromEntries(Object.entries(options).map(([name, o]) => [name, o.short === undefined ? { type: o.type } : { type: o.type, short: o.short }]));
}

function usageError(err: unknown): CliError {
  // parseArgs' messages name the flag ("Unknown option '--x'"); the rest of its text is advice for programs.
  const message = err instanceof Error ? (err.message.split('. ')[0] ?? err.message) : String(err);
  return new CliError('E_CLI_USAGE', message, { cause: err });
}

export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  // First pass, lenient: where is the command? Every option is declared, so a value (`--redis
  // URL`) is not taken for the command's name.
  const all: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS };
  for (const c of COMMANDS as readonly CommandSpec[]) Object.assign(all, c.options);
  const { tokens } = parseArgs({ args: [...argv], options: parseConfig(all), strict: false, allowPositionals: true, tokens: true });
  const first = tokens.find((t) => t.kind === 'positional');
  const name = first?.kind === 'positional' ? first.value : undefined;
  const at = first?.index ?? argv.length;
  const spec = name === undefined ? undefined : specOf(name);
  if (name !== undefined && spec === undefined) throw new CliError('E_CLI_USAGE', `unknown command ${JSON.stringify(name)} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);

  if (spec?.name === 'simulate') {
    let values: ParsedCommand['values'];
    try {
      ({ values } = parseArgs({ args: argv.slice(0, at), options: parseConfig(GLOBAL_OPTIONS), strict: true, allowPositionals: false }));
    } catch (err) {
      throw usageError(err);
    }
    for (const flag of ['redis', 'prefix', 'json'] as const) {
      if (values[flag] !== undefined) throw new CliError('E_CLI_USAGE', `simulate takes no --${flag}: it replays traffic through the in-memory store`);
    }
    return { command: 'simulate', values, positionals: [], rest: argv.slice(at + 1) };
  }

  const rest = [...argv.slice(0, at), ...argv.slice(at + 1)];
  let parsed: { values: ParsedCommand['values']; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: parseConfig({ ...GLOBAL_OPTIONS, ...spec?.options }), strict: true, allowPositionals: true });
  } catch (err) {
    throw usageError(err);
  }
  const { values, positionals } = parsed;
  if (spec !== undefined && values['help'] !== true) {
    if (positionals.length < spec.minArgs) throw new CliError('E_CLI_USAGE', `${spec.name} needs ${spec.args} (redis-cache-layer ${spec.name} ${spec.args})`);
    if (positionals.length > spec.maxArgs) throw new CliError('E_CLI_USAGE', `${spec.name} takes ${spec.maxArgs === 0 ? 'no arguments' : spec.args}, got ${positionals.length}: ${positionals.join(' ')}`);
  }
  return { command: spec?.name as CommandName | undefined, values, positionals, rest: [] };
}

/** A whole number from a flag, at least `min`; the default when absent. */
export function intFlag(values: ParsedCommand['values'], name: string, fallback: number, min = 0): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) throw new CliError('E_CLI_USAGE', `--${name} must be a whole number of at least ${min}, got ${JSON.stringify(raw)}`);
  return n;
}
