/** GET /wallets/:userId/balance and POST /wallets/:userId/transactions, owner only. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { cached, currentUserId, Id, Timestamp, type DomainOptions } from '../http/domain.ts';
import { addTransaction, getBalance, MAX_AMOUNT } from './wallets.service.ts';

const Params = Type.Object({ userId: Id });
const BalanceSchema = Type.Object({ balance: Type.Integer() });
const Body = Type.Object(
  {
    type: Type.Union([Type.Literal('credit'), Type.Literal('debit')]),
    /** Integer minor units, positive, at most 10^12. */
    amount: Type.Integer({ minimum: 1, maximum: MAX_AMOUNT }),
  },
  { additionalProperties: false },
);
const TransactionSchema = Type.Object({
  transactionId: Id,
  type: Type.String(),
  amount: Type.Integer(),
  balance: Type.Integer(),
  createdAt: Timestamp,
});

export const walletRoutes: FastifyPluginAsyncTypebox<DomainOptions> = async (app, { deps }) => {
  app.get('/wallets/:userId/balance', { schema: { params: Params, response: { 200: BalanceSchema } } }, async (req, reply) => {
    void reply.header('cache-control', 'private, no-store');
    return cached(reply, await getBalance(deps, currentUserId(req), req.params.userId));
  });

  app.post('/wallets/:userId/transactions', { schema: { params: Params, body: Body, response: { 201: TransactionSchema } } }, async (req, reply) => {
    const result = await addTransaction(deps, currentUserId(req), req.params.userId, req.body.type, req.body.amount);
    return reply.code(201).send(result);
  });
};
