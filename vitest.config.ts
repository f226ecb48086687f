import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests own their redis-server processes and spawn real servers; two cores do not
    // benefit from more than two workers.
    maxWorkers: 2,
    pool: 'forks',
  },
});
