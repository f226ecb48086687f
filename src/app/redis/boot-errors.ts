/**
 * Why Redis could not be reached at boot, in one line an operator can act on: nothing listening,
 * wrong password, TLS, a server that accepts connections and says nothing, no answer in time, an
 * unknown host, or a topology that answers but cannot serve. Shared by the three topologies.
 */
import { connect as tcpConnect } from 'node:net';
import type { HostPort } from '../config.ts';

export type BootFailureKind = 'closed-port' | 'wrong-password' | 'tls' | 'frozen' | 'connect-timeout' | 'dns' | 'unusable' | 'other';

export class RedisBootError extends Error {
  readonly code = 'E_REDIS_BOOT';
  readonly kind: BootFailureKind;
  constructor(kind: BootFailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisBootError';
    this.kind = kind;
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code} ` : ''}${err.message}`;
  }
  return String(err);
}

export const isAuthError = (t: string): boolean => /WRONGPASS|NOAUTH|invalid password|invalid username-password|AUTH/.test(t);
export const isTlsError = (t: string): boolean => /ERR_SSL|ERR_TLS|CERT|certificate|self[- ]signed|SSL routines|wrong version number|UNABLE_TO_VERIFY|EPROTO/i.test(t);
/** Failures that retrying within the boot window will not heal. */
export const isPermanent = (err: unknown): boolean => {
  const t = errorText(err);
  return isAuthError(t) || isTlsError(t);
};

/**
 * A plain TCP connect, so a failure can be told apart: nothing listening, host unknown, or a
 * server that accepts connections and then says nothing.
 */
export function probeTcp(node: HostPort, timeoutMs: number): Promise<'open' | Error> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: node.host, port: node.port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(new Error('TCP connect timed out'));
    }, Math.max(timeoutMs, 1));
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('open');
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}

/**
 * Node's codes for a server certificate that did not verify: OpenSSL's X509 verify results
 * (`SELF_SIGNED_CERT_IN_CHAIN`, `UNABLE_TO_GET_ISSUER_CERT_LOCALLY`, `CERT_HAS_EXPIRED`, …) and
 * the host name check. OpenSSL's wording ("self-signed certificate in certificate chain" for a
 * CA file that is simply the wrong one) misleads, so the message says what was checked against what.
 */
const CERT_VERIFY_CODE = /^(UNABLE_TO_|SELF_SIGNED_CERT_IN_CHAIN$|DEPTH_ZERO_SELF_SIGNED_CERT$|CERT_|INVALID_CA$|INVALID_PURPOSE$|PATH_LENGTH_EXCEEDED$|HOSTNAME_MISMATCH$|ERR_TLS_CERT_ALTNAME_INVALID$)/;

function certVerifyCode(err: unknown): string | undefined {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && CERT_VERIFY_CODE.test(code) ? code : undefined;
}

export interface BootContext {
  /** What was being reached: `Redis`, `Redis Cluster nodes`, `Sentinel`, `Redis master`. */
  what: string;
  /** Where, masked: a URL without its password, or `host:port` list. */
  where: string;
  /** Whether a TCP connection to it succeeded (a silent server, not a closed port). */
  tcpConnected: boolean;
  tls: boolean;
  /** REDIS_TLS_CA_FILE when TLS is on and it is set: what a certificate was verified against. */
  tlsCaFile?: string | undefined;
  timeoutMs: number;
  /** The variables holding the credentials, named in a wrong-password message. */
  credentials?: string;
}

export function classifyBootFailure(err: unknown, ctx: BootContext): RedisBootError {
  if (err instanceof RedisBootError) return err;
  const text = errorText(err);
  const { what, where, timeoutMs } = ctx;
  if (isAuthError(text)) {
    const check = ctx.credentials === undefined ? '' : `; check ${ctx.credentials}`;
    return new RedisBootError('wrong-password', `${what} at ${where} refused authentication (wrong password or user${check}): ${text}`, { cause: err });
  }
  if (certVerifyCode(err) !== undefined) {
    // Node's `ca` replaces the default trusted CAs, so with REDIS_TLS_CA_FILE only that file counts.
    const against = ctx.tlsCaFile === undefined ? "Node's default CAs (REDIS_TLS_CA_FILE is not set)" : `REDIS_TLS_CA_FILE (${ctx.tlsCaFile})`;
    return new RedisBootError('tls', `TLS failure connecting to ${what} at ${where}: certificate verification failed against ${against}: ${text}`, { cause: err });
  }
  if (isTlsError(text)) return new RedisBootError('tls', `TLS failure connecting to ${what} at ${where}: ${text}`, { cause: err });
  if (/ECONNREFUSED/.test(text)) return new RedisBootError('closed-port', `${what} at ${where} refused the connection (closed port: nothing listening)`, { cause: err });
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return new RedisBootError('dns', `${what} host in ${where} could not be resolved`, { cause: err });
  if (ctx.tcpConnected && ctx.tls) {
    return new RedisBootError('tls', `TLS failure: the TLS handshake with ${what} at ${where} did not complete within ${timeoutMs} ms (is the server speaking TLS?)`, { cause: err });
  }
  if (ctx.tcpConnected) {
    return new RedisBootError('frozen', `${what} at ${where} accepted the TCP connection but did not answer within ${timeoutMs} ms (frozen or overloaded server)`, { cause: err });
  }
  if (/timeout|timed out/i.test(text) || err === undefined) {
    return new RedisBootError('connect-timeout', `No connection to ${what} at ${where} within ${timeoutMs} ms`, { cause: err });
  }
  return new RedisBootError('other', `Could not connect to ${what} at ${where}: ${text}`, { cause: err });
}

/**
 * TCP-probes every node at once. All refused (or unresolvable, or silent): throws the classified
 * failure of the first, naming all of them. Otherwise resolves whether any accepted.
 */
export async function probeAll(nodes: readonly HostPort[], timeoutMs: number, ctx: Omit<BootContext, 'tcpConnected' | 'timeoutMs'>, bootTimeoutMs: number): Promise<void> {
  const results = await Promise.all(nodes.map((n) => probeTcp(n, timeoutMs)));
  if (results.includes('open')) return;
  throw classifyBootFailure(results[0], { ...ctx, tcpConnected: false, timeoutMs: bootTimeoutMs });
}
