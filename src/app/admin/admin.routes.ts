/**
 * Operator routes, behind their own credential (ADMIN_TOKEN), never a user session: a user
 * who steals or owns a session still cannot reach them. Registered only when ADMIN_TOKEN is
 * set, so without it they answer 404 like any unknown route.
 *
 *   POST /admin/wallets/:userId/credits { amount } -> 201, ledger row `admin_credit`
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { onRequestAsyncHookHandler } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../http/errors.ts';
import type { DomainOptions } from '../http/domain.ts';
import { bearerCredential, sameSecret } from '../http/tokens.ts';
import { Amount, TransactionSchema, WalletParams } from '../wallets/wallets.routes.ts';
import { adminCredit } from '../wallets/wallets.service.ts';

/** Checks `Authorization: Bearer <ADMIN_TOKEN>` in constant time. Missing: 401; present but wrong: 403. */
export function requireAdmin(adminToken: string): onRequestAsyncHookHandler {
  return async (req) => {
    const given = bearerCredential(req.headers.authorization);
    if (given === undefined) throw new UnauthorizedError('The admin token is required');
    if (!sameSecret(given, adminToken)) throw new ForbiddenError('Wrong admin token');
  };
}

const CreditBody = Type.Object({ amount: Amount }, { additionalProperties: false });

export const adminRoutes: FastifyPluginAsyncTypebox<DomainOptions & { adminToken: string }> = async (scope, { deps, adminToken }) => {
  scope.addHook('onRequest', requireAdmin(adminToken));
  scope.post(
    '/admin/wallets/:userId/credits',
    { schema: { params: WalletParams, body: CreditBody, response: { 201: TransactionSchema } } },
    async (req, reply) => reply.code(201).send(await adminCredit(deps, req.params.userId, req.body.amount)),
  );
};
