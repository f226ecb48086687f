/**
 * Registers every domain's routes. Public: POST /sessions and GET /leaderboards/:type (the
 * probes and /metrics live in http/health.ts). The operator routes (/admin/...) sit in their
 * own scope behind ADMIN_TOKEN, outside the session scope, and exist only when it is set.
 * Everything else sits in one scope whose onRequest hooks require a session, then count
 * writes against WRITE_RATE_LIMIT_PER_USER.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { adminRoutes } from './admin/admin.routes.ts';
import { chatRoutes } from './chat/chat.routes.ts';
import type { AppDeps } from './deps.ts';
import { warmGuilds } from './guilds/guilds.service.ts';
import { guildRoutes } from './guilds/guilds.routes.ts';
import { authenticate } from './http/auth.ts';
import type { App, DomainOptions } from './http/domain.ts';
import { limitWrites, RateLimiter } from './http/rate-limit.ts';
import { warmJobs } from './jobs/jobs.service.ts';
import { jobRoutes } from './jobs/jobs.routes.ts';
import { warmLeaderboards } from './leaderboards/leaderboards.service.ts';
import { leaderboardRoutes } from './leaderboards/leaderboards.routes.ts';
import { notificationRoutes } from './notifications/notifications.routes.ts';
import { sessionRoutes } from './sessions/sessions.routes.ts';
import { userRoutes } from './users/users.routes.ts';
import { walletRoutes } from './wallets/wallets.routes.ts';
import { warmers } from './warm.ts';

// Start-up cache warming (CACHE_WARM=true): what every user asks for first.
warmers['leaderboards'] = warmLeaderboards;
warmers['guilds'] = warmGuilds;
warmers['jobs'] = warmJobs;

const protectedRoutes: FastifyPluginAsyncTypebox<DomainOptions> = async (scope, opts) => {
  scope.addHook('onRequest', authenticate(opts.deps, opts.limiter));
  scope.addHook('onRequest', limitWrites(opts.deps, opts.limiter));
  await scope.register(userRoutes, opts);
  await scope.register(guildRoutes, opts);
  await scope.register(jobRoutes, opts);
  await scope.register(walletRoutes, opts);
  await scope.register(chatRoutes, opts);
  await scope.register(notificationRoutes, opts);
};

export async function registerDomains(app: App, deps: AppDeps): Promise<void> {
  app.decorateRequest('auth', null);
  const opts: DomainOptions = { deps, limiter: new RateLimiter(deps) };
  await app.register(sessionRoutes, opts);
  await app.register(leaderboardRoutes, opts);
  await app.register(protectedRoutes, opts);
  const adminToken = deps.config.adminToken;
  if (adminToken !== undefined) await app.register(adminRoutes, { ...opts, adminToken });
}
