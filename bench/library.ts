/**
 * The library as the benches measure it (all but `bench:hit-cpu`, which times the store's and
 * the guard's internals one by one from the sources): the package's
 * compiled entry, `dist/cache/index.js` (what `import 'redis-cache-layer'` loads, `npm run build`
 * makes it), not the TypeScript sources through tsx. tsx compiles with esbuild's keepNames, which
 * wraps every named function and class in a `__name` call no user's build has: on the miss path
 * that measured about 3 µs more Node.js CPU per miss (a CPU profile at 64 in flight); the same
 * code from both, paired in one process, ran 3–6 % more misses per second from dist/ and as many
 * hits (within 3 %). Their npm scripts build first. Run directly, a missing or stale build (a
 * source under src/cache newer than its compiled file, or one not compiled at all) is an error
 * rather than a silent fall back to the sources or a measurement of code that is no longer there.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Library from '../src/cache/index.ts';

/** Sources under src/cache whose compiled file is missing or older than they are (all of them without a build). */
function staleSources(srcDir: string, distDir: string): string[] {
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, name.name);
      if (name.isDirectory()) walk(path);
      else if (name.name.endsWith('.ts')) {
        const built = join(distDir, relative(srcDir, path)).replace(/\.ts$/, '.js');
        if (!existsSync(built) || statSync(built).mtimeMs < statSync(path).mtimeMs) stale.push(relative(srcDir, path));
      }
    }
  };
  walk(srcDir);
  return stale;
}

const stale = staleSources(fileURLToPath(new URL('../src/cache', import.meta.url)), fileURLToPath(new URL('../dist/cache', import.meta.url)));
if (stale.length > 0) {
  throw new Error(`bench: dist/cache is missing or older than src/cache (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}); run \`npm run build\` first (the benches' npm scripts do)`);
}

const library = (await import(new URL('../dist/cache/index.js', import.meta.url).href)) as typeof Library;

export const { createCache } = library;
export type { Cache, CacheOptions } from '../src/cache/index.ts';

/** For the reports' setup line: which build of the library was measured. */
export const LIBRARY_MEASURED = 'the library as built by `npm run build` (`dist/cache/index.js`)';
