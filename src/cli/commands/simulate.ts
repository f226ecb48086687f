/**
 * `simulate [flags]`: the hit-rate simulator (bench/simulate.ts, `npm run simulate`), its flags
 * and report unchanged. It replays traffic through the library on the in-memory store: no Redis.
 */
import type { CommandContext } from '../context.ts';
import { println } from '../output.ts';

export async function simulate(ctx: CommandContext): Promise<void> {
  // Loaded on demand: the workload model is this command's alone.
  const { runSimulateCli } = await import('../../../bench/simulate.ts');
  await runSimulateCli(ctx.rest, 'redis-cache-layer simulate', (line) => println(ctx.io, line));
}
