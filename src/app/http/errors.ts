/**
 * HTTP errors the services throw. The error handler turns them into JSON answers with a stable
 * `code`; anything else is a 500 whose details stay in the log.
 */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(statusCode: number, code: string, message: string, headers: Record<string, string> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.statusCode = statusCode;
    this.code = code;
    this.headers = headers;
  }
}

export class BadRequestError extends HttpError {
  constructor(message: string, readonly field?: string) {
    super(400, 'E_BAD_REQUEST', message);
  }
}

/** The body is not JSON at all (a syntax error, or empty with a JSON content type). */
export class BadJsonError extends HttpError {
  constructor(message: string) {
    super(400, 'E_BAD_JSON', message);
  }
}

/** The URL cannot be decoded (malformed percent-encoding). */
export class BadUrlError extends HttpError {
  constructor(message: string) {
    super(400, 'E_BAD_URL', message);
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limitBytes: number) {
    super(413, 'E_PAYLOAD_TOO_LARGE', `Request body is larger than ${limitBytes} bytes`);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(contentType: string | undefined) {
    super(415, 'E_UNSUPPORTED_MEDIA_TYPE', `Unsupported Content-Type ${JSON.stringify((contentType ?? '').slice(0, 100))}: send application/json`);
  }
}

export class UnauthorizedError extends HttpError {
  constructor(message = 'A valid session is required') {
    super(401, 'E_UNAUTHORIZED', message, { 'www-authenticate': 'Bearer' });
  }
}

export class ForbiddenError extends HttpError {
  /** `code` narrows E_FORBIDDEN when a client should tell the cases apart (e.g. E_SELF_CREDIT). */
  constructor(message = 'Not allowed', code = 'E_FORBIDDEN') {
    super(403, code, message);
  }
}

export class NotFoundError extends HttpError {
  constructor(what: string) {
    super(404, 'E_NOT_FOUND', `${what} not found`);
  }
}

export class ConflictError extends HttpError {
  constructor(code: string, message: string) {
    super(409, code, message);
  }
}

export class RateLimitedError extends HttpError {
  constructor(retryAfterSeconds: number) {
    super(429, 'E_RATE_LIMITED', 'Too many requests', { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

/** The cache is down and the bounded pool of database fallbacks is full: come back shortly. */
export class OverloadedError extends HttpError {
  constructor(retryAfterSeconds = 1) {
    super(503, 'E_OVERLOADED', 'Service temporarily overloaded while the cache is unavailable', { 'retry-after': String(retryAfterSeconds) });
  }
}

/** The instance is shutting down: the client should retry (on another instance). */
export class ShuttingDownError extends HttpError {
  constructor() {
    super(503, 'E_SHUTTING_DOWN', 'This instance is shutting down; retry', { 'retry-after': '1' });
  }
}

/**
 * A database transaction still lost to concurrent writers after the client's own retries
 * (Firestore: gRPC ABORTED, code 10). Nothing was written: the client should retry shortly.
 */
export class ContentionError extends HttpError {
  constructor(options?: { cause?: unknown }) {
    super(503, 'E_CONTENTION', 'Too many concurrent updates of the same data; retry', { 'retry-after': '1' }, options);
  }
}
