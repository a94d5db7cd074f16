/**
 * corral top's row model: pure functions from what the daemon answered in one tick (GET
 * /containers/json, GET /containers/stats, the inspected limits, the events seen) to one immutable
 * row per container. Every `docker stats` number comes from src/metrics/derive.ts and its text from
 * src/cli/format/stats.ts, so MEM USAGE / LIMIT, MEM % and CPU % read exactly as `corral stats
 * --no-stream` prints them for the same sample. What corral top adds (rates, the CPU limit, throttling)
 * is computed here, between two ticks' samples, by the samples' own `read` times.
 */
import { deriveStats, type StatsEntry } from '../../metrics/derive.js';
import type { DockerStats } from '../../metrics/docker-stats-types.js';
import { statsRow, type StatsRow } from '../format/stats.js';

/** One entry of GET /containers/json (the fields corral top reads). */
export interface ContainerSummary {
  Id: string;
  Names?: string[];
  State?: string;
  Status?: string;
  /** unix seconds */
  Created?: number;
  Labels?: Record<string, string>;
}

/** What corral top keeps of GET /containers/{id}/json: the limits and the restart count. */
export interface ContainerDetail {
  restartCount: number;
  /** ms since the epoch; undefined when it never started */
  startedAt: number | undefined;
  /** CPUs the container may use (NanoCpus, else CpuQuota/CpuPeriod, else its cpuset's size); undefined: no CPU limit */
  cpuLimit: number | undefined;
  /** bytes; undefined: no memory limit */
  memoryLimit: number | undefined;
  /** undefined: no pids limit */
  pidsLimit: number | undefined;
  exitCode: number;
}

/** Counts of CPUs in a cpuset list such as "0-3,6": undefined for an empty or unreadable list. */
export function cpusetSize(list: string): number | undefined {
  let n = 0;
  for (const part of list.split(',')) {
    const t = part.trim();
    if (t === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(t);
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return undefined;
    n += to - from + 1;
  }
  return n > 0 ? n : undefined;
}

/** The limits of an inspect answer (Docker's HostConfig; 0 and empty mean unlimited there). */
export function detailFromInspect(inspect: {
  RestartCount?: number;
  State?: { StartedAt?: string; ExitCode?: number };
  HostConfig?: { NanoCpus?: number; CpuQuota?: number; CpuPeriod?: number; CpusetCpus?: string; Memory?: number; PidsLimit?: number | null };
}): ContainerDetail {
  const hc = inspect.HostConfig ?? {};
  let cpuLimit: number | undefined;
  if ((hc.NanoCpus ?? 0) > 0) cpuLimit = hc.NanoCpus! / 1e9;
  else if ((hc.CpuQuota ?? 0) > 0) cpuLimit = hc.CpuQuota! / ((hc.CpuPeriod ?? 0) > 0 ? hc.CpuPeriod! : 100_000);
  else if (hc.CpusetCpus) cpuLimit = cpusetSize(hc.CpusetCpus);
  const started = inspect.State?.StartedAt ? Date.parse(inspect.State.StartedAt) : Number.NaN;
  return {
    restartCount: inspect.RestartCount ?? 0,
    // Docker's zero time (0001-01-01) parses to a year-1 date: never started
    startedAt: Number.isFinite(started) && started > 0 ? started : undefined,
    cpuLimit,
    memoryLimit: (hc.Memory ?? 0) > 0 ? hc.Memory : undefined,
    pidsLimit: hc.PidsLimit !== undefined && hc.PidsLimit !== null && hc.PidsLimit > 0 ? hc.PidsLimit : undefined,
    exitCode: inspect.State?.ExitCode ?? 0,
  };
}

/** The counters one tick's rates are computed from, per container. */
export interface Counters {
  /** ms since the epoch: the sample's `read` time */
  read: number;
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  periods: number | undefined;
  throttledPeriods: number | undefined;
}

/** Per second rates between two samples; undefined until a container has two distinct samples. */
export interface Rates {
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  /** % of CFS periods throttled between the samples; undefined without CPU quota (no periods) */
  throttledPercent: number | undefined;
}

function countersOf(s: DockerStats, e: StatsEntry): Counters | undefined {
  const read = s.read ? Date.parse(s.read) : Number.NaN;
  if (!Number.isFinite(read) || read <= 0) return undefined;
  const t = s.cpu_stats?.throttling_data;
  return { read, netRx: e.networkRx, netTx: e.networkTx, blockRead: e.blockRead, blockWrite: e.blockWrite, periods: t?.periods, throttledPeriods: t?.throttled_periods };
}

/** Rates between two counters (a counter that went down, as after a restart, gives no rate). */
export function ratesBetween(prev: Counters, cur: Counters): Rates | undefined {
  const seconds = (cur.read - prev.read) / 1000;
  if (seconds <= 0) return undefined;
  const rate = (a: number, b: number) => (b >= a ? (b - a) / seconds : undefined);
  const netRx = rate(prev.netRx, cur.netRx);
  const netTx = rate(prev.netTx, cur.netTx);
  const blockRead = rate(prev.blockRead, cur.blockRead);
  const blockWrite = rate(prev.blockWrite, cur.blockWrite);
  if (netRx === undefined || netTx === undefined || blockRead === undefined || blockWrite === undefined) return undefined;
  let throttledPercent: number | undefined;
  if (prev.periods !== undefined && cur.periods !== undefined && prev.throttledPeriods !== undefined && cur.throttledPeriods !== undefined) {
    const periods = cur.periods - prev.periods;
    const throttled = cur.throttledPeriods - prev.throttledPeriods;
    if (periods > 0 && throttled >= 0) throttledPercent = (throttled / periods) * 100;
    else if (periods === 0) throttledPercent = 0;
  }
  return { netRx, netTx, blockRead, blockWrite, throttledPercent };
}

/** One container's row: the numbers (for sorting and bars) and `docker stats`' texts. */
export interface TopRow {
  id: string;
  name: string;
  /** Docker's state: running, exited, restarting, created, dead */
  state: string;
  restarts: number;
  exitCode: number;
  /** the derived `docker stats` numbers; undefined for a container without stats (not running) */
  entry: StatsEntry | undefined;
  /** CPUs the CPU bar is scaled to: the container's limit, else the host's online CPUs */
  cpuScale: number | undefined;
  /** whether cpuScale is the container's own limit */
  cpuLimited: boolean;
  /** whether the memory limit is the container's own (not the host's memory) */
  memoryLimited: boolean;
  pidsLimit: number | undefined;
  rates: Rates | undefined;
  oomKills: number;
  /** seconds since the current run started; undefined when not running */
  uptime: number | undefined;
  /** memory.stat of the sample (for the detail view) */
  memoryStat: Record<string, number> | undefined;
}

/** Everything one tick read from the daemon. */
export interface TickInput {
  /** ms since the epoch (the client's clock: for uptimes) */
  now: number;
  containers: readonly ContainerSummary[];
  stats: readonly DockerStats[];
  details: ReadonlyMap<string, ContainerDetail>;
  /** OOM kills seen per container id */
  oomKills: ReadonlyMap<string, number>;
}

/** The rows of one tick and the counters the next tick's rates start from. */
export interface TickOutput {
  rows: TopRow[];
  counters: Map<string, { counters: Counters; rates: Rates | undefined }>;
}

/**
 * The rows of one tick. `previous` is the last tick's counters: a container whose sample did not
 * change since (the same `read`) keeps its last rates, so that a dashboard faster than the daemon's
 * sampling does not flicker to zero.
 */
export function buildRows(input: TickInput, previous: TickOutput['counters'] = new Map()): TickOutput {
  const statsById = new Map(input.stats.map((s) => [s.id ?? '', s]));
  const counters: TickOutput['counters'] = new Map();
  const rows = input.containers.map((c): TopRow => {
    const s = statsById.get(c.Id);
    const detail = input.details.get(c.Id);
    const running = c.State === 'running';
    // a stopped container's stats are Docker's empty ones: no row numbers
    const entry = s && running && s.memory_stats?.usage !== undefined ? deriveStats(s) : undefined;
    let rates: Rates | undefined;
    if (s && entry) {
      const cur = countersOf(s, entry);
      const before = previous.get(c.Id);
      if (cur) {
        if (before && before.counters.read === cur.read) rates = before.rates;
        else if (before) rates = ratesBetween(before.counters, cur);
        counters.set(c.Id, { counters: cur, rates });
      }
    }
    const onlineCpus = s?.cpu_stats?.online_cpus;
    const cpuLimited = detail?.cpuLimit !== undefined;
    const name = (c.Names?.[0] ?? '').replace(/^\//, '') || c.Id.slice(0, 12);
    return {
      id: c.Id,
      name,
      state: c.State ?? 'unknown',
      restarts: detail?.restartCount ?? 0,
      exitCode: detail?.exitCode ?? 0,
      entry,
      cpuScale: detail?.cpuLimit ?? (onlineCpus !== undefined && onlineCpus > 0 ? onlineCpus : undefined),
      cpuLimited,
      memoryLimited: detail?.memoryLimit !== undefined,
      pidsLimit: detail?.pidsLimit ?? undefined,
      rates,
      oomKills: input.oomKills.get(c.Id) ?? 0,
      uptime: running && detail?.startedAt !== undefined ? Math.max(0, (input.now - detail.startedAt) / 1000) : undefined,
      memoryStat: s?.memory_stats?.stats,
    };
  });
  return { rows, counters };
}

const TEXTS = new WeakMap<TopRow, StatsRow>();

/**
 * `docker stats`' texts of a row's numbers (MEM USAGE / LIMIT, MEM %, CPU %), by corral stats' own
 * formatter; undefined for a row without stats. Made when first asked (Go's exact float formatting
 * costs ~15 µs a row: only the rows on screen are formatted) and kept with the row.
 */
export function rowText(r: TopRow): StatsRow | undefined {
  if (!r.entry) return undefined;
  let t = TEXTS.get(r);
  if (!t) {
    t = statsRow(r.entry);
    TEXTS.set(r, t);
  }
  return t;
}

/** The sort keys of `--sort` and the `s` menu. */
export const SORT_KEYS = ['cpu', 'mem', 'name', 'net', 'io', 'pids', 'oom', 'restarts'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

function sortValue(r: TopRow, key: SortKey): number {
  switch (key) {
    case 'cpu':
      return r.entry?.cpuPercent ?? -1;
    case 'mem':
      return r.entry?.memory ?? -1;
    case 'net':
      return r.rates ? r.rates.netRx + r.rates.netTx : -1;
    case 'io':
      return r.rates ? r.rates.blockRead + r.rates.blockWrite : -1;
    case 'pids':
      return r.entry?.pidsCurrent ?? -1;
    case 'oom':
      return r.oomKills;
    case 'restarts':
      return r.restarts;
    case 'name':
      return 0;
  }
}

/** What the table shows: which rows, in which order. */
export interface View {
  sort: SortKey;
  /** reversed: ascending for numbers, Z-A for names */
  reverse: boolean;
  /** substring of the name or id (case-insensitive); '' for all */
  filter: string;
  /** also the containers that do not run */
  all: boolean;
}

/**
 * The rows as the table shows them: filtered, then sorted (numbers largest first, names A-Z, then by
 * name so that equal rows keep their place from tick to tick).
 */
export function viewRows(rows: readonly TopRow[], view: View): TopRow[] {
  const needle = view.filter.toLowerCase();
  const shown = rows.filter((r) => (view.all || r.state === 'running' || r.state === 'restarting') && (needle === '' || r.name.toLowerCase().includes(needle) || r.id.startsWith(needle)));
  const byName = (a: TopRow, b: TopRow) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const compare = (a: TopRow, b: TopRow) => (view.sort === 'name' ? byName(a, b) : sortValue(b, view.sort) - sortValue(a, view.sort) || byName(a, b));
  return shown.sort((a, b) => (view.reverse ? -compare(a, b) : compare(a, b)));
}

/** Containers per state, for the host panel. */
export function stateCounts(rows: readonly TopRow[]): { running: number; exited: number; restarting: number; other: number } {
  const out = { running: 0, exited: 0, restarting: 0, other: 0 };
  for (const r of rows) {
    if (r.state === 'running') out.running++;
    else if (r.state === 'exited') out.exited++;
    else if (r.state === 'restarting') out.restarting++;
    else out.other++;
  }
  return out;
}
