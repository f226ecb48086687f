/**
 * The server's pino options, shared by server.ts and the tests so both log the same way.
 *
 * Query strings never reach the log: a client may put a secret there (`?token=...`), and
 * Fastify logs every request's URL. The request serializer writes the path followed by
 * `?[redacted]` instead, which still shows that a query string was sent. Headers are not
 * serialised at all; the redact paths cover objects logged by hand.
 */
import { pino, type LoggerOptions } from 'pino';

const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'password', '*.password', 'sentinelPassword', '*.sentinelPassword', 'redisUrl', '*.redisUrl', 'databaseUrl', '*.databaseUrl', 'opsToken', '*.opsToken', 'adminToken', '*.adminToken'];

/** `url` with its query string (and fragment) replaced by `?[redacted]`. */
export function redactUrl(url: string): string {
  const i = url.search(/[?#]/);
  return i === -1 ? url : `${url.slice(0, i)}?[redacted]`;
}

/** What the serializers read: a Fastify request or reply, or a raw Node one. */
interface LoggedRequest {
  method?: string;
  url?: string;
  ip?: string;
  socket?: { remoteAddress?: string; remotePort?: number } | null;
}
interface LoggedReply {
  statusCode?: number;
}

export const logSerializers = {
  req(req: LoggedRequest): Record<string, unknown> {
    return {
      method: req.method,
      url: typeof req.url === 'string' ? redactUrl(req.url) : undefined,
      remoteAddress: req.ip ?? req.socket?.remoteAddress,
      remotePort: req.socket?.remotePort,
    };
  },
  res(reply: LoggedReply): Record<string, unknown> {
    return { statusCode: reply.statusCode };
  },
  err(err: Error): unknown {
    return pino.stdSerializers.err(err);
  },
};

/** pino options of the server at `level`. */
export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: REDACT, censor: '[redacted]' }, serializers: logSerializers };
}
