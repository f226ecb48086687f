/** Jobs: GET /jobs?status&page, GET /jobs/:id, POST /jobs, PATCH /jobs/:id (owner only), POST /jobs/:id/accept (assignee only). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { MAX_REWARD } from '../bounds.ts';
import { MAX_PAGE } from '../cache-policy.ts';
import { cached, currentUserId, Id, IdParams, MultiLine, Nullable, SingleLine, Timestamp, type DomainOptions } from '../http/domain.ts';
import { acceptJob, createJob, getJob, listJobs, updateJob } from './jobs.service.ts';

const Status = Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('completed')]);
/** Whole currency units, 0 .. MAX_REWARD (10^12); held from the owner's wallet. */
const Reward = Type.Integer({ minimum: 0, maximum: MAX_REWARD });

const JobSchema = Type.Object({
  id: Id,
  ownerId: Id,
  title: Type.String(),
  description: Type.String(),
  status: Status,
  reward: Type.Integer(),
  held: Type.Integer(),
  assigneeId: Nullable(Id),
  acceptedAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const JobPageSchema = Type.Object({
  items: Type.Array(JobSchema),
  status: Status,
  page: Type.Integer(),
  pageSize: Type.Integer(),
  hasMore: Type.Boolean(),
});

const ListQuery = Type.Object(
  { status: Type.Optional(Status), page: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }) },
  { additionalProperties: false },
);

const CreateBody = Type.Object(
  {
    title: SingleLine({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(MultiLine({ maxLength: 10_000 })),
    reward: Reward,
  },
  { additionalProperties: false },
);

const PatchBody = Type.Object(
  {
    title: Type.Optional(SingleLine({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(MultiLine({ maxLength: 10_000 })),
    reward: Type.Optional(Reward),
    status: Type.Optional(Status),
    assigneeId: Type.Optional(Nullable(Id)),
  },
  { additionalProperties: false },
);

export const jobRoutes: FastifyPluginAsyncTypebox<DomainOptions> = async (app, { deps }) => {
  app.get('/jobs', { schema: { querystring: ListQuery, response: { 200: JobPageSchema } } }, async (req, reply) => {
    return cached(reply, await listJobs(deps, req.query.status ?? 'open', req.query.page));
  });

  app.get('/jobs/:id', { schema: { params: IdParams, response: { 200: JobSchema } } }, async (req, reply) => {
    return cached(reply, await getJob(deps, req.params.id));
  });

  app.post('/jobs', { schema: { body: CreateBody, response: { 201: JobSchema } } }, async (req, reply) => {
    return reply.code(201).send(await createJob(deps, currentUserId(req), req.body));
  });

  app.patch('/jobs/:id', { schema: { params: IdParams, body: PatchBody, response: { 200: JobSchema } } }, async (req) => {
    return updateJob(deps, currentUserId(req), req.params.id, req.body);
  });

  app.post('/jobs/:id/accept', { schema: { params: IdParams, response: { 200: JobSchema } } }, async (req) => {
    return acceptJob(deps, currentUserId(req), req.params.id);
  });
};
