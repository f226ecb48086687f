import { defineConfig } from 'vitest/config';

/** The HTTP domain suites: the backend's behaviour on each database. */
const DOMAIN_SUITES = ['users', 'guilds', 'jobs', 'wallets', 'chat', 'notifications', 'leaderboards', 'sessions'].map((d) => `test/app/${d}/*.test.ts`);

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests own their redis-server processes and spawn real servers; two cores do not
    // benefit from more than two workers.
    maxWorkers: 2,
    pool: 'forks',
    projects: [
      {
        extends: true,
        // Everything, on the SQL database the environment names (PostgreSQL with DATABASE_URL,
        // PGlite without) and on the Firestore emulator.
        test: { name: 'all', include: ['test/**/*.test.ts'] },
      },
      {
        extends: true,
        // The domain suites once more on embedded PGlite, so every run covers the three
        // databases the backend supports even when DATABASE_URL points at PostgreSQL.
        test: { name: 'pglite', include: DOMAIN_SUITES, exclude: ['test/**/*.port.test.ts', 'test/**/*.rules.test.ts'], env: { DATABASE_URL: '', TEST_DATABASES: 'sql' } },
      },
    ],
  },
});
