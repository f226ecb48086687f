/**
 * Probes. Liveness holds as long as the process can answer. Readiness requires Redis (when the
 * deployment uses it) to be connected and answering, warming to be done and no shutdown under
 * way: a load balancer then routes around an instance that would only fall back to the database.
 *
 * The probes are open (a load balancer has no credentials). The detailed view and the metrics
 * show the Redis endpoint, per-route traffic and database reads: they need OPS_TOKEN when it is
 * set, and are refused in production when it is not.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { onRequestAsyncHookHandler } from 'fastify';
import { L1_NAMESPACES } from '../cache-policy.ts';
import type { AppDeps } from '../deps.ts';
import { ForbiddenError, UnauthorizedError } from './errors.ts';
import { bearerCredential, sameSecret } from './tokens.ts';

export function isReady(deps: AppDeps): { ready: boolean; reasons: string[] } {
  const reasons: string[] = [];
  const redis = deps.redisStatus();
  if (redis.mode === 'redis' && !redis.healthy) reasons.push(`redis ${redis.state}`);
  if (!deps.lifecycle.warmed) reasons.push('cache warming');
  if (deps.lifecycle.shuttingDown) reasons.push('shutting down');
  return { ready: reasons.length === 0, reasons };
}

function requireOpsToken(deps: AppDeps): onRequestAsyncHookHandler {
  const { opsToken, nodeEnv } = deps.config;
  return async (req) => {
    if (opsToken === undefined) {
      if (nodeEnv === 'production') throw new ForbiddenError('Operational endpoints are disabled in production until OPS_TOKEN is set');
      return;
    }
    if (!sameSecret(bearerCredential(req.headers.authorization), opsToken)) throw new UnauthorizedError('This endpoint needs the operator token (OPS_TOKEN)');
  };
}

export const healthRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get('/health/live', async () => ({ status: 'ok' }));

  app.get('/health/ready', async (_req, reply) => {
    const r = isReady(deps);
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not-ready', reasons: r.reasons });
  });

  const opsOnly = { onRequest: requireOpsToken(deps) };

  app.get('/health', opsOnly, async (_req, reply) => {
    const r = isReady(deps);
    const redis = deps.redisStatus();
    const stats = await deps.cacheAccess.cache.getStats();
    // The in-process tier as the library reports it (size, evictions, invalidations heard,
    // flushes, channel state), with the bounds it fills and the namespaces it may hold; null
    // when it is off (CACHE_L1=false, or the development memory store).
    const l1 = stats.l1 === null ? null : { ...stats.l1, maxEntries: deps.config.cacheL1MaxEntries, maxBytes: deps.config.cacheL1MaxBytes, namespaces: [...L1_NAMESPACES] };
    return reply.code(200).send({
      status: r.ready ? 'ok' : 'degraded',
      reasons: r.reasons,
      uptimeSeconds: Math.round((Date.now() - deps.lifecycle.startedAtMs) / 1000),
      redis,
      cache: { enabled: deps.cacheAccess.enabled, ...stats, l1, fallbackInFlight: deps.cacheAccess.bulkhead.inFlight },
      // SQL: rows read per domain. Firestore: billed document reads (rowsRead keeps its name so
      // dashboards work on both) plus the whole bill, reads, writes and deletes, per domain.
      database: { kind: deps.data.kind, rowsRead: deps.data.readStats(), ...(deps.data.billed === undefined ? {} : { billed: deps.data.billed() }) },
    });
  });

  app.get('/metrics', opsOnly, async (_req, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });
};
