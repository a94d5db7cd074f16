/**
 * Where the sidecar's data comes from: the daemon's socket only, as `corral top` reads it. A tick
 * is one request whatever the number of containers, the all-at-once GET /containers/stats?all=1 (the
 * daemon's sampling cache, with corral's `pressure` field); GET /containers/json?all=1 (names,
 * images, labels, states) is asked again only when an event says the list changed, when the stats
 * name a container the list does not (or the other way round), and every LIST_MAX_AGE_MS anyway;
 * an inspect only for a container that is new or whose restart count an event says changed. Events
 * come from one GET /events stream (src/client/events.ts, shared with corral top).
 *
 * The numbers are derived by src/metrics/derive.ts, as `docker stats`, corral top and the exporter
 * derive them; this module only says which reading means "no limit".
 */
import { ApiResponseError, call } from '../client/client.js';
import { followEvents, type DaemonEvent } from '../client/events.js';
import { memoryUsage } from '../metrics/derive.js';
import type { DockerStats } from '../metrics/docker-stats-types.js';
import type { ContainerView } from './engine.js';

/** One entry of GET /containers/json (the fields the rules read). */
export interface ContainerSummary {
  Id: string;
  Names?: string[];
  Image?: string;
  Labels?: Record<string, string> | null;
  State?: string;
}

/** A pids limit at or above this is "max" (the daemon writes pids.max "max" as 2^64). */
const PIDS_UNLIMITED = 2 ** 53;
const INSPECT_CONCURRENCY = 16;
/** The list is asked again at least this often, in ms, whatever the events said. */
export const LIST_MAX_AGE_MS = 30_000;
/** Events after which the list (a state, a name, the set of containers) is asked again. */
const LIST_EVENTS = new Set(['reconnect', 'create', 'start', 'restart', 'die', 'stop', 'kill', 'pause', 'unpause', 'rename', 'destroy', 'update']);

/** The views of one tick from its two answers; `hostMemory`: the limit the daemon reports for an unlimited container. */
export function containerViews(list: readonly ContainerSummary[], stats: readonly DockerStats[], restartCounts: ReadonlyMap<string, number>, hostMemory: number | undefined): ContainerView[] {
  const byId = new Map(stats.map((s) => [s.id ?? '', s]));
  return list.map((c) => {
    const s = byId.get(c.Id);
    const limit = s?.memory_stats?.limit;
    const pidsLimit = s?.pids_stats?.limit;
    const throttling = s?.cpu_stats?.throttling_data;
    const restarts = restartCounts.get(c.Id);
    const view: ContainerView = {
      id: c.Id,
      name: (c.Names?.[0] ?? '').replace(/^\//, ''),
      image: c.Image ?? '',
      labels: c.Labels ?? {},
      running: c.State === 'running',
    };
    const ws = memoryUsage(s?.memory_stats);
    if (ws !== undefined) view.memoryWorkingSet = ws;
    // the daemon reports the host's memory as an unlimited container's limit (docker stats' MEM LIMIT)
    if (limit !== undefined && hostMemory !== undefined && limit < hostMemory) view.memoryLimit = limit;
    const some10 = s?.pressure?.memory?.some.avg10;
    if (some10 !== undefined) view.memoryPressureSome10 = some10;
    if (s?.pids_stats?.current !== undefined) view.pidsCurrent = s.pids_stats.current;
    if (pidsLimit !== undefined && pidsLimit > 0 && pidsLimit < PIDS_UNLIMITED) view.pidsLimit = pidsLimit;
    if (throttling?.periods !== undefined) view.cpuPeriods = throttling.periods;
    if (throttling?.throttled_periods !== undefined) view.cpuThrottledPeriods = throttling.throttled_periods;
    if (restarts !== undefined) view.restartCount = restarts;
    return view;
  });
}

export interface AlertSource {
  /** `unix:///path`, the daemon rule's instance label */
  readonly address: string;
  /** one tick's views; throws when the daemon cannot be reached or answers with an error */
  tick(): Promise<ContainerView[]>;
  /** the identity of one container (an event for a container no tick has seen yet) */
  describe(id: string): Promise<Pick<ContainerView, 'id' | 'name' | 'image' | 'labels'> | undefined>;
  /** an event of a container: the list and its restart count are asked again as needed */
  changed(action: string, id: string): void;
  events(sinceSeconds: number, onEvent: (e: DaemonEvent) => void, onEnd: (err?: Error) => void): { close(): void };
  /** requests made so far, by route (GET /containers/stats, GET /containers/json, ...) */
  requests(): ReadonlyMap<string, number>;
}

/** The daemon behind a socket. */
export function socketSource(socket: string): AlertSource {
  const counts = new Map<string, number>();
  const get = async <T>(path: string) => {
    // by route, the container id and the query left out
    const route = path.split('?')[0]!.replace(/^\/containers\/[^/]+\/json$/, '/containers/{id}/json');
    counts.set(route, (counts.get(route) ?? 0) + 1);
    return (await call<T>(socket, { method: 'GET', path })).body;
  };
  const restarts = new Map<string, number>();
  const stale = new Set<string>();
  let hostMemory: number | undefined;
  let list: ContainerSummary[] | undefined;
  let listed = new Set<string>();
  let listedAt = 0;
  let listDirty = true;
  const inspect = async (ids: readonly string[]) => {
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        stale.delete(id);
        try {
          const body = await get<{ RestartCount?: number }>(`/containers/${encodeURIComponent(id)}/json`);
          restarts.set(id, body.RestartCount ?? 0);
        } catch (err) {
          // removed between the list and the inspect: gone from the next tick
          if (!(err instanceof ApiResponseError && err.status === 404)) throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(INSPECT_CONCURRENCY, ids.length) }, worker));
  };
  return {
    address: `unix://${socket}`,
    async tick() {
      hostMemory ??= (await get<{ MemTotal?: number }>('/info')).MemTotal;
      // the lean form: the working set's memory.stat keys, no precpu_stats (a third of the bytes)
      const stats = await get<DockerStats[]>('/containers/stats?all=1&working-set=1');
      // the daemon's stats name the same containers as the list, or the list is out of date
      const sameSet = list !== undefined && listed.size === stats.length && stats.every((s) => listed.has(s.id ?? ''));
      if (listDirty || !sameSet || Date.now() - listedAt >= LIST_MAX_AGE_MS) {
        // cleared before the request: an event during it marks the list dirty again
        listDirty = false;
        listedAt = Date.now();
        try {
          list = await get<ContainerSummary[]>('/containers/json?all=1');
        } catch (err) {
          listDirty = true;
          throw err;
        }
        listed = new Set(list.map((c) => c.Id));
      }
      for (const id of restarts.keys()) if (!listed.has(id)) restarts.delete(id);
      await inspect(list!.filter((c) => !restarts.has(c.Id) || stale.has(c.Id)).map((c) => c.Id));
      return containerViews(list!, stats, restarts, hostMemory);
    },
    async describe(id) {
      try {
        const body = await get<{ Id: string; Name?: string; Config?: { Labels?: Record<string, string> | null; Image?: string } }>(`/containers/${encodeURIComponent(id)}/json`);
        return { id: body.Id, name: (body.Name ?? '').replace(/^\//, ''), image: body.Config?.Image ?? '', labels: body.Config?.Labels ?? {} };
      } catch {
        return undefined;
      }
    },
    changed: (action, id) => {
      if (LIST_EVENTS.has(action)) listDirty = true;
      if (action === 'start' || action === 'die' || action === 'restart') stale.add(id);
    },
    events: (since, onEvent, onEnd) => followEvents(socket, since, onEvent, onEnd),
    requests: () => counts,
  };
}
