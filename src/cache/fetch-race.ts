/**
 * The time-outs of a fetch: whichever comes first of the fetch's value or error, the soft
 * time-out and the hard time-out (get-or-set.ts).
 */
export type Race<T> = { kind: 'value'; value: T } | { kind: 'error'; error: unknown } | { kind: 'soft' } | { kind: 'hard' };

export function race<T>(work: Promise<T>, softMs: number | undefined, hardMs: number | undefined): Promise<Race<T>> {
  if (softMs === undefined && hardMs === undefined) {
    return work.then((value) => ({ kind: 'value', value }), (error: unknown) => ({ kind: 'error', error }));
  }
  return new Promise((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    const done = (r: Race<T>): void => {
      for (const t of timers) clearTimeout(t);
      resolve(r);
    };
    work.then((value) => done({ kind: 'value', value }), (error: unknown) => done({ kind: 'error', error }));
    if (softMs !== undefined) timers.push(setTimeout(() => done({ kind: 'soft' }), softMs));
    if (hardMs !== undefined) timers.push(setTimeout(() => done({ kind: 'hard' }), hardMs));
  });
}
