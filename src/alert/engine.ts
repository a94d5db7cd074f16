/**
 * The rule evaluation engine: pure, driven by what the sidecar saw (a sample of every container, an
 * event, the daemon's reachability) and by the time those carry, never by a clock of its own.
 *
 * One state machine per rule and container (per rule for the daemon rule):
 *
 *   inactive --condition--> pending --held for `for`--> firing --condition gone--> resolved (-> inactive)
 *                 (for 0: straight to firing)     pending --condition gone--> inactive (nothing sent)
 *
 * Threshold rules fire above `threshold` and, once firing, stay so until their value falls below
 * `resolve_below` (hysteresis; Netdata's cgroup_ram_in_use has 90/80); pending needs the value above
 * the threshold at every sample. Event rules (oom_killed, exited_non_zero) fire at their event and
 * resolve after `resolve_after` without another one (exited_non_zero also at the container's next
 * start). A container that is gone resolves its threshold alerts; while the daemon is unreachable
 * nothing is evaluated but the daemon rule (no data is not "all clear").
 *
 * Every call returns the transitions it made (a firing, an update of a firing alert's annotations
 * after a new event, a resolution), which the sidecar hands to its receivers.
 */
import { containerLabels } from '../metrics/prometheus.js';
import { fingerprint } from './fingerprint.js';
import { selects, type Rule } from './rules.js';

/** One container as one tick saw it. Every reading is optional: missing is not 0. */
export interface ContainerView {
  id: string;
  name: string;
  image: string;
  /** Docker's Config.Labels */
  labels: Readonly<Record<string, string>>;
  running: boolean;
  /** bytes: usage without inactive file pages (derive.ts memoryUsage) */
  memoryWorkingSet?: number;
  /** bytes; only when a memory limit is set */
  memoryLimit?: number;
  /** memory.pressure some avg10, percent */
  memoryPressureSome10?: number;
  pidsCurrent?: number;
  /** only when a pids limit is set */
  pidsLimit?: number;
  /** CFS periods elapsed (counter) */
  cpuPeriods?: number;
  /** CFS periods throttled (counter) */
  cpuThrottledPeriods?: number;
  /** the daemon's RestartCount (counter) */
  restartCount?: number;
}

/** A daemon event the rules act on. */
export type AlertEvent =
  | { action: 'oom'; time: number; id: string; name?: string; image?: string; attributes: Readonly<Record<string, string>> }
  | { action: 'die'; time: number; id: string; name?: string; image?: string; exitCode: number }
  | { action: 'start'; time: number; id: string };

export type AlertStatus = 'firing' | 'resolved';

/** An alert as receivers get it. Times in ms since the epoch. */
export interface Alert {
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: number;
  /** set once resolved */
  endsAt?: number;
  fingerprint: string;
  /** the alertname */
  rule: string;
  value?: number;
}

interface State {
  rule: Rule;
  phase: 'pending' | 'firing';
  /** when the condition started to hold (pending) */
  activeAt: number;
  /** when it fired */
  firedAt: number;
  /** the last event of an event rule */
  lastEvent: number;
  value: number | undefined;
  details: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

interface CounterPoint {
  time: number;
  periods?: number;
  throttled?: number;
  restarts?: number;
}

export interface EngineOptions {
  /** the daemon's address, the `instance` label of the daemon rule */
  instance: string;
}

const THRESHOLD_TYPES = new Set(['memory_near_limit', 'memory_pressure', 'cpu_throttled', 'pids_near_limit', 'restart_loop']);
const DAEMON_KEY = '(daemon)';

/** The keys of memory.stat the oom event carries, largest first in `$details`. */
const CONSUMER_KEYS = ['anon', 'file', 'shmem', 'kernel', 'kernel_stack', 'pagetables', 'slab', 'sock', 'percpu', 'file_mapped', 'swapcached'];

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = n;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${i === 0 ? x : x.toFixed(1)}${units[i]}`;
}

/**
 * An oom event's `$details`: the three largest memory.stat consumers of its snapshot (what filled the
 * memory), then usage/limit and when the snapshot was read. "memory.stat: not in the event" when the
 * daemon sent none.
 */
export function oomDetails(attributes: Readonly<Record<string, string>>): string {
  const consumers = CONSUMER_KEYS.map((k) => [k, Number(attributes[`memory.${k}`])] as const)
    .filter(([, v]) => Number.isFinite(v) && v > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3);
  const usage = Number(attributes['memory.usage']);
  const limit = Number(attributes['memory.limit']);
  const parts: string[] = [];
  if (consumers.length > 0) parts.push(`top: ${consumers.map(([k, v]) => `${k} ${bytes(v)}`).join(', ')}`);
  else parts.push('memory.stat: not in the event');
  if (Number.isFinite(usage) && attributes['memory.usage'] !== undefined)
    parts.push(`usage ${bytes(usage)}${Number.isFinite(limit) && attributes['memory.limit'] !== undefined ? ` of ${bytes(limit)}` : ''}`);
  if (attributes['memory.stat_when']) parts.push(`read ${attributes['memory.stat_when']}`);
  return parts.join('; ');
}

export class Engine {
  private rules: Rule[];
  private readonly states = new Map<string, State>();
  private readonly containers = new Map<string, ContainerView>();
  private readonly history = new Map<string, CounterPoint[]>();
  private daemonDownSince: number | undefined;
  /** the longest window of the rules, how far back counters are kept */
  private maxWindowMs: number;

  constructor(
    rules: readonly Rule[],
    private readonly options: EngineOptions,
  ) {
    this.rules = [...rules];
    this.maxWindowMs = Math.max(0, ...rules.map((r) => r.windowMs));
  }

  /**
   * New rules (a reload). A rule kept by name and type keeps its alerts; the alerts of a rule that is
   * gone (or changed type) resolve now.
   */
  setRules(rules: readonly Rule[], time: number): Alert[] {
    this.rules = [...rules];
    this.maxWindowMs = Math.max(0, ...rules.map((r) => r.windowMs));
    const out: Alert[] = [];
    for (const [key, s] of this.states) {
      const now = rules.find((r) => r.alert === s.rule.alert && r.type === s.rule.type);
      if (now) s.rule = now;
      else {
        this.states.delete(key);
        if (s.phase === 'firing') out.push(this.alertOf(s, 'resolved', time));
      }
    }
    return out;
  }

  /** The alerts firing now (for resends). */
  firing(): Alert[] {
    return [...this.states.values()].filter((s) => s.phase === 'firing').map((s) => this.alertOf(s, 'firing'));
  }

  /** Firing alerts from before a restart (the sidecar's state file), so that they resolve and resend as if never interrupted. */
  restore(alerts: readonly Alert[]): void {
    for (const a of alerts) {
      const rule = this.rules.find((r) => r.alert === a.rule);
      if (!rule || a.status !== 'firing') continue;
      const id = rule.type === 'daemon_unreachable' ? DAEMON_KEY : (a.labels.id ?? '').replace(/^\/corral\//, '');
      this.states.set(this.key(rule, id), {
        rule,
        phase: 'firing',
        activeAt: a.startsAt,
        firedAt: a.startsAt,
        lastEvent: a.startsAt,
        value: a.value,
        details: '',
        labels: { ...a.labels },
        annotations: { ...a.annotations },
      });
    }
  }

  private key(rule: Rule, id: string): string {
    return `${rule.alert}\u0000${id}`;
  }

  private alertOf(s: State, status: AlertStatus, endsAt?: number): Alert {
    return {
      status,
      labels: s.labels,
      annotations: s.annotations,
      startsAt: s.firedAt,
      ...(endsAt !== undefined ? { endsAt } : {}),
      fingerprint: fingerprint(s.labels),
      rule: s.rule.alert,
      ...(s.value !== undefined ? { value: s.value } : {}),
    };
  }

  /** Labels and annotations of a rule for a container (or the daemon), rendered with the value. */
  private render(rule: Rule, base: Record<string, string>, value: number | undefined, details: string): { labels: Record<string, string>; annotations: Record<string, string> } {
    const labels: Record<string, string> = { alertname: rule.alert, severity: rule.severity, ...base };
    for (const [k, t] of Object.entries(rule.labels)) labels[k] = t.render({ labels: { ...labels }, value, details });
    const annotations: Record<string, string> = {};
    for (const [k, t] of Object.entries(rule.annotations)) annotations[k] = t.render({ labels, value, details });
    return { labels, annotations };
  }

  private containerBase(c: Pick<ContainerView, 'id' | 'name' | 'image' | 'labels'>): Record<string, string> {
    return containerLabels({ id: c.id, name: c.name, image: c.image, labels: c.labels });
  }

  /**
   * A condition's outcome at `time` for one key: pending/firing/resolved as the state machine says.
   * `holds`: undefined when there is no value (the condition does not hold, as Prometheus' absent series).
   */
  private step(rule: Rule, key: string, time: number, value: number | undefined, base: () => Record<string, string>, out: Alert[], details = ''): void {
    const s = this.states.get(key);
    const above = value !== undefined && value > rule.threshold;
    const stays = value !== undefined && (rule.resolveBelow < rule.threshold ? value >= rule.resolveBelow : value > rule.threshold);
    if (!s) {
      if (!above) return;
      const r = this.render(rule, base(), value, details);
      const n: State = { rule, phase: 'pending', activeAt: time, firedAt: time, lastEvent: time, value, details, ...r };
      this.states.set(key, n);
      if (rule.forMs === 0) this.fire(n, time, out);
      return;
    }
    if (s.phase === 'pending') {
      if (!above) {
        this.states.delete(key);
        return;
      }
      Object.assign(s, { value }, this.render(rule, base(), value, details));
      if (time - s.activeAt >= rule.forMs) this.fire(s, time, out);
      return;
    }
    if (!stays) {
      this.states.delete(key);
      out.push(this.alertOf(s, 'resolved', time));
      return;
    }
    // still firing: the value and the annotations follow it, for the next resend
    s.value = value;
    s.annotations = this.render(rule, base(), value, details).annotations;
  }

  private fire(s: State, time: number, out: Alert[]): void {
    s.phase = 'firing';
    s.firedAt = time;
    out.push(this.alertOf(s, 'firing'));
  }

  /** Keep a container's counters for the windowed rules, as far back as the longest window. */
  private remember(c: ContainerView, time: number): CounterPoint[] {
    const maxWindow = this.maxWindowMs;
    let points = this.history.get(c.id);
    if (!points) {
      points = [];
      this.history.set(c.id, points);
    }
    const last = points[points.length - 1];
    // a counter that went down (a new cgroup after a restart, a reset RestartCount) starts a new history
    if (last && ((c.cpuPeriods ?? 0) < (last.periods ?? 0) || (c.restartCount ?? 0) < (last.restarts ?? 0))) points.length = 0;
    points.push({ time, periods: c.cpuPeriods, throttled: c.cpuThrottledPeriods, restarts: c.restartCount });
    while (points.length > 2 && points[1]!.time <= time - maxWindow) points.shift();
    return points;
  }

  /** The oldest point within `windowMs` of `time` (the one just before the window, when the window began between two samples). */
  private static windowStart(points: readonly CounterPoint[], time: number, windowMs: number): CounterPoint | undefined {
    let start: CounterPoint | undefined;
    for (const p of points) {
      if (p.time >= time - windowMs) {
        start ??= p;
        break;
      }
      start = p;
    }
    return start;
  }

  /** A threshold rule's value for a container (undefined: the rule does not apply to it now). */
  private valueOf(rule: Rule, c: ContainerView, points: readonly CounterPoint[], time: number): number | undefined {
    if (!c.running) return undefined;
    switch (rule.type) {
      case 'memory_near_limit':
        return c.memoryWorkingSet !== undefined && c.memoryLimit !== undefined && c.memoryLimit > 0 ? c.memoryWorkingSet / c.memoryLimit : undefined;
      case 'memory_pressure':
        return c.memoryPressureSome10;
      case 'pids_near_limit':
        return c.pidsCurrent !== undefined && c.pidsLimit !== undefined && c.pidsLimit > 0 ? c.pidsCurrent / c.pidsLimit : undefined;
      case 'cpu_throttled': {
        const start = Engine.windowStart(points, time, rule.windowMs);
        const last = points[points.length - 1];
        if (!start || !last || start === last || start.periods === undefined || last.periods === undefined || start.throttled === undefined || last.throttled === undefined) return undefined;
        const periods = last.periods - start.periods;
        return periods > 0 ? (last.throttled - start.throttled) / periods : undefined;
      }
      case 'restart_loop': {
        const start = Engine.windowStart(points, time, rule.windowMs);
        const last = points[points.length - 1];
        if (!start || !last || start.restarts === undefined || last.restarts === undefined) return undefined;
        return last.restarts - start.restarts;
      }
      default:
        return undefined;
    }
  }

  /** One tick's sample of every container (the daemon answered). */
  sample(time: number, containers: readonly ContainerView[]): Alert[] {
    const out = this.daemonReachable(time);
    const seen = new Set<string>();
    for (const c of containers) {
      seen.add(c.id);
      this.containers.set(c.id, c);
      const points = this.remember(c, time);
      for (const rule of this.rules) {
        if (!THRESHOLD_TYPES.has(rule.type)) continue;
        const key = this.key(rule, c.id);
        if (!selects(rule.selector, c)) {
          // a selector changed by a reload: the container is no longer watched
          const s = this.states.get(key);
          if (s) this.step(rule, key, time, undefined, () => s.labels, out);
          continue;
        }
        this.step(rule, key, time, this.valueOf(rule, c, points, time), () => this.containerBase(c), out);
      }
    }
    for (const id of [...this.containers.keys()]) {
      if (seen.has(id)) continue;
      this.containers.delete(id);
      this.history.delete(id);
    }
    // a removed container's threshold alerts resolve (its series are gone)
    for (const [key, s] of [...this.states]) {
      if (!THRESHOLD_TYPES.has(s.rule.type)) continue;
      const id = key.slice(key.indexOf('\u0000') + 1);
      if (!seen.has(id)) this.step(s.rule, key, time, undefined, () => s.labels, out);
    }
    out.push(...this.expire(time));
    return out;
  }

  /** The event rules' alerts whose quiet time has passed resolve. Called on every tick, the daemon reachable or not. */
  expire(time: number): Alert[] {
    const out: Alert[] = [];
    for (const [key, s] of [...this.states]) {
      if ((s.rule.type === 'oom_killed' || s.rule.type === 'exited_non_zero') && time - s.lastEvent >= s.rule.resolveAfterMs) {
        this.states.delete(key);
        out.push(this.alertOf(s, 'resolved', time));
      }
    }
    return out;
  }

  /** Whether a tick has seen this container (an event's alert carries its labels from there). */
  knows(id: string): boolean {
    return this.containers.has(id);
  }

  /** A container's identity learnt otherwise (an inspect), for an event that comes before its first tick. */
  learn(c: Pick<ContainerView, 'id' | 'name' | 'image' | 'labels'>): void {
    if (!this.containers.has(c.id)) this.containers.set(c.id, { ...c, running: true });
  }

  /** A daemon event. */
  event(e: AlertEvent): Alert[] {
    const out: Alert[] = [];
    const known = this.containers.get(e.id);
    if (e.action === 'start') {
      for (const rule of this.rules) {
        if (rule.type !== 'exited_non_zero') continue;
        const key = this.key(rule, e.id);
        const s = this.states.get(key);
        if (s) {
          this.states.delete(key);
          out.push(this.alertOf(s, 'resolved', e.time));
        }
      }
      return out;
    }
    const c = { id: e.id, name: known?.name ?? e.name ?? '', image: known?.image ?? e.image ?? '', labels: known?.labels ?? {} };
    const type = e.action === 'oom' ? 'oom_killed' : 'exited_non_zero';
    if (e.action === 'die' && e.exitCode === 0) return out;
    const value = e.action === 'oom' ? Number(e.attributes.oom_kill) : e.exitCode;
    const details = e.action === 'oom' ? oomDetails(e.attributes) : `exit code ${e.exitCode}`;
    for (const rule of this.rules) {
      if (rule.type !== type || !selects(rule.selector, c)) continue;
      const key = this.key(rule, e.id);
      const r = this.render(rule, this.containerBase(c), Number.isFinite(value) ? value : undefined, details);
      const s = this.states.get(key);
      if (s) {
        // another kill while firing: the same alert, its annotations now about the latest one
        Object.assign(s, { lastEvent: e.time, value, details, annotations: r.annotations });
        out.push(this.alertOf(s, 'firing'));
        continue;
      }
      const n: State = { rule, phase: 'firing', activeAt: e.time, firedAt: e.time, lastEvent: e.time, value: Number.isFinite(value) ? value : undefined, details, ...r };
      this.states.set(key, n);
      out.push(this.alertOf(n, 'firing'));
    }
    return out;
  }

  /** The daemon did not answer at `time` (a failed tick, the events stream gone). */
  daemonUnreachable(time: number): Alert[] {
    this.daemonDownSince ??= time;
    const out: Alert[] = [];
    const seconds = (time - this.daemonDownSince) / 1000;
    for (const rule of this.rules) {
      if (rule.type !== 'daemon_unreachable') continue;
      const key = this.key(rule, DAEMON_KEY);
      const s = this.states.get(key);
      const base = () => ({ instance: this.options.instance });
      if (!s) {
        const n: State = { rule, phase: 'pending', activeAt: this.daemonDownSince, firedAt: time, lastEvent: time, value: seconds, details: '', ...this.render(rule, base(), seconds, '') };
        this.states.set(key, n);
      }
      const st = this.states.get(key)!;
      Object.assign(st, { value: seconds }, this.render(rule, base(), seconds, ''));
      if (st.phase === 'pending' && time - st.activeAt >= rule.forMs) this.fire(st, time, out);
    }
    out.push(...this.expire(time));
    return out;
  }

  /** The daemon answered at `time`: the daemon rule's alert resolves. */
  private daemonReachable(time: number): Alert[] {
    this.daemonDownSince = undefined;
    const out: Alert[] = [];
    for (const [key, s] of [...this.states]) {
      if (s.rule.type !== 'daemon_unreachable') continue;
      this.states.delete(key);
      if (s.phase === 'firing') out.push(this.alertOf(s, 'resolved', time));
    }
    return out;
  }
}
