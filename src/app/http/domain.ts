/**
 * What every domain's routes share: the plugin options, the X-Cache header, the signed-in
 * user, and the common TypeBox schemas.
 */
import { Type } from '@sinclair/typebox';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from './cache-access.ts';
import { UnauthorizedError } from './errors.ts';
import type { RateLimiter } from './rate-limit.ts';

/** The Fastify instance buildApp returns (here, not in app.ts, so routes.ts needs no import of app.ts). */
export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface DomainOptions {
  deps: AppDeps;
  limiter: RateLimiter;
}

/** Sets `X-Cache` from the read and returns its value, for a handler to send. */
export function cached<T>(reply: FastifyReply, result: ReadResult<T>): T {
  void reply.header('x-cache', result.xCache);
  return result.value;
}

/** The signed-in user's id; routes behind `authenticate` always have one. */
export function currentUserId(req: FastifyRequest): number {
  if (req.auth === null) throw new UnauthorizedError();
  return req.auth.userId;
}

/** A database id: bigint in PostgreSQL, a safe integer here. */
export const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const IdParams = Type.Object({ id: Id });

/*
 * Text input. PostgreSQL refuses NUL in text (a 500 before these schemas), and control, bidi
 * and invisible characters in names let one user spoof another or break every page that shows
 * the name. The patterns live in the schema (so the OpenAPI view shows them) and each one has a
 * readable message in PATTERN_MESSAGES, which the 400 answer uses instead of the raw regex.
 */

/** C0 and C1 controls, DEL, and the Unicode line/paragraph separators. */
const SINGLE_LINE_PATTERN = '^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029]*$';
/** Same, but tab, line feed and carriage return are allowed. */
const MULTI_LINE_PATTERN = '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$';
/** Bidi embeddings, overrides, isolates and marks (U+061C, U+200E/F, U+202A-E, U+2066-9). */
const NO_BIDI_PATTERN = '^[^\\u061C\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069]*$';
/**
 * At least one character that is neither whitespace nor invisible (soft hyphen, combining
 * grapheme joiner, Hangul fillers, Mongolian vowel separator, zero-width space/joiners, word
 * joiner and invisible operators, byte-order mark, braille blank).
 */
const VISIBLE_PATTERN = '[^\\s\\u00AD\\u034F\\u115F\\u1160\\u180E\\u200B-\\u200F\\u2060-\\u2064\\u2800\\u3164\\uFEFF\\uFFA0]';
/** A lowercase identifier such as a leaderboard type. */
const IDENTIFIER_PATTERN = '^[a-z][a-z0-9_]{0,31}$';

/** What a value failing each pattern is told ("<field> <message>"). */
export const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  [SINGLE_LINE_PATTERN]: 'must not contain control characters or line breaks',
  [MULTI_LINE_PATTERN]: 'must not contain control characters other than tab and line breaks',
  [NO_BIDI_PATTERN]: 'must not contain bidirectional control characters',
  [VISIBLE_PATTERN]: 'must contain a visible character',
  [IDENTIFIER_PATTERN]: 'must be a lowercase letter followed by at most 31 lowercase letters, digits or underscores',
};

interface LengthOptions {
  minLength?: number;
  maxLength: number;
}

/** A one-line string: names, titles, e-mail addresses, URLs. */
export const SingleLine = (opts: LengthOptions) => Type.String({ ...opts, pattern: SINGLE_LINE_PATTERN });

/** Free text that may span lines: bios, descriptions, chat messages. */
export const MultiLine = (opts: LengthOptions) => Type.String({ ...opts, pattern: MULTI_LINE_PATTERN });

/**
 * A name shown to other users: one line, no bidi controls (which can make "gnp.exe" read as
 * "exe.png" or reorder a neighbour's text), and not made only of blanks or invisible characters.
 * Separate `allOf` patterns so the answer says which rule failed; the lengths come first in it
 * too, because Ajv checks `allOf` before the string keywords (an empty name is "empty").
 */
export const DisplayName = (opts: LengthOptions) =>
  Type.String({ ...opts, allOf: [{ ...opts }, { pattern: SINGLE_LINE_PATTERN }, { pattern: NO_BIDI_PATTERN }, { pattern: VISIBLE_PATTERN }] });

/** A lowercase identifier used in a path (`/leaderboards/:type`). */
export const Identifier = () => Type.String({ pattern: IDENTIFIER_PATTERN });

/** Timestamps travel as ISO-8601 strings (also inside cached values). */
export const Timestamp = Type.String();

export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** Error bodies, for the documentation of 4xx answers. */
export const ErrorBody = Type.Object({
  error: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String()),
});
