/**
 * buildApp: the Fastify instance with every route and plugin, never listening by itself, so
 * tests drive it with inject() and server.ts owns the process.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppDeps } from './deps.ts';
import { HttpError } from './http/errors.ts';
import { healthRoutes } from './http/health.ts';
import { registerDomains } from './routes.ts';

export interface BuildAppOptions {
  /** A pino logger (server.ts passes its own); default: no logging. */
  logger?: FastifyBaseLogger;
}

export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

interface ValidationIssue {
  instancePath?: string;
  params?: { missingProperty?: string; additionalProperty?: string };
  message?: string;
}

function fieldOf(issue: ValidationIssue | undefined): string | undefined {
  if (issue === undefined) return undefined;
  const missing = issue.params?.missingProperty ?? issue.params?.additionalProperty;
  const path = (issue.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  if (missing !== undefined) return path === '' ? missing : `${path}.${missing}`;
  return path === '' ? undefined : path;
}

export async function buildApp(deps: AppDeps, opts: BuildAppOptions = {}): Promise<App> {
  const app = Fastify({
    ...(opts.logger === undefined ? { logger: false } : { loggerInstance: opts.logger }),
    // Answer 503 while closing, so probes and clients see the shutdown.
    return503OnClosing: true,
    trustProxy: deps.config.trustProxy,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof HttpError) {
      void reply.code(err.statusCode).headers(err.headers);
      return reply.send({ error: err.code, message: err.message, ...('field' in err && err.field !== undefined ? { field: err.field } : {}) });
    }
    const e = err as { validation?: ValidationIssue[]; validationContext?: string; statusCode?: number; message: string };
    if (e.validation !== undefined) {
      const field = fieldOf(e.validation[0]);
      return reply.code(400).send({ error: 'E_BAD_REQUEST', message: e.message, ...(field === undefined ? {} : { field }), in: e.validationContext });
    }
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.code(e.statusCode).send({ error: 'E_BAD_REQUEST', message: e.message });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'E_INTERNAL', message: 'Internal server error' });
  });

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'E_NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0] ?? ''}` }));

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

  // Everything /metrics reports is read from the deps at scrape time.
  deps.metrics.bind({
    cacheStats: () => deps.cacheAccess.cache.getStats(),
    redisState: () => deps.redisStatus().state,
    reconnectAttempts: () => deps.redisStatus().totalReconnectAttempts,
    dbReads: () => deps.db.readStats(),
    fallbackInFlight: () => deps.cacheAccess.bulkhead.inFlight,
  });

  await app.register(healthRoutes, { deps });
  await registerDomains(app, deps);
  return app;
}
