/**
 * Static credentials (operator tokens from the environment): the bearer credential of a
 * request, and a comparison whose time does not depend on where the strings differ.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The credential of an `Authorization: Bearer <credential>` header. The scheme is matched
 * case-insensitively (RFC 7235: `bearer` and `BEARER` are the same scheme), with any run of
 * spaces after it; undefined for a missing header or another scheme.
 */
export function bearerCredential(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^bearer +(\S+)$/i.exec(header.trim());
  return match?.[1];
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** True when `given` equals `expected`; hashing first makes the comparison length-independent too. */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(expected));
}
