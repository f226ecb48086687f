/**
 * The dashboard page: one HTML document with its CSS and script inline, no framework and no
 * dependency; the charts are SVG paths the script draws from the samples. It polls
 * `/dashboard/data` once a second (`?since=` the last sample it has, so a poll carries only the
 * new samples) and never writes untrusted text as HTML (namespaces and error messages go
 * through textContent).
 *
 * Served under a strict Content-Security-Policy: nothing but this script and this style (by
 * hash), fetches to the same origin, no framing.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root{--bg:#f6f7f9;--card:#fff;--ink:#1b1f24;--muted:#5b6470;--line:#dde1e6;--l1:#2f7d32;--l2:#7cb342;--req:#1565c0;--db:#c62828;--warn:#b26a00}
@media (prefers-color-scheme:dark){:root{--bg:#14171b;--card:#1d2127;--ink:#e8eaed;--muted:#9aa3ad;--line:#2e343c;--l1:#66bb6a;--l2:#c5e1a5;--req:#64b5f6;--db:#ef9a9a;--warn:#ffb74d}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:baseline;padding:.75rem 1rem;border-bottom:1px solid var(--line);background:var(--card)}
h1{font-size:1.1rem;margin:0}
h2{font-size:.95rem;margin:0 0 .5rem}
main{padding:1rem;display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,30rem),1fr));max-width:1400px;margin:0 auto}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem;min-width:0}
.wide{grid-column:1/-1}
.tiles{display:grid;gap:.5rem;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr))}
.tile{border:1px solid var(--line);border-radius:6px;padding:.4rem .6rem}
.tile .label{display:block;color:var(--muted);font-size:.78rem}
.tile .value{display:block;font-size:1.35rem;font-variant-numeric:tabular-nums}
.badge{padding:.1rem .5rem;border-radius:999px;border:1px solid var(--line);font-size:.8rem}
.ok{color:var(--l1)}.bad{color:var(--db)}.warn{color:var(--warn)}
.muted{color:var(--muted)}
svg{display:block;width:100%;height:11rem;border-left:1px solid var(--line);border-bottom:1px solid var(--line)}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.75rem}
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:.8rem;margin:.25rem 0}
.key{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;vertical-align:-.1rem;margin-right:.3rem}
.k-l1{background:var(--l1)}.k-l2{background:var(--l2)}.k-req{background:var(--req)}.k-db{background:var(--db)}
.grid{stroke:var(--line);stroke-width:1;vector-effect:non-scaling-stroke}
#l1-area{fill:var(--l1)}#l2-area{fill:var(--l2)}
#req-line,#db-line{fill:none;stroke-width:2;vector-effect:non-scaling-stroke}
#req-line{stroke:var(--req)}#db-line{stroke:var(--db)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:.3rem .5rem;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
tfoot td{font-weight:600}
ol{margin:0;padding-left:1.2rem}
li{margin:.3rem 0;word-break:break-word}
code{font-size:.85em}
@media (max-width:480px){main{padding:.5rem;gap:.5rem}section{padding:.6rem}th,td{padding:.25rem .3rem}.tile .value{font-size:1.15rem}}
`;

const SCRIPT = `
'use strict';
var WIDTH = 600, HEIGHT = 160;
var samples = [], lastAt, windowMs = 600000, intervalMs = 1000, stopped = false;
var nf = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
function $(id) { return document.getElementById(id); }
function num(n) { return n === null || n === undefined ? '\\u2014' : nf.format(n); }
function pct(n) { return n === null ? '\\u2014' : n.toFixed(1) + ' %'; }
function total(o) { var s = 0; for (var k in o) s += o[k]; return s; }
function put(id, text) { var el = $(id); if (el.textContent !== text) el.textContent = text; }
function within(seconds) { var from = lastAt - seconds * 1000; return samples.filter(function (s) { return s.atMs > from; }); }
function mean(list, f) { if (list.length === 0) return 0; var s = 0; list.forEach(function (x) { s += f(x); }); return s / list.length; }
function cell(row, text, cls) { var td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; row.appendChild(td); return td; }
function fill(id, rows) {
  var body = $(id), fresh = document.createElement('tbody');
  fresh.id = id;
  rows.forEach(function (cells) { var tr = document.createElement('tr'); cells.forEach(function (c) { cell(tr, c); }); fresh.appendChild(tr); });
  body.replaceWith(fresh);
}
// The time axis spans the samples there are (at least 30 s, at most the window): a server up
// for a minute fills the chart instead of drawing a sliver at the right edge.
var spanMs = 30000;
function x(t) { return ((t - (lastAt - spanMs)) / spanMs) * WIDTH; }
function ago(ms) { var s = Math.round(ms / 1000); return '\u2212' + (s < 120 ? s + ' s' : Math.round(s / 60) + ' min'); }
function y(v, max) { return HEIGHT - (Math.min(v, max) / max) * HEIGHT; }
function p(a, b) { return a.toFixed(1) + ',' + b.toFixed(1); }
// Each sample covers the interval before its time: drawn as a step, so one sample shows.
function area(lower, upper) {
  var d = '', top = [], bottom = [];
  function flush() { if (top.length) d += 'M' + top.join('L') + 'L' + bottom.reverse().join('L') + 'Z'; top = []; bottom = []; }
  samples.forEach(function (s) {
    var lo = lower(s), hi = upper(s);
    if (lo === null) return flush();
    var x0 = Math.max(0, x(s.atMs - intervalMs)), x1 = x(s.atMs);
    top.push(p(x0, y(hi, 1)), p(x1, y(hi, 1)));
    bottom.push(p(x0, y(lo, 1)), p(x1, y(lo, 1)));
  });
  flush();
  return d;
}
function line(f, max) {
  var pts = [];
  samples.forEach(function (s) { var v = f(s); pts.push(p(Math.max(0, x(s.atMs - intervalMs)), y(v, max)), p(x(s.atMs), y(v, max))); });
  return pts.length ? 'M' + pts.join('L') : '';
}
function reads(s) { return s.l1HitsPerSecond + s.l2HitsPerSecond + s.missesPerSecond; }
function drawCharts() {
  spanMs = samples.length === 0 ? 30000 : Math.min(windowMs, Math.max(30000, lastAt - samples[0].atMs + intervalMs));
  var l1 = function (s) { var r = reads(s); return r === 0 ? null : s.l1HitsPerSecond / r; };
  $('l1-area').setAttribute('d', area(function (s) { return reads(s) === 0 ? null : 0; }, l1));
  $('l2-area').setAttribute('d', area(l1, function (s) { var r = reads(s); return r === 0 ? null : (s.l1HitsPerSecond + s.l2HitsPerSecond) / r; }));
  $('chart-hits').setAttribute('data-points', String(samples.length));
  var req = function (s) { return total(s.requestsPerSecond); }, db = function (s) { return total(s.dbReadsPerSecond); };
  var peak = 1; samples.forEach(function (s) { peak = Math.max(peak, req(s), db(s)); });
  // The smallest 1, 2 or 5 times a power of ten at or above the peak.
  var decade = Math.pow(10, Math.floor(Math.log10(peak))), max = [1, 2, 5, 10].map(function (m) { return m * decade; }).filter(function (m) { return m >= peak; })[0];
  $('req-line').setAttribute('d', line(req, max));
  $('db-line').setAttribute('d', line(db, max));
  $('chart-load').setAttribute('data-points', String(samples.length));
  put('load-max', num(max) + '/s');
  put('window-label', ago(spanMs));
  put('window-label-2', ago(spanMs));
}
function render(snap) {
  var c = snap.cache, last = within(60), r = mean(last, reads);
  put('updated', 'updated ' + new Date(snap.atMs).toLocaleTimeString());
  var state = $('redis-state');
  put('redis-state', snap.redis.mode === 'memory' ? 'memory store (no Redis)' : 'Redis ' + snap.redis.state);
  state.className = 'badge ' + (snap.redis.healthy ? 'ok' : 'bad');
  put('t-hitrate', r === 0 ? '\\u2014' : pct((100 * (mean(last, function (s) { return s.l1HitsPerSecond + s.l2HitsPerSecond; }))) / r));
  var hits = c.l1Hits + c.l2Hits;
  put('t-l1share', c.l1 === null ? 'L1 off' : hits === 0 ? '\\u2014' : pct((100 * c.l1Hits) / hits));
  put('t-req', num(mean(within(10), function (s) { return total(s.requestsPerSecond); })));
  put('t-db', num(mean(within(10), function (s) { return total(s.dbReadsPerSecond); })));
  put('t-hits', num(c.hits)); put('t-misses', num(c.misses)); put('t-keys', num(c.keys));
  put('t-stale', num(c.staleServed)); put('t-swp', num(c.staleWritesPrevented));
  put('t-fallback', num(snap.fallback.inFlight) + ' / ' + num(snap.fallback.limit));
  put('t-rejected', num(snap.fallback.rejected)); put('t-errors', num(c.errors));
  put('t-l1', c.l1 === null ? 'off' : num(c.l1.entries) + ' (' + c.l1.channel + ')');
  var pend = snap.pendingInvalidations;
  put('t-outbox', pend.flushAll ? 'flush all' : num(pend.keys + pend.tags + pend.patterns));
  var recent = within(10), domains = {};
  recent.forEach(function (s) { Object.keys(s.requestsPerSecond).concat(Object.keys(s.dbReadsPerSecond)).forEach(function (d) { domains[d] = true; }); });
  // Domains with neither requests nor reads in the last 10 s (the start-up seed, migrations) are left out.
  fill('domains', Object.keys(domains).sort().filter(function (d) {
    return recent.some(function (s) { return (s.requestsPerSecond[d] || 0) + (s.dbReadsPerSecond[d] || 0) > 0; });
  }).map(function (d) {
    return [d, num(mean(recent, function (s) { return s.requestsPerSecond[d] || 0; })), num(mean(recent, function (s) { return s.dbReadsPerSecond[d] || 0; }))];
  }));
  fill('namespaces', snap.namespaces.map(function (n) { return [n.namespace, num(n.hits), num(n.misses), pct(n.hitRate), num(n.stale), num(n.errors)]; }));
  put('ns-hits', num(c.hits)); put('ns-misses', num(c.misses)); put('ns-rate', pct(c.hitRate)); put('ns-errors', num(c.errors));
  put('ns-stale', num(c.staleServed)); put('ns-keys', num(c.keys));
  put('redis-topology', snap.redis.topology); put('redis-reconnects', num(snap.redis.reconnectAttempts));
  fill('nodes', snap.redis.nodes.map(function (n) { return [n.address, n.role, n.state, n.observedVia, num(n.recoveries)]; }));
  var list = document.createElement('ol'); list.id = 'errors';
  snap.errors.recent.forEach(function (e) {
    var li = document.createElement('li'), head = document.createElement('code');
    head.textContent = e.code + ' ' + e.operation + ' [' + e.namespace + ']' + (e.count > 1 ? ' \\u00d7' + e.count : '');
    li.appendChild(document.createTextNode(new Date(e.atMs).toLocaleTimeString() + ' '));
    li.appendChild(head);
    li.appendChild(document.createTextNode(' ' + e.message));
    list.appendChild(li);
  });
  $('errors').replaceWith(list);
  put('errors-none', snap.errors.recent.length === 0 ? 'none since start' : '');
  drawCharts();
}
function schedule() { if (!stopped) setTimeout(poll, intervalMs); }
function poll() {
  fetch('/dashboard/data' + (lastAt === undefined ? '' : '?since=' + lastAt), { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } })
    .then(function (res) {
      if (res.status === 401 || res.status === 403 || res.status === 404) { stopped = true; throw new Error('access refused (' + res.status + '): reload with the token'); }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json();
    })
    .then(function (snap) {
      windowMs = snap.windowSeconds * 1000; intervalMs = Math.max(1000, snap.sampleIntervalMs);
      samples = samples.concat(snap.samples).filter(function (s) { return s.atMs > snap.atMs - windowMs; });
      lastAt = snap.atMs;
      put('live', 'live'); $('live').className = 'badge ok';
      render(snap);
      document.body.setAttribute('data-polls', String(Number(document.body.getAttribute('data-polls') || 0) + 1));
    })
    .catch(function (err) { put('live', String(err.message || err)); $('live').className = 'badge bad'; })
    .then(schedule);
}
poll();
`;

function tile(id: string, label: string): string {
  return `<div class="tile"><span class="label">${label}</span><span class="value" id="${id}">\u2014</span></div>`;
}

const BODY = `<header><h1>redis-cache-layer</h1><span id="redis-state" class="badge">Redis \u2026</span><span id="live" class="badge">connecting</span><span id="updated" class="muted"></span></header>
<main>
<section class="wide"><h2>Now</h2><div class="tiles">
${tile('t-hitrate', 'Hit rate, last minute')}${tile('t-l1share', 'Hits from L1 (in-process)')}${tile('t-req', 'Requests/s (10 s)')}${tile('t-db', 'Database reads/s (10 s)')}
${tile('t-hits', 'Hits')}${tile('t-misses', 'Misses')}${tile('t-keys', 'Keys in Redis')}${tile('t-l1', 'L1 entries')}
${tile('t-stale', 'Stale served')}${tile('t-swp', 'Stale writes prevented')}${tile('t-fallback', 'DB fallback in flight / limit')}${tile('t-rejected', 'DB fallback rejected')}
${tile('t-outbox', 'Invalidations pending')}${tile('t-errors', 'Cache errors')}
</div></section>
<section><h2>Hit rate</h2>
<div class="legend"><span><i class="key k-l1"></i>L1 hits</span><span><i class="key k-l2"></i>L2 (Redis) hits</span><span class="muted">top edge: hit rate; blank: no reads</span></div>
<svg id="chart-hits" viewBox="0 0 600 160" preserveAspectRatio="none" role="img" aria-label="Hit rate over time, split by tier" data-points="0">
<line class="grid" x1="0" x2="600" y1="40" y2="40"/><line class="grid" x1="0" x2="600" y1="80" y2="80"/><line class="grid" x1="0" x2="600" y1="120" y2="120"/>
<path id="l1-area" d=""/><path id="l2-area" d=""/></svg>
<div class="axis"><span id="window-label"></span><span>100 % at top, 50 % midline</span><span>now</span></div></section>
<section><h2>Requests and database reads per second</h2>
<div class="legend"><span><i class="key k-req"></i>HTTP requests/s</span><span><i class="key k-db"></i>Database reads/s</span><span class="muted">top: <span id="load-max"></span></span></div>
<svg id="chart-load" viewBox="0 0 600 160" preserveAspectRatio="none" role="img" aria-label="Requests and database reads per second over time" data-points="0">
<line class="grid" x1="0" x2="600" y1="80" y2="80"/><path id="req-line" d=""/><path id="db-line" d=""/></svg>
<div class="axis"><span id="window-label-2"></span><span>now</span></div></section>
<section><h2>By domain, last 10 s</h2><div class="scroll"><table><thead><tr><th>Domain</th><th>Requests/s</th><th>DB reads/s</th></tr></thead><tbody id="domains"></tbody></table></div></section>
<section><h2>By namespace, since start</h2><div class="scroll"><table><thead><tr><th>Namespace</th><th>Hits</th><th>Misses</th><th>Hit rate</th><th>Stale</th><th>Errors</th></tr></thead><tbody id="namespaces"></tbody>
<tfoot><tr><td>all</td><td id="ns-hits"></td><td id="ns-misses"></td><td id="ns-rate"></td><td id="ns-stale"></td><td id="ns-errors"></td></tr></tfoot></table></div>
<p class="muted">Keys in Redis, all namespaces: <span id="ns-keys"></span> (DBSIZE: a count per namespace would need a SCAN of the keyspace).</p></section>
<section><h2>Redis</h2><p>Topology <b id="redis-topology"></b>, failed reconnect attempts <b id="redis-reconnects"></b></p>
<div class="scroll"><table><thead><tr><th>Node</th><th>Role</th><th>State</th><th>Seen by</th><th>Reconnects</th></tr></thead><tbody id="nodes"></tbody></table></div>
<p class="muted">Reconnects: times a node came back to ready, as sampled once a second.</p></section>
<section><h2>Last errors</h2><p id="errors-none" class="muted"></p><ol id="errors"></ol></section>
</main>`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The page's Content-Security-Policy: this script and style only, same-origin fetches, no frames. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,"><title>redis-cache-layer dashboard</title>
<style>${STYLE}</style></head>
<body>${BODY}
<script>${SCRIPT}</script></body></html>`;
