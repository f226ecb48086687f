/**
 * GET /dashboard (the page) and GET /dashboard/data (its JSON, polled once a second), both
 * behind access.ts's rule. In production without DASHBOARD_TOKEN they answer 404 and nothing
 * samples. Otherwise the sampler starts when the server listens, so the page has the minutes
 * before it was opened, or at the first request in an app that never listens (inject tests).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../deps.ts';
import type { MetricsSources } from '../http/metrics.ts';
import type { FastifyRequest } from 'fastify';
import { checkDashboardAccess, exchangeQueryToken, type DashboardAccess } from './access.ts';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './page.ts';
import { DashboardSampler, type DashboardSnapshot } from './snapshot.ts';

export interface DashboardRoutesOptions {
  deps: AppDeps;
  /** The sources /metrics reads (app.ts binds the same object). */
  sources: MetricsSources;
}

/** The page's own security headers: it is never cached, framed or sniffed. */
const PAGE_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
} as const;

export const dashboardRoutes: FastifyPluginAsyncTypebox<DashboardRoutesOptions> = async (app, { deps, sources }) => {
  const { config } = deps;
  const enabled = config.nodeEnv !== 'production' || config.dashboardToken !== undefined;
  const sampler = new DashboardSampler({
    sources,
    metrics: deps.metrics,
    redisStatus: () => deps.redisStatus(),
    recentErrors: deps.recentErrors,
    cacheEnabled: () => deps.cacheAccess.enabled,
  });
  if (enabled) app.addHook('onListen', async () => sampler.start());
  app.addHook('onClose', async () => sampler.stop());

  // Decided once per request, in the hook; the page's handler reads the decision.
  const accessOf = new WeakMap<FastifyRequest, DashboardAccess>();
  app.addHook('onRequest', async (req) => {
    accessOf.set(req, checkDashboardAccess(config, req));
    sampler.start();
  });

  app.get('/dashboard', { schema: { querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 512 })) }) } }, async (req, reply) => {
    if (accessOf.get(req)?.kind === 'token-in-query') return exchangeQueryToken(config, req, reply);
    return reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(DASHBOARD_HTML);
  });

  app.get(
    '/dashboard/data',
    { schema: { querystring: Type.Object({ since: Type.Optional(Type.Integer({ minimum: 0 })) }) } },
    async (req, reply): Promise<DashboardSnapshot> => {
      void reply.header('cache-control', 'no-store');
      return sampler.snapshot(req.query.since);
    },
  );
};
