/**
 * The y/N question before a bulk deletion. Only a person at a terminal can answer it: with stdin
 * redirected (a script, a pipe, CI) there is nobody to ask, and reading "y" from a pipe would
 * let any upstream output confirm a deletion; the caller must say --yes instead.
 */
import { createInterface } from 'node:readline';
import { CliError } from './errors.ts';
import type { Io } from './output.ts';

/**
 * Resolves when the operator answers y or yes; throws CliError E_CLI_REFUSED (exit 3) on any
 * other answer, end of input, or when stdin is not a terminal (`whyNotAsked` says what to pass).
 */
export async function confirmOrRefuse(io: Io, question: string, whyNotAsked: string): Promise<void> {
  if (io.stdin.isTTY !== true) throw new CliError('E_CLI_REFUSED', `refused: ${whyNotAsked}; stdin is not a terminal, so nobody can confirm: pass --yes (or --dry-run to count only)`);
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
  try {
    const answer = await new Promise<string | undefined>((resolve) => {
      rl.once('close', () => resolve(undefined));
      rl.question(`${question} [y/N] `, resolve);
    });
    if (answer === undefined || !/^\s*y(es)?\s*$/i.test(answer)) throw new CliError('E_CLI_REFUSED', 'not confirmed: nothing was deleted');
  } finally {
    rl.close();
  }
}
