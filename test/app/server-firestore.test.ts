/**
 * The real server process on Firestore (`DATABASE_URL=firestore://<project>` +
 * FIRESTORE_EMULATOR_HOST): boots without migrations or a PGlite lock, seeds the demo set on an
 * empty project, reaches ready, and reports Firestore's bill in /health and /metrics; a second
 * start on the same (seeded) project does not seed again; SIGTERM closes it with exit 0.
 *
 * None of this calls a domain adapter (the seed, the probe and the bill are the process's own
 * Firestore plumbing), so it holds before the adapters exist. The last test logs in over HTTP and
 * needs the users and sessions adapters (marked in its name).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeFirestore, startFirestoreEmulator, type TestFirestoreEmulator } from '../helpers/firestore-emulator.ts';
import { OPS_HEADERS, spawnServer, type ServerProcess } from '../helpers/server-process.ts';

describeFirestore('server on Firestore (emulator)', () => {
  let emulator: TestFirestoreEmulator;
  let projectId: string;
  let server: ServerProcess | undefined;
  const boot = async (): Promise<ServerProcess> => {
    const s = await spawnServer({ DATABASE_URL: `firestore://${projectId}`, FIRESTORE_EMULATOR_HOST: emulator.hostPort, SEED_DEMO: 'true' });
    await s.waitForReady(120_000);
    return s;
  };
  const stop = async (s: ServerProcess): Promise<number | null> => {
    s.kill('SIGTERM');
    return (await s.exited).code;
  };

  beforeAll(async () => {
    emulator = await startFirestoreEmulator();
    projectId = emulator.projectId();
  }, 90_000);
  afterAll(async () => {
    if (server !== undefined && server.child.exitCode === null) await stop(server);
    await emulator?.stop();
  });

  it('boots on an empty project, seeds the demo set and reports kind firestore with its bill', async () => {
    server = await boot();
    const logs = server.logs().map((l) => String(l['msg']));
    expect(logs.some((m) => m.startsWith('empty Firestore project: seeding the demo data set'))).toBe(true);
    expect(server.output()).not.toMatch(/migrat/i);

    const health = await fetch(`${server.baseUrl}/health`, { headers: OPS_HEADERS }).then((r) => r.json() as Promise<{ database: { kind: string; rowsRead: Record<string, number>; billed?: Record<string, { reads: number; writes: number; deletes: number }> } }>);
    expect(health.database.kind).toBe('firestore');
    const seed = health.database.billed?.['seed'];
    // 1,000 users write about 17 documents each; the probe and the seed's own check are reads.
    expect(seed?.writes).toBeGreaterThan(15_000);
    expect(seed?.reads).toBeGreaterThanOrEqual(2);
    expect(seed?.deletes).toBe(0);
    expect(health.database.rowsRead['seed']).toBe(seed?.reads);

    const metrics = await fetch(`${server.baseUrl}/metrics`, { headers: OPS_HEADERS }).then((r) => r.text());
    expect(metrics).toMatch(/^firestore_writes_total\{domain="seed"\} \d{5,}$/m);
    expect(metrics).toMatch(/^firestore_reads_total\{domain="seed"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^firestore_deletes_total\{domain="seed"\} 0$/m);
    expect(metrics).not.toMatch(/^db_rows_read_total\{/m);
  }, 180_000);

  it('closes on SIGTERM with exit 0, and a second start on the seeded project does not seed again', async () => {
    expect(server).toBeDefined();
    if (server === undefined) return;
    expect(await stop(server)).toBe(0);
    server = await boot();
    expect(server.logs().some((l) => String(l['msg']).startsWith('empty Firestore project'))).toBe(false);
    const health = await fetch(`${server.baseUrl}/health`, { headers: OPS_HEADERS }).then((r) => r.json() as Promise<{ database: { billed?: Record<string, { writes: number }> } }>);
    expect(health.database.billed?.['seed']?.writes ?? 0).toBe(0);
  }, 180_000);

  it('exits 1 naming the project when the emulator does not answer', async () => {
    const dead = await spawnServer({ DATABASE_URL: `firestore://${projectId}`, FIRESTORE_EMULATOR_HOST: '127.0.0.1:1', SEED_DEMO: 'false' });
    const exit = await dead.exited;
    expect(exit.code).toBe(1);
    expect(dead.output()).toContain(`Firestore unavailable (project ${projectId}`);
  }, 60_000);

  it('[needs the users and sessions adapters] logs the demo account in and serves its profile', async () => {
    expect(server).toBeDefined();
    if (server === undefined) return;
    const login = await fetch(`${server.baseUrl}/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'demo@example.com', password: 'demo1234' }) });
    expect(login.status).toBe(201);
    const { token } = (await login.json()) as { token: string };
    const profile = await fetch(`${server.baseUrl}/users/1`, { headers: { authorization: `Bearer ${token}` } });
    expect(profile.status).toBe(200);
    expect(profile.headers.get('x-cache')).toBe('MISS');
  }, 60_000);
});
