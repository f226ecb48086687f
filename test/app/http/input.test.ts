/**
 * Issue 16, strict input and one error shape: every input from the attack on production is a
 * 400 naming the field (never converted, never a 500), and every error, Fastify's own included,
 * answers { error, message, field? }.
 */
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, emailOf, passwordOf, type TestApp } from '../../helpers/app.ts';

let t: TestApp;
let demo: string;
/** A member of chat 1, and chat 1's id. */
let chatMember: string;
const CHAT = 1;

beforeAll(async () => {
  t = await createTestApp({ users: 60 });
  const { rows } = await t.db.query<{ user_id: number }>('SELECT user_id FROM chat_members WHERE chat_id = $1 ORDER BY user_id LIMIT 1', [CHAT]);
  [demo, chatMember] = await Promise.all([t.loginAs(1), t.loginAs(rows[0]?.user_id as number)]);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
const call = (method: Method, url: string, payload?: unknown, token: string | null = demo) =>
  t.app.inject({
    method,
    url,
    ...(token === null ? {} : { headers: bearer(token) }),
    ...(payload === undefined ? {} : typeof payload === 'string' ? { payload, headers: { ...(token === null ? {} : bearer(token)), 'content-type': 'application/json' } } : { payload: payload as object }),
  });

interface ErrorBody {
  error: string;
  message: string;
  field?: string;
}

/** The one error shape: exactly error, message and (optionally) field, all strings. */
function expectErrorShape(res: { statusCode: number; json: <T>() => T; headers: Record<string, unknown> }, status: number, error: string): ErrorBody {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  const body = res.json<ErrorBody>();
  expect(body.error).toBe(error);
  expect(typeof body.message).toBe('string');
  for (const key of Object.keys(body)) expect(['error', 'message', 'field']).toContain(key);
  return body;
}

function expect400(res: Parameters<typeof expectErrorShape>[0], field: string, message: string | RegExp): void {
  const body = expectErrorShape(res, 400, 'E_BAD_REQUEST');
  expect(body.field).toBe(field);
  if (typeof message === 'string') expect(body.message).toBe(message);
  else expect(body.message).toMatch(message);
}

describe('JSON bodies: wrong types are refused, never converted', () => {
  const credit = (amount: unknown) => call('POST', '/wallets/1/transactions', { type: 'credit', amount });
  it.each([[true], ['0x10'], [[7]], ['1e2'], ['12'], [null], [1.5], [{}]])('amount: %j → 400', async (amount) => {
    expect400(await credit(amount), 'amount', 'amount must be an integer');
  });
  it('amount: 1e400 in the JSON text (Infinity once parsed) → 400', async () => {
    expect400(await call('POST', '/wallets/1/transactions', '{"type":"credit","amount":1e400}'), 'amount', 'amount must be an integer');
  });
  it('amount: 0 and a missing amount name the field', async () => {
    expect400(await credit(0), 'amount', 'amount must be at least 1');
    expect400(await call('POST', '/wallets/1/transactions', { type: 'credit' }), 'amount', 'amount is required');
  });

  it.each([[['credit']], ['refund'], [1], [null]])('type: %j → 400 listing the allowed values', async (type) => {
    expect400(await call('POST', '/wallets/1/transactions', { type, amount: 5 }), 'type', 'type must be one of "credit" or "debit"');
  });

  it.each([[true], ['12'], [[12]], [null], [1.5]])('reward: %j → 400', async (reward) => {
    expect400(await call('POST', '/jobs', { title: 'Strict', reward }), 'reward', 'reward must be an integer');
  });
  it('reward: 1e400 → 400', async () => {
    expect400(await call('POST', '/jobs', '{"title":"Strict","reward":1e400}'), 'reward', 'reward must be an integer');
  });

  it.each([[123], [['Arr']], [null], [true], [{}]])('displayName: %j → 400', async (displayName) => {
    expect400(await call('PATCH', '/users/1', { displayName }), 'displayName', 'displayName must be a string');
  });

  it.each([[null], [5], [['x']], [false]])('bio: %j → 400 (null no longer clears the bio)', async (bio) => {
    const before = (await call('GET', '/users/1')).json<{ bio: string }>().bio;
    expect400(await call('PATCH', '/users/1', { bio }), 'bio', 'bio must be a string');
    expect((await call('GET', '/users/1')).json<{ bio: string }>().bio).toBe(before);
  });

  it('avatarUrl of the wrong type says what it may be; an unknown field is named', async () => {
    expect400(await call('PATCH', '/users/1', { avatarUrl: 5 }), 'avatarUrl', 'avatarUrl must be a string or null');
    expect400(await call('PATCH', '/users/1', { displayName: 'Ada', admin: true }), 'admin', 'admin is not an accepted field');
    expect400(await call('PATCH', '/jobs/1', { assigneeId: 0 }), 'assigneeId', 'assigneeId must be at least 1');
  });

  it('a body that is not an object', async () => {
    const res = await call('POST', '/sessions', '"demo@example.com"', null);
    const body = expectErrorShape(res, 400, 'E_BAD_REQUEST');
    expect(body.message).toBe('body must be an object');
  });
});

describe('path and query numbers: finite, plain decimal, a 400 naming the field (never a 500)', () => {
  const idRoutes: [Method, string, string, unknown?][] = [
    ['GET', '/users/:x', 'id'],
    ['PATCH', '/users/:x', 'id', { bio: 'x' }],
    ['GET', '/guilds/:x', 'id'],
    ['GET', '/guilds/:x/members', 'id'],
    ['POST', '/guilds/:x/members', 'id'],
    ['DELETE', '/guilds/:x/members/2', 'id'],
    ['DELETE', '/guilds/1/members/:x', 'userId'],
    ['GET', '/jobs/:x', 'id'],
    ['PATCH', '/jobs/:x', 'id', { title: 'x' }],
    ['GET', '/wallets/:x/balance', 'userId'],
    ['POST', '/wallets/:x/transactions', 'userId', { type: 'credit', amount: 1 }],
    ['GET', '/chats/:x/messages', 'id'],
    ['POST', '/chats/:x/messages', 'id', { body: 'x' }],
    ['POST', '/notifications/:x/read', 'id'],
  ];
  const bad: [string, string][] = [
    ['Infinity', 'must be an integer'],
    ['-Infinity', 'must be an integer'],
    ['NaN', 'must be an integer'],
    ['1e400', 'must be an integer'],
    ['0x10', 'must be an integer'],
    ['1.5', 'must be an integer'],
    ['-1', 'must be at least 1'],
    ['0', 'must be at least 1'],
    ['9'.repeat(99), 'must be at most 9007199254740991'],
  ];
  const cases = idRoutes.flatMap(([method, url, field, payload]) => bad.map(([value, msg]) => [method, url.replace(':x', value), field, payload, `${field} ${msg}`] as const));
  it.each(cases)('%s %s → 400 naming %s', async (method, url, field, payload, message) => {
    expect400(await call(method, url, payload), field, message);
  });

  const pageCases = ['/jobs', `/chats/${CHAT}/messages`].flatMap((url) => [...bad.map(([value]) => value), '9'.repeat(400)].map((value) => [url, value] as const));
  it.each(pageCases)('%s?page=%s → 400 naming page', async (url, value) => {
    expect400(await call('GET', `${url}?page=${value}`), 'page', /^page must be (an integer|at least 1|at most \d+)$/);
  });

  it('?limit= on the public leaderboard too, and a bad board type reads as a rule, not a regex', async () => {
    expect400(await call('GET', '/leaderboards/global?limit=Infinity', undefined, null), 'limit', 'limit must be an integer');
    expect400(await call('GET', '/leaderboards/Global', undefined, null), 'type', /^type must be a lowercase letter/);
  });

  it('coercion of path and query strings still works', async () => {
    const user = await call('GET', '/users/1');
    expect(user.statusCode).toBe(200);
    expect(user.json()).toMatchObject({ id: 1 });
    const jobs = await call('GET', '/jobs?page=2');
    expect(jobs.statusCode).toBe(200);
    expect(jobs.json()).toMatchObject({ page: 2 });
    const chat = await call('GET', `/chats/${CHAT}/messages?page=2`, undefined, chatMember);
    expect(chat.statusCode).toBe(200);
    expect(chat.json()).toMatchObject({ page: 2 });
    expect((await call('GET', '/jobs')).json()).toMatchObject({ page: 1 });
  });
});

describe('text: no NUL or control characters; display names also no bidi controls or invisible-only values', () => {
  const SINGLE = 'must not contain control characters or line breaks';
  const MULTI = 'must not contain control characters other than tab and line breaks';

  it('NUL in displayName, chat body, job title and (unauthenticated) the log-in e-mail → 400, not a PostgreSQL error', async () => {
    expect400(await call('PATCH', '/users/1', { displayName: 'A\u0000B' }), 'displayName', `displayName ${SINGLE}`);
    expect400(await call('POST', `/chats/${CHAT}/messages`, { body: 'hi\u0000' }, chatMember), 'body', `body ${MULTI}`);
    expect400(await call('POST', '/jobs', { title: 'Job\u0000', reward: 1 }), 'title', `title ${SINGLE}`);
    expect400(await call('PATCH', '/jobs/1', { description: 'x\u0000' }), 'description', `description ${MULTI}`);
    expect400(await call('PATCH', '/users/1', { bio: 'x\u0000' }), 'bio', `bio ${MULTI}`);
    expect400(await call('POST', '/sessions', { email: 'demo\u0000@example.com', password: 'x' }, null), 'email', `email ${SINGLE}`);
  });

  it.each([['bell', 'a\u0007b'], ['line feed', 'a\nb'], ['tab', 'a\tb'], ['DEL', 'a\u007Fb'], ['C1 NEL', 'a\u0085b'], ['line separator', 'a\u2028b']])(
    'a display name with a %s → 400',
    async (_what, displayName) => {
      expect400(await call('PATCH', '/users/1', { displayName }), 'displayName', `displayName ${SINGLE}`);
    },
  );

  it.each([['RLO', 'gnp\u202Eexe.'], ['LRE', '\u202AAda'], ['isolate', '\u2066Ada\u2069'], ['RLM', 'Ada\u200F'], ['ALM', 'Ada\u061C']])(
    'a display name with a bidi control (%s) → 400',
    async (_what, displayName) => {
      expect400(await call('PATCH', '/users/1', { displayName }), 'displayName', 'displayName must not contain bidirectional control characters');
    },
  );

  it.each([['zero-width space', '\u200B'], ['joiners', '\u200B\u200C\u200D'], ['word joiner', '\u2060'], ['BOM', '\uFEFF'], ['spaces', '   '], ['Hangul filler', '\u3164'], ['no-break spaces', '\u00A0\u3000']])(
    'a display name of only %s → 400',
    async (_what, displayName) => {
      expect400(await call('PATCH', '/users/1', { displayName }), 'displayName', 'displayName must contain a visible character');
    },
  );

  it('an empty display name says so (not "fewer than 1 characters")', async () => {
    expect400(await call('PATCH', '/users/1', { displayName: '' }), 'displayName', 'displayName must not be empty');
  });

  it('valid text still works: line breaks and tabs in a bio and a chat body, an emoji with a zero-width joiner in a name', async () => {
    const bio = 'Line one\nLine two\r\n\tindented';
    const res = await call('PATCH', '/users/1', { bio, displayName: 'Ada 👩‍💻' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ bio, displayName: 'Ada 👩‍💻' });
    const msg = await call('POST', `/chats/${CHAT}/messages`, { body: 'hello\nworld' }, chatMember);
    expect(msg.statusCode).toBe(201);
    expect(msg.json()).toMatchObject({ body: 'hello\nworld' });
  });

  it('a valid log-in still works', async () => {
    expect((await call('POST', '/sessions', { email: emailOf(2), password: passwordOf(2) }, null)).statusCode).toBe(201);
  });
});

describe('one error shape for every error', () => {
  it('413: a body over the limit → E_PAYLOAD_TOO_LARGE', async () => {
    const res = await call('POST', '/sessions', { email: emailOf(2), password: 'x'.repeat(1_100_000) }, null);
    const body = expectErrorShape(res, 413, 'E_PAYLOAD_TOO_LARGE');
    expect(body.message).toBe('Request body is larger than 1048576 bytes');
  });

  it('415: a body that is not JSON → E_UNSUPPORTED_MEDIA_TYPE naming the type', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/sessions', payload: 'email=a', headers: { 'content-type': 'text/plain' } });
    const body = expectErrorShape(res, 415, 'E_UNSUPPORTED_MEDIA_TYPE');
    expect(body.message).toBe('Unsupported Content-Type "text/plain": send application/json');
  });

  it('invalid or empty JSON → E_BAD_JSON', async () => {
    const res = await call('POST', '/sessions', '{"email":', null);
    expect(expectErrorShape(res, 400, 'E_BAD_JSON').message).toMatch(/^Request body is not valid JSON: /);
    const empty = await t.app.inject({ method: 'POST', url: '/sessions', headers: { 'content-type': 'application/json' } });
    expect(expectErrorShape(empty, 400, 'E_BAD_JSON').message).toBe('Request body is empty but Content-Type is application/json');
  });

  it.each([
    ['{"email":"a@b.c","password":"x","__proto__":{"admin":true}}', '__proto__', '__proto__'],
    ['{"email":"a@b.c","password":"x","\\u005f_proto__":{"admin":true}}', '__proto__', '__proto__'],
    ['{"email":"a@b.c","password":"x","x":[{"__proto__":{}}]}', 'x.0.__proto__', '__proto__'],
    ['{"email":"a@b.c","password":"x","constructor":{"prototype":{"admin":true}}}', 'constructor.prototype', 'constructor.prototype'],
  ])('a forbidden key (%s) → 400 naming it, not "invalid JSON"', async (payload, field, key) => {
    const res = await call('POST', '/sessions', payload, null);
    const body = expectErrorShape(res, 400, 'E_BAD_REQUEST');
    expect(body.field).toBe(field);
    expect(body.message).toBe(`${field} is not allowed: a JSON body must not contain the key ${key}`);
  });

  it('a malformed URL (bad percent-encoding) → E_BAD_URL', async () => {
    const res = await call('GET', '/users/%E0%A4%A');
    expect(expectErrorShape(res, 400, 'E_BAD_URL').message).toBe('The URL is malformed (invalid percent-encoding)');
  });

  it('an over-long path parameter → 414 E_URI_TOO_LONG', async () => {
    expectErrorShape(await call('GET', `/users/${'1'.repeat(200)}`), 414, 'E_URI_TOO_LONG');
  });

  it('an unknown route or method → 404 E_NOT_FOUND', async () => {
    expect(expectErrorShape(await call('GET', '/nope?x=1'), 404, 'E_NOT_FOUND').message).toBe('No route GET /nope');
    expect(expectErrorShape(await call('PUT', '/users/1'), 404, 'E_NOT_FOUND').message).toBe('No route PUT /users/1');
  });

  it('service errors keep the shape (401, 404)', async () => {
    expectErrorShape(await call('GET', '/users/1', undefined, null), 401, 'E_UNAUTHORIZED');
    expectErrorShape(await call('GET', '/users/999999'), 404, 'E_NOT_FOUND');
  });
});

/** Sends raw bytes to the listening app and resolves with everything it answers before closing. */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    // The server destroys the socket after answering; a reset after that is expected.
    socket.on('error', () => resolve(data));
    socket.on('close', () => resolve(data));
  });
}

describe('requests Node\'s HTTP parser refuses (before Fastify routes them) keep the shape', () => {
  let port: number;
  beforeAll(async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });

  it.each([
    ['a malformed header line', 'GET /users/1 HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n', 400, 'E_BAD_REQUEST'],
    ['headers over the size limit', `GET /users/1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'E_HEADERS_TOO_LARGE'],
  ])('%s → %i %s', async (_what, request, status, error) => {
    const answer = await rawRequest(port, request);
    expect(answer.split('\r\n')[0]).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as ErrorBody;
    expect(body).toEqual({ error, message: expect.any(String) as string });
  });
});
