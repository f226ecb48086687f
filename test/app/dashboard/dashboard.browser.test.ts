/**
 * /dashboard in a real browser: Debian's chromium driven by playwright-core (no bundled
 * browser), on real server processes with their own redis-server. A development server (L1 on)
 * serves the page; the test drives traffic through the backend's routes and waits for the
 * figures and both charts to change, with no console error and no page error on the way (a
 * CSP violation is a console error), then freezes Redis for a moment and waits for the failures
 * in the page's list. A production server without DASHBOARD_TOKEN must refuse
 * the page. Screenshots, laptop and phone width, go to test-output/dashboard/;
 * UPDATE_DOCS_SCREENSHOT=1 also writes the laptop one to docs/dashboard.png for the README.
 *
 * chromium missing: under CI=true this fails (.ci/run installs it); elsewhere the file says
 * so in a test that passes, as test/ops/ops-artefacts.test.ts does for promtool.
 */
import { accessSync, constants, copyFileSync, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USER } from '../../../src/app/db/seed.ts';
import { startRedisServer, type TestRedisServer } from '../../helpers/redis-server.ts';
import { spawnServer, type ServerProcess } from '../../helpers/server-process.ts';

const OUTPUT_DIR = join('test-output', 'dashboard');

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not here
    }
  }
  return undefined;
}

const chromiumPath = process.env['CHROMIUM_PATH'] ?? findOnPath('chromium');

/** Traffic from one signed-in client: every user profile in `ids`, `rounds` times, then a leaderboard. */
async function driveTraffic(baseUrl: string, token: string, ids: number[], rounds: number): Promise<number> {
  let ok = 0;
  for (let round = 0; round < rounds; round++) {
    const answers = await Promise.all(ids.map((id) => fetch(`${baseUrl}/users/${id}`, { headers: { authorization: `Bearer ${token}` } })));
    for (const a of answers) {
      await a.arrayBuffer();
      if (a.status === 200) ok++;
    }
    const board = await fetch(`${baseUrl}/leaderboards/global`, { headers: { authorization: `Bearer ${token}` } });
    await board.arrayBuffer();
  }
  return ok;
}

/** What the test reads off the page: the text and SVG a person would look at. */
interface PageState {
  polls: number;
  hits: string;
  requestsPerSecond: string;
  hitPoints: number;
  l1Area: string;
  l2Area: string;
  requestLine: string;
  domains: string[];
  namespaces: string[];
}

async function readPage(page: Page): Promise<PageState> {
  const attr = async (selector: string, name: string): Promise<string> => (await page.getAttribute(selector, name)) ?? '';
  return {
    polls: Number(await attr('body', 'data-polls')),
    hits: (await page.textContent('#t-hits')) ?? '',
    requestsPerSecond: (await page.textContent('#t-req')) ?? '',
    hitPoints: Number(await attr('#chart-hits', 'data-points')),
    l1Area: await attr('#l1-area', 'd'),
    l2Area: await attr('#l2-area', 'd'),
    requestLine: await attr('#req-line', 'd'),
    domains: await page.locator('#domains tr td:first-child').allTextContents(),
    namespaces: await page.locator('#namespaces tr td:first-child').allTextContents(),
  };
}

const count = (s: string): number => Number(s.replace(/[^\d.]/g, '') || 'NaN');

describe('dashboard in a browser', () => {
  if (chromiumPath === undefined) {
    it('chromium is not on PATH: allowed outside CI only (.ci/run installs Debian\'s chromium)', () => {
      expect(process.env['CI'], 'CI=true but chromium is missing: install Debian\'s chromium package (.ci/run does)').not.toBe('true');
      console.warn('chromium is not on PATH: the /dashboard browser test did not run (apt-get install --no-install-recommends chromium, or set CHROMIUM_PATH)');
    });
    return;
  }

  let redis: TestRedisServer;
  let dev: ServerProcess;
  let prod: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    redis = await startRedisServer();
    // Both servers boot at once: the development one seeds the demo data, the production one
    // (no token, no seed) only has to come up.
    [dev, prod, browser] = await Promise.all([
      // A short command deadline keeps the frozen-Redis step below short.
      spawnServer({ NODE_ENV: 'development', REDIS_URL: redis.url, CACHE_PREFIX: 'dash-dev:', CACHE_L1: 'true', REDIS_COMMAND_TIMEOUT_MS: '200', LOG_LEVEL: 'warn' }),
      spawnServer({ NODE_ENV: 'production', REDIS_URL: redis.url, CACHE_PREFIX: 'dash-prod:', LOG_LEVEL: 'warn' }),
      chromium.launch({
        executablePath: chromiumPath,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      }),
    ]);
    await Promise.all([dev.waitForReady(), prod.waitForReady()]);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    for (const server of [dev, prod]) {
      if (server === undefined) continue;
      server.kill();
      await server.exited;
    }
    await redis?.stop();
  }, 30_000);

  it('shows live figures and charts that move with traffic, with no console or page error', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));

    const res = await page.goto(`${dev.baseUrl}/dashboard`);
    expect(res?.status()).toBe(200);
    await expect.poll(async () => (await readPage(page)).polls, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    const before = await readPage(page);
    expect(await page.textContent('#redis-state')).toBe('Redis ready');
    // L1 serves once its invalidation channel is up, which may be a moment after readiness.
    await expect.poll(() => page.textContent('#t-l1'), { timeout: 10_000 }).toMatch(/ \(up\)$/);

    const login = await fetch(`${dev.baseUrl}/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: DEMO_USER.email, password: DEMO_USER.password }) });
    expect(login.status).toBe(201);
    const { token } = (await login.json()) as { token: string };
    // Spread over a few seconds, so the charts have more than one sample to draw, and uneven,
    // so they are not flat; for the README's screenshot, longer, so they show a history.
    const bursts = process.env['UPDATE_DOCS_SCREENSHOT'] === '1' ? 60 : 4;
    for (let burst = 0; burst < bursts; burst++) {
      const ids = Array.from({ length: 8 + ((burst * 7) % 20) }, (_, i) => i + 1 + burst);
      expect(await driveTraffic(dev.baseUrl, token, ids, 5)).toBe(ids.length * 5);
      await new Promise((r) => setTimeout(r, 600));
    }

    // The page polls once a second and the sampler reads once a second: a few seconds at most.
    const moved = (p: PageState): boolean => count(p.hits) > (count(before.hits) || 0) && p.l2Area !== before.l2Area && p.l1Area !== '' && p.namespaces.includes('user');
    await expect.poll(async () => moved(await readPage(page)), { timeout: 15_000, interval: 250 }).toBe(true);
    const after = await readPage(page);
    expect(after.polls).toBeGreaterThan(before.polls);
    expect(count(after.hits)).toBeGreaterThan(count(before.hits) || 0);
    // The hit chart drew areas where it had none (no reads before the traffic), and L1 answered some hits.
    expect(before.l2Area).toBe('');
    expect(after.l2Area).toMatch(/^M[\d.,L]+Z/);
    expect(after.l1Area).toMatch(/^M[\d.,L]+Z/);
    expect(after.hitPoints).toBeGreaterThan(0);
    expect(after.requestLine).not.toBe(before.requestLine);
    expect(after.domains).toEqual(expect.arrayContaining(['users', 'leaderboards']));
    expect(after.namespaces).toContain('user');
    expect(count(after.requestsPerSecond)).toBeGreaterThan(0);

    // Redis frozen for a moment: the reads still answer (from the database), the page lists the
    // failures with their code, and shows Redis ready again once it answers.
    redis.freeze();
    try {
      for (const id of [41, 42, 43]) expect((await fetch(`${dev.baseUrl}/users/${id}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      redis.resume();
    }
    await expect.poll(() => page.locator('#errors li').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await page.locator('#errors li code').first().textContent()).toMatch(/^E_[A-Z_]+ \w+ \[[\w-]+\]/);
    await expect.poll(() => page.textContent('#redis-state'), { timeout: 15_000 }).toBe('Redis ready');
    // A sample taken after the failures (the cache's error count moved) in which DBSIZE answered
    // (skipped while the circuit was open): the figures are Redis's again.
    const recovered = async (): Promise<boolean> => count((await page.textContent('#t-errors')) ?? '') > 0 && /^\d/.test((await page.textContent('#t-keys')) ?? '');
    await expect.poll(recovered, { timeout: 15_000, interval: 250 }).toBe(true);

    mkdirSync(OUTPUT_DIR, { recursive: true });
    const laptop = join(OUTPUT_DIR, 'dashboard-laptop.png');
    await page.screenshot({ path: laptop, fullPage: true });
    if (process.env['UPDATE_DOCS_SCREENSHOT'] === '1') copyFileSync(laptop, join('docs', 'dashboard.png'));
    // A phone: the same page, one column, nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-phone.png'), fullPage: true });

    await context.close();
    expect(problems).toEqual([]);
  }, process.env['UPDATE_DOCS_SCREENSHOT'] === '1' ? 180_000 : 60_000);

  it('a production server without DASHBOARD_TOKEN refuses the page and its data (404)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const res = await page.goto(`${prod.baseUrl}/dashboard`);
    expect(res?.status()).toBe(404);
    expect(await page.textContent('body')).toContain('E_NOT_FOUND');
    const data = await context.request.get(`${prod.baseUrl}/dashboard/data`);
    expect(data.status()).toBe(404);
    await context.close();
    // The server is up and serving: the refusal is the dashboard's, not a dead process.
    expect((await fetch(`${prod.baseUrl}/health/ready`)).status).toBe(200);
  });
});
