/**
 * The operations artefacts (issue 15) against the server they watch: every metric that
 * ops/prometheus/alerts.yml and ops/grafana/redis-cache-layer.json name is one that GET /metrics
 * really exports, read from a running backend after some traffic. A renamed or removed series
 * would otherwise leave an alert that can never fire and a panel that stays empty, silently.
 *
 * promtool (Debian's `prometheus` package, installed by .ci/run) validates the rules file and
 * runs its unit tests (ops/prometheus/alerts.test.yml). Without promtool this file says so in a
 * test that passes only when CI is not 'true': CI never skips it.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE_TAGS } from '../../src/app/cache-policy.ts';
import { bearer, createTestApp, type TestApp } from '../helpers/app.ts';
import { parseYamlSubset, YamlSubsetError, type YamlValue } from './mini-yaml.ts';
import { metricNames, PromqlNameError, templatingExpr } from './promql.ts';

const run = promisify(execFile);
const RULES_FILE = 'ops/prometheus/alerts.yml';
const RULES_TESTS = 'ops/prometheus/alerts.test.yml';
const DASHBOARD_FILE = 'ops/grafana/redis-cache-layer.json';
const DS_VARIABLE = '${DS_PROMETHEUS}';

/**
 * Series Prometheus makes itself, not the server: `up` (BackendTargetDown). Nothing else may be
 * named without being exported.
 */
const PROMETHEUS_OWN: ReadonlySet<string> = new Set(['up']);

/** The alerts issue 15 asks for; more may exist. */
const REQUIRED_ALERTS = [
  'CacheHitRateDrop',
  'RedisDown',
  'CacheDbFallbackRejecting',
  'CacheDbFallbackSaturated',
  'CacheErrorRate',
  'HttpServerErrorRate',
  'CacheInvalidationOutboxGrowing',
  'CacheL1ChannelDown',
];

// ---------------------------------------------------------------------------------------------
// What /metrics exports.

/**
 * Every series name an exposition offers: each `# TYPE` family with the sample names its type
 * produces (a histogram is read as _bucket, _sum and _count, never by its bare name), plus every
 * sample line's name. TYPE lines count because a labelled counter nobody incremented yet (a
 * namespace's errors, Firestore's bill on SQL) has no sample but is exported all the same.
 */
function exportedNames(exposition: string): { names: Set<string>; families: Map<string, string> } {
  const names = new Set<string>();
  const families = new Map<string, string>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE ([A-Za-z_:][\w:]*) (\w+)$/.exec(line);
    if (type !== null) {
      const [, name = '', kind = ''] = type;
      families.set(name, kind);
      const suffixes = kind === 'histogram' ? ['_bucket', '_sum', '_count'] : kind === 'summary' ? ['', '_sum', '_count'] : [''];
      for (const s of suffixes) names.add(name + s);
      continue;
    }
    const sample = /^([A-Za-z_:][\w:]*)[{ ]/.exec(line);
    if (sample !== null && !line.startsWith('#')) names.add(sample[1] ?? '');
  }
  return { names, families };
}

/** Each (expression, name) where the expression names a metric that is not in `known`. */
function unknownMetrics(exprs: ReadonlyArray<{ where: string; expr: string }>, known: ReadonlySet<string>): Array<{ where: string; name: string }> {
  return exprs.flatMap(({ where, expr }) => metricNames(expr).filter((n) => !known.has(n)).map((name) => ({ where, name })));
}

// ---------------------------------------------------------------------------------------------
// The rules file.

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const isMap = (v: YamlValue | undefined): v is { [k: string]: YamlValue } => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringMap = (v: YamlValue | undefined, what: string): Record<string, string> => {
  if (v === undefined) return {};
  if (!isMap(v)) throw new Error(`${what} is not a mapping`);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => {
    if (typeof x !== 'string') throw new Error(`${what}.${k} is not a string`);
    return [k, x];
  }));
};

/** The rules of a Prometheus rules file, in order, with the shape Prometheus requires. */
function readRules(source: string): Rule[] {
  const doc = parseYamlSubset(source);
  if (!isMap(doc) || !Array.isArray(doc['groups'])) throw new Error('a rules file is a mapping with a groups list');
  return doc['groups'].flatMap((g, gi) => {
    const name = isMap(g) ? g['name'] : undefined;
    const list = isMap(g) ? g['rules'] : undefined;
    if (typeof name !== 'string' || !Array.isArray(list)) throw new Error(`group ${gi}: needs name and rules`);
    return list.map((r, ri): Rule => {
      const where = `${name} rule ${ri}`;
      if (!isMap(r) || typeof r['expr'] !== 'string') throw new Error(`${where}: no expr`);
      const known = new Set(['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);
      for (const k of Object.keys(r)) if (!known.has(k)) throw new Error(`${where}: unknown field ${k}`);
      return {
        ...(typeof r['record'] === 'string' ? { record: r['record'] } : {}),
        ...(typeof r['alert'] === 'string' ? { alert: r['alert'] } : {}),
        ...(typeof r['for'] === 'string' ? { for: r['for'] } : {}),
        expr: r['expr'],
        labels: stringMap(r['labels'], `${where}.labels`),
        annotations: stringMap(r['annotations'], `${where}.annotations`),
      };
    });
  });
}

/** GitHub's anchor for a Markdown heading. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

// ---------------------------------------------------------------------------------------------
// The dashboard.

interface Target {
  expr?: unknown;
  refId?: unknown;
  datasource?: { uid?: unknown };
}
interface Panel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  gridPos?: { x?: unknown; y?: unknown; w?: unknown; h?: unknown };
  datasource?: { type?: unknown; uid?: unknown };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name?: unknown;
  type?: unknown;
  query?: unknown;
  datasource?: { uid?: unknown };
}
interface Dashboard {
  uid?: unknown;
  title?: unknown;
  schemaVersion?: unknown;
  panels?: Panel[];
  templating?: { list?: Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
/** Every panel, rows' collapsed panels included. */
const allPanels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
const dashboardExprs = allPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel ${String(p.id)} "${String(p.title)}" ${String(t.refId)}`, expr: String(t.expr) })));
const variableQuery = (v: Variable): string => (typeof v.query === 'string' ? v.query : isMap(v.query as YamlValue) ? String((v.query as { query?: unknown }).query) : '');
const variableExprs = (dashboard.templating?.list ?? []).filter((v) => v.type === 'query').map((v) => ({ where: `variable ${String(v.name)}`, expr: templatingExpr(variableQuery(v)) }));

// ---------------------------------------------------------------------------------------------

describe('the PromQL name extractor', () => {
  it('finds metric names and leaves out functions, aggregations, keywords, labels, durations and variables', () => {
    expect(metricNames('sum by (job) (rate(cache_hits_total[5m])) / job:cache_reads:rate5m')).toEqual(['cache_hits_total', 'job:cache_reads:rate5m']);
    expect(metricNames('cache_l1_enabled == 1 and cache_l1_channel_up == 0')).toEqual(['cache_l1_enabled', 'cache_l1_channel_up']);
    expect(metricNames('max by (job, instance) (redis_connection_state{state=~"reconnecting|unresponsive"}) == 1')).toEqual(['redis_connection_state']);
    expect(metricNames('histogram_quantile(0.99, sum by (route, le) (rate(http_request_duration_seconds_bucket{job=~"$job",instance=~"$instance"}[$__rate_interval])))')).toEqual(['http_request_duration_seconds_bucket']);
    expect(metricNames('avg_over_time(x:ratio[1h] offset 10m) - 0.10 and on (job) group_left (instance) y > bool 1e3')).toEqual(['x:ratio', 'y']);
    expect(metricNames('sum(rate(a_total[5m])) without (instance) / ignoring (kind) b unless c{label="sum(d)"} or count_values("e", f)')).toEqual(['a_total', 'b', 'c', 'f']);
    expect(metricNames('rate(g[1h:5m] @ end()) + label_replace(h, "dst", "$1", "src", "(.*)") # i is a comment\n+ ${j} * Inf')).toEqual(['g', 'h']);
    // A label named like a function, and a metric whose name is an aggregation's, used as one.
    expect(metricNames('k{rate="1"} + sum')).toEqual(['k', 'sum']);
  });

  it('fails on what it cannot classify, instead of letting a name through unchecked', () => {
    expect(() => metricNames('rat(cache_hits_total[5m])')).toThrow(PromqlNameError);
    expect(() => metricNames('sum(rate(cache_hits_total[5m])')).toThrow(PromqlNameError);
    expect(() => metricNames('{__name__="cache_hits_total"}')).toThrow(PromqlNameError);
    expect(() => metricNames('x{a="unterminated}')).toThrow(PromqlNameError);
  });

  it("reads Grafana's templating queries", () => {
    expect(templatingExpr('label_values(cache_db_fallback_limit{job=~"$job"}, instance)')).toBe('cache_db_fallback_limit{job=~"$job"}');
    expect(templatingExpr('label_values(job)')).toBe('');
    expect(templatingExpr('query_result(sum(x))')).toBe('sum(x)');
    expect(() => templatingExpr('metrics(cache_.*)')).toThrow(PromqlNameError);
  });
});

describe('the YAML subset reader', () => {
  it('reads mappings, lists, quoted and block scalars', () => {
    const doc = parseYamlSubset(
      [
        '# comment',
        'groups:',
        '  - name: g # trailing comment',
        '    rules:',
        '    - alert: A',
        '      expr: |',
        '        sum(x)',
        '          > 1',
        '',
        '      labels:',
        '        severity: warning',
        '      annotations:',
        '        summary: "{{ $labels.instance }}: \\"quoted\\""',
        "        other: 'it''s'",
        '        folded: >-',
        '          one',
        '          two',
        '    - record: r',
        '      expr: y',
        '  - name: empty',
        '    rules: []',
      ].join('\n'),
    );
    expect(doc).toEqual({
      groups: [
        {
          name: 'g',
          rules: [
            { alert: 'A', expr: 'sum(x)\n  > 1\n', labels: { severity: 'warning' }, annotations: { summary: '{{ $labels.instance }}: "quoted"', other: "it's", folded: 'one two' } },
            { record: 'r', expr: 'y' },
          ],
        },
        { name: 'empty', rules: [] },
      ],
    });
  });

  it('refuses what it does not understand', () => {
    for (const bad of ['a: &anchor x', 'a: *alias', 'a: [x, y]', 'a: {b: c}', 'a: !tag x', '---\na: b', 'a: b\na: c', 'a:\n  b: c\n    d: e', 'a: b: c', 'a: |+\n  x', 'a: "open']) {
      expect(() => parseYamlSubset(bad), bad).toThrow(YamlSubsetError);
    }
  });
});

describe('ops artefacts against the running server', () => {
  let t: TestApp;
  let exposition: string;
  let exported: Set<string>;
  let families: Map<string, string>;
  const rulesSource = readFileSync(RULES_FILE, 'utf8');
  const rules = readRules(rulesSource);
  const recorded = new Set(rules.flatMap((r) => (r.record === undefined ? [] : [r.record])));
  const alerts = rules.filter((r) => r.alert !== undefined);
  const readme = readFileSync('README.md', 'utf8');

  const scrape = async (): Promise<string> => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    // L1 on, so its series carry real values; every series exists with it off too.
    t = await createTestApp({ users: 5, config: { cacheL1: true } });
    const token = await t.loginAs(1);
    // Misses then hits in several namespaces, a 404 and a write, so labelled series have samples.
    for (const url of ['/users/1', '/users/1', '/users/2', '/leaderboards/global', '/leaderboards/global', '/jobs?status=open&page=1', '/users/999999']) {
      await t.app.inject({ method: 'GET', url, headers: bearer(token) });
    }
    await t.app.inject({ method: 'PATCH', url: '/users/1', headers: bearer(token), payload: { displayName: 'Ops Test' } });
    exposition = await scrape();
    ({ names: exported, families } = exportedNames(exposition));
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('the exposition has the families the artefacts rely on, with samples from the traffic', () => {
    expect(families.get('cache_hits_total')).toBe('counter');
    expect(families.get('http_request_duration_seconds')).toBe('histogram');
    expect(exported.has('http_request_duration_seconds_bucket')).toBe(true);
    expect(exported.has('http_request_duration_seconds')).toBe(false);
    expect(exposition).toMatch(/^cache_hits_total\{namespace="user"\} [1-9]/m);
    expect(exposition).toMatch(/^cache_misses_total\{namespace="user"\} [1-9]/m);
    expect(exposition).toContain('\ncache_l1_enabled 1\n');
    expect(exposition).toContain(`\ncache_db_fallback_limit ${t.config.dbFallbackConcurrency}\n`);
    for (const kind of ['keys', 'tags', 'patterns']) expect(exposition).toContain(`\ncache_invalidation_outbox_pending{kind="${kind}"} 0\n`);
    expect(exposition).toContain('\ncache_invalidation_outbox_flush_all 0\n');
    for (const name of ['cache_stale_served_total', 'cache_stale_writes_prevented_total']) expect(families.get(name)).toBe('counter');
    for (const name of PROMETHEUS_OWN) expect(exported.has(name), `${name} is exported after all: drop it from PROMETHEUS_OWN`).toBe(false);
  });

  it('the outbox gauge counts an invalidation Redis refused, and drops to 0 once Redis takes it', async () => {
    const saved = await t.redis.configGet('maxmemory*');
    // Redis keeps answering but refuses writes: a tag invalidation (an INCR) fails into the outbox.
    await t.redis.configSet({ 'maxmemory-policy': 'noeviction', maxmemory: '1' });
    try {
      await t.deps.cacheAccess.invalidateTags(CACHE_TAGS.jobList('open'));
      expect(await scrape()).toContain('\ncache_invalidation_outbox_pending{kind="tags"} 1\n');
    } finally {
      await t.redis.configSet({ 'maxmemory-policy': saved['maxmemory-policy'] ?? 'noeviction', maxmemory: saved['maxmemory'] ?? '0' });
    }
    await expect.poll(scrape, { timeout: 10_000, interval: 200 }).toContain('\ncache_invalidation_outbox_pending{kind="tags"} 0\n');
  });

  it(`${RULES_FILE}: every expression was read, and each names only exported series or rules recorded in the file`, () => {
    // The reader refuses what it does not know, and no `expr:` line may go unread.
    expect(rules.length).toBe([...rulesSource.matchAll(/^\s*(?:- )?expr:/gm)].length);
    const problems = unknownMetrics(
      rules.map((r) => ({ where: r.alert ?? r.record ?? '?', expr: r.expr })),
      new Set([...exported, ...recorded, ...PROMETHEUS_OWN]),
    );
    expect(problems).toEqual([]);
    // A recording rule reads exported series and rules recorded before it, never one recorded
    // later (Prometheus evaluates a group in order) or one that does not exist.
    const before = new Set<string>();
    for (const r of rules.filter((x) => x.record !== undefined)) {
      expect(unknownMetrics([{ where: r.record ?? '', expr: r.expr }], new Set([...exported, ...before]))).toEqual([]);
      before.add(r.record ?? '');
    }
  });

  it('a rule naming a series the server does not export is caught', () => {
    const known = new Set([...exported, ...recorded, ...PROMETHEUS_OWN]);
    const broken = readRules(rulesSource.replace('cache_l1_channel_up == 0', 'cache_l1_channel_upp == 0'));
    expect(unknownMetrics(broken.map((r) => ({ where: r.alert ?? r.record ?? '?', expr: r.expr })), known)).toEqual([{ where: 'CacheL1ChannelDown', name: 'cache_l1_channel_upp' }]);
    // The classic mistakes: a histogram by its bare name, a counter without _total.
    expect(unknownMetrics([{ where: 'x', expr: 'rate(http_request_duration_seconds[5m]) + rate(cache_hits[5m])' }], known)).toEqual([
      { where: 'x', name: 'http_request_duration_seconds' },
      { where: 'x', name: 'cache_hits' },
    ]);
  });

  it('the alerts issue 15 asks for exist, each with for, severity, summary, description and a runbook into the README', () => {
    const names = alerts.map((a) => a.alert ?? '');
    expect(new Set(names).size).toBe(names.length);
    for (const required of REQUIRED_ALERTS) expect(names).toContain(required);
    const anchors = new Set([...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] ?? '')));
    for (const a of alerts) {
      expect(a.for, `${a.alert}: for`).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning', 'info'], `${a.alert}: severity`).toContain(a.labels['severity']);
      expect(a.annotations['summary'], `${a.alert}: summary`).toBeTruthy();
      expect(a.annotations['description'], `${a.alert}: description`).toBeTruthy();
      const anchor = /^README\.md#([\w-]+)$/.exec(a.annotations['runbook'] ?? '')?.[1];
      expect(anchor, `${a.alert}: runbook README.md#<section>`).toBeDefined();
      expect(anchors.has(anchor ?? ''), `${a.alert}: README has no section #${anchor}`).toBe(true);
      // The README's table of alerts explains each one.
      expect(readme, `README's alert table lacks ${a.alert}`).toMatch(new RegExp(`^\\| \`${a.alert}\` \\|`, 'm'));
    }
    // The L1 alert must not fire while L1 is off (cache_l1_channel_up is 0 then too).
    expect(alerts.find((a) => a.alert === 'CacheL1ChannelDown')?.expr).toMatch(/cache_l1_enabled == 1 and cache_l1_channel_up == 0/);
  });

  it(`${DASHBOARD_FILE}: importable structure (unique ids, grid, data source variable, job and instance variables)`, () => {
    expect(dashboard.uid).toBe('redis-cache-layer');
    expect(typeof dashboard.title).toBe('string');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const vars = new Map((dashboard.templating?.list ?? []).map((v) => [v.name, v]));
    expect(vars.get('DS_PROMETHEUS')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['job', 'instance']) expect(vars.get(name)).toMatchObject({ type: 'query', datasource: { uid: DS_VARIABLE } });

    const ids = allPanels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id) && (id as number) > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const boxes = allPanels.map((p) => {
      const { x, y, w, h } = p.gridPos ?? {};
      for (const v of [x, y, w, h]) expect(Number.isInteger(v), `panel ${String(p.id)} gridPos`).toBe(true);
      const box = { id: p.id, x: x as number, y: y as number, w: w as number, h: h as number };
      expect(box.x >= 0 && box.w > 0 && box.h > 0 && box.x + box.w <= 24, `panel ${String(p.id)} gridPos ${JSON.stringify(p.gridPos)}`).toBe(true);
      return box;
    });
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `panels ${String(a.id)} and ${String(b.id)} overlap`).toBe(false);
      }
    }
    for (const p of allPanels.filter((p) => p.type !== 'row')) {
      expect(p.datasource, `panel ${String(p.id)} datasource`).toEqual({ type: 'prometheus', uid: DS_VARIABLE });
      expect(p.targets?.length, `panel ${String(p.id)} has no query`).toBeGreaterThan(0);
      const refIds = (p.targets ?? []).map((q) => q.refId);
      expect(new Set(refIds).size, `panel ${String(p.id)} refIds`).toBe(refIds.length);
      for (const q of p.targets ?? []) {
        expect(typeof q.expr === 'string' && q.expr.trim() !== '', `panel ${String(p.id)} ${String(q.refId)} expr`).toBe(true);
        expect(typeof q.refId === 'string' && q.refId !== '', `panel ${String(p.id)} refId`).toBe(true);
        if (q.datasource !== undefined) expect(q.datasource.uid).toBe(DS_VARIABLE);
      }
    }
  });

  it(`${DASHBOARD_FILE}: every query names exported series only, and honours $job and $instance`, () => {
    // No recording rules: the dashboard must work on a Prometheus that has not loaded alerts.yml.
    expect(unknownMetrics([...dashboardExprs, ...variableExprs], exported)).toEqual([]);
    for (const { where, expr } of dashboardExprs) {
      for (const name of metricNames(expr)) {
        const uses = [...expr.matchAll(new RegExp(`(?<![\\w:])${name}(?![\\w:])(.{0,40})`, 'g'))];
        for (const u of uses) expect(u[1], `${where}: ${name} without the job/instance matchers`).toMatch(/^\{job=~"\$job",instance=~"\$instance"/);
      }
    }
  });

  it(`${DASHBOARD_FILE}: shows every series the backend exports (Node's process defaults aside)`, () => {
    const used = new Set(dashboardExprs.flatMap(({ expr }) => metricNames(expr)));
    const own = [...families.keys()].filter((f) => !f.startsWith('process_') && !f.startsWith('nodejs_'));
    expect(own.length).toBeGreaterThan(25);
    const missing = own.filter((f) => {
      const samples = families.get(f) === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => f + s) : [f];
      return !samples.some((s) => used.has(s));
    });
    expect(missing).toEqual([]);
  });
});

/** promtool's path, or undefined when it is not on PATH. */
function findOnPath(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const promtool = findOnPath('promtool');

describe('promtool', () => {
  if (promtool === undefined) {
    it('is not on PATH: allowed outside CI only (.ci/run installs Debian\'s prometheus package)', () => {
      expect(process.env['CI'], 'CI=true but promtool is missing: install Debian\'s prometheus package (.ci/run does)').not.toBe('true');
      console.warn(`promtool is not on PATH: ${RULES_FILE} was not checked by promtool (apt-get install --no-install-recommends prometheus)`);
    });
    return;
  }

  it(`check rules ${RULES_FILE}`, async () => {
    const { stdout } = await run(promtool, ['check', 'rules', RULES_FILE], { timeout: 30_000 });
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it(`test rules ${RULES_TESTS}: each alert fires on made-up series, and stays quiet where it should`, async () => {
    const { stdout } = await run(promtool, ['test', 'rules', RULES_TESTS], { timeout: 60_000 });
    expect(stdout).toContain('SUCCESS');
  });
});
