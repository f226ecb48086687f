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

describe('loadConfig: which database', () => {
  it('keeps PGlite as the default and postgres:// URLs as PostgreSQL', () => {
    expect(loadConfig({}).databaseKind).toBe('pglite');
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/app' }).databaseKind).toBe('postgres');
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/app' }).databaseKind).toBe('postgres');
  });

  it('selects Firestore with firestore://<project-id> and reads FIRESTORE_EMULATOR_HOST', () => {
    const c = loadConfig({ DATABASE_URL: 'firestore://demo-rcl-1', FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080' });
    expect(c.databaseKind).toBe('firestore');
    expect(c.databaseUrl).toBe('firestore://demo-rcl-1');
    expect(c.firestoreEmulatorHost).toBe('127.0.0.1:8080');
    expect(loadConfig({ DATABASE_URL: 'firestore://demo-rcl-1' }).firestoreEmulatorHost).toBeUndefined();
  });

  it('refuses a bad Firestore URL or emulator host without echoing the URL', () => {
    for (const url of ['firestore://Bad_Project', 'firestore://proj-ect/path', 'firestore://user:s3cret-pass@proj-ect', 'firestore:proj-ect']) {
      const problems = problemsOf({ DATABASE_URL: url });
      expect(problems, url).toEqual([expect.stringContaining('DATABASE_URL=firestore://… must name')]);
      expect(problems.join('\n')).not.toContain(url.slice('firestore://'.length));
    }
    expect(problemsOf({ DATABASE_URL: 'mysql://u:s3cret@db/app' })).toEqual([expect.stringContaining('or firestore://<project-id>')]);
    expect(problemsOf({ DATABASE_URL: 'firestore://demo-rcl-1', FIRESTORE_EMULATOR_HOST: 'not a host' })).toEqual([expect.stringContaining('FIRESTORE_EMULATOR_HOST must be host:port')]);
  });
});
