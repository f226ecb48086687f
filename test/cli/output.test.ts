/** The CLI's pure parts: scrubbing secrets, the progress bar, the formats, the command line. */
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli/args.ts';
import { CliError } from '../../src/cli/errors.ts';
import { fmtDuration, jsonSafe, progressText } from '../../src/cli/output.ts';
import { redact, secretsOf } from '../../src/cli/secrets.ts';

describe('secrets', () => {
  it('finds every password and token in the environment and the flags, encoded and decoded', () => {
    const env = {
      REDIS_URL: 'redis://:p%40ss@h:1',
      REDIS_CLUSTER_NODES: 'redis://u:cluster-pw@a:1,redis://u:cluster-pw@b:2',
      DATABASE_URL: 'postgres://app:db-pw@h/db',
      REDIS_SENTINEL_PASSWORD: 'sentinel-pw',
      OPS_TOKEN: 'x'.repeat(32),
    };
    expect(secretsOf(env, { redis: 'rediss://:flag-pw@h:2' }).sort()).toEqual(['cluster-pw', 'db-pw', 'flag-pw', 'p%40ss', 'p@ss', 'sentinel-pw', 'x'.repeat(32)].sort());
  });

  it('masks URL credentials whatever printed them, and every known secret', () => {
    expect(redact('connect to redis://admin:hunter2@10.0.0.1:6379 failed; token abc123secret', ['abc123secret'])).toBe('connect to redis://admin:****@10.0.0.1:6379 failed; token ****');
  });
});

describe('formats', () => {
  it('draws a bar for a known total, a count without one', () => {
    expect(progressText(512, 1000, 10)).toBe('[#####·····] 512 / 1,000 keys  51 %');
    expect(progressText(2000, 1000, 4)).toBe('[####] 1,000 / 1,000 keys  100 %');
    expect(progressText(12_345, undefined)).toBe('12,345 keys …');
  });

  it('says durations the way an operator reads them', () => {
    expect([850, 4200, 42_000, 200_000, 7_500_000, 3 * 86_400_000].map(fmtDuration)).toEqual(['850 ms', '4.2 s', '42 s', '3 min 20 s', '2 h 5 min', '3 d']);
  });

  it('turns values JSON cannot carry into values it can', () => {
    expect(jsonSafe({ n: 10n, m: new Map([[1, 'a']]), s: new Set([1]), d: new Date(0), i: Infinity })).toEqual({ n: '10', m: [[1, 'a']], s: [1], d: '1970-01-01T00:00:00.000Z', i: null });
  });
});

describe('the command line', () => {
  it('takes global flags anywhere and a flag value is not the command', () => {
    expect(parseCommandLine(['--redis', 'redis://h:1', 'invalidate', 'user:*', '-y', '--prefix', 'p:'])).toMatchObject({ command: 'invalidate', positionals: ['user:*'], values: { redis: 'redis://h:1', yes: true, prefix: 'p:' } });
  });

  it("hands simulate its own flags, untouched", () => {
    expect(parseCommandLine(['-v', 'simulate', '--users', '10', '--tables'])).toMatchObject({ command: 'simulate', rest: ['--users', '10', '--tables'], values: { verbose: true } });
  });

  it('refuses what a command does not take, before anything connects', () => {
    for (const argv of [['inspect'], ['inspect', 'a', 'b'], ['stats', 'x'], ['del', '--dry-run', 'k'], ['frob'], ['simulate', '--json'], ['--json', 'simulate']]) {
      const run = (): unknown => parseCommandLine(argv);
      if (argv[0] === 'simulate') expect(run()).toMatchObject({ command: 'simulate' });
      else expect(run, argv.join(' ')).toThrow(CliError);
    }
  });
});
