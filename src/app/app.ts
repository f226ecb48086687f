/**
 * buildApp: the Fastify instance with every route and plugin, never listening by itself, so
 * tests drive it with inject() and server.ts owns the process.
 */
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { dashboardRoutes } from './dashboard/routes.ts';
import type { AppDeps } from './deps.ts';
import type { App } from './http/domain.ts';
import { clientErrorHandler, frameworkErrors, parseJsonBody, sendError, toHttpError } from './http/error-shape.ts';
import { ShuttingDownError } from './http/errors.ts';
import { healthRoutes } from './http/health.ts';
import type { MetricsSources } from './http/metrics.ts';
import { buildValidatorCompiler, validationError } from './http/validation.ts';
import { registerDomains } from './routes.ts';

export interface BuildAppOptions {
  /** A pino logger (server.ts passes its own); default: no logging. */
  logger?: FastifyBaseLogger;
}

export type { App } from './http/domain.ts';

export async function buildApp(deps: AppDeps, opts: BuildAppOptions = {}): Promise<App> {
  const app = Fastify({
    ...(opts.logger === undefined ? { logger: false } : { loggerInstance: opts.logger }),
    // While closing, the onRequest hook below answers 503 in the one error shape instead.
    return503OnClosing: false,
    trustProxy: deps.config.trustProxy,
    // Every failure answers { error, message, field? } (http/error-shape.ts, http/validation.ts).
    schemaErrorFormatter: validationError,
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON bodies are validated without coercion, path/query/headers with it (http/validation.ts).
  app.setValidatorCompiler(buildValidatorCompiler({ removeAdditional: false, coerceTypes: 'array', allErrors: false }));
  // JSON only: a text/plain body is a 415, not a string for the validator to puzzle over.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, async (_req: unknown, body: string) => parseJsonBody(body));

  app.setErrorHandler((err, req, reply) => {
    const httpError = toHttpError(err, req);
    if (httpError !== undefined) return sendError(reply, httpError);
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'E_INTERNAL', message: 'Internal server error' });
  });

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'E_NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0] ?? ''}` }));

  // Requests that arrive on open connections once the shutdown has begun: 503, so probes and
  // clients see it; the requests already in flight finish.
  app.addHook('onRequest', async () => {
    if (deps.lifecycle.shuttingDown) throw new ShuttingDownError();
  });

  // During shutdown, a response also closes its keep-alive connection: the HTTP server only
  // closes connections idle at the moment close() is called, and the others would otherwise hold
  // the shutdown open until their keep-alive timeout.
  app.addHook('onSend', async (_req, reply) => {
    if (deps.lifecycle.shuttingDown) void reply.header('connection', 'close');
  });

  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  // Everything /metrics reports is read from the deps at scrape time; the dashboard reads the same.
  const sources: MetricsSources = {
    cacheStats: () => deps.cacheAccess.cache.getStats(),
    redisState: () => deps.redisStatus().state,
    redisNodes: () => deps.redisStatus().nodes,
    reconnectAttempts: () => deps.redisStatus().totalReconnectAttempts,
    dbReads: () => deps.data.readStats(),
    firestoreBill: () => deps.data.billed?.(),
    fallbackInFlight: () => deps.cacheAccess.bulkhead.inFlight,
    fallbackLimit: () => deps.cacheAccess.bulkhead.limit,
    pendingInvalidations: () => deps.cacheAccess.pendingInvalidations,
  };
  deps.metrics.bind(sources);

  await app.register(healthRoutes, { deps });
  await app.register(dashboardRoutes, { deps, sources });
  await registerDomains(app, deps);
  return app;
}
