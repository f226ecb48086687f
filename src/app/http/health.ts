/**
 * Probes. Liveness holds as long as the process can answer. Readiness requires Redis (when the
 * deployment uses it) to be connected and answering, warming to be done and no shutdown under
 * way: a load balancer then routes around an instance that would only fall back to the database.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../deps.ts';

export function isReady(deps: AppDeps): { ready: boolean; reasons: string[] } {
  const reasons: string[] = [];
  const redis = deps.redisStatus();
  if (redis.mode === 'redis' && !redis.healthy) reasons.push(`redis ${redis.state}`);
  if (!deps.lifecycle.warmed) reasons.push('cache warming');
  if (deps.lifecycle.shuttingDown) reasons.push('shutting down');
  return { ready: reasons.length === 0, reasons };
}

export const healthRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get('/health/live', async () => ({ status: 'ok' }));

  app.get('/health/ready', async (_req, reply) => {
    const r = isReady(deps);
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not-ready', reasons: r.reasons });
  });

  app.get('/health', async (_req, reply) => {
    const r = isReady(deps);
    const redis = deps.redisStatus();
    const stats = await deps.cacheAccess.cache.getStats();
    return reply.code(200).send({
      status: r.ready ? 'ok' : 'degraded',
      reasons: r.reasons,
      uptimeSeconds: Math.round((Date.now() - deps.lifecycle.startedAtMs) / 1000),
      redis,
      cache: { enabled: deps.cacheAccess.enabled, ...stats, fallbackInFlight: deps.cacheAccess.bulkhead.inFlight },
      database: { kind: deps.db.kind, rowsRead: deps.db.readStats() },
    });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });
};
