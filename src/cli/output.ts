/**
 * Output: results on stdout (a table, or one JSON document with --json), progress and prompts on
 * stderr, so `redis-cache-layer stats --json | jq` reads only the result. Numbers are grouped
 * (1,234), times are ISO UTC with a relative duration, values are shown as Node prints them
 * (Dates, Maps, Sets and BigInts as themselves), truncated.
 */
import { inspect } from 'node:util';

/** The streams a command talks through (process's own, or a test's). */
export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export function println(io: Io, line = ''): void {
  io.stdout.write(`${line}\n`);
}

/** One JSON document on stdout. */
export function printJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(jsonSafe(value), null, 2)}\n`);
}

/**
 * A value JSON can carry: BigInt as a decimal string, Map as its entries, Set as an array,
 * Infinity as null (JSON.stringify would throw on the first and lose the others silently).
 */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Map) return Array.from(value, ([k, v]) => [jsonSafe(k), jsonSafe(v)]);
  if (value instanceof Set) return Array.from(value, jsonSafe);
  if (Array.isArray(value)) return value.map(jsonSafe);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** 1.5 KiB, 12.3 MiB. */
export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i] as string}`;
}

/** 850 ms, 42 s, 3 min 20 s, 2 h 5 min, 3 d 4 h. */
export function fmtDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)} ms`;
  const s = Math.round(abs / 1000);
  if (s < 60) return `${(abs / 1000).toFixed(abs < 10_000 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 === 0 ? '' : ` ${s % 60} s`}`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) === 0 ? '' : ` ${Math.floor((s % 3600) / 60)} min`}`;
  return `${Math.floor(s / 86_400)} d${Math.floor((s % 86_400) / 3600) === 0 ? '' : ` ${Math.floor((s % 86_400) / 3600)} h`}`;
}

/** `2026-11-30T14:51:00.000Z (in 42 s)` or `(3 min ago)`. */
export function fmtWhen(atMs: number, nowMs: number): string {
  const d = new Date(atMs);
  const iso = Number.isNaN(d.getTime()) ? String(atMs) : d.toISOString();
  return `${iso} (${atMs >= nowMs ? `in ${fmtDuration(atMs - nowMs)}` : `${fmtDuration(nowMs - atMs)} ago`})`;
}

/** The value as Node prints it, on one line, cut to `max` characters (0: whole). */
export function showValue(value: unknown, max: number): { text: string; length: number; truncated: boolean } {
  const text = inspect(value, { depth: 8, breakLength: Infinity, compact: true, maxArrayLength: 100, maxStringLength: 10_000 });
  if (max === 0 || text.length <= max) return { text, length: text.length, truncated: false };
  return { text: `${text.slice(0, max)}…`, length: text.length, truncated: true };
}

/** A text in single quotes for a sentence ('user:*'), escaped as JSON would. */
export const quote = (s: string): string => `'${JSON.stringify(s).slice(1, -1)}'`;

/** Rows of `label  value`, labels padded to one column. */
export function labelled(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, v]) => `  ${l.padEnd(width)}  ${v}`);
}

/** A table with a header; columns after the first are right-aligned (numbers). */
export function grid(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

/** `[##########··········]  512 / 1,000  51 %` for a total, `512 …` without. */
export function progressText(done: number, total: number | undefined, width = 30, unit = 'keys'): string {
  if (total === undefined || total <= 0) return `${fmtInt(done)} ${unit} …`;
  const ratio = Math.min(1, done / total);
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'·'.repeat(width - filled)}] ${fmtInt(Math.min(done, total))} / ${fmtInt(total)} ${unit}  ${Math.floor(ratio * 100)} %`;
}

/**
 * A progress line on stderr, redrawn in place at most every 100 ms, only on a terminal: in a
 * log (stderr redirected) a bar redrawn with carriage returns is noise, and the result line
 * says what was done.
 */
export class Progress {
  #last = 0;
  #shown = false;
  constructor(
    private readonly io: Io,
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly unit = 'keys',
  ) {}

  get enabled(): boolean {
    return this.io.stderr.isTTY === true;
  }

  update(done: number, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.#last < 100) return;
    this.#last = now;
    this.#shown = true;
    this.io.stderr.write(`\r\u001b[2K${this.label} ${progressText(done, this.total, 30, this.unit)}`);
  }

  /** Clears the line, so the result starts on a clean one. */
  done(): void {
    if (this.#shown) this.io.stderr.write('\r\u001b[2K');
    this.#shown = false;
  }
}
