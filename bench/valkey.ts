/**
 * Where the benches find Valkey ≥ 8.1 (`SET … IFEQ`): `valkeyServerPath()` (`$VALKEY_SERVER`, or
 * what scripts/fetch-valkey.sh left in `.cache/valkey/bin`), otherwise that script is run now.
 */
import { execFileSync } from 'node:child_process';
import { valkeyServerPath } from '../test/helpers/redis-server.ts';

/** The valkey-server program, or `{ missing }`: why there is none. */
export function valkeyProgram(): string | { missing: string } {
  const found = valkeyServerPath();
  if (found !== undefined) return found;
  try {
    return execFileSync('bash', ['scripts/fetch-valkey.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    return { missing: `no Valkey (scripts/fetch-valkey.sh failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)})` };
  }
}
