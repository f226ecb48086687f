/**
 * Configuration: read from the environment (and `.env` when present) once at start-up,
 * validated with one clear message per bad variable. Every variable is listed, with its default
 * and meaning, in `.env.example`. No secret has a default here.
 */
import { existsSync } from 'node:fs';
import { FirestoreUrlError, parseFirestoreUrl } from './db/firestore/url.ts';

export type NodeEnv = 'production' | 'development' | 'test';

export interface AppConfig {
  nodeEnv: NodeEnv;
  host: string;
  port: number;
  logLevel: string;
  /** Trust X-Forwarded-* from a proxy in front (per-IP rate limits need the client's IP). */
  trustProxy: boolean;
  /**
   * Which Redis, from REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (exactly one of them in
   * production; none in development: the in-process memory cache). Holds passwords: never log it.
   */
  redis: RedisTarget | undefined;
  redisConnectTimeoutMs: number;
  redisCommandTimeoutMs: number;
  redisReconnectMaxAttempts: number;
  /** Replicas that must have an invalidation before it counts as done (the cache's invalidationReplicas); 0: no wait. */
  redisInvalidationReplicas: number;
  /** Extra CA bundle for rediss:// and REDIS_SENTINEL_TLS (PEM file); certificate verification is always on. */
  redisTlsCaFile: string | undefined;
  cachePrefix: string;
  cacheEnabled: boolean;
  cacheWarm: boolean;
  cacheWarmTimeoutMs: number;
  /**
   * The in-process tier (L1) in front of Redis, for the namespaces cache-policy.ts allows
   * (L1_POLICY). One Redis only: refused with REDIS_CLUSTER_NODES or REDIS_SENTINELS. Ignored by
   * the development memory store.
   */
  cacheL1: boolean;
  /** Most entries L1 keeps per process. */
  cacheL1MaxEntries: number;
  /** Most bytes L1 keeps per process, counted on the stored text (the decoded objects take more heap). */
  cacheL1MaxBytes: number;
  dbFallbackConcurrency: number;
  /** postgres://… (PostgreSQL), firestore://<project-id> (Firestore), or unset (PGlite). */
  databaseUrl: string | undefined;
  /** Which database `databaseUrl` selects. */
  databaseKind: 'postgres' | 'pglite' | 'firestore';
  /**
   * `host:port` of a Firestore emulator (the Google client's own variable, which it also reads
   * itself); unset: Google's service with Application Default Credentials.
   */
  firestoreEmulatorHost: string | undefined;
  databasePoolSize: number;
  /** Schema to use (created if missing); default the server's search_path. */
  databaseSchema: string | undefined;
  pgliteDataDir: string;
  dbQueryDelayMs: number;
  seedDemo: boolean;
  shutdownTimeoutMs: number;
  sessionTtlSeconds: number;
  loginRateLimitPerIp: number;
  /**
   * Failed log-ins per window for one account, counted only from IPs that have never logged in
   * to it; past it, only such IPs are refused (see sessions/login-throttle.ts).
   */
  loginRateLimitPerAccount: number;
  /** Failures of one (account, IP) pair before its lockout starts. */
  loginLockoutAfterFailures: number;
  /** First lockout of a pair; it doubles with every further failure, up to the max. */
  loginLockoutBaseSeconds: number;
  loginLockoutMaxSeconds: number;
  /** Requests per window from one IP carrying a bad or unknown bearer token before 429. */
  authFailureLimitPerIp: number;
  /** How long an unknown token's hash is cached as unknown (negative cache). */
  unknownTokenCacheSeconds: number;
  writeRateLimitPerUser: number;
  rateLimitWindowSeconds: number;
  /**
   * Bearer token for the detailed operational endpoints (`/health`, `/metrics`). Set: they
   * require it in every environment. Unset: open outside production, refused in production.
   */
  opsToken: string | undefined;
  /**
   * Credential of the operator routes (`/admin/...`), at least 32 characters. Unset: those
   * routes do not exist (404). A secret: never logged or echoed.
   */
  adminToken: string | undefined;
  /**
   * Credential of the live dashboard (`/dashboard`), at least 32 characters. Set: required in
   * every environment. Unset: the dashboard answers 404 in production, and outside production
   * it is open to loopback clients only. A secret: never logged or echoed.
   */
  dashboardToken: string | undefined;
}

/** One Redis (`REDIS_URL`). */
export interface SingleRedisTarget {
  kind: 'single';
  url: string;
}

/** Redis Cluster (`REDIS_CLUSTER_NODES`): some nodes; the others are discovered. */
export interface ClusterRedisTarget {
  kind: 'cluster';
  /** `host:port` of each root node, credentials and scheme stripped. */
  rootNodes: readonly HostPort[];
  /** From the URLs; they apply to every node, the discovered ones included. */
  username: string | undefined;
  password: string | undefined;
  /** `rediss://`. */
  tls: boolean;
}

/** A master found through Redis Sentinel (`REDIS_SENTINELS` + `REDIS_SENTINEL_MASTER`). */
export interface SentinelRedisTarget {
  kind: 'sentinel';
  /** The name in `sentinel monitor <name> …`. */
  masterName: string;
  sentinels: readonly HostPort[];
  /** The data nodes' ACL user and password (`REDIS_USERNAME`, `REDIS_PASSWORD`). */
  username: string | undefined;
  password: string | undefined;
  /** The sentinels' own password (`REDIS_SENTINEL_PASSWORD`). */
  sentinelPassword: string | undefined;
  /** TLS to the sentinels and the data nodes (`REDIS_SENTINEL_TLS`). */
  tls: boolean;
}

export type RedisTarget = SingleRedisTarget | ClusterRedisTarget | SentinelRedisTarget;

export interface HostPort {
  host: string;
  port: number;
}

/** Shortest accepted operator credential: guessing must be hopeless, not just slow. */
export const MIN_TOKEN_LENGTH = 32;

export class ConfigError extends Error {
  readonly code = 'E_CONFIG';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

/** Reads `.env` into process.env (variables already set win). Node ≥ 20.12 parses it. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const str = (name: string, fallback: string): string => {
    const v = env[name];
    return v === undefined || v === '' ? fallback : v;
  };
  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    problems.push(`${name} must be true or false, got ${JSON.stringify(raw)}`);
    return fallback;
  };

  const nodeEnvRaw = str('NODE_ENV', 'development');
  let nodeEnv: NodeEnv = 'development';
  if (nodeEnvRaw === 'production' || nodeEnvRaw === 'development' || nodeEnvRaw === 'test') nodeEnv = nodeEnvRaw;
  else problems.push(`NODE_ENV must be production, development or test, got ${JSON.stringify(nodeEnvRaw)}`);

  const redis = redisTarget(env, bool, problems);
  const redisNamed = [env['REDIS_URL'], env['REDIS_CLUSTER_NODES'], env['REDIS_SENTINELS']].some((v) => v !== undefined && v !== '');
  if (!redisNamed && nodeEnv === 'production') {
    problems.push(
      'REDIS_URL is required when NODE_ENV=production (or REDIS_CLUSTER_NODES for Redis Cluster, or REDIS_SENTINELS with REDIS_SENTINEL_MASTER for Sentinel): the cache is mandatory in production, because the database is not sized to take the load without it',
    );
  }
  const databaseUrl = env['DATABASE_URL'] === '' ? undefined : env['DATABASE_URL'];
  let databaseKind: AppConfig['databaseKind'] = databaseUrl === undefined ? 'pglite' : 'postgres';
  if (databaseUrl?.startsWith('firestore:') === true) {
    databaseKind = 'firestore';
    try {
      parseFirestoreUrl(databaseUrl);
    } catch (err) {
      // The reason names the part that is wrong; the URL itself is never echoed.
      const problem = err instanceof FirestoreUrlError ? err.problem : 'scheme';
      const why = problem === 'project_id' ? 'a valid Google Cloud project id (6-30 lowercase letters, digits and hyphens, starting with a letter)' : problem === 'extra_parts' ? 'a project id and nothing more (no user, path, query or fragment)' : 'firestore://<project-id>';
      problems.push(`DATABASE_URL=firestore://… must name ${why}`);
    }
  } else if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL, or firestore://<project-id>');
  }
  const firestoreEmulatorHost = env['FIRESTORE_EMULATOR_HOST'] === '' ? undefined : env['FIRESTORE_EMULATOR_HOST'];
  if (firestoreEmulatorHost !== undefined && !/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/.test(firestoreEmulatorHost)) problems.push('FIRESTORE_EMULATOR_HOST must be host:port');

  const adminToken = env['ADMIN_TOKEN'] === '' ? undefined : env['ADMIN_TOKEN'];
  const dashboardToken = env['DASHBOARD_TOKEN'] === '' ? undefined : env['DASHBOARD_TOKEN'];
  // Operator credentials: long enough that guessing over HTTP is hopeless; never echoed.
  for (const [name, token] of [['ADMIN_TOKEN', adminToken], ['OPS_TOKEN', env['OPS_TOKEN']], ['DASHBOARD_TOKEN', dashboardToken]] as const) {
    if (token !== undefined && token !== '' && (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))) problems.push(`${name} must be at least ${MIN_TOKEN_LENGTH} characters without whitespace`);
  }

  const config: AppConfig = {
    nodeEnv,
    host: str('HOST', '127.0.0.1'),
    port: int('PORT', 3000, 0, 65535),
    logLevel: str('LOG_LEVEL', 'info'),
    trustProxy: bool('TRUST_PROXY', false),
    redis,
    redisConnectTimeoutMs: int('REDIS_CONNECT_TIMEOUT_MS', 5000, 100),
    redisCommandTimeoutMs: int('REDIS_COMMAND_TIMEOUT_MS', 500, 10),
    redisReconnectMaxAttempts: int('REDIS_RECONNECT_MAX_ATTEMPTS', 20, 1),
    redisInvalidationReplicas: int('REDIS_INVALIDATION_REPLICAS', 0, 0, 16),
    redisTlsCaFile: env['REDIS_TLS_CA_FILE'] === '' ? undefined : env['REDIS_TLS_CA_FILE'],
    cachePrefix: str('CACHE_PREFIX', ''),
    cacheEnabled: bool('CACHE_ENABLED', true),
    cacheWarm: bool('CACHE_WARM', false),
    cacheWarmTimeoutMs: int('CACHE_WARM_TIMEOUT_MS', 10_000, 1),
    cacheL1: bool('CACHE_L1', false),
    cacheL1MaxEntries: int('CACHE_L1_MAX_ENTRIES', 10_000, 1),
    // Below 1 KiB is a unit mistake (a figure meant in MiB), not a useful bound.
    cacheL1MaxBytes: int('CACHE_L1_MAX_BYTES', 64 * 1024 * 1024, 1024),
    dbFallbackConcurrency: int('DB_FALLBACK_CONCURRENCY', 32, 1),
    databaseUrl,
    databaseKind,
    firestoreEmulatorHost,
    databasePoolSize: int('DATABASE_POOL_SIZE', 10, 1, 1000),
    databaseSchema: env['DATABASE_SCHEMA'] === '' ? undefined : env['DATABASE_SCHEMA'],
    pgliteDataDir: str('PGLITE_DATA_DIR', '.data/pglite'),
    dbQueryDelayMs: int('DB_QUERY_DELAY_MS', 0, 0, 60_000),
    seedDemo: bool('SEED_DEMO', nodeEnv !== 'production'),
    opsToken: env['OPS_TOKEN'] === '' ? undefined : env['OPS_TOKEN'],
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 10_000, 1),
    sessionTtlSeconds: int('SESSION_TTL_SECONDS', 86_400, 1),
    loginRateLimitPerIp: int('LOGIN_RATE_LIMIT_PER_IP', 30, 1),
    loginRateLimitPerAccount: int('LOGIN_RATE_LIMIT_PER_ACCOUNT', 20, 1),
    loginLockoutAfterFailures: int('LOGIN_LOCKOUT_AFTER_FAILURES', 5, 1),
    loginLockoutBaseSeconds: int('LOGIN_LOCKOUT_BASE_SECONDS', 2, 1, 86_400),
    loginLockoutMaxSeconds: int('LOGIN_LOCKOUT_MAX_SECONDS', 900, 1, 86_400),
    authFailureLimitPerIp: int('AUTH_FAILURE_LIMIT_PER_IP', 20, 1),
    unknownTokenCacheSeconds: int('UNKNOWN_TOKEN_CACHE_SECONDS', 30, 1, 300),
    writeRateLimitPerUser: int('WRITE_RATE_LIMIT_PER_USER', 120, 1),
    rateLimitWindowSeconds: int('RATE_LIMIT_WINDOW_SECONDS', 60, 1),
    adminToken,
    dashboardToken,
  };
  if (config.loginLockoutMaxSeconds < config.loginLockoutBaseSeconds) problems.push('LOGIN_LOCKOUT_MAX_SECONDS must be at least LOGIN_LOCKOUT_BASE_SECONDS');
  if (config.databaseSchema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(config.databaseSchema)) problems.push('DATABASE_SCHEMA must be a lower-case SQL identifier');
  // The demo data set publishes its passwords (the demo account's is in the README).
  if (config.seedDemo && nodeEnv === 'production') problems.push('SEED_DEMO=true is not allowed when NODE_ENV=production: the demo accounts have published passwords');
  if (config.redisTlsCaFile !== undefined && !existsSync(config.redisTlsCaFile)) problems.push(`REDIS_TLS_CA_FILE does not exist: ${config.redisTlsCaFile}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

const REDIS_URL_RE = /^rediss?:$/;

/** `host:port` or `[v6]:port`, port 1–65535; undefined when malformed. */
function parseHostPort(raw: string): HostPort | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw.trim());
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

/**
 * REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS are three ways to name Redis: at most one
 * may be set. The Sentinel-only variables are refused without REDIS_SENTINELS rather than
 * ignored (a password that silently does nothing is worse than an error). Values that may hold a
 * password are never echoed.
 */
function redisTarget(env: Env, bool: (name: string, fallback: boolean) => boolean, problems: string[]): RedisTarget | undefined {
  const blank = (v: string | undefined): string | undefined => (v === '' ? undefined : v);
  const url = blank(env['REDIS_URL']);
  const clusterNodes = blank(env['REDIS_CLUSTER_NODES']);
  const sentinels = blank(env['REDIS_SENTINELS']);
  const sentinelVars = {
    REDIS_SENTINEL_MASTER: blank(env['REDIS_SENTINEL_MASTER']),
    REDIS_USERNAME: blank(env['REDIS_USERNAME']),
    REDIS_PASSWORD: blank(env['REDIS_PASSWORD']),
    REDIS_SENTINEL_PASSWORD: blank(env['REDIS_SENTINEL_PASSWORD']),
    REDIS_SENTINEL_TLS: blank(env['REDIS_SENTINEL_TLS']),
  };
  const given = [url === undefined ? [] : ['REDIS_URL'], clusterNodes === undefined ? [] : ['REDIS_CLUSTER_NODES'], sentinels === undefined ? [] : ['REDIS_SENTINELS']].flat();
  if (given.length > 1) {
    problems.push(`${given.join(' and ')} are alternatives: set one of REDIS_URL (one Redis), REDIS_CLUSTER_NODES (Redis Cluster) or REDIS_SENTINELS (Sentinel)`);
    return undefined;
  }
  const sentinelOnly = Object.entries(sentinelVars).flatMap(([name, v]) => (v === undefined ? [] : [name]));
  if (sentinels === undefined && sentinelOnly.length > 0) {
    problems.push(`${sentinelOnly.join(', ')} ${sentinelOnly.length > 1 ? 'apply' : 'applies'} to Sentinel only (REDIS_SENTINELS); with REDIS_URL or REDIS_CLUSTER_NODES put credentials in the URL (rediss:// for TLS)`);
  }

  if (url !== undefined) {
    let ok = false;
    try {
      ok = REDIS_URL_RE.test(new URL(url).protocol);
    } catch {
      ok = false;
    }
    if (!ok) problems.push('REDIS_URL must be a redis:// or rediss:// URL');
    return { kind: 'single', url };
  }

  if (clusterNodes !== undefined) {
    const parsed = clusterNodes.split(',').map((raw, i) => {
      try {
        const u = new URL(raw.trim());
        if (!REDIS_URL_RE.test(u.protocol) || u.hostname === '') throw new Error('scheme');
        // Redis Cluster has database 0 only.
        if (u.pathname !== '' && u.pathname !== '/' && u.pathname !== '/0') throw new Error('db');
        return u;
      } catch (err) {
        const why = err instanceof Error && err.message === 'db' ? 'with no database number (a cluster has database 0 only)' : 'redis://[user:password@]host:port or rediss://…';
        problems.push(`REDIS_CLUSTER_NODES entry ${i + 1} must be ${why}`);
        return undefined;
      }
    });
    const urls = parsed.filter((u): u is URL => u !== undefined);
    if (urls.length !== parsed.length) return undefined;
    // node-redis gives every node the same options: one scheme and one set of credentials.
    const schemes = new Set(urls.map((u) => u.protocol));
    const credentials = new Set(urls.filter((u) => u.username !== '' || u.password !== '').map((u) => `${u.username}:${u.password}`));
    if (schemes.size > 1) problems.push('REDIS_CLUSTER_NODES must all be redis:// or all rediss://');
    if (credentials.size > 1) problems.push('REDIS_CLUSTER_NODES URLs that carry credentials must all carry the same (they apply to every node)');
    const withCredentials = urls.find((u) => u.username !== '' || u.password !== '');
    return {
      kind: 'cluster',
      rootNodes: urls.map((u) => ({ host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port === '' ? 6379 : Number(u.port) })),
      username: withCredentials === undefined || withCredentials.username === '' ? undefined : decodeURIComponent(withCredentials.username),
      password: withCredentials === undefined || withCredentials.password === '' ? undefined : decodeURIComponent(withCredentials.password),
      tls: urls[0]?.protocol === 'rediss:',
    };
  }

  if (sentinels !== undefined) {
    const nodes = sentinels.split(',').map((raw, i) => {
      const hp = parseHostPort(raw);
      if (hp === undefined) problems.push(`REDIS_SENTINELS entry ${i + 1} must be host:port (port 1-65535), got ${JSON.stringify(raw.trim())}`);
      return hp;
    });
    const masterName = sentinelVars.REDIS_SENTINEL_MASTER;
    if (masterName === undefined) problems.push('REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS: the master name, as in `sentinel monitor <name> …`');
    else if (/\s/.test(masterName)) problems.push('REDIS_SENTINEL_MASTER must be a name without whitespace');
    return {
      kind: 'sentinel',
      masterName: masterName ?? '',
      sentinels: nodes.filter((n): n is HostPort => n !== undefined),
      username: sentinelVars.REDIS_USERNAME,
      password: sentinelVars.REDIS_PASSWORD,
      sentinelPassword: sentinelVars.REDIS_SENTINEL_PASSWORD,
      tls: bool('REDIS_SENTINEL_TLS', false),
    };
  }
  return undefined;
}

/**
 * Where the server's Redis is, safe to print: REDIS_URL with its password masked, the cluster's
 * root nodes, or `sentinel://<sentinels>/<master name>`. Never a password.
 */
export function describeRedisTarget(target: RedisTarget | undefined): string | undefined {
  if (target === undefined) return undefined;
  switch (target.kind) {
    case 'single':
      return maskUrl(target.url);
    case 'cluster':
      return target.rootNodes.map((n) => `${target.tls ? 'rediss' : 'redis'}://${hostPort(n)}`).join(',');
    case 'sentinel':
      return `sentinel://${target.sentinels.map(hostPort).join(',')}/${target.masterName}`;
  }
}

/** `host:port`, IPv6 hosts in brackets. */
export function hostPort(n: HostPort): string {
  return `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`;
}

/** A URL safe to print: the password (and any user name) replaced. */
export function maskUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '****';
    return u.toString();
  } catch {
    return '<unparseable URL>';
  }
}
