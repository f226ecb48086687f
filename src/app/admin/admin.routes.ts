/**
 * Operator routes, behind their own credential (ADMIN_TOKEN), never a user session: a user
 * who steals or owns a session still cannot reach them. Registered only when ADMIN_TOKEN is
 * set, so without it they answer 404 like any unknown route.
 *
 *   POST /admin/wallets/:userId/credits { amount } -> 201, ledger row `admin_credit`
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { onRequestAsyncHookHandler } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../http/errors.ts';
import type { DomainOptions } from '../http/domain.ts';
import { Amount, TransactionSchema, WalletParams } from '../wallets/wallets.routes.ts';
import { adminCredit } from '../wallets/wallets.service.ts';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <ADMIN_TOKEN>`. Both sides are hashed first so that
 * timingSafeEqual compares equal-length buffers and the time taken says nothing about the
 * token's length or how much of it matched. Missing: 401; present but wrong: 403.
 */
export function requireAdmin(adminToken: string): onRequestAsyncHookHandler {
  const expected = sha256(adminToken);
  return async (req) => {
    const match = /^Bearer (\S+)$/.exec((req.headers.authorization ?? '').trim());
    const given = match?.[1];
    if (given === undefined) throw new UnauthorizedError('The admin token is required');
    if (!timingSafeEqual(sha256(given), expected)) throw new ForbiddenError('Wrong admin token');
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
