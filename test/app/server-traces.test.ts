/**
 * The spans a stopping server still holds are exported before it exits (trace-flush.ts): with an
 * SDK whose batch would wait ten minutes, the request's `cache.getOrSet` span reaches the
 * exporter only through the shutdown's flush.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer } from '../helpers/server-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'rcl-spans-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SIGTERM with an OpenTelemetry SDK loaded', () => {
  it('exports the spans its batch still holds, then exits 0', async () => {
    const file = join(dir, 'spans.txt');
    const server = await spawnServer({ OTEL_TEST_SPANS_FILE: file }, { nodeArgs: ['--import', './test/app/fixtures/otel-file-sdk.ts'] });
    try {
      await server.waitForReady();
      const login = await fetch(`${server.baseUrl}/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'demo@example.com', password: 'demo1234' }) });
      expect(login.status).toBe(201);
      const { token } = (await login.json()) as { token: string };
      const res = await fetch(`${server.baseUrl}/users/1`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      // Nothing exported yet: the batch holds the request's spans.
      expect(existsSync(file) ? readFileSync(file, 'utf8') : '').toBe('');
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
      expect(server.output()).toContain('shutdown complete');
      expect(readFileSync(file, 'utf8').split('\n')).toContain('cache.getOrSet');
    } finally {
      server.kill('SIGKILL');
    }
  }, 90_000);
});
