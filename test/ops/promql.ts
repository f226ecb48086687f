/**
 * The metric names a PromQL expression reads, for checking alert rules and dashboard queries
 * against what /metrics exports. Not a parser: a tokenizer that knows which identifiers are
 * not metric names (functions, aggregations, keywords, label lists after `by`/`on`/…, label
 * names inside `{…}`, durations inside `[…]`, Grafana's `$variables`), and fails on what it
 * cannot classify (an unknown function, unbalanced brackets, a selector by `__name__`) rather
 * than let a name through unchecked.
 */

/** PromQL functions (Prometheus 2.x and 3.x) and the `@` modifier's start() / end(). */
export const PROMQL_FUNCTIONS: ReadonlySet<string> = new Set([
  'abs', 'absent', 'absent_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh', 'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'cos', 'cosh',
  'count_over_time', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'deg', 'delta', 'deriv', 'double_exponential_smoothing', 'end', 'exp', 'floor', 'histogram_avg',
  'histogram_count', 'histogram_fraction', 'histogram_quantile', 'histogram_stddev', 'histogram_stdvar', 'histogram_sum', 'holt_winters', 'hour', 'idelta', 'increase', 'info', 'irate',
  'label_join', 'label_replace', 'last_over_time', 'ln', 'log10', 'log2', 'mad_over_time', 'max_over_time', 'min_over_time', 'minute', 'month', 'pi', 'predict_linear',
  'present_over_time', 'quantile_over_time', 'rad', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sin', 'sinh', 'sort', 'sort_by_label', 'sort_by_label_desc', 'sort_desc', 'sqrt',
  'start', 'stddev_over_time', 'stdvar_over_time', 'sum_over_time', 'tan', 'tanh', 'time', 'timestamp', 'vector', 'year',
]);

/** Aggregation operators: `sum by (a) (x)`, `sum(x) without (a)`, `topk(3, x)`. */
export const PROMQL_AGGREGATIONS: ReadonlySet<string> = new Set([
  'avg', 'bottomk', 'count', 'count_values', 'group', 'limit_ratio', 'limitk', 'max', 'min', 'quantile', 'stddev', 'stdvar', 'sum', 'topk',
]);

/** Keywords followed by a parenthesised list of label names (optional for group_*). */
const LABEL_LIST_KEYWORDS: ReadonlySet<string> = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
/** Binary operators and modifiers spelt as words; `inf` and `nan` are numbers. */
const WORD_OPERATORS: ReadonlySet<string> = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

export class PromqlNameError extends Error {}

/** Index just past the bracket that closes the one at `open`, skipping quoted strings. */
function closing(expr: string, open: number): number {
  const pairs: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
  const stack: string[] = [];
  for (let i = open; i < expr.length; i++) {
    const c = expr[i] ?? '';
    if (c === '"' || c === "'" || c === '`') {
      i = endOfString(expr, i) - 1;
    } else if (c in pairs) {
      stack.push(pairs[c] ?? '');
    } else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop() !== c) throw new PromqlNameError(`unbalanced ${c} at ${i} in ${expr}`);
      if (stack.length === 0) return i + 1;
    }
  }
  throw new PromqlNameError(`unclosed ${expr[open]} at ${open} in ${expr}`);
}

/** Index just past the string literal opening at `start` (backticks take no escapes). */
function endOfString(expr: string, start: number): number {
  const q = expr[start];
  for (let i = start + 1; i < expr.length; i++) {
    if (expr[i] === '\\' && q !== '`') i++;
    else if (expr[i] === q) return i + 1;
  }
  throw new PromqlNameError(`unterminated string at ${start} in ${expr}`);
}

const IDENT = /[A-Za-z_:][\w:]*/y;

/** The metric names (recording-rule names included) that `expr` reads, each once, in order. */
export function metricNames(expr: string): string[] {
  const names: string[] = [];
  let i = 0;
  let depth = 0;
  const nextNonSpace = (from: number): number => {
    let j = from;
    while (j < expr.length && /\s/.test(expr[j] ?? '')) j++;
    return j;
  };
  while (i < expr.length) {
    const c = expr[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      // A comment runs to the end of the line.
      const nl = expr.indexOf('\n', i);
      i = nl === -1 ? expr.length : nl + 1;
    } else if (c === '"' || c === "'" || c === '`') {
      i = endOfString(expr, i);
    } else if (c === '{') {
      // Label matchers: label names and values, never metric names, unless it picks the
      // metric by __name__, which this check would miss.
      const end = closing(expr, i);
      if (/(^|[{,\s])__name__\s*[=!~]/.test(expr.slice(i, end))) throw new PromqlNameError(`a selector by __name__ is not checked: ${expr.slice(i, end)}`);
      i = end;
    } else if (c === '[') {
      // A range or subquery ([5m], [1h:1m], [$__rate_interval]).
      i = closing(expr, i);
    } else if (c === '$') {
      // A Grafana variable: $name, ${name}, ${name:format}.
      if (expr[i + 1] === '{') i = closing(expr, i + 1);
      else {
        IDENT.lastIndex = i + 1;
        const m = IDENT.exec(expr);
        i = i + 1 + (m?.[0].length ?? 0);
      }
    } else if (/[0-9.]/.test(c)) {
      // A number or a duration (5m, 1h30m, 0.5, 1e3, 0x1f).
      i++;
      while (i < expr.length && /[\w.]/.test(expr[i] ?? '')) i++;
    } else if (/[A-Za-z_:]/.test(c)) {
      IDENT.lastIndex = i;
      const word = IDENT.exec(expr)?.[0] ?? c;
      const after = nextNonSpace(i + word.length);
      const lower = word.toLowerCase();
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        i = expr[after] === '(' ? closing(expr, after) : i + word.length;
      } else if (WORD_OPERATORS.has(lower)) {
        i += word.length;
      } else if (PROMQL_AGGREGATIONS.has(lower) && (expr[after] === '(' || /^(by|without)\b/.test(expr.slice(after)))) {
        i += word.length;
      } else if (expr[after] === '(') {
        if (!PROMQL_FUNCTIONS.has(word)) throw new PromqlNameError(`unknown function ${word}() in ${expr}`);
        i += word.length;
      } else {
        if (!names.includes(word)) names.push(word);
        i += word.length;
      }
    } else if (c === '(' || c === ')') {
      depth += c === '(' ? 1 : -1;
      if (depth < 0) throw new PromqlNameError(`unbalanced ) at ${i} in ${expr}`);
      i++;
    } else if (c === ']' || c === '}') {
      throw new PromqlNameError(`unbalanced ${c} at ${i} in ${expr}`);
    } else {
      // Operators, commas, the @ modifier.
      i++;
    }
  }
  if (depth !== 0) throw new PromqlNameError(`unclosed ( in ${expr}`);
  return names;
}

/**
 * Grafana's templating query `label_values(<selector>, <label>)` (or `label_values(<label>)`,
 * which reads no metric), `metrics(<regex>)`, `query_result(<expr>)`: the PromQL part.
 */
export function templatingExpr(query: string): string {
  const q = query.trim();
  const lv = /^label_values\(\s*(.*?)\s*(,\s*[A-Za-z_]\w*\s*)?\)$/s.exec(q);
  // label_values(job): a label name alone, no metric.
  if (lv !== null) return lv[2] === undefined ? '' : (lv[1] ?? '');
  const qr = /^query_result\((.*)\)$/s.exec(q);
  if (qr !== null) return qr[1] ?? '';
  throw new PromqlNameError(`unsupported templating query ${query}`);
}
