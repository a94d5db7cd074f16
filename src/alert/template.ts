/**
 * Label and annotation templates in the look of Prometheus' alerting templates, so that a rule's
 * text reads the same in dashboards/alerts.yml and in the sidecar's rules file:
 *
 *   {{ $labels.name }}                      an alert label (name, id, image, container_label_*, severity, ...)
 *   {{ $value }}                            the rule's value (see each rule type in docs/alert.md)
 *   {{ $value | humanizePercentage }}       0.934 -> 93.4%
 *   {{ $value | humanize }}                 12345 -> 12.35k (SI prefixes)
 *   {{ $value | humanize1024 }}             1048576 -> 1Mi
 *   {{ $value | humanizeDuration }}         90 -> 1m 30s (seconds)
 *   {{ $details }}                          what the rule adds (an OOM kill: the memory.stat top consumers)
 *
 * Only this subset of Go's text/template is understood; anything else is refused when the rules file
 * is read (never at the first firing), with the reason. Compiled once, rendered per alert. Pure.
 */

export interface TemplateData {
  labels: Readonly<Record<string, string>>;
  value: number | undefined;
  details: string;
}

type Part = string | { variable: 'labels'; key: string; pipe?: Func } | { variable: 'value' | 'details'; pipe?: Func };
type Func = 'humanize' | 'humanize1024' | 'humanizePercentage' | 'humanizeDuration';
const FUNCS: readonly Func[] = ['humanize', 'humanize1024', 'humanizePercentage', 'humanizeDuration'];

export interface Template {
  readonly source: string;
  render(data: TemplateData): string;
}

/** Go's %.4g: four significant digits, trailing zeros dropped, exponent when Go would use one. */
export function goG4(v: number): string {
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
  if (v === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 4) {
    const [m, e] = v.toExponential(3).split('e');
    const mant = m!.includes('.') ? m!.replace(/0+$/, '').replace(/\.$/, '') : m!;
    const n = Number(e);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const t = v.toPrecision(4);
  return t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t;
}

/** Prometheus' humanize: SI prefixes, %.4g. */
export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return goG4(v);
  const abs = Math.abs(v);
  if (abs >= 1) {
    const prefixes = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
    let i = 0;
    let x = v;
    while (Math.abs(x) >= 1000 && i < prefixes.length - 1) {
      x /= 1000;
      i++;
    }
    return goG4(x) + prefixes[i];
  }
  const prefixes = ['', 'm', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];
  let i = 0;
  let x = v;
  while (Math.abs(x) < 1 && i < prefixes.length - 1) {
    x *= 1000;
    i++;
  }
  return goG4(x) + prefixes[i];
}

/** Prometheus' humanize1024: binary prefixes, %.4g. */
export function humanize1024(v: number): string {
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return goG4(v);
  const prefixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi'];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < prefixes.length - 1) {
    x /= 1024;
    i++;
  }
  return goG4(x) + prefixes[i];
}

/** Prometheus' humanizeDuration for whole seconds and up: "1d 2h 3m 4s"; below a second "500ms". */
export function humanizeDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return goG4(seconds);
  if (Math.abs(seconds) < 1) return seconds === 0 ? '0s' : `${goG4(seconds * 1000)}ms`;
  const sign = seconds < 0 ? '-' : '';
  let s = Math.abs(seconds);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const secs = Number.isInteger(s) ? String(s) : goG4(s);
  if (d > 0) return `${sign}${d}d ${h}h ${m}m ${secs}s`;
  if (h > 0) return `${sign}${h}h ${m}m ${secs}s`;
  if (m > 0) return `${sign}${m}m ${secs}s`;
  return `${sign}${secs}s`;
}

function apply(f: Func | undefined, v: number): string {
  switch (f) {
    case 'humanize':
      return humanize(v);
    case 'humanize1024':
      return humanize1024(v);
    case 'humanizePercentage':
      return `${goG4(v * 100)}%`;
    case 'humanizeDuration':
      return humanizeDuration(v);
    default:
      return goG4(v);
  }
}

/** A template that cannot be compiled; `reason` says what, as the rules file's error repeats it. */
export class TemplateError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Compile a template; throws TemplateError naming the bad action. */
export function compileTemplate(source: string): Template {
  const parts: Part[] = [];
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    if (open < 0) {
      parts.push(source.slice(at));
      break;
    }
    if (open > at) parts.push(source.slice(at, open));
    const close = source.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError(`unclosed action "${source.slice(open, open + 30)}": every {{ needs its }}`);
    const action = source
      .slice(open + 2, close)
      .replace(/^-?\s*/, '')
      .replace(/\s*-?$/, '');
    const [head, ...pipes] = action.split('|').map((s) => s.trim());
    if (pipes.length > 1) throw new TemplateError(`{{ ${action} }}: at most one function after "|"`);
    const pipe = pipes[0];
    if (pipe !== undefined && !(FUNCS as readonly string[]).includes(pipe)) throw new TemplateError(`{{ ${action} }}: unknown function "${pipe}" (known: ${FUNCS.join(', ')})`);
    const label = /^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(head ?? '');
    if (label) {
      if (pipe !== undefined) throw new TemplateError(`{{ ${action} }}: functions apply to $value only`);
      parts.push({ variable: 'labels', key: label[1]! });
    } else if (head === '$value') parts.push({ variable: 'value', ...(pipe ? { pipe: pipe as Func } : {}) });
    else if (head === '$details') {
      if (pipe !== undefined) throw new TemplateError(`{{ ${action} }}: functions apply to $value only`);
      parts.push({ variable: 'details' });
    } else throw new TemplateError(`{{ ${action} }}: expected $labels.NAME, $value or $details`);
    at = close + 2;
  }
  return {
    source,
    render(data) {
      let out = '';
      for (const p of parts) {
        if (typeof p === 'string') out += p;
        else if (p.variable === 'labels') out += data.labels[p.key] ?? '';
        else if (p.variable === 'details') out += data.details;
        // a rule without a value (an exit, a kill) renders nothing rather than a made-up 0
        else out += data.value === undefined ? '' : apply(p.pipe, data.value);
      }
      return out;
    },
  };
}
