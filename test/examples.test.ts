/** Runs every program in examples/ against a throwaway redis-server: each must exit 0. */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type TestRedisServer } from './helpers/redis-server.ts';

const run = promisify(execFile);
const examples = readdirSync('examples').filter((f) => /^\d\d-.*\.ts$/.test(f)).sort();
let server: TestRedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server.stop();
});

describe('examples', () => {
  it('there are twelve of them', () => {
    expect(examples).toHaveLength(12);
  });
  it.each(examples)('%s runs against real Redis', async (file) => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${file}`], {
      env: { ...process.env, REDIS_URL: server.url },
      timeout: 20_000,
    });
    expect(stdout.length).toBeGreaterThan(0);
  });
});
