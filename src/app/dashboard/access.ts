/**
 * Who may open the dashboard. It shows traffic, Redis nodes and failures: operator
 * information, so
 *  - DASHBOARD_TOKEN set (any environment): the token is required, as `Authorization: Bearer`
 *    or once as `?token=` on the page, which answers with a session cookie (HttpOnly,
 *    SameSite=Strict, Path=/dashboard) and a redirect that drops the token from the address
 *    bar and the history. The cookie holds an HMAC of the token, not the token.
 *  - unset in production: the dashboard does not exist (404), like the admin routes.
 *  - unset elsewhere: open to loopback clients only (403 otherwise). A request that came
 *    through a proxy the app does not trust (a forwarding header without TRUST_PROXY) is not
 *    taken as loopback, even from 127.0.0.1: the proxy is, the client may not be.
 */
import { createHmac } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config.ts';
import { ForbiddenError, HttpError, UnauthorizedError } from '../http/errors.ts';
import { bearerCredential, sameSecret } from '../http/tokens.ts';

export const DASHBOARD_COOKIE = 'dashboard_session';
/** How long the session cookie lasts, in seconds (a working day). */
const COOKIE_MAX_AGE_SECONDS = 12 * 3600;

/** 404 in the one error shape: the dashboard is off. */
export class DashboardOffError extends HttpError {
  /** The not-found handler's own words, so an off dashboard looks like no dashboard. */
  constructor(req: FastifyRequest) {
    super(404, 'E_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0] ?? ''}`);
  }
}

export type DashboardAccess =
  /** Allowed. */
  | { kind: 'open' }
  /** Allowed by a `?token=` that should become a cookie. */
  | { kind: 'token-in-query' };

/** The token the last cookie value was made for, and that value: one token per process. */
let cookieFor: { token: string; value: string } | undefined;

/** The cookie's value for a token: proves the token without being it (an HMAC, made once). */
function cookieValue(token: string): string {
  if (cookieFor?.token !== token) cookieFor = { token, value: createHmac('sha256', token).update('redis-cache-layer dashboard session').digest('base64url') };
  return cookieFor.value;
}

function cookieOf(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** 127.0.0.0/8 and ::1, also IPv4-mapped. */
export function isLoopback(ip: string | undefined): boolean {
  if (ip === undefined) return false;
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Decides one request; throws the HttpError that refuses it. */
export function checkDashboardAccess(config: Pick<AppConfig, 'nodeEnv' | 'dashboardToken' | 'trustProxy'>, req: FastifyRequest): DashboardAccess {
  const token = config.dashboardToken;
  if (token === undefined) {
    if (config.nodeEnv === 'production') throw new DashboardOffError(req);
    const forwarded = req.headers['x-forwarded-for'] !== undefined || req.headers['forwarded'] !== undefined;
    if (!isLoopback(req.ip) || (forwarded && !config.trustProxy)) throw new ForbiddenError('Without DASHBOARD_TOKEN the dashboard is open to loopback clients only');
    return { kind: 'open' };
  }
  if (sameSecret(bearerCredential(req.headers.authorization), token)) return { kind: 'open' };
  if (sameSecret(cookieOf(req, DASHBOARD_COOKIE), cookieValue(token))) return { kind: 'open' };
  const query = req.query as Record<string, unknown> | undefined;
  const given = typeof query?.['token'] === 'string' ? query['token'] : undefined;
  if (given !== undefined && sameSecret(given, token)) return { kind: 'token-in-query' };
  throw new UnauthorizedError('The dashboard needs its token (DASHBOARD_TOKEN): Authorization: Bearer <token>, or open /dashboard?token=<token> once');
}

/** Sets the session cookie after a `?token=` and redirects to the same page without it. */
export function exchangeQueryToken(config: Pick<AppConfig, 'dashboardToken'>, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const token = config.dashboardToken;
  if (token === undefined) throw new DashboardOffError(req);
  const secure = req.protocol === 'https' ? '; Secure' : '';
  return reply
    .header('set-cookie', `${DASHBOARD_COOKIE}=${cookieValue(token)}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=${COOKIE_MAX_AGE_SECONDS}${secure}`)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .redirect('/dashboard', 303);
}
