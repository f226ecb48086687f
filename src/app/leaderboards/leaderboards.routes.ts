/** GET /leaderboards/:type?limit=N, public (no session needed). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { LEADERBOARD_CACHED_ENTRIES } from '../cache-policy.ts';
import { cached, Id, Identifier, type DomainOptions } from '../http/domain.ts';
import { getLeaderboard } from './leaderboards.service.ts';

const Params = Type.Object({ type: Identifier() });
const Query = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: LEADERBOARD_CACHED_ENTRIES, default: 10 }) }, { additionalProperties: false });

const LeaderboardSchema = Type.Object({
  type: Type.String(),
  entries: Type.Array(Type.Object({ rank: Type.Integer(), userId: Id, displayName: Type.String(), score: Type.Integer() })),
});

export const leaderboardRoutes: FastifyPluginAsyncTypebox<DomainOptions> = async (app, { deps }) => {
  app.get('/leaderboards/:type', { schema: { params: Params, querystring: Query, response: { 200: LeaderboardSchema } } }, async (req, reply) => {
    return cached(reply, await getLeaderboard(deps, req.params.type, req.query.limit));
  });
};
