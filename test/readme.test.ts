/**
 * The README is executable: its API example runs against a throwaway redis-server, and every
 * error code the library defines and every one the backend answers with is documented.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type TestRedisServer } from './helpers/redis-server.ts';

const run = promisify(execFile);
const readme = readFileSync('README.md', 'utf8');
let server: TestRedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server.stop();
});

describe('README', () => {
  it('runs the API example as written (with the package import pointed at src)', async () => {
    const block = /<!-- api-example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- api-example:end -->/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const file = `examples/.readme-api-${process.pid}.ts`;
    writeFileSync(file, (block ?? '').replace(`from 'redis-cache-layer'`, `from '../src/cache/index.ts'`));
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { env: { ...process.env, REDIS_URL: server.url }, timeout: 20_000 });
      expect(stdout).toContain('true');
      expect(stdout).toContain('Ada');
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('documents every error code the library defines', () => {
    const source = readFileSync('src/cache/errors.ts', 'utf8');
    const union = /export type CacheErrorCode =([^;]*);/.exec(source)?.[1] ?? '';
    const codes = [...union.matchAll(/'(E_[A-Z_]+)'/g)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(5);
    for (const code of codes) expect(readme, `README lacks ${code}`).toContain(`\`${code}\``);
  });

  it('documents every error code the backend answers with', () => {
    // The HTTP errors, the error shape's codes, and every code a service throws.
    const files = ['src/app/app.ts', 'src/app/http/errors.ts', 'src/app/http/error-shape.ts', ...readdirSync('src/app', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.service.ts')).map((f) => `src/app/${f}`)];
    const codes = new Set(files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/'(E_[A-Z_]+)'/g)].map((m) => m[1])));
    expect(codes.size).toBeGreaterThan(15);
    for (const code of codes) expect(readme, `README lacks ${code}`).toContain(`\`${code}\``);
  });

  it('lists every environment variable the server reads, as .env.example does', () => {
    const config = readFileSync('src/app/config.ts', 'utf8');
    const vars = new Set([...config.matchAll(/(?:int|str|bool)\('([A-Z_]+)'|env\['([A-Z_]+)'\]/g)].map((m) => m[1] ?? m[2]));
    const example = readFileSync('.env.example', 'utf8');
    expect(vars.size).toBeGreaterThan(10);
    for (const v of vars) {
      expect(example, `.env.example lacks ${v}`).toContain(`${v}=`);
      expect(readme, `README lacks ${v}`).toContain(`\`${v}\``);
    }
  });
});
