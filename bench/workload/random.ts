/** Seeded random numbers for the workload model (bench/workload.ts): a PRNG and a Zipf sampler. */

// ---------------------------------------------------------------------------------------------
// Random numbers

/** A seeded PRNG (sfc32, seeded through splitmix32): uniform in [0, 1), reproducible everywhere. */
export type Rng = () => number;

export function createRng(seed: number): Rng {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

// ---------------------------------------------------------------------------------------------
// Zipf

/**
 * Zipf sampler over 1..n: P(k) ∝ 1 / k^s. Rejection-inversion (Hörmann & Derflinger, "Rejection-
 * inversion to generate variates from monotone discrete distributions", 1996; the method of
 * Apache Commons RNG): O(1) time and memory per draw for any n, about 1.1 uniforms per sample.
 * s = 0 is the uniform distribution.
 */
export class ZipfSampler {
  readonly n: number;
  readonly s: number;
  readonly #rng: Rng;
  readonly #hX1: number;
  readonly #hN: number;
  readonly #threshold: number;

  constructor(n: number, s: number, rng: Rng) {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`Zipf n must be an integer >= 1, got ${n}`);
    if (!Number.isFinite(s) || s < 0) throw new RangeError(`Zipf exponent must be >= 0, got ${s}`);
    this.n = n;
    this.s = s;
    this.#rng = rng;
    this.#hX1 = this.#hIntegral(1.5) - 1;
    this.#hN = this.#hIntegral(n + 0.5);
    this.#threshold = 2 - this.#hIntegralInverse(this.#hIntegral(2.5) - this.#h(2));
  }

  sample(): number {
    if (this.s === 0 || this.n === 1) return 1 + Math.floor(this.#rng() * this.n);
    for (;;) {
      const u = this.#hN + this.#rng() * (this.#hX1 - this.#hN);
      const x = this.#hIntegralInverse(u);
      let k = Math.floor(x + 0.5);
      if (k < 1) k = 1;
      else if (k > this.n) k = this.n;
      if (k - x <= this.#threshold || u >= this.#hIntegral(k + 0.5) - this.#h(k)) return k;
    }
  }

  /** The exact probability of k (O(n) the first time: for tests and tables). */
  probability(k: number): number {
    if (k < 1 || k > this.n) return 0;
    return Math.pow(k, -this.s) / this.#norm();
  }

  #normCache: number | undefined;
  #norm(): number {
    if (this.#normCache === undefined) {
      let sum = 0;
      for (let i = this.n; i >= 1; i--) sum += Math.pow(i, -this.s);
      this.#normCache = sum;
    }
    return this.#normCache;
  }

  #h(x: number): number {
    return Math.exp(-this.s * Math.log(x));
  }

  #hIntegral(x: number): number {
    const logX = Math.log(x);
    return helper2((1 - this.s) * logX) * logX;
  }

  #hIntegralInverse(x: number): number {
    let t = x * (1 - this.s);
    if (t < -1) t = -1;
    return Math.exp(helper1(t) * x);
  }
}

/** log1p(x) / x, accurate near 0. */
function helper1(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}

/** expm1(x) / x, accurate near 0. */
function helper2(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + (x / 3) * (1 + 0.25 * x));
}
