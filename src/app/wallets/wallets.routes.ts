/** GET /wallets/:userId/balance and POST /wallets/:userId/transactions, owner only (debits; a credit is 403). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { MAX_AMOUNT } from '../bounds.ts';
import { cached, currentUserId, Id, Timestamp, type DomainOptions } from '../http/domain.ts';
import { addTransaction, getBalance } from './wallets.service.ts';

export const WalletParams = Type.Object({ userId: Id });
const BalanceSchema = Type.Object({ balance: Type.Integer() });
/** Integer whole units, positive, at most MAX_AMOUNT (10^12). */
export const Amount = Type.Integer({ minimum: 1, maximum: MAX_AMOUNT });
const Body = Type.Object(
  {
    // `credit` stays in the schema so that a self-credit is answered 403 E_SELF_CREDIT, not 400.
    type: Type.Union([Type.Literal('credit'), Type.Literal('debit')]),
    amount: Amount,
  },
  { additionalProperties: false },
);
export const TransactionSchema = Type.Object({
  transactionId: Id,
  type: Type.String(),
  amount: Type.Integer(),
  balance: Type.Integer(),
  createdAt: Timestamp,
});

export const walletRoutes: FastifyPluginAsyncTypebox<DomainOptions> = async (app, { deps }) => {
  app.get('/wallets/:userId/balance', { schema: { params: WalletParams, response: { 200: BalanceSchema } } }, async (req, reply) => {
    void reply.header('cache-control', 'private, no-store');
    return cached(reply, await getBalance(deps, currentUserId(req), req.params.userId));
  });

  app.post('/wallets/:userId/transactions', { schema: { params: WalletParams, body: Body, response: { 201: TransactionSchema } } }, async (req, reply) => {
    const result = await addTransaction(deps, currentUserId(req), req.params.userId, req.body.type, req.body.amount);
    return reply.code(201).send(result);
  });
};
