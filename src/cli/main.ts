/**
 * The operator CLI: `redis-cache-layer <command>` (bin/redis-cache-layer.mjs runs this file
 * through tsx; so does `node --import tsx src/cli/main.ts`). Parses the command line, runs the
 * command, closes what it opened, and exits with the documented code (errors.ts). A failure is
 * one line on stderr, scrubbed of every password and token the configuration holds; --verbose
 * adds the stack and the chain of causes.
 */
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import type { AppConfig } from '../app/config.ts';
import { parseCommandLine, type CommandName, type ParsedCommand } from './args.ts';
import type { ConnectionFlags, OpenCache } from './connection.ts';
import type { CommandContext } from './context.ts';
import { CliError, EXIT, toCliError, type ExitCode } from './errors.ts';
import { commandHelp, generalHelp } from './help.ts';
import type { Io } from './output.ts';
import { redact, secretsOf } from './secrets.ts';

type Command = (ctx: CommandContext) => Promise<void>;

/** Each command's module, loaded when it runs: help and usage errors answer without loading Redis or a database. */
const RUN: Record<CommandName, () => Promise<Command>> = {
  stats: async () => (await import('./commands/stats.ts')).stats,
  inspect: async () => (await import('./commands/inspect.ts')).inspectKey,
  del: async () => (await import('./commands/delete.ts')).delKeys,
  'invalidate-tags': async () => (await import('./commands/delete.ts')).invalidateTags,
  invalidate: async () => (await import('./commands/invalidate.ts')).invalidatePattern,
  warm: async () => (await import('./commands/warm.ts')).warm,
  simulate: async () => (await import('./commands/simulate.ts')).simulate,
};

/** The error and its causes, one per line: what --verbose prints. */
function details(err: unknown): string {
  const lines: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 8; depth++) {
    lines.push(depth === 0 ? '' : 'caused by:', e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : inspect(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return lines.filter((l) => l !== '').join('\n');
}

const flagsOf = (values: ParsedCommand['values']): ConnectionFlags => ({
  redis: typeof values['redis'] === 'string' ? values['redis'] : undefined,
  prefix: typeof values['prefix'] === 'string' ? values['prefix'] : undefined,
});

/** Runs one command line; resolves the exit code. Never throws. */
export async function main(argv: readonly string[], io: Io): Promise<ExitCode> {
  let flags: ConnectionFlags = {};
  /** `parsing`: the command line itself is wrong, so the line points at --help. */
  const fail = (err: unknown, verbose: boolean, parsing = false): ExitCode => {
    const e = toCliError(err);
    const secrets = secretsOf(process.env, flags);
    const hint = parsing ? ' (redis-cache-layer --help)' : '';
    io.stderr.write(`${redact(`redis-cache-layer: ${e.message}${hint}`, secrets)}\n`);
    if (verbose) io.stderr.write(`${redact(details(e.cause ?? e), secrets)}\n`);
    return e.exitCode;
  };

  let parsed: ParsedCommand;
  try {
    parsed = parseCommandLine(argv);
  } catch (err) {
    return fail(err, argv.includes('--verbose') || argv.includes('-v'), true);
  }
  flags = flagsOf(parsed.values);
  const verbose = parsed.values['verbose'] === true;
  const command = parsed.command;
  if (command === undefined) {
    if (parsed.values['help'] === true) {
      io.stdout.write(`${generalHelp()}\n`);
      return EXIT.ok;
    }
    io.stderr.write(`${generalHelp()}\n`);
    return EXIT.usage;
  }
  if (parsed.values['help'] === true) {
    io.stdout.write(`${commandHelp(command)}\n`);
    return EXIT.ok;
  }

  const { cliConfig, cliLogger, openCache } = await import('./connection.ts');
  const logger = cliLogger(verbose);
  let config: AppConfig | undefined;
  let opened: Promise<OpenCache> | undefined;
  const ctx: CommandContext = {
    io,
    values: parsed.values,
    positionals: parsed.positionals,
    rest: parsed.rest,
    json: parsed.values['json'] === true,
    verbose,
    logger,
    config: () => (config ??= cliConfig(flags)),
    openCache: (tuning) => (opened ??= openCache(ctx.config(), logger, tuning)),
  };
  let code: ExitCode = EXIT.ok;
  try {
    await (await RUN[command]())(ctx);
  } catch (err) {
    code = fail(err, verbose);
  }
  if (opened !== undefined) {
    await opened.then((o) => o.close()).catch((err: unknown) => {
      // A connection that failed to open has nothing to close; one that fails to close is worth a line.
      if (err instanceof CliError || code !== EXIT.ok) return;
      code = fail(err, verbose);
    });
  }
  return code;
}

/** Flushes a stream: process.exit must not cut the result short when stdout is a slow pipe. */
const drained = (s: NodeJS.WritableStream): Promise<void> => new Promise((resolve) => s.write('', () => resolve()));

/** The process around main(): real streams, a reader that went away, the exit. */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // `redis-cache-layer stats | head`: the reader closing the pipe ends the output, not the process with a stack.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
  });
  // A failure no command caught (a client's stray event): still one scrubbed line, unless --verbose.
  const redisFlag = argv.find((a, i) => argv[i - 1] === '--redis') ?? argv.find((a) => a.startsWith('--redis='))?.slice('--redis='.length);
  const crash = (err: unknown): void => {
    const secrets = secretsOf(process.env, { redis: redisFlag });
    const verbose = argv.includes('--verbose') || argv.includes('-v');
    process.stderr.write(`${redact(`redis-cache-layer: unexpected failure: ${err instanceof Error ? err.message : inspect(err)}`, secrets)}\n`);
    if (verbose) process.stderr.write(`${redact(details(err), secrets)}\n`);
    process.exit(EXIT.failed);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const code = await main(argv, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  // Exit now rather than when the last handle closes: a database pool or a Firestore channel
  // left to its idle timeout would keep an operator's shell waiting after the answer.
  process.exit(code);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await runCli();
