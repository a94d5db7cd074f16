/**
 * The sidecar's rules: their types, the built-in defaults (equal in meaning to
 * dashboards/alerts.yml, so that the sidecar and the Prometheus path agree), and the YAML rules file
 * (`corral alert --rules FILE`) with every problem reported as `file:line:column: path: reason`.
 *
 *   rules:
 *     - alert: ContainerMemoryNearLimit      # the alertname label
 *       type: memory_near_limit              # what is watched (RULE_TYPES)
 *       threshold: 0.9                       # fire above
 *       resolve_below: 0.8                   # ... and stay firing until below (hysteresis)
 *       for: 5m                              # held that long before firing (Prometheus' `for`)
 *       severity: warning                    # the severity label
 *       labels: { team: infra }              # more labels (templates)
 *       annotations: { summary: '...' }      # templates (template.ts)
 *       selector: { name: 'web-*', labels: { tier: db } }   # only these containers
 *
 * Pure: reading the file is the caller's.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import { CorralError } from '../errors.js';
import { formatProblem, type FileProblem } from '../workloads/parse.js';
import { parsePromDuration } from './duration.js';
import { compileTemplate, TemplateError, type Template } from './template.js';

/**
 * What a rule watches; `$value` of each:
 * - oom_killed: the kernel's oom_kill counter of the kill (an `oom` event); fires at once
 * - exited_non_zero: the exit code (a `die` event with a non-zero code); fires at once
 * - memory_near_limit: working set / memory limit (0-1), containers with a limit only
 * - memory_pressure: memory PSI `some avg10`, percent of wall time (cgroup v2 with PSI only)
 * - cpu_throttled: throttled / elapsed CFS periods over `window` (0-1), containers with a CPU quota
 * - pids_near_limit: pids.current / pids.max (0-1), containers with a pids limit
 * - restart_loop: restarts within `window`
 * - daemon_unreachable: seconds since the daemon last answered
 */
export const RULE_TYPES = ['oom_killed', 'exited_non_zero', 'memory_near_limit', 'memory_pressure', 'cpu_throttled', 'pids_near_limit', 'restart_loop', 'daemon_unreachable'] as const;
export type RuleType = (typeof RULE_TYPES)[number];

/** The keys each type takes beside the common ones. */
const TYPE_KEYS: Readonly<Record<RuleType, readonly string[]>> = {
  oom_killed: ['resolve_after'],
  exited_non_zero: ['resolve_after'],
  memory_near_limit: ['threshold', 'resolve_below'],
  memory_pressure: ['threshold', 'resolve_below'],
  cpu_throttled: ['threshold', 'resolve_below', 'window'],
  pids_near_limit: ['threshold', 'resolve_below'],
  restart_loop: ['threshold', 'window'],
  daemon_unreachable: [],
};
const COMMON_KEYS = ['alert', 'type', 'for', 'severity', 'labels', 'annotations', 'selector'];

/** Which containers a rule watches: all of them, or those whose name matches and that carry the labels. */
export interface Selector {
  /** a glob on the name (`*` any run of characters, `?` one) */
  name?: string;
  /** every one must be on the container with this value */
  labels?: Readonly<Record<string, string>>;
}

export interface Rule {
  /** the alertname */
  alert: string;
  type: RuleType;
  /** ms the condition must hold before firing (0: at once) */
  forMs: number;
  severity: string;
  labels: Readonly<Record<string, Template>>;
  annotations: Readonly<Record<string, Template>>;
  selector: Selector | undefined;
  /** fire above this $value (threshold rules) */
  threshold: number;
  /** resolve below this $value once firing (hysteresis; the threshold itself when not given) */
  resolveBelow: number;
  /** ms over which a rate or a count is taken (cpu_throttled, restart_loop) */
  windowMs: number;
  /** ms without a new event after which an event rule resolves (oom_killed, exited_non_zero) */
  resolveAfterMs: number;
  /** 1-based line of the rule in its file (0: built in) */
  line: number;
}

/** Defaults per type, as dashboards/alerts.yml has them (memory_pressure, exited_non_zero and daemon_unreachable are the sidecar's own). */
const TYPE_DEFAULTS: Readonly<Record<RuleType, { forMs: number; threshold: number; resolveBelow?: number; windowMs: number; resolveAfterMs: number }>> = {
  oom_killed: { forMs: 0, threshold: 0, windowMs: 0, resolveAfterMs: 300_000 },
  exited_non_zero: { forMs: 0, threshold: 0, windowMs: 0, resolveAfterMs: 300_000 },
  memory_near_limit: { forMs: 300_000, threshold: 0.9, resolveBelow: 0.8, windowMs: 0, resolveAfterMs: 0 },
  memory_pressure: { forMs: 60_000, threshold: 10, windowMs: 0, resolveAfterMs: 0 },
  cpu_throttled: { forMs: 600_000, threshold: 0.25, windowMs: 300_000, resolveAfterMs: 0 },
  pids_near_limit: { forMs: 300_000, threshold: 0.9, windowMs: 0, resolveAfterMs: 0 },
  restart_loop: { forMs: 300_000, threshold: 3, windowMs: 900_000, resolveAfterMs: 0 },
  daemon_unreachable: { forMs: 30_000, threshold: 0, windowMs: 0, resolveAfterMs: 0 },
};

/**
 * The built-in rules, as YAML (the same text is contrib/corral-alert-rules.yml, a starting point for
 * a rules file; a unit test keeps the two equal). Names, severities, `for` and wording follow
 * dashboards/alerts.yml rule by rule.
 */
export const DEFAULT_RULES_YAML = `# corral alert's built-in rules (corral alert without --rules), equal in meaning to
# dashboards/alerts.yml; the rule types and template variables are described in docs/alert.md.
rules:
  - alert: ContainerOOMKilled
    # an oom event: fires at once, resolves after 5 minutes without another kill (alerts.yml's 5m increase)
    type: oom_killed
    resolve_after: 5m
    severity: critical
    annotations:
      summary: 'Container {{ $labels.name }} had a process killed by the OOM killer'
      description: 'The kernel OOM killer killed a process of container {{ $labels.name }} ({{ $labels.image }}) in the last 5 minutes: its memory limit is too low for its load.'
      memory: '{{ $details }}'
  - alert: ContainerMemoryNearLimit
    # working set (usage - inactive_file, as docker stats) above 90% of a set limit; resolves below 80%
    type: memory_near_limit
    threshold: 0.9
    resolve_below: 0.8
    for: 5m
    severity: warning
    annotations:
      summary: 'Container {{ $labels.name }} is near its memory limit'
      description: 'Container {{ $labels.name }} ({{ $labels.image }}) has used {{ $value | humanizePercentage }} of its memory limit for 5 minutes; an OOM kill may follow.'
  - alert: ContainerMemoryPressure
    # memory PSI some avg10: tasks stalled on memory (reclaim, swap-in) for more than 10% of the time
    type: memory_pressure
    threshold: 10
    for: 1m
    severity: warning
    annotations:
      summary: 'Container {{ $labels.name }} is stalling on memory'
      description: 'Tasks of container {{ $labels.name }} ({{ $labels.image }}) waited for memory {{ $value }}% of the time (PSI some avg10) for 1 minute: it is reclaiming hard, an OOM kill may follow.'
  - alert: ContainerCPUThrottled
    # share of CFS periods in which the container hit its quota, over 5 minutes
    type: cpu_throttled
    threshold: 0.25
    window: 5m
    for: 10m
    severity: warning
    annotations:
      summary: 'Container {{ $labels.name }} is CPU throttled'
      description: 'Container {{ $labels.name }} ({{ $labels.image }}) was throttled in {{ $value | humanizePercentage }} of its CPU periods for 10 minutes: its CPU quota is too low for its load.'
  - alert: ContainerRestartLoop
    type: restart_loop
    threshold: 3
    window: 15m
    for: 5m
    severity: critical
    annotations:
      summary: 'Container {{ $labels.name }} is restarting in a loop'
      description: 'corral restarted container {{ $labels.name }} ({{ $labels.image }}) more than 3 times in 15 minutes.'
  - alert: ContainerPidsNearLimit
    type: pids_near_limit
    threshold: 0.9
    for: 5m
    severity: warning
    annotations:
      summary: 'Container {{ $labels.name }} is near its PIDs limit'
      description: 'Container {{ $labels.name }} ({{ $labels.image }}) has used {{ $value | humanizePercentage }} of its pids limit for 5 minutes; fork will fail with EAGAIN at the limit.'
  - alert: ContainerExitedNonZero
    # a die event with a non-zero exit code; resolves at the container's next start or after 5 minutes
    type: exited_non_zero
    resolve_after: 5m
    severity: warning
    annotations:
      summary: 'Container {{ $labels.name }} exited with code {{ $value }}'
      description: 'Container {{ $labels.name }} ({{ $labels.image }}) exited with code {{ $value }}.'
  - alert: CorralDaemonUnreachable
    # the sidecar could not reach the daemon's socket for 30 seconds
    type: daemon_unreachable
    for: 30s
    severity: critical
    annotations:
      summary: 'The corral daemon is unreachable'
      description: 'corral alert could not reach the daemon at {{ $labels.instance }} for {{ $value | humanizeDuration }}: containers are not supervised, and no other alert can fire.'
`;

/** The rules file cannot be used; every problem with its position. */
export class RulesFileError extends CorralError {
  constructor(
    readonly file: string,
    readonly problems: readonly FileProblem[],
  ) {
    super('ERULES', problems.map((p) => formatProblem(file, p)).join('\n'));
  }
}

const ALERT_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Labels the sidecar sets itself: a rule may not override them. */
const RESERVED_LABELS = new Set(['alertname', 'severity', 'id', 'name', 'image', 'instance']);

/** Parse a rules file's text; throws RulesFileError with every problem found. */
export function parseRules(text: string, file: string): Rule[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const problems: FileProblem[] = [];
  const pos = (node: Node | Pair | null | undefined) => {
    const n = node && 'key' in node && !('range' in node) ? (node.key as Node | null) : (node as Node | null | undefined);
    const start = n?.range?.[0];
    if (start === undefined) return { line: 1, column: 1 };
    const { line, col } = lines.linePos(start);
    return { line, column: col };
  };
  const problem = (node: Node | Pair | null | undefined, path: string, reason: string) => problems.push({ ...pos(node), path, reason });
  for (const e of doc.errors) {
    const { line, col } = lines.linePos(e.pos[0]);
    problems.push({ line, column: col, path: '', reason: e.message.split('\n')[0]! });
  }
  if (problems.length > 0) throw new RulesFileError(file, problems);
  const root = doc.contents;
  if (!isMap(root)) throw new RulesFileError(file, [{ ...pos(root as Node | null), path: '', reason: 'expected a map with a "rules" list' }]);
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (key !== 'rules' && !key.startsWith('x-')) problem(pair.key as Node, key, 'unknown key: expected rules (or x-* extensions)');
  }
  const list = root.get('rules', true) as Node | undefined;
  const rules: Rule[] = [];
  if (!isSeq(list)) problem((list ?? root) as Node, 'rules', 'expected a list of rules');
  else {
    const seen = new Map<string, number>();
    list.items.forEach((item, i) => {
      const rule = parseRule(item as Node, `rules[${i}]`, problem, pos);
      if (!rule) return;
      const first = seen.get(rule.alert);
      if (first !== undefined) problem(item as Node, `rules[${i}].alert`, `alert ${rule.alert} is given twice (first on line ${first}): give each rule its own name`);
      else seen.set(rule.alert, rule.line);
      rules.push(rule);
    });
  }
  if (problems.length > 0) throw new RulesFileError(file, problems);
  return rules;
}

type Problem = (node: Node | Pair | null | undefined, path: string, reason: string) => void;

function parseRule(node: Node, at: string, problem: Problem, pos: (n: Node) => { line: number }): Rule | undefined {
  if (!isMap(node)) {
    problem(node, at, 'expected a rule (a map with alert, type, ...)');
    return undefined;
  }
  const map = node as YAMLMap;
  const scalar = (key: string): { node: Node; text: string } | undefined => {
    const v = map.get(key, true) as Node | undefined;
    if (v === undefined || v === null) return undefined;
    if (!isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number')) {
      problem(v, `${at}.${key}`, 'expected a string or number');
      return undefined;
    }
    return { node: v, text: String(v.value) };
  };
  const alert = scalar('alert');
  const type = scalar('type');
  if (!alert) problem(node, `${at}.alert`, 'missing: every rule needs an alert name');
  else if (!ALERT_NAME.test(alert.text)) problem(alert.node, `${at}.alert`, `"${alert.text}" is not a valid alert name: expected [a-zA-Z_][a-zA-Z0-9_]*`);
  if (!type) {
    problem(node, `${at}.type`, `missing: expected one of ${RULE_TYPES.join(', ')}`);
    return undefined;
  }
  if (!(RULE_TYPES as readonly string[]).includes(type.text)) {
    problem(type.node, `${at}.type`, `unknown type "${type.text}": expected one of ${RULE_TYPES.join(', ')}`);
    return undefined;
  }
  const t = type.text as RuleType;
  const allowed = [...COMMON_KEYS, ...TYPE_KEYS[t]];
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!allowed.includes(key)) problem(pair.key as Node, `${at}.${key}`, `unknown key for a ${t} rule: expected one of ${allowed.join(', ')}`);
  }
  const defaults = TYPE_DEFAULTS[t];
  const duration = (key: string, fallback: number): number => {
    const v = scalar(key);
    if (!v) return fallback;
    const ms = parsePromDuration(v.text);
    if (ms === undefined) {
      problem(v.node, `${at}.${key}`, `"${v.text}" is not a duration: expected a number and a unit (ms, s, m, h, d, w), such as 30s, 5m or 1h30m`);
      return fallback;
    }
    return ms;
  };
  const number = (key: string, fallback: number): number => {
    const v = scalar(key);
    if (!v) return fallback;
    const n = Number(v.text);
    if (!Number.isFinite(n) || n < 0 || v.text.trim() === '') {
      problem(v.node, `${at}.${key}`, `"${v.text}" is not a number of at least 0`);
      return fallback;
    }
    return n;
  };
  const forMs = duration('for', defaults.forMs);
  if ((t === 'oom_killed' || t === 'exited_non_zero') && forMs !== 0) problem(map.get('for', true) as Node, `${at}.for`, `a ${t} rule fires at once on its event: leave out for (or give 0s)`);
  const threshold = number('threshold', defaults.threshold);
  const resolveBelow = number('resolve_below', defaults.resolveBelow ?? threshold);
  if (resolveBelow > threshold)
    problem(map.get('resolve_below', true) as Node, `${at}.resolve_below`, `${resolveBelow} is above the threshold ${threshold}: an alert would resolve while still over it`);
  const windowMs = duration('window', defaults.windowMs);
  if (TYPE_KEYS[t].includes('window') && windowMs === 0) problem(map.get('window', true) as Node, `${at}.window`, 'must be longer than 0s');
  const resolveAfterMs = duration('resolve_after', defaults.resolveAfterMs);
  const severity = scalar('severity');
  if (!severity) problem(node, `${at}.severity`, 'missing: give a severity (critical, warning, info, ...)');
  const templates = (key: 'labels' | 'annotations'): Record<string, Template> => {
    const v = map.get(key, true) as Node | undefined;
    const out: Record<string, Template> = {};
    if (v === undefined || v === null) return out;
    if (!isMap(v)) {
      problem(v, `${at}.${key}`, 'expected a map of names to templates');
      return out;
    }
    for (const pair of v.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : '';
      const where = `${at}.${key}.${name}`;
      if (!LABEL_NAME.test(name)) problem(pair.key as Node, where, `"${name}" is not a valid name: expected [a-zA-Z_][a-zA-Z0-9_]*`);
      else if (key === 'labels' && RESERVED_LABELS.has(name)) problem(pair.key as Node, where, `the label ${name} is set by corral alert itself`);
      const value = pair.value as Node | null;
      if (!isScalar(value) || typeof value.value !== 'string') {
        problem(value ?? (pair.key as Node), where, 'expected a string');
        continue;
      }
      try {
        out[name] = compileTemplate(value.value);
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        problem(value, where, err.reason);
      }
    }
    return out;
  };
  const labels = templates('labels');
  const annotations = templates('annotations');
  const selector = parseSelector(map.get('selector', true) as Node | undefined, `${at}.selector`, problem);
  return {
    alert: alert?.text ?? '',
    type: t,
    forMs,
    severity: severity?.text ?? '',
    labels,
    annotations,
    selector,
    threshold,
    resolveBelow,
    windowMs,
    resolveAfterMs,
    line: pos(node).line,
  };
}

function parseSelector(node: Node | undefined, at: string, problem: Problem): Selector | undefined {
  if (node === undefined || node === null) return undefined;
  if (!isMap(node)) {
    problem(node, at, 'expected a map with name and/or labels');
    return undefined;
  }
  const out: { name?: string; labels?: Record<string, string> } = {};
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const v = pair.value as Node | null;
    if (key === 'name') {
      if (isScalar(v) && typeof v.value === 'string' && v.value !== '') out.name = v.value;
      else problem(v ?? (pair.key as Node), `${at}.name`, "expected a name pattern, such as 'web-*'");
    } else if (key === 'labels') {
      if (!isMap(v)) {
        problem(v ?? (pair.key as Node), `${at}.labels`, 'expected a map of label keys to values');
        continue;
      }
      const labels: Record<string, string> = {};
      for (const p of v.items) {
        const k = isScalar(p.key) ? String(p.key.value) : '';
        const val = p.value as Node | null;
        if (isScalar(val) && (typeof val.value === 'string' || typeof val.value === 'number' || typeof val.value === 'boolean')) labels[k] = String(val.value);
        else problem(val ?? (p.key as Node), `${at}.labels.${k}`, 'expected a string');
      }
      out.labels = labels;
    } else problem(pair.key as Node, `${at}.${key}`, 'unknown key: expected name or labels');
  }
  return out;
}

/** The built-in rules. */
export function defaultRules(): Rule[] {
  return parseRules(DEFAULT_RULES_YAML, '(built-in rules)');
}

/** A glob (`*`, `?`) as an anchored regular expression. */
export function globRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Whether a container is one a rule watches. */
export function selects(selector: Selector | undefined, c: { name: string; labels: Readonly<Record<string, string>> }): boolean {
  if (!selector) return true;
  if (selector.name !== undefined && !globRegExp(selector.name).test(c.name)) return false;
  for (const [k, v] of Object.entries(selector.labels ?? {})) if (c.labels[k] !== v) return false;
  return true;
}
