/**
 * A resolution of this process in the resolver's in-flight table (get-or-set.ts), as the callers
 * that join it see it.
 */
import { missAt, type Outcome } from './outcome.ts';

/** A resolution of this process, shared by the callers that join it. */
export interface InFlight {
  /** Settles once the value is known (`final` is then set), or rejects with the resolution's error. */
  readonly known: Promise<unknown>;
  /** The outcome once the value's write settled; set when the value is known. */
  readonly final: Promise<Outcome> | undefined;
  /** The starting caller has its answer: only the write is in flight. */
  readonly answered: boolean;
}

/**
 * InFlight.known of a resolution being set up, synchronously, so nobody can join it yet; were
 * one to, finalOf would fail it rather than leave it waiting.
 */
const NOT_YET: Promise<unknown> = Promise.resolve();

/** The final outcome of a resolution whose value is known (InFlight.known has settled). */
export function finalOf(f: InFlight): Promise<Outcome> {
  if (f.final === undefined) throw new Error('resolution settled without its final outcome');
  return f.final;
}

/**
 * The in-flight entry of a leased miss (Resolver.leased). Its `final` is made from the write's
 * answer only when a caller of this process joins, which a miss nobody else asked for never sees.
 */
export class LeasedResolution implements InFlight {
  known: Promise<unknown> = NOT_YET;
  answered = false;
  #final: Promise<Outcome> | undefined;
  #write: Promise<boolean> | undefined;
  #value: unknown;
  #seq = 0;

  /** `fetchSeq`: the store call number of the fetch, what the value is current as of until its write lands. */
  constructor(readonly fetchSeq: number) {}

  get final(): Promise<Outcome> | undefined {
    const write = this.#write;
    if (this.#final === undefined && write !== undefined) {
      const value = this.#value;
      const seq = this.#seq;
      const fetchSeq = this.fetchSeq;
      this.#final = write.then(
        (written) => missAt(value, written ? seq : fetchSeq),
        () => missAt(value, fetchSeq),
      );
    }
    return this.#final;
  }

  /** The value is known, and its write (store call `seq`) is out. */
  writing(value: unknown, write: Promise<boolean>, seq: number): void {
    this.#value = value;
    this.#write = write;
    this.#seq = seq;
    this.answered = true;
  }

  /** The value is known, and `final` is its outcome for joiners. */
  settled(final: Promise<Outcome>): void {
    this.#final = final;
    this.answered = true;
  }
}
