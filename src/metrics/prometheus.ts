/**
 * The Prometheus exposition, built with prom-client: one metric per entry of ./names.ts in a prom-client
 * Registry, each collected at scrape time from the sampler's cache (no file is read during a scrape).
 * Labels `id` ("/corral/<full id>": cAdvisor puts the cgroup path there; corral's is stable whatever
 * --cgroup-parent says), `name` and `image` (the rootfs directory, or "host").
 *
 * A value that was not read is not exported (no series), never exported as 0; the failed reads
 * themselves are counted in corral_sample_errors_total{file}. Usage metrics exist for running
 * containers; state, exit code, restarts and OOM kills for every container the daemon knows.
 */
import { Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { cpuWeightToShares } from '../cgroups/convert.js';
import { dockerState } from '../container/records.js';
import { wantsRunning } from '../container/restart-policy.js';
import { memoryUsage } from './derive.js';
import { METRICS, type MetricName } from './names.js';
import type { ContainerSample, TrackedContainer } from './sample.js';
import type { SamplerHealth } from './sampler.js';

/** What the exporter reads: the sampler, or a fixed set in tests. */
export interface ExporterSource {
  list(): TrackedContainer[];
  readonly health: SamplerHealth;
  readonly intervalMs: number;
  readonly idleIntervalMs: number;
  /** changes whenever what list() and health report may have changed (a tick, a container event); see ExpositionCache */
  readonly version?: number;
}

/** The states corral_container_state has a series for (Docker's state names). */
export const CONTAINER_STATES = ['created', 'running', 'paused', 'restarting', 'exited', 'dead'] as const;

/** CPU shares of the kernel's default weight (v1 cpu.shares 1024 = v2 cpu.weight 100). */
const DEFAULT_CPU_SHARES = 1024;
/** The kernel's default CFS period, microseconds. */
const DEFAULT_CPU_PERIOD = 100_000;

type Labels = Record<string, string>;
type SampleValue = (c: TrackedContainer, s: ContainerSample) => number | undefined;

const seconds = (usec: number | undefined) => (usec === undefined ? undefined : usec / 1e6);

function sum<T>(items: Iterable<T> | undefined, pick: (t: T) => number | undefined): number | undefined {
  if (items === undefined) return undefined;
  let total = 0;
  for (const t of items) total += pick(t) ?? 0;
  return total;
}

/** The usage metrics of a running container, from its latest sample. */
const FROM_SAMPLE: Record<string, SampleValue> = {
  container_cpu_usage_seconds_total: (_c, s) => seconds(s.cgroup.cpu?.usageUsec),
  container_cpu_user_seconds_total: (_c, s) => seconds(s.cgroup.cpu?.userUsec),
  container_cpu_system_seconds_total: (_c, s) => seconds(s.cgroup.cpu?.systemUsec),
  container_cpu_cfs_periods_total: (_c, s) => s.cgroup.cpu?.nrPeriods,
  container_cpu_cfs_throttled_periods_total: (_c, s) => s.cgroup.cpu?.nrThrottled,
  container_cpu_cfs_throttled_seconds_total: (_c, s) => seconds(s.cgroup.cpu?.throttledUsec),
  container_memory_usage_bytes: (_c, s) => s.cgroup.memory?.current,
  container_memory_working_set_bytes: (_c, s) => memoryUsage({ usage: s.cgroup.memory?.current, stats: s.cgroup.memory?.stat }),
  // v1 memory.stat has total_rss/total_cache (hierarchical) and no anon/file; v2 the other way round
  container_memory_rss: (_c, s) => s.cgroup.memory?.stat?.total_rss ?? s.cgroup.memory?.stat?.anon,
  container_memory_cache: (_c, s) => s.cgroup.memory?.stat?.total_cache ?? s.cgroup.memory?.stat?.file,
  container_memory_swap: (_c, s) => s.cgroup.memory?.swapCurrent,
  container_memory_max_usage_bytes: (_c, s) => s.cgroup.memory?.peak,
  container_memory_failcnt: (_c, s) => s.cgroup.memory?.failcnt ?? s.cgroup.memory?.events?.max,
  container_spec_memory_limit_bytes: (c, s) => {
    const max = s.cgroup.memory?.max ?? c.spec.memoryLimit;
    return max === undefined ? undefined : max === 'max' ? 0 : max;
  },
  container_spec_memory_reservation_limit_bytes: (c) => c.spec.memoryReservation ?? 0,
  container_spec_cpu_quota: (c) => (typeof c.spec.cpuQuota === 'number' ? c.spec.cpuQuota : undefined),
  container_spec_cpu_period: (c) => c.spec.cpuPeriod ?? DEFAULT_CPU_PERIOD,
  container_spec_cpu_shares: (c) => (c.spec.cpuWeight === undefined ? DEFAULT_CPU_SHARES : cpuWeightToShares(c.spec.cpuWeight)),
  // v2 memory.events oom (the limit was hit and reclaim failed); v1 has only the kill counter
  container_oom_events_total: (_c, s) => s.cgroup.memory?.events?.oom ?? s.cgroup.memory?.events?.oomKill,
  container_processes: (_c, s) => s.cgroup.pids?.current,
  container_network_receive_bytes_total: (_c, s) => sum(s.networks?.values(), (n) => n.rxBytes),
  container_network_transmit_bytes_total: (_c, s) => sum(s.networks?.values(), (n) => n.txBytes),
  container_fs_reads_bytes_total: (_c, s) => sum(s.cgroup.io?.devices, (d) => d.rbytes),
  container_fs_writes_bytes_total: (_c, s) => sum(s.cgroup.io?.devices, (d) => d.wbytes),
  container_pressure_cpu_waiting_seconds_total: (_c, s) => seconds(s.cgroup.pressure?.cpu?.some.total),
  container_pressure_cpu_stalled_seconds_total: (_c, s) => seconds(s.cgroup.pressure?.cpu?.full?.total),
  container_pressure_memory_waiting_seconds_total: (_c, s) => seconds(s.cgroup.pressure?.memory?.some.total),
  container_pressure_memory_stalled_seconds_total: (_c, s) => seconds(s.cgroup.pressure?.memory?.full?.total),
  container_pressure_io_waiting_seconds_total: (_c, s) => seconds(s.cgroup.pressure?.io?.some.total),
  container_pressure_io_stalled_seconds_total: (_c, s) => seconds(s.cgroup.pressure?.io?.full?.total),
  container_start_time_seconds: (c) => (c.startedAt === undefined ? undefined : c.startedAt / 1000),
  container_last_seen: (_c, s) => s.time / 1000,
  corral_container_pids_limit: (c, s) => {
    const max = s.cgroup.pids?.max ?? c.spec.pidsLimit;
    return typeof max === 'number' ? max : undefined;
  },
};

/** Metrics of every known container, running or not. */
const FROM_CONTAINER: Record<string, (c: TrackedContainer) => number | undefined> = {
  corral_container_restarts_total: (c) => c.restarts,
  corral_container_should_run: (c) => (wantsRunning(c.restartPolicy, c) ? 1 : 0),
  corral_container_exit_code: (c) => (c.status === 'running' ? undefined : c.exitCode),
  corral_container_oom_kills_total: (c) => c.oomKills,
};

const FROM_SAMPLER: Record<string, (source: ExporterSource) => number> = {
  corral_sampler_cpu_seconds_total: (s) => s.health.cpuSeconds,
  corral_sampler_last_tick_seconds: (s) => s.health.lastTickSeconds,
  corral_sampler_containers: (s) => s.health.lastTickContainers,
  corral_sampler_interval_seconds: (s) => s.intervalMs / 1000,
  corral_sampler_idle_interval_seconds: (s) => s.idleIntervalMs / 1000,
  corral_sampler_full_reads_total: (s) => s.health.fullReads,
  corral_sampler_quiet_reads_total: (s) => s.health.quietReads,
  corral_sampler_open_files: (s) => s.health.openFiles,
  corral_sampler_unkept_reads_total: (s) => s.health.unkeptReads,
};

/** Which of a container's own labels (--label) its series carry: every one (cAdvisor's default), or those keys. */
export type LabelSelection = 'all' | readonly string[];

/**
 * A container label's Prometheus label name, as cAdvisor writes it: `container_label_` and the key
 * with every character outside [a-zA-Z0-9_] made `_` (`com.example.team` -> container_label_com_example_team).
 */
export function containerLabelName(key: string): string {
  return `container_label_${key.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/**
 * A container's label set: id, name, image, then its own labels that `selection` keeps, by key
 * order. Two keys that sanitise to one name (a.b and a_b) give it once, the first key's.
 */
export function containerLabels(c: Pick<TrackedContainer, 'id' | 'name' | 'image' | 'labels'>, selection: LabelSelection = 'all'): Labels {
  const labels: Record<string, string> = { id: `/corral/${c.id}`, name: c.name ?? '', image: c.image };
  if (c.labels === undefined) return labels;
  for (const key of Object.keys(c.labels).sort()) {
    if (selection !== 'all' && !selection.includes(key)) continue;
    const name = containerLabelName(key);
    if (!(name in labels)) labels[name] = c.labels[key]!;
  }
  return labels;
}

/** A label value in the text format: backslash, double quote and newline escaped. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `{k="v",...}` of a label set, in its key order. */
export function formatLabels(labels: Readonly<Record<string, string | number>>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/** A container's label sets, formatted once per TrackedContainer object and name (a new object comes with each refresh of its record; a rename changes the name). */
interface FormattedLabels {
  labels: Labels;
  /** `{id=...,name=...,image=...}` */
  text: string;
  /** corral_container_state's label set per state, in CONTAINER_STATES order */
  states: string[];
}

/**
 * The containers of one scrape, sorted by id, each with its label sets formatted once: every metric of
 * the scrape reads the same snapshot (a scrape asks all metrics in one go, so a snapshot younger than
 * SNAPSHOT_MS is that scrape's).
 */
class Snapshot {
  private taken = -Infinity;
  private entries: ({ c: TrackedContainer } & FormattedLabels)[] = [];
  private readonly formatted = new WeakMap<TrackedContainer, FormattedLabels>();

  constructor(
    private readonly source: ExporterSource,
    private readonly selection: LabelSelection,
  ) {}

  get(): ({ c: TrackedContainer } & FormattedLabels)[] {
    const now = performance.now();
    if (now - this.taken > SNAPSHOT_MS) {
      this.taken = now;
      this.entries = this.source
        .list()
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((c) => {
          let f = this.formatted.get(c);
          // a rename changes the name of the same object
          if (!f || f.labels.name !== (c.name ?? '')) {
            const labels = containerLabels(c, this.selection);
            f = { labels, text: formatLabels(labels), states: CONTAINER_STATES.map((state) => formatLabels({ ...labels, state })) };
            this.formatted.set(c, f);
          }
          return { c, ...f };
        });
    }
    return this.entries;
  }
}

/** How long one scrape's snapshot of the container list is reused, ms. */
const SNAPSHOT_MS = 20;

/** Receives one series: its label set already formatted (`{...}` or ''), and its value. */
type Emit = (labels: string, value: number) => void;

/** The series of one metric, one emit() each, in exposition order. */
function eachSeries(m: MetricName, source: ExporterSource, snapshot: Snapshot, emit: Emit): void {
  const sampler = FROM_SAMPLER[m.name];
  if (sampler) {
    emit('', sampler(source));
    return;
  }
  const containers = snapshot.get();
  if (m.name === 'corral_container_state') {
    for (const { c, states } of containers) {
      CONTAINER_STATES.forEach((state, i) => {
        emit(states[i]!, dockerState(c) === state ? 1 : 0);
      });
    }
    return;
  }
  if (m.name === 'corral_sample_errors_total') {
    for (const { c, labels } of containers) {
      for (const [file, n] of [...c.readErrors].sort(([a], [b]) => a.localeCompare(b))) emit(formatLabels({ ...labels, file }), n);
    }
    return;
  }
  const fromContainer = FROM_CONTAINER[m.name];
  const fromSample = FROM_SAMPLE[m.name];
  for (const { c, text } of containers) {
    let v: number | undefined;
    if (fromContainer) v = fromContainer(c);
    else if (fromSample && c.status === 'running' && c.latest) v = fromSample(c, c.latest);
    if (v !== undefined && Number.isFinite(v)) emit(text, v);
  }
}

/** One metric's HELP and TYPE lines. */
function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

export interface RegistryOptions {
  /** add prom-client's default process_* and nodejs_* metrics of this process (the daemon's) */
  processMetrics?: boolean;
  /** the containers' own labels on their series (--metrics-container-labels; default all, as cAdvisor) */
  containerLabels?: LabelSelection;
}

/** prom-client default metrics that `promtool check metrics` rejects (gauges ending in _total). */
const LINT_FAILING_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const NO_LABELS: Labels = Object.freeze({}) as Labels;

/**
 * A registry whose every container metric is read from `source` at scrape time: each is a prom-client
 * metric object whose get() (prom-client's collect step) builds its series from the cache, with the
 * label set of each container formatted once per scrape and carried as the series' name
 * (`metricName`), ready for exposition().
 */
export function createRegistry(source: ExporterSource, options: RegistryOptions = {}): Registry {
  const registry = new Registry();
  const snapshot = new Snapshot(source, options.containerLabels ?? 'all');
  for (const m of METRICS) {
    if (!FROM_SAMPLE[m.name] && !FROM_CONTAINER[m.name] && !FROM_SAMPLER[m.name] && !m.extraLabels) {
      throw new Error(`unreachable: no value for metric ${m.name}`);
    }
    const metric = {
      name: m.name,
      help: m.help,
      type: m.type,
      // prom-client's collect step (Registry.metrics(), getMetricsAsJSON())
      get: async () => {
        const values: MetricObjectLike['values'] = [];
        eachSeries(m, source, snapshot, (labels, value) => values.push({ metricName: m.name + labels, labels: NO_LABELS, value }));
        return { name: m.name, help: m.help, type: m.type, aggregator: 'sum', values };
      },
      // exposition()'s: the text itself, no object per series
      render: (): string => {
        let text = header(m.name, m.help, m.type);
        eachSeries(m, source, snapshot, (labels, value) => (text += `${m.name}${labels} ${valueText(value)}\n`));
        return text;
      },
    };
    registry.registerMetric(metric as unknown as Metric);
  }
  if (options.processMetrics) {
    collectDefaultMetrics({ register: registry });
    // gauges named like counters fail `promtool check metrics`; the same counts stay, per type, in nodejs_active_{handles,requests,resources}
    for (const name of LINT_FAILING_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
  return registry;
}

/** A HELP text in the text format: backslash and newline escaped. */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as the text format writes it (Go's special values). */
function valueText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/**
 * The registry in the Prometheus text format (version 0.0.4). This is prom-client's
 * Registry.metrics() output, written by a leaner loop: prom-client re-formats and escapes every label
 * set of every series on every scrape, which for 500 containers (17,000 series) took 16 of a scrape's
 * 31 ms of CPU, measured on the project's host. Metric by metric in registration order, each series on
 * its own line. corral's metrics write their own text (render(): each label set formatted once per
 * scrape, no object per series); prom-client's own (process_*, nodejs_*, with their labels) go through
 * their get().
 */
export async function exposition(registry: Registry): Promise<string> {
  const parts: string[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    const own = metric as unknown as Partial<Renderable>;
    if (typeof own.render === 'function') {
      parts.push(own.render());
      continue;
    }
    const m = await (metric as unknown as { get(): Promise<MetricObjectLike> | MetricObjectLike }).get();
    parts.push(header(m.name, m.help, m.type));
    for (const v of m.values) {
      const labels = v.labels === NO_LABELS || v.labels === undefined ? '' : formatLabels(v.labels);
      parts.push(`${v.metricName ?? m.name}${labels} ${valueText(v.value)}\n`);
    }
  }
  return parts.join('');
}

/** A metric of createRegistry(), which writes its own exposition text. */
interface Renderable {
  render(): string;
}

interface MetricObjectLike {
  name: string;
  help: string;
  type: string;
  values: { metricName?: string; labels?: Readonly<Record<string, string | number>>; value: number }[];
}

/** The Content-Type of exposition()'s text. */
export const EXPOSITION_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
