/**
 * Input validation: which Ajv checks which part of a request, and how a failure reads.
 *
 * - JSON bodies are checked WITHOUT type coercion: Fastify's default Ajv coerces everywhere,
 *   so `amount: true` became 1, `"0x10"` 16, `[7]` 7 and `bio: null` an empty string. A body
 *   has real JSON types; a wrong one is a 400.
 * - Path, query and headers are always strings, so they keep coercion (`/users/1`, `?page=2`),
 *   but a number must be written in plain decimal: Ajv turns "Infinity" and "1e400" into
 *   Infinity and then skips its minimum/maximum checks (they only apply to finite numbers), which
 *   let `/users/Infinity` through to the cache and a 500. "0x10", " 1" and "1e2" are refused too:
 *   one number, one spelling.
 *
 * Both compilers come from @fastify/ajv-compiler, the one Fastify uses by default, so formats
 * and defaults (`?page` → 1) behave as before.
 */
import { AjvCompiler, type RouteDefinition } from '@fastify/ajv-compiler';
import type { FastifyServerOptions, FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import { PATTERN_MESSAGES } from './domain.ts';
import { BadRequestError } from './errors.ts';

/** The request part a schema checks (Fastify's Part, which it does not export). */
type Part = 'body' | 'headers' | 'params' | 'querystring';

type AjvCustomOptions = NonNullable<NonNullable<FastifyServerOptions['ajv']>['customOptions']>;

/** An Ajv error with `verbose: true`: the failing keyword's schema value comes along. */
interface Issue extends FastifySchemaValidationError {
  schema?: unknown;
}

const INTEGER = /^-?\d+$/;
const NUMBER = /^-?\d+(?:\.\d+)?$/;

interface NumericField {
  name: string;
  type: 'integer' | 'number';
}

/** The top-level integer/number properties of a path/query/header schema (always flat objects). */
function numericFields(schema: unknown): NumericField[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> } | null)?.properties ?? {};
  return Object.entries(properties).flatMap(([name, s]) => (s.type === 'integer' || s.type === 'number' ? [{ name, type: s.type }] : []));
}

const typeIssue = ({ name, type }: NumericField): Issue => ({
  keyword: 'type',
  instancePath: `/${name}`,
  schemaPath: `#/properties/${name}/type`,
  params: { type },
  message: `must be ${type}`,
});

/** A string (or one-element array of strings, as a repeated query key arrives) that is not plain decimal. */
function badSpelling(data: unknown, fields: NumericField[]): Issue | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  for (const field of fields) {
    const raw: unknown = (data as Record<string, unknown>)[field.name];
    for (const v of Array.isArray(raw) ? (raw as unknown[]) : [raw]) {
      if (typeof v === 'string' && !(field.type === 'integer' ? INTEGER : NUMBER).test(v)) return typeIssue(field);
    }
  }
  return undefined;
}

/** After coercion: a 400-digit decimal string still becomes Infinity. */
function nonFinite(data: unknown, fields: NumericField[]): Issue | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  for (const field of fields) {
    const v: unknown = (data as Record<string, unknown>)[field.name];
    if (typeof v === 'number' && !Number.isFinite(v)) return typeIssue(field);
  }
  return undefined;
}

/** The validator compiler for `app.setValidatorCompiler`: strict bodies, coerced strings elsewhere. */
export function buildValidatorCompiler(customOptions: AjvCustomOptions): FastifySchemaCompiler<unknown> {
  const pool = AjvCompiler();
  // verbose: errors carry the failing schema (the anyOf branches), for readable messages.
  const coercing = pool({}, { customOptions: { ...customOptions, verbose: true } });
  const strict = pool({}, { customOptions: { ...customOptions, coerceTypes: false, verbose: true } });

  return (routeSchema) => {
    const route = routeSchema as RouteDefinition;
    if (route.httpPart === 'body') return strict(route);
    const validate = coercing(route);
    const fields = numericFields(route.schema);
    if (fields.length === 0) return validate;
    return (data: unknown) => {
      const before = badSpelling(data, fields);
      if (before !== undefined) return { error: [before] };
      if (validate(data) !== true) return { error: (validate.errors ?? []) as Issue[] };
      const after = nonFinite(data, fields);
      return after === undefined ? true : { error: [after] };
    };
  };
}

const PARTS: Record<Part, string> = { body: 'body', params: 'path', querystring: 'query', headers: 'headers' };

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

const typeName = (t: unknown): string => (typeof t === 'string' ? (TYPE_NAMES[t] ?? t) : String(t));

const orList = (items: string[]): string => (items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1) ?? ''}`);

function fieldOf(issue: Issue): string | undefined {
  const path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const extra = issue.params['missingProperty'] ?? issue.params['additionalProperty'];
  if (typeof extra === 'string') return path === '' ? extra : `${path}.${extra}`;
  return path === '' ? undefined : path;
}

/** "must be one of 'credit' or 'debit'", "must be an integer or null". */
function describeUnion(branches: unknown): string {
  const list = Array.isArray(branches) ? (branches as { const?: unknown; type?: unknown }[]) : [];
  const parts = list.map((b) => (b.const !== undefined ? JSON.stringify(b.const) : typeName(b.type)));
  return list.every((b) => b.const !== undefined) ? `must be one of ${orList(parts)}` : `must be ${orList(parts)}`;
}

function describe(issue: Issue): string {
  const p = issue.params;
  switch (issue.keyword) {
    case 'type':
      return `must be ${orList((Array.isArray(p['type']) ? (p['type'] as unknown[]) : [p['type']]).map(typeName))}`;
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not an accepted field';
    case 'minLength':
      return p['limit'] === 1 ? 'must not be empty' : `must be at least ${String(p['limit'])} characters long`;
    case 'maxLength':
      return `must be at most ${String(p['limit'])} characters long`;
    case 'minimum':
      return `must be at least ${String(p['limit'])}`;
    case 'maximum':
      return `must be at most ${String(p['limit'])}`;
    case 'pattern':
      return PATTERN_MESSAGES[String(p['pattern'])] ?? 'has an invalid format';
    case 'const':
      return `must be ${JSON.stringify(p['allowedValue'])}`;
    case 'enum':
      return `must be one of ${orList(((p['allowedValues'] as unknown[] | undefined) ?? []).map((v) => JSON.stringify(v)))}`;
    case 'anyOf':
      return describeUnion(issue.schema);
    default:
      return issue.message ?? 'is invalid';
  }
}

/**
 * Fastify's `schemaErrorFormatter`: the failure as a BadRequestError (400, E_BAD_REQUEST) naming
 * the field, e.g. "bio must be a string", "displayName must not contain control characters".
 */
export function validationError(errors: FastifySchemaValidationError[], part: Part): Error {
  const issues = errors as Issue[];
  // allErrors is off, so the last issue is the one that failed the value; anything before it
  // comes from the branches of an anyOf. A branch that got past its type check (assigneeId: 0
  // fails `minimum`, not `type`) says more than "must be an integer or null".
  let issue = issues.at(-1);
  if (issue?.keyword === 'anyOf') issue = issues.find((i) => i.keyword !== 'type' && i.keyword !== 'const' && i.keyword !== 'anyOf') ?? issue;
  if (issue === undefined) return new BadRequestError(`Invalid ${PARTS[part]}`);
  const field = fieldOf(issue);
  return new BadRequestError(`${field ?? PARTS[part]} ${describe(issue)}`, field);
}
