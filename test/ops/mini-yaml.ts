/**
 * A reader for the subset of YAML that ops/prometheus/alerts.yml is written in, so the ops test
 * can walk the rules without a YAML dependency (js-yaml is not one of ours, and nothing else
 * needs YAML). It refuses what it does not understand instead of guessing, so an expression can
 * never be silently dropped from the check: `promtool check rules` reads the same file with a
 * real YAML parser in CI, and the test also compares the number of `expr:` lines with the number
 * of expressions read.
 *
 * Understood: block mappings (`key: value`, keys plain or double-quoted), block lists (`- item`,
 * `- key: value` opening a mapping), plain scalars, double-quoted scalars with the common escapes,
 * single-quoted scalars, literal (`|`, `|-`) and folded (`>`, `>-`) block scalars, `#` comments,
 * and `[]` / `{}` as empty flow collections. Refused: other flow collections, anchors, aliases,
 * tags, documents (`---`), `|+`, tabs in indentation, duplicate keys. Every scalar is a string.
 */

export type YamlValue = string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  /** 1-based, for messages. */
  no: number;
  indent: number;
  /** The line without its indentation. */
  text: string;
}

export class YamlSubsetError extends Error {}

const KEY = /^("(?:[^"\\]|\\.)*"|[A-Za-z_][\w.-]*)[ \t]*:(?:[ \t]+|$)/;

export function parseYamlSubset(source: string): YamlValue {
  const raw = source.replace(/\r\n/g, '\n').split('\n');
  let pos = 0;

  const fail = (no: number, why: string): never => {
    throw new YamlSubsetError(`line ${no}: ${why}`);
  };
  const lineAt = (i: number): Line => {
    const s = raw[i] ?? '';
    const indent = /^ */.exec(s)?.[0].length ?? 0;
    if (s[indent] === '\t') fail(i + 1, 'tab in indentation');
    return { no: i + 1, indent, text: s.slice(indent) };
  };
  const blankOrComment = (l: Line): boolean => l.text === '' || l.text.startsWith('#');
  /** The next line that carries content, without consuming it. */
  const peek = (): Line | undefined => {
    for (let i = pos; i < raw.length; i++) {
      const l = lineAt(i);
      if (!blankOrComment(l)) return l;
    }
    return undefined;
  };
  const advanceTo = (l: Line): void => {
    pos = l.no;
  };

  /** A scalar written on one line (after `key:` or `- `). */
  const inlineScalar = (text: string, no: number): YamlValue => {
    const t = text.trim();
    if (t === '[]') return [];
    if (t === '{}') return {};
    if (t.startsWith('"')) {
      const m = /^"((?:[^"\\]|\\.)*)"[ \t]*(?:#.*)?$/.exec(t);
      if (m === null) return fail(no, 'unterminated or trailing text after a double-quoted scalar');
      const escapes: Record<string, string> = { n: '\n', t: '\t', '"': '"', '\\': '\\', '/': '/', ' ': ' ' };
      return (m[1] ?? '').replace(/\\(.)/g, (_all, c: string) => escapes[c] ?? fail(no, `unsupported escape \\${c}`));
    }
    if (t.startsWith("'")) {
      const m = /^'((?:[^']|'')*)'[ \t]*(?:#.*)?$/.exec(t);
      if (m === null) return fail(no, 'unterminated or trailing text after a single-quoted scalar');
      return (m[1] ?? '').replace(/''/g, "'");
    }
    if (/^[[{&*!%@`]/.test(t)) return fail(no, `unsupported YAML (${t[0]}): flow collections, anchors, aliases, tags`);
    const plain = t.replace(/[ \t]+#.*$/, '');
    if (/:([ \t]|$)/.test(plain)) return fail(no, 'a plain scalar with ": " in it (quote it)');
    return plain;
  };

  /** A `|` or `>` block: the lines indented deeper than `parentIndent`. */
  const blockScalar = (header: string, parentIndent: number, no: number): string => {
    const m = /^([|>])(-?)[ \t]*(?:#.*)?$/.exec(header);
    if (m === null) return fail(no, `unsupported block scalar header ${header}`);
    const lines: string[] = [];
    let blockIndent: number | undefined;
    while (pos < raw.length) {
      const s = raw[pos] ?? '';
      if (s.trim() === '') {
        lines.push('');
        pos++;
        continue;
      }
      const l = lineAt(pos);
      if (l.indent <= parentIndent) break;
      blockIndent ??= l.indent;
      if (l.indent < blockIndent) fail(l.no, 'block scalar line less indented than its first line');
      lines.push(s.slice(blockIndent));
      pos++;
    }
    // Trailing blank lines belong to the clipping, not to the content.
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    let body: string;
    if (m[1] === '|') {
      body = lines.join('\n');
    } else {
      // Folding: a single line break becomes a space, an empty line a line break.
      body = lines.reduce((acc, l, i) => (i === 0 ? l : l === '' ? `${acc}\n` : acc.endsWith('\n') ? acc + l : `${acc} ${l}`), '');
    }
    return m[2] === '-' ? body : `${body}\n`;
  };

  /** The value after `key:` (rest of the line empty: a nested block on the next lines). */
  const valueAfter = (rest: string, keyIndent: number, no: number, listMayShareIndent: boolean): YamlValue => {
    if (rest.trim() === '' || rest.trim().startsWith('#')) {
      const next = peek();
      if (next === undefined) return '';
      // YAML lets a list under a key start at the key's own indentation.
      if (next.indent > keyIndent || (listMayShareIndent && next.indent === keyIndent && isListItem(next.text))) return block(next.indent);
      return '';
    }
    if (/^[|>]/.test(rest.trim())) return blockScalar(rest.trim(), keyIndent, no);
    return inlineScalar(rest, no);
  };

  const isListItem = (text: string): boolean => text === '-' || text.startsWith('- ');

  const mapping = (indent: number, first?: { text: string; no: number }): Record<string, YamlValue> => {
    const out: Record<string, YamlValue> = {};
    const entry = (text: string, no: number): void => {
      const m = KEY.exec(text);
      if (m === null) return fail(no, `expected "key: value", got ${JSON.stringify(text)}`);
      const rawKey = m[1] ?? '';
      const quoted = rawKey.startsWith('"') ? inlineScalar(rawKey, no) : rawKey;
      const key = typeof quoted === 'string' ? quoted : fail(no, 'a key must be a scalar');
      if (Object.hasOwn(out, key)) fail(no, `duplicate key ${key}`);
      out[key] = valueAfter(text.slice(m[0].length), indent, no, true);
    };
    if (first !== undefined) entry(first.text, first.no);
    for (let l = peek(); l !== undefined && l.indent >= indent; l = peek()) {
      if (l.indent > indent) fail(l.no, 'unexpected indentation');
      if (isListItem(l.text)) break;
      advanceTo(l);
      entry(l.text, l.no);
    }
    return out;
  };

  const list = (indent: number): YamlValue[] => {
    const out: YamlValue[] = [];
    for (let l = peek(); l !== undefined && l.indent === indent && isListItem(l.text); l = peek()) {
      advanceTo(l);
      const rest = l.text.slice(1);
      const itemIndent = indent + 1 + (/^ */.exec(rest)?.[0].length ?? 0);
      const item = rest.trim();
      if (item === '' || item.startsWith('#')) out.push(valueAfter('', indent, l.no, false));
      else if (KEY.test(item)) out.push(mapping(itemIndent, { text: item, no: l.no }));
      else if (isListItem(item)) fail(l.no, 'nested "- -" lists are not supported');
      else out.push(/^[|>]/.test(item) ? blockScalar(item, indent, l.no) : inlineScalar(item, l.no));
    }
    const l = peek();
    if (l !== undefined && l.indent > indent) fail(l.no, 'unexpected indentation');
    return out;
  };

  const block = (indent: number): YamlValue => {
    const l = peek();
    if (l === undefined) return '';
    return isListItem(l.text) ? list(indent) : mapping(indent);
  };

  for (const [i, s] of raw.entries()) if (/^(---|\.\.\.)(\s|$)/.test(s)) fail(i + 1, 'YAML documents (--- / ...) are not supported');
  const first = peek();
  if (first === undefined) return '';
  if (first.indent !== 0) fail(first.no, 'the document must start at column 0');
  const doc = block(0);
  const rest = peek();
  if (rest !== undefined) fail(rest.no, 'unexpected content after the document');
  return doc;
}
