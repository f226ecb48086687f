/** The load test's SVG chart: latency percentiles with and without the cache, hit rate over time. */
import { fmtInt } from '../simulate/report.ts';
import { ms } from './report.ts';
import type { LoadTestOutcome } from './types.ts';

export function svgChart(out: LoadTestOutcome): string {
  const c = out.runs.cache;
  const nc = out.runs.nocache;
  const W = 760;
  const H = 520;
  const parts: string[] = [];
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  const lat = out.options.dbLatencyMs > 0 ? `, database latency ${out.options.dbLatencyMs} ms` : '';
  parts.push(`<text x="20" y="24" font-size="15" font-weight="bold">Latency percentiles (log scale), with and without the cache (${fmtInt(out.options.ratePerSecond)} req/s${esc(lat)})</text>`);
  // Panel 1: horizontal bars, log scale.
  const rows: Array<[string, number, string]> = [];
  for (const q of ['p50', 'p95', 'p99'] as const) {
    if (c !== undefined) rows.push([`${q} with cache`, c.latency[q], '#2a7ab9']);
    if (nc !== undefined) rows.push([`${q} without`, nc.latency[q], '#d9822b']);
  }
  const maxV = Math.max(1, ...rows.map((r) => r[1]));
  const x0 = 150;
  const x1 = W - 90;
  const logMin = Math.log10(0.1);
  const logMax = Math.log10(maxV * 1.2);
  const sx = (v: number): number => x0 + ((Math.log10(Math.max(0.1, v)) - logMin) / (logMax - logMin)) * (x1 - x0);
  const axisY = 44 + rows.length * 26 + 4;
  for (let e = -1; Math.pow(10, e) <= maxV * 1.2; e++) {
    const x = sx(Math.pow(10, e));
    parts.push(`<line x1="${x.toFixed(1)}" y1="40" x2="${x.toFixed(1)}" y2="${axisY}" stroke="#ccc"/>`);
    parts.push(`<text x="${x.toFixed(1)}" y="${axisY + 14}" text-anchor="middle" fill="#666">${Math.pow(10, e)} ms</text>`);
  }
  rows.forEach(([label, v, color], i) => {
    const y = 44 + i * 26;
    parts.push(`<text x="${x0 - 8}" y="${y + 14}" text-anchor="end">${esc(label)}</text>`);
    parts.push(`<rect x="${x0}" y="${y}" width="${Math.max(1, sx(v) - x0).toFixed(1)}" height="18" fill="${color}"/>`);
    parts.push(`<text x="${(sx(v) + 6).toFixed(1)}" y="${y + 14}">${ms(v)} ms</text>`);
  });
  // Panel 2: hit rate over time.
  const top = axisY + 50;
  const bottom = H - 40;
  parts.push(`<text x="20" y="${top - 14}" font-size="15" font-weight="bold">Hit rate over time (X-Cache HIT / reads), measured vs simulated</text>`);
  const px0 = 60;
  const px1 = W - 30;
  const dur = out.options.durationSeconds;
  const tx = (t: number): number => px0 + (t / dur) * (px1 - px0);
  const ty = (p: number): number => bottom - (p / 100) * (bottom - top);
  for (const p of [0, 25, 50, 75, 100]) {
    parts.push(`<line x1="${px0}" y1="${ty(p).toFixed(1)}" x2="${px1}" y2="${ty(p).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${px0 - 6}" y="${(ty(p) + 4).toFixed(1)}" text-anchor="end" fill="#666">${p} %</text>`);
  }
  for (let t = 0; t <= dur; t += Math.max(1, Math.round(dur / 6))) parts.push(`<text x="${tx(t).toFixed(1)}" y="${bottom + 16}" text-anchor="middle" fill="#666">${t} s</text>`);
  const line = (points: Array<{ fromSeconds: number; hitRate: number; reads: number }>, color: string, dash: string): void => {
    const step = points.length > 1 ? (points[1] as { fromSeconds: number }).fromSeconds - (points[0] as { fromSeconds: number }).fromSeconds : dur;
    const pts = points.filter((b) => b.reads > 0).map((b) => `${tx(Math.min(dur, b.fromSeconds + step / 2)).toFixed(1)},${ty(b.hitRate).toFixed(1)}`);
    parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2" ${dash}/>`);
  };
  if (c !== undefined) line(c.timeline, '#2a7ab9', '');
  line(out.sim.timeline, '#444', 'stroke-dasharray="5,4"');
  parts.push(`<line x1="${px1 - 230}" y1="${top + 10}" x2="${px1 - 205}" y2="${top + 10}" stroke="#2a7ab9" stroke-width="2"/><text x="${px1 - 200}" y="${top + 14}">measured (load test)</text>`);
  parts.push(`<line x1="${px1 - 230}" y1="${top + 28}" x2="${px1 - 205}" y2="${top + 28}" stroke="#444" stroke-width="2" stroke-dasharray="5,4"/><text x="${px1 - 200}" y="${top + 32}">simulated (same trace)</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
