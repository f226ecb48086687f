import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/app/config.ts';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe('loadConfig: operator credentials and the demo data', () => {
  it('refuses SEED_DEMO in production, where it defaults to false', () => {
    expect(loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:6379' }).seedDemo).toBe(false);
    expect(problemsOf({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:6379', SEED_DEMO: 'true' })).toEqual([expect.stringContaining('SEED_DEMO=true is not allowed')]);
    expect(loadConfig({ NODE_ENV: 'development' }).seedDemo).toBe(true);
  });

  it('takes an OPS_TOKEN of 32 characters or more, and never echoes a bad one', () => {
    const good = 'a'.repeat(32);
    expect(loadConfig({ OPS_TOKEN: good }).opsToken).toBe(good);
    expect(loadConfig({}).opsToken).toBeUndefined();
    const problems = problemsOf({ OPS_TOKEN: 'short-secret' });
    expect(problems).toEqual([expect.stringContaining('OPS_TOKEN must be at least 32 characters')]);
    expect(problems.join('\n')).not.toContain('short-secret');
    expect(problemsOf({ OPS_TOKEN: `${good} x` })).toHaveLength(1);
  });
});
