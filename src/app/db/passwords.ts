/**
 * Password hashing with Node's built-in scrypt (no native dependency).
 *
 * Stored format: `scrypt$N$r$p$saltB64$hashB64`. The cost parameters travel with each hash,
 * so they can be raised later without invalidating existing passwords.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * N = 2^14, r = 8, p = 1 (16 MiB, ~40 ms on this class of machine): Node's default and the
 * classic interactive-login setting. Login is deliberately CPU-bound; a higher N would make
 * every load test of the login route a benchmark of scrypt instead of the backend.
 */
const DEFAULT_COST = { N: 16_384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Refuse stored parameters that would need more memory than this (a corrupt or hostile row). */
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;

function deriveKey(password: string, salt: Buffer, keyBytes: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function memoryFor(N: number, r: number): number {
  // scrypt needs 128 * N * r bytes; Node rejects anything above `maxmem`, so pass headroom.
  return 128 * N * r + 1024 * 1024;
}

/** Hashes `password` with a fresh random salt. The result is safe to store as is. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const { N, r, p } = DEFAULT_COST;
  const hash = await deriveKey(password, salt, HASH_BYTES, { N, r, p, maxmem: memoryFor(N, r) });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/**
 * True when `password` matches `stored` (a `hashPassword` result). A malformed `stored`
 * gives false rather than an exception, so a corrupt row reads as a failed login. The
 * comparison is constant-time.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const validPowerOfTwo = Number.isSafeInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!validPowerOfTwo || !Number.isSafeInteger(r) || r < 1 || !Number.isSafeInteger(p) || p < 1 || p > 16) return false;
  if (memoryFor(N, r) > MAX_MEMORY_BYTES) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  if (salt.length === 0 || expected.length < 16) return false;
  const actual = await deriveKey(password, salt, expected.length, { N, r, p, maxmem: memoryFor(N, r) });
  return timingSafeEqual(actual, expected);
}
