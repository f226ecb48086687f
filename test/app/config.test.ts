import { describe, expect, it } from 'vitest';
import { ConfigError, describeRedisTarget, loadConfig } from '../../src/app/config.ts';

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

describe('loadConfig: which Redis (REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS)', () => {
  const prod = { NODE_ENV: 'production' };

  it('reads REDIS_URL as one Redis', () => {
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redis).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379' });
    expect(loadConfig({}).redis).toBeUndefined();
  });

  it('reads a cluster from REDIS_CLUSTER_NODES: credentials and scheme from the URLs, for every node', () => {
    const c = loadConfig({ ...prod, REDIS_CLUSTER_NODES: 'rediss://app:s3cr%40t@10.0.0.1:7000, rediss://10.0.0.2:7001,rediss://app:s3cr%40t@[::1]:7002' }).redis;
    expect(c).toEqual({
      kind: 'cluster',
      rootNodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: 'app',
      password: 's3cr@t',
      tls: true,
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'redis://h:7000' }).redis).toMatchObject({ tls: false, username: undefined, password: undefined });
  });

  it('refuses bad cluster node lists without echoing a password', () => {
    const cases: Array<[string, string]> = [
      ['redis://:pw-one@h:1,redis://:pw-two@h:2', 'must all carry the same'],
      ['redis://h:1,rediss://h:2', 'must all be redis:// or all rediss://'],
      ['redis://:pw-secret@h:1/3', 'entry 1 must be with no database number'],
      ['redis://h:1,http://:pw-secret@h:2', 'REDIS_CLUSTER_NODES entry 2 must be redis://'],
    ];
    for (const [value, message] of cases) {
      const problems = problemsOf({ REDIS_CLUSTER_NODES: value });
      expect(problems, value).toEqual([expect.stringContaining(message)]);
      expect(problems.join('\n')).not.toMatch(/pw-one|pw-two|pw-secret/);
    }
  });

  it('reads Sentinel: sentinels, master name, the two passwords and TLS', () => {
    const s = loadConfig({
      ...prod,
      REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26380,[::1]:26381',
      REDIS_SENTINEL_MASTER: 'mymaster',
      REDIS_PASSWORD: 'data-pass',
      REDIS_USERNAME: 'app',
      REDIS_SENTINEL_PASSWORD: 'sentinel-pass',
      REDIS_SENTINEL_TLS: 'true',
    }).redis;
    expect(s).toEqual({
      kind: 'sentinel',
      masterName: 'mymaster',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      username: 'app',
      password: 'data-pass',
      sentinelPassword: 'sentinel-pass',
      tls: true,
    });
  });

  it('refuses bad Sentinel settings, one message each', () => {
    expect(problemsOf({ REDIS_SENTINELS: '10.0.0.1:26379' })).toEqual([expect.stringContaining('REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS')]);
    expect(problemsOf({ REDIS_SENTINELS: '10.0.0.1,h:70000', REDIS_SENTINEL_MASTER: 'm' })).toEqual([
      expect.stringContaining('REDIS_SENTINELS entry 1 must be host:port'),
      expect.stringContaining('REDIS_SENTINELS entry 2 must be host:port'),
    ]);
    expect(problemsOf({ REDIS_SENTINELS: 'h:1', REDIS_SENTINEL_MASTER: 'm', REDIS_SENTINEL_TLS: 'maybe' })).toEqual([expect.stringContaining('REDIS_SENTINEL_TLS must be true or false')]);
  });

  it('takes one of the three: several is one clear error, and Sentinel-only variables need REDIS_SENTINELS', () => {
    expect(problemsOf({ ...prod, REDIS_URL: 'redis://h:1', REDIS_CLUSTER_NODES: 'redis://h:2' })).toEqual([expect.stringContaining('REDIS_URL and REDIS_CLUSTER_NODES are alternatives')]);
    expect(problemsOf({ REDIS_URL: 'redis://h:1', REDIS_CLUSTER_NODES: 'redis://h:2', REDIS_SENTINELS: 'h:3', REDIS_SENTINEL_MASTER: 'm' })).toEqual([
      expect.stringContaining('REDIS_URL and REDIS_CLUSTER_NODES and REDIS_SENTINELS are alternatives'),
    ]);
    const problems = problemsOf({ REDIS_URL: 'redis://h:1', REDIS_PASSWORD: 'pw-never-echoed', REDIS_SENTINEL_MASTER: 'm' });
    expect(problems).toEqual([expect.stringContaining('REDIS_SENTINEL_MASTER, REDIS_PASSWORD apply to Sentinel only')]);
    expect(problems.join('\n')).not.toContain('pw-never-echoed');
  });

  it('in production, requires one of them and names all three', () => {
    const problems = problemsOf(prod);
    expect(problems).toEqual([expect.stringContaining('REDIS_URL is required when NODE_ENV=production')]);
    expect(problems[0]).toContain('REDIS_CLUSTER_NODES');
    expect(problems[0]).toContain('REDIS_SENTINELS with REDIS_SENTINEL_MASTER');
    expect(loadConfig({ ...prod, REDIS_CLUSTER_NODES: 'redis://h:1' }).redis?.kind).toBe('cluster');
    expect(loadConfig({ ...prod, REDIS_SENTINELS: 'h:1', REDIS_SENTINEL_MASTER: 'm' }).redis?.kind).toBe('sentinel');
  });

  it('describes each target for logs and /health without a password', () => {
    expect(describeRedisTarget(loadConfig({ REDIS_URL: 'redis://:pw-x@h:1' }).redis)).toBe('redis://:****@h:1');
    expect(describeRedisTarget(loadConfig({ REDIS_CLUSTER_NODES: 'rediss://:pw-x@h:1,rediss://[::1]:2' }).redis)).toBe('rediss://h:1,rediss://[::1]:2');
    expect(describeRedisTarget(loadConfig({ REDIS_SENTINELS: 'h:1,g:2', REDIS_SENTINEL_MASTER: 'main', REDIS_PASSWORD: 'pw-x' }).redis)).toBe('sentinel://h:1,g:2/main');
  });
});

describe('loadConfig: the in-process tier (CACHE_L1)', () => {
  const cluster = { REDIS_CLUSTER_NODES: 'redis://h:7000' };
  const sentinel = { REDIS_SENTINELS: 'h:26379', REDIS_SENTINEL_MASTER: 'm' };

  it('is off by default on every topology, with 10,000 entries and 64 MiB as bounds', () => {
    for (const env of [{}, { REDIS_URL: 'redis://h:1' }, cluster, sentinel]) {
      expect(loadConfig(env)).toMatchObject({ cacheL1: false, cacheL1MaxEntries: 10_000, cacheL1MaxBytes: 64 * 1024 * 1024 });
    }
    expect(loadConfig({ REDIS_URL: 'redis://h:1', CACHE_L1: 'true', CACHE_L1_MAX_ENTRIES: '500', CACHE_L1_MAX_BYTES: '1048576' })).toMatchObject({ cacheL1: true, cacheL1MaxEntries: 500, cacheL1MaxBytes: 1_048_576 });
    expect(loadConfig({ ...cluster, CACHE_L1: 'false' }).cacheL1).toBe(false);
  });

  it('accepts CACHE_L1=true on Redis Cluster and Sentinel (a channel per master, src/cache/tiers/node-tracking.ts)', () => {
    for (const env of [cluster, sentinel]) {
      expect(problemsOf({ ...env, CACHE_L1: 'true' })).toEqual([]);
      expect(loadConfig({ ...env, CACHE_L1: 'true' })).toMatchObject({ cacheL1: true });
    }
  });

  it('refuses bad values, one message each', () => {
    expect(problemsOf({ CACHE_L1: 'on', CACHE_L1_MAX_ENTRIES: '0', CACHE_L1_MAX_BYTES: '64' })).toEqual([
      expect.stringContaining('CACHE_L1 must be true or false'),
      expect.stringContaining('CACHE_L1_MAX_ENTRIES must be an integer between 1 and'),
      expect.stringContaining('CACHE_L1_MAX_BYTES must be an integer between 1024 and'),
    ]);
  });
});
