/**
 * One error shape for every answer that is not a success: `{ error, message, field? }`, whether
 * the error came from a service (HttpError), the validator, the JSON parser, or Fastify itself
 * (body too large, unsupported media type, malformed URL). Clients branch on `error`, a stable
 * code; the README lists them.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BadJsonError, BadRequestError, BadUrlError, HttpError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.ts';

/** Codes for the client errors Fastify raises itself, by status, when no better one is known. */
const CLIENT_CODES: Record<number, string> = {
  400: 'E_BAD_REQUEST',
  404: 'E_NOT_FOUND',
  413: 'E_PAYLOAD_TOO_LARGE',
  414: 'E_URI_TOO_LONG',
  415: 'E_UNSUPPORTED_MEDIA_TYPE',
};

export function errorBody(err: HttpError): { error: string; message: string; field?: string } {
  const field = 'field' in err && typeof err.field === 'string' ? err.field : undefined;
  return { error: err.code, message: err.message, ...(field === undefined ? {} : { field }) };
}

export function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  return reply.code(err.statusCode).headers(err.headers).send(errorBody(err));
}

/**
 * The HttpError an error stands for, or undefined for a fault of ours (a 500, logged by the
 * caller). Fastify's own client errors keep their status and get one of our codes.
 */
export function toHttpError(err: unknown, req: FastifyRequest): HttpError | undefined {
  if (err instanceof HttpError) return err;
  const e = err as Partial<FastifyError> & { validation?: unknown };
  // Validation errors are BadRequestErrors already (schemaErrorFormatter); this is a fallback.
  if (e.validation !== undefined) return new BadRequestError(e.message ?? 'Invalid request');
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError(req.routeOptions.bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeError(req.headers['content-type']);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new BadJsonError(e.message ?? 'Request body is not valid JSON');
  }
  const status = e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return new HttpError(status, CLIENT_CODES[status] ?? 'E_CLIENT_ERROR', e.message ?? 'Bad request');
  return undefined;
}

/**
 * Fastify's `frameworkErrors`: errors raised before routing, which otherwise answer in
 * Fastify's own shape (`{ statusCode, code, error, message }`).
 */
export function frameworkErrors(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_BAD_URL') {
    void sendError(reply, new BadUrlError('The URL is malformed (invalid percent-encoding)'));
  } else if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void sendError(reply, new HttpError(414, 'E_URI_TOO_LONG', 'A path parameter is too long'));
  } else {
    req.log.error({ err: error }, 'request failed before routing');
    void reply.code(500).send({ error: 'E_INTERNAL', message: 'Internal server error' });
  }
}

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser refuses (malformed, headers too
 * large, too slow) never reaches Fastify's routing; answer it in our shape too. Mirrors Fastify's
 * default handler otherwise (nothing to say on a reset socket, close after answering).
 */
export function clientErrorHandler(err: ConnectionError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, error, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'E_HEADERS_TOO_LARGE', 'Request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'E_REQUEST_TIMEOUT', 'The request was not received in time']
        : [400, 'E_BAD_REQUEST', 'Malformed HTTP request'];
  const body = JSON.stringify({ error, message });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/** The first `__proto__`, or `constructor` holding a `prototype`, in a parsed body, and its path. */
function forbiddenKey(root: unknown): { key: string; path: string } | undefined {
  const stack: [unknown, string][] = [[root, '']];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, path] = item;
    if (node === null || typeof node !== 'object') continue;
    const at = (key: string) => (path === '' ? key : `${path}.${key}`);
    if (Object.hasOwn(node, '__proto__')) return { key: '__proto__', path: at('__proto__') };
    const ctor: unknown = (node as Record<string, unknown>)['constructor'];
    if (Object.hasOwn(node, 'constructor') && ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) return { key: 'constructor.prototype', path: at('constructor.prototype') };
    for (const [key, child] of Object.entries(node)) stack.push([child, at(key)]);
  }
  return undefined;
}

/**
 * The application/json parser. Fastify's default answers "not valid JSON" for both a syntax
 * error and a `__proto__` key (valid JSON it refuses against prototype poisoning); this one tells
 * them apart. JSON.parse makes `__proto__` an own property, never the prototype, and the body is
 * refused before anything can merge it into another object.
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new BadJsonError('Request body is empty but Content-Type is application/json');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BadJsonError(`Request body is not valid JSON: ${(err as Error).message}`);
  }
  // Only walk bodies that can hold such a key (`\u` may spell one in escapes).
  if (text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')) {
    const found = forbiddenKey(value);
    if (found !== undefined) throw new BadRequestError(`${found.path} is not allowed: a JSON body must not contain the key ${found.key}`, found.path);
  }
  return value;
}
