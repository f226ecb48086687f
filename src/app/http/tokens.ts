/**
 * Static credentials (operator tokens from the environment): the bearer credential of a
 * request, and a comparison whose time does not depend on where the strings differ.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The credential of an `Authorization: Bearer <credential>` header: the scheme is
 * case-insensitive and may be followed by any run of spaces or tabs (RFC 7235 §2.1, RFC 9110
 * §11.1); surrounding whitespace is ignored. Undefined for a missing header or another scheme.
 */
const BEARER = /^bearer[ \t]+(\S+)$/i;

export function bearerCredential(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return BEARER.exec(header.trim())?.[1];
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** True when `given` equals `expected`; hashing first makes the comparison length-independent too. */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(expected));
}
