/**
 * Log-in throttling that costs a guesser more than it costs the account's owner.
 *
 * Three layers, all on the rate limiter's counters (so all fail open with Redis down):
 *
 * 1. Per IP (`login-ip`, LOGIN_RATE_LIMIT_PER_IP attempts per window): one address cannot spray
 *    many accounts.
 * 2. Per (account, IP) pair with exponential backoff (`login-pair`, `login-lock`): after
 *    LOGIN_LOCKOUT_AFTER_FAILURES failures of a pair, that pair alone is locked for
 *    `min(base × 2^(failures − N), max)` seconds (LOGIN_LOCKOUT_BASE_SECONDS,
 *    LOGIN_LOCKOUT_MAX_SECONDS). A stranger guessing locks out only themselves: the owner's
 *    pair, from the owner's own address, has no failures. A successful log-in resets the pair.
 *    The pair's failures are forgotten PAIR_MEMORY_SECONDS after its first failure.
 * 3. Per account across IPs, against distributed guessing (`login-account`): only failures from
 *    IPs that have never logged in to the account are counted, and past
 *    LOGIN_RATE_LIMIT_PER_ACCOUNT of them in a window only such IPs are refused. An IP that
 *    logged in successfully within KNOWN_IP_SECONDS is "known" for the account and never
 *    refused by this layer, so strangers cannot lock the owner out of a network the owner has
 *    used. The trade-off, chosen over "everyone waits": during a distributed attack the owner on
 *    a brand-new network waits for the window to pass, like the attackers.
 *
 * Refusals come before the password is checked, so they cost no scrypt work. Concurrent attempts
 * of one pair can all pass `admit` before the first failure is counted; the per-IP limit bounds
 * how many. Unknown emails are
 * throttled exactly like real ones: the answers do not tell them apart.
 */
import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { AppConfig } from '../config.ts';
import { RateLimitedError } from '../http/errors.ts';
import type { RateLimiter } from '../http/rate-limit.ts';

/** How long a pair's failure count lives from its first failure (a day). */
export const PAIR_MEMORY_SECONDS = 86_400;

/** How long an IP stays "known" for an account after a successful log-in from it (30 days). */
export const KNOWN_IP_SECONDS = 30 * 86_400;

type LockoutConfig = Pick<AppConfig, 'loginLockoutAfterFailures' | 'loginLockoutBaseSeconds' | 'loginLockoutMaxSeconds'>;

/** Lockout of a pair after its `failures`-th failure: 0 below the threshold, then base × 2^k, capped. */
export function lockoutSeconds(failures: number, config: LockoutConfig): number {
  const k = failures - config.loginLockoutAfterFailures;
  if (k < 0) return 0;
  // 2^30 × base already exceeds any cap the configuration allows (≤ 86,400 s).
  return Math.min(config.loginLockoutBaseSeconds * 2 ** Math.min(k, 30), config.loginLockoutMaxSeconds);
}

export class LoginThrottle {
  readonly #limiter: RateLimiter;
  readonly #config: AppConfig;
  readonly #log: FastifyBaseLogger;
  readonly #account: string;
  readonly #ip: string;
  readonly #pair: string;
  #known = false;

  /** `email` is the normalised email. */
  constructor(limiter: RateLimiter, config: AppConfig, log: FastifyBaseLogger, email: string, ip: string) {
    this.#limiter = limiter;
    this.#config = config;
    this.#log = log;
    // Keyed by the email's SHA-256: a fixed length whatever the input (a long email of
    // percent-encoded characters would exceed the key length limit) and no addresses in Redis.
    const account = createHash('sha256').update(email).digest('hex');
    this.#account = account;
    this.#ip = ip;
    // `|` cannot occur in an IP address, so distinct pairs never share a subject.
    this.#pair = `${account}|${ip}`;
  }

  /** Throws RateLimitedError when this attempt may not even be checked. */
  async admit(): Promise<void> {
    await this.#limiter.hit('login-ip', this.#ip, this.#config.loginRateLimitPerIp, this.#log);
    // Independent reads: one round trip instead of two.
    const [locked, known] = await Promise.all([this.#limiter.markedFor('login-lock', this.#pair), this.#limiter.markedFor('login-known', this.#pair)]);
    if (locked > 0) throw new RateLimitedError(locked);
    this.#known = known > 0;
    if (this.#known) return;
    const failures = await this.#limiter.count('login-account', this.#account);
    if (failures >= this.#config.loginRateLimitPerAccount) {
      throw new RateLimitedError(await this.#limiter.secondsLeft('login-account', this.#account, this.#limiter.windowSeconds));
    }
  }

  /** A wrong password (or unknown email): counts it, and locks the pair past the threshold. */
  async failed(): Promise<void> {
    const pair = async (): Promise<void> => {
      const failures = await this.#limiter.add('login-pair', this.#pair, 1, PAIR_MEMORY_SECONDS, this.#log);
      const lock = failures === undefined ? 0 : lockoutSeconds(failures, this.#config);
      if (lock > 0) await this.#limiter.mark('login-lock', this.#pair, lock);
    };
    // The pair and the account are separate counters: updated together, not one after the other.
    await Promise.all([pair(), this.#known ? undefined : this.#limiter.add('login-account', this.#account, 1, this.#limiter.windowSeconds, this.#log)]);
  }

  /** The right password: the pair starts afresh and its IP becomes known for the account. */
  async succeeded(): Promise<void> {
    await this.#limiter.clear([
      ['login-pair', this.#pair],
      ['login-lock', this.#pair],
    ]);
    await this.#limiter.mark('login-known', this.#pair, KNOWN_IP_SECONDS);
  }
}
