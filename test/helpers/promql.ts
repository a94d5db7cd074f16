/** A small PromQL reader for the tests: the metric names an expression selects. */

const KEYWORDS = new Set([
  // aggregation operators and their modifiers
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  // functions used in corral's expressions (a name followed by "(" is a function call, not a metric, anyway)
  'rate',
  'irate',
  'increase',
  'time',
  'vector',
  'scalar',
  'clamp_min',
  'clamp_max',
  'histogram_quantile',
  'label_replace',
  'inf',
  'nan',
]);

/**
 * The metric names selected in `expr`: identifiers not inside {...} label matchers or quotes, not followed by
 * "(" (functions), not after by/without/on/ignoring/group_left/group_right (label lists), not keywords, and not
 * durations ([5m]) or Grafana variables ($__rate_interval, $container).
 */
export function metricNamesIn(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*(?::[a-z]+)?\}?/g, ' ')
    .replace(/(?<![A-Za-z0-9_:])(?:0x[0-9a-f]+|\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)/gi, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const id = m[0];
    const after = s.slice((m.index ?? 0) + id.length).trimStart();
    if (after.startsWith('(')) continue;
    if (KEYWORDS.has(id.toLowerCase())) continue;
    names.add(id);
  }
  return [...names];
}
