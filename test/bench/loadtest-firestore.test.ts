/**
 * The load test's Firestore seam (bench/loadtest/database-firestore.ts) on the official emulator:
 * the world it reads back for the workload must be the one the seed wrote, checked against the
 * emulator's documents read independently here. A wrong job count, a lost owned job or an owned
 * job credited to the wrong session would make the load test send requests that 403 or 404.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase } from '../../bench/loadtest/database.ts';
import { openFirestoreDatabase } from '../../bench/loadtest/database-firestore.ts';
import { LoadTestSetupError } from '../../bench/loadtest/errors.ts';
import type { LoadTestOptions } from '../../bench/loadtest/types.ts';
import { drawSessionUsers, seededJobCount } from '../../bench/workload.ts';
import { connectFirestore } from '../../src/app/db/firestore/connection.ts';
import { refs } from '../../src/app/db/firestore/model.ts';
import { describeFirestore, startFirestoreEmulator, type TestFirestoreEmulator } from '../helpers/firestore-emulator.ts';

describeFirestore('load test database: Firestore emulator', () => {
  let emulator: TestFirestoreEmulator;
  beforeAll(async () => {
    emulator = await startFirestoreEmulator();
  }, 90_000);
  afterAll(async () => {
    await emulator?.stop();
  });

  it('seeds the project, reads back the seeded world, reuses it, and re-seeds another size', { timeout: 60_000 }, async () => {
    const projectId = emulator.projectId();
    const users = 200;
    const sessionUsers = drawSessionUsers(users, 60, 1);
    const db = await openFirestoreDatabase({ kind: 'firestore', projectId, emulatorHost: emulator.hostPort }, () => {}, false);
    const conn = connectFirestore(`firestore://${projectId}`, { emulatorHost: emulator.hostPort });
    try {
      const { world, seed } = await db.prepare(users, sessionUsers);
      expect(seed).toMatchObject({ users, reused: false, writtenUnit: 'documents' });
      // About 17 documents per user (docs/firestore.md).
      expect(seed.written).toBeGreaterThan(users * 15);

      // The truth, read directly: every job document.
      const jobs = (await refs(conn.firestore).jobs().get()).docs.map((d) => d.data());
      const userCount = (await refs(conn.firestore).users().count().get()).data().count;
      expect(world.users).toBe(users);
      expect(userCount).toBe(users);
      expect(world.jobs).toBe(jobs.length);
      expect(world.jobs).toBe(seededJobCount(users));
      expect(world.openJobs).toBe(jobs.filter((j) => j.status === 'open').length);
      expect(world.sessionUsers).toEqual(sessionUsers);

      const ownedBy = (pool: number[]) =>
        jobs
          .filter((j) => j.status !== 'completed' && pool.includes(j.ownerId))
          .map((j) => ({ jobId: j.id, status: j.status, session: pool.indexOf(j.ownerId) }))
          .sort((a, b) => a.jobId - b.jobId);
      expect(ownedBy(sessionUsers).length).toBeGreaterThan(0);
      expect(world.ownedJobs).toEqual(ownedBy(sessionUsers));
      const byId = new Map(jobs.map((j) => [j.id, j]));
      for (const o of world.ownedJobs) expect(sessionUsers[o.session]).toBe(byId.get(o.jobId)?.ownerId);

      // The server is sent to the same emulator and project.
      expect(db.serverEnv()).toMatchObject({ DATABASE_URL: `firestore://${projectId}`, FIRESTORE_EMULATOR_HOST: emulator.hostPort });
      expect(db.readUnit.many).toBe('billed document reads');

      // Same size again: reused as it is, same world.
      const again = await db.prepare(users, sessionUsers);
      expect(again.seed.reused).toBe(true);
      expect(again.world).toEqual(world);

      // Sessions that are every job owner but the demo user (who never has a session), in a
      // scrambled order, plus users who own nothing: spread over several `in` queries of 30, each
      // owner must come back with all its editable jobs, under its own session index.
      const owners = [...new Set(jobs.map((j) => j.ownerId))].filter((u) => u !== 1);
      const pool = [...owners, ...Array.from({ length: users }, (_, i) => i + 1).filter((u) => u !== 1 && !owners.includes(u)).slice(0, 40)].sort((a, b) => ((a * 7919) % 211) - ((b * 7919) % 211));
      expect(pool.length).toBeGreaterThan(60);
      const full = await db.prepare(users, pool);
      expect(full.world.ownedJobs).toEqual(ownedBy(pool));
      expect(full.world.ownedJobs).toHaveLength(jobs.filter((j) => j.status !== 'completed' && j.ownerId !== 1).length);

      // Another size: the project is cleared and seeded afresh (not added to).
      const smaller = await db.prepare(100, drawSessionUsers(100, 20, 1));
      expect(smaller.seed.reused).toBe(false);
      expect(smaller.world.users).toBe(100);
      expect(smaller.world.jobs).toBe(seededJobCount(100));
      expect((await refs(conn.firestore).users().count().get()).data().count).toBe(100);
    } finally {
      await conn.close();
      await db.close();
    }
  });

  it('refuses an added SQL latency, which Firestore would not apply', async () => {
    const o: LoadTestOptions = {
      users: 100,
      sessions: 10,
      ratePerSecond: 10,
      durationSeconds: 1,
      zipf: 0.99,
      writeRatio: 0.05,
      seed: 1,
      dbLatencyMs: 20,
      redisUrl: undefined,
      database: { kind: 'firestore', projectId: 'demo-never-seeded', emulatorHost: emulator.hostPort },
      connections: 1,
      timeoutMs: 1_000,
      warmupSeconds: 0,
      modes: ['cache'],
      costOptions: { pricePer100k: 0.06, freeReadsPerDay: 50_000 },
      log: () => {},
      bar: false,
    };
    await expect(openDatabase(o)).rejects.toMatchObject({ code: 'E_LOADTEST_SETUP', problem: 'bad_database' });
    await expect(openDatabase(o)).rejects.toBeInstanceOf(LoadTestSetupError);
  });
});
