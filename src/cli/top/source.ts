/**
 * Where corral top's numbers come from, and the collector that turns them into frames. Each tick is
 * two requests whatever the number of containers: GET /containers/json?all=1 and GET
 * /containers/stats?all=1 (the daemon's sampling cache, every container at once), plus an inspect of
 * a container only when it is new or an event says its limits or restart count changed. Events come
 * from one GET /events stream, opened with the last hour's history (the daemon keeps its last 1024
 * events), never a stream per container.
 *
 * The source is an interface so that the layout and the dashboard run on a fake in tests.
 */
import { ApiResponseError, call } from '../../client/client.js';
import { followEvents, type DaemonEvent } from '../../client/events.js';
import type { DockerStats } from '../../metrics/docker-stats-types.js';
import { buildRows, detailFromInspect, type ContainerDetail, type ContainerSummary, type TickOutput, type TopRow } from './model.js';

/** One event of GET /events (the fields corral top reads). */
export type TopEvent = DaemonEvent;

/** What the daemon says about itself (GET /info). */
export interface DaemonInfo {
  version: string;
  cgroupVersion: string;
  ncpu: number | undefined;
  /** the controllers the daemon can limit with */
  controllers: string[];
}

/** The daemon as corral top needs it. */
export interface TopSource {
  /** the daemon's address, for messages */
  readonly address: string;
  list(): Promise<ContainerSummary[]>;
  stats(): Promise<DockerStats[]>;
  inspect(id: string): Promise<ContainerDetail>;
  info(): Promise<DaemonInfo>;
  /** the event stream, starting `sinceSeconds` back; `onEnd` once it ends or fails */
  events(sinceSeconds: number, onEvent: (e: TopEvent) => void, onEnd: (err?: Error) => void): { close(): void };
  /** stop, restart, kill, remove */
  act(id: string, action: ContainerAction): Promise<void>;
  /** POST /containers/{id}/update with Docker's UpdateConfig fields */
  update(id: string, body: Record<string, unknown>): Promise<void>;
  /** a container's last lines and what it writes next, line by line (stdout and stderr) */
  logs(id: string, timestamps: boolean, onLine: (line: string) => void): { close(): void };
}

export type ContainerAction = 'stop' | 'restart' | 'kill' | 'remove';

/** The daemon behind a socket. */
export function socketSource(socket: string): TopSource {
  const get = async <T>(path: string) => (await call<T>(socket, { method: 'GET', path })).body;
  return {
    address: `unix://${socket}`,
    list: () => get<ContainerSummary[]>('/containers/json?all=1'),
    stats: () => get<DockerStats[]>('/containers/stats?all=1'),
    inspect: async (id) => detailFromInspect(await get(`/containers/${encodeURIComponent(id)}/json`)),
    info: async () => {
      const i = await get<Record<string, unknown>>('/info');
      const controllers = (
        [
          ['cpu', i.CpuCfsQuota],
          ['cpuset', i.CPUSet],
          ['memory', i.MemoryLimit],
          ['pids', i.PidsLimit],
        ] as const
      )
        .filter(([, on]) => on === true)
        .map(([c]) => c);
      return { version: String(i.ServerVersion ?? '?'), cgroupVersion: String(i.CgroupVersion ?? '?'), ncpu: typeof i.NCPU === 'number' ? i.NCPU : undefined, controllers };
    },
    events: (sinceSeconds, onEvent, onEnd) => followEvents(socket, sinceSeconds, onEvent, onEnd),
    logs: (id, timestamps, onLine) => {
      let closed = false;
      let destroy: (() => void) | undefined;
      void (async () => {
        try {
          const { openStream } = await import('../../client/stream.js');
          const { StreamDemuxer } = await import('../../client/demux.js');
          const res = await openStream(socket, { method: 'GET', path: `/containers/${encodeURIComponent(id)}/logs?stdout=1&stderr=1&follow=1&tail=500${timestamps ? '&timestamps=1' : ''}` });
          destroy = () => res.destroy();
          if (closed) res.destroy();
          const demux = new StreamDemuxer();
          let partial = '';
          for await (const chunk of res) {
            for (const f of demux.push(chunk as Buffer)) {
              const parts = (partial + f.payload.toString('utf8')).split('\n');
              partial = parts.pop() ?? '';
              for (const l of parts) onLine(l);
            }
          }
          if (partial) onLine(partial);
        } catch (err) {
          if (!closed) onLine(`(logs: ${err instanceof Error ? err.message : String(err)})`);
        }
      })();
      return {
        close: () => {
          closed = true;
          destroy?.();
        },
      };
    },
    update: async (id, body) => {
      await call(socket, { method: 'POST', path: `/containers/${encodeURIComponent(id)}/update`, body });
    },
    act: async (id, action) => {
      const ref = encodeURIComponent(id);
      if (action === 'remove') await call(socket, { method: 'DELETE', path: `/containers/${ref}?force=1` });
      else await call(socket, { method: 'POST', path: `/containers/${ref}/${action}` });
    },
  };
}

/** One frame: what a tick read, ready for the layout. */
export interface Frame {
  /** ms since the epoch */
  time: number;
  rows: TopRow[];
  /** undefined while the daemon answers; otherwise what went wrong (the dashboard says so and retries) */
  error: string | undefined;
  /** OOM kills in the last hour, every container */
  oomLastHour: number;
  daemon: DaemonInfo | undefined;
}

/** Events that change what an inspect says (restart count, limits, start time). */
const REINSPECT = new Set(['start', 'restart', 'die', 'update', 'oom']);
/** Inspects under way at once. */
const INSPECT_CONCURRENCY = 16;
/** Events kept for the event pane. */
export const EVENT_HISTORY = 200;

/** Collects frames from a source: rates across ticks, inspected limits, events and OOM kills. */
export class Collector {
  private counters: TickOutput['counters'] = new Map();
  private readonly details = new Map<string, ContainerDetail>();
  private readonly stale = new Set<string>();
  private readonly oomKills = new Map<string, number>();
  private readonly oomTimes: number[] = [];
  /** newest last */
  readonly events: TopEvent[] = [];
  private stream: { close(): void } | undefined;
  private streaming = false;
  private lastEventSeconds: number | undefined;
  private daemon: DaemonInfo | undefined;
  /** called when an event arrives (the dashboard redraws its pane) */
  onEvent: ((e: TopEvent) => void) | undefined;

  private readonly inspecting = new Set<string>();

  constructor(
    private readonly source: TopSource,
    private readonly now: () => number = Date.now,
    private readonly options: { waitForDetails: boolean } = { waitForDetails: true },
  ) {}

  /** Inspect containers, INSPECT_CONCURRENCY at a time (500 new containers are not 500 connections at once). */
  private async inspect(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.inspecting.add(id);
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        this.stale.delete(id);
        try {
          this.details.set(id, await this.source.inspect(id));
        } catch (err) {
          // removed between the list and the inspect: its row goes next tick
          if (!(err instanceof ApiResponseError && err.status === 404)) throw err;
        } finally {
          this.inspecting.delete(id);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(INSPECT_CONCURRENCY, ids.length) }, worker));
  }

  /** One tick: the two requests, inspects of new or changed containers, the rows. Never throws. */
  async tick(): Promise<Frame> {
    const time = this.now();
    try {
      const [containers, stats] = await Promise.all([this.source.list(), this.source.stats()]);
      if (!this.streaming) this.openEvents(time);
      this.daemon ??= await this.source.info().catch(() => undefined);
      const ids = new Set(containers.map((c) => c.Id));
      for (const id of this.details.keys()) if (!ids.has(id)) this.details.delete(id);
      const wanted = containers.filter((c) => (!this.details.has(c.Id) || this.stale.has(c.Id)) && !this.inspecting.has(c.Id));
      const inspects = this.inspect(wanted.map((c) => c.Id));
      // the dashboard draws what it has at once (a new container's limits show from the next tick);
      // --batch waits, so that each frame is complete
      if (this.options.waitForDetails) await inspects;
      else inspects.catch(() => undefined);
      const out = buildRows({ now: time, containers, stats, details: this.details, oomKills: this.oomKills }, this.counters);
      this.counters = out.counters;
      return { time, rows: out.rows, error: undefined, oomLastHour: this.oomLastHour(time), daemon: this.daemon };
    } catch (err) {
      // the daemon went away (or failed): say so; the next tick tries again, the events stream is reopened
      this.daemon = undefined;
      this.stream?.close();
      this.streaming = false;
      const message = err instanceof Error ? err.message : String(err);
      return { time, rows: [], error: message, oomLastHour: this.oomLastHour(time), daemon: undefined };
    }
  }

  private oomLastHour(time: number): number {
    while (this.oomTimes.length > 0 && this.oomTimes[0]! < time - 3_600_000) this.oomTimes.shift();
    return this.oomTimes.length;
  }

  private openEvents(time: number): void {
    this.streaming = true;
    // the first time the last hour's (for "OOM kills in the last hour"); after a reconnect, from the last event seen
    const since = this.lastEventSeconds !== undefined ? this.lastEventSeconds + 1 : time / 1000 - 3600;
    this.stream = this.source.events(
      since,
      (e) => this.record(e),
      () => {
        this.streaming = false;
      },
    );
  }

  /** One event: kept for the pane; an OOM kill counted; the container's inspect refreshed. */
  record(e: TopEvent): void {
    const id = e.Actor?.ID ?? e.id ?? '';
    if (e.time !== undefined) this.lastEventSeconds = e.time;
    if (e.Type === 'container' || e.Type === undefined) {
      if (e.Action === 'oom') {
        this.oomKills.set(id, (this.oomKills.get(id) ?? 0) + 1);
        this.oomTimes.push(e.time !== undefined ? e.time * 1000 : this.now());
      }
      if (REINSPECT.has(e.Action ?? '')) this.stale.add(id);
    }
    this.events.push(e);
    if (this.events.length > EVENT_HISTORY) this.events.splice(0, this.events.length - EVENT_HISTORY);
    this.onEvent?.(e);
  }

  close(): void {
    this.stream?.close();
    this.streaming = false;
  }
}
