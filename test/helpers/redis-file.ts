/**
 * One throwaway redis-server and a raw client for a whole test file: registers the beforeAll
 * that starts them and the afterAll that stops them. Read `server` and `raw` inside tests (they
 * exist once beforeAll has run). Kept apart from redis-server.ts, which benches import without
 * vitest.
 */
import { afterAll, beforeAll } from 'vitest';
import { startRedisWithClient, type RawRedisClient, type TestRedisServer } from './redis-server.ts';

export interface FileRedis {
  readonly server: TestRedisServer;
  readonly raw: RawRedisClient;
}

export function redisForFile(): FileRedis {
  let started: FileRedis | undefined;
  beforeAll(async () => {
    started = await startRedisWithClient();
  });
  afterAll(async () => {
    await started?.raw.close();
    await started?.server.stop();
  });
  const get = (): FileRedis => {
    if (started === undefined) throw new Error('redisForFile: read server and raw inside tests, after beforeAll');
    return started;
  };
  return {
    get server() {
      return get().server;
    },
    get raw() {
      return get().raw;
    },
  };
}
