/** `--help`: generated from the command table (args.ts), so it cannot drift from what is parsed. */
import { COMMANDS, commandSpec, GLOBAL_OPTIONS, type CommandName } from './args.ts';

function optionLines(options: Record<string, { type: string; short?: string; value?: string; description: string }>): string[] {
  const heads = Object.entries(options).map(([name, o]) => `${o.short === undefined ? '    ' : `-${o.short}, `}--${name}${o.value === undefined ? '' : ` ${o.value}`}`);
  const width = Math.max(...heads.map((h) => h.length));
  return Object.values(options).map((o, i) => `  ${(heads[i] ?? '').padEnd(width)}  ${o.description}`);
}

const CONNECTION = `Redis and the prefix come from the server's own configuration (the environment, and .env in the
current folder): REDIS_URL, or REDIS_CLUSTER_NODES, or REDIS_SENTINELS with REDIS_SENTINEL_MASTER
(and their credential variables), CACHE_PREFIX; --redis and --prefix override them. Passwords are
never printed. README "Operating it: the CLI" and docs/cli.md have an example session.`;

const EXIT_CODES = `Exit codes:
  0  done
  1  the operation failed (Redis, the server or the database unreachable or erring; warming incomplete)
  2  usage or configuration error (bad flag, argument, key, tag or environment variable): nothing done
  3  refused: confirmation declined, or needed with stdin not a terminal and no --yes: nothing deleted`;

export function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => `${c.name} ${c.args}`.length));
  return [
    'Usage: redis-cache-layer <command> [arguments] [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${`${c.name} ${c.args}`.padEnd(width)}  ${c.summary}`),
    '',
    'Options of every command:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    CONNECTION,
    '',
    EXIT_CODES,
    '',
    'redis-cache-layer <command> --help shows the command\'s own options.',
  ].join('\n');
}

export function commandHelp(name: CommandName): string {
  const c = commandSpec(name);
  const own = Object.keys(c.options).length === 0 ? [] : ['', 'Options:', ...optionLines(c.options)];
  return [`Usage: redis-cache-layer ${c.name} ${c.args}${c.args === '' ? '' : ' '}[options]`, '', `${c.summary[0]?.toUpperCase() ?? ''}${c.summary.slice(1)}.`, ...own, '', 'Options of every command:', ...optionLines(GLOBAL_OPTIONS), '', EXIT_CODES].join('\n');
}
