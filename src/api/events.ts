/**
 * The daemon's event stream, in the Docker Engine API's shape (GET /events): every container
 * lifecycle change (create, start, die, oom, restart, stop, kill, destroy, update, exec_*) and the
 * daemon's own reports (a workloads file that does not parse) become one event, kept in a bounded
 * in-memory history for `since` and pushed to the live subscribers.
 *
 * Like Docker's, the history is in memory only (Docker keeps 256 events; we keep EVENT_HISTORY): a
 * restarted daemon starts a new history. Filters and times follow Docker's API: `filters` is a JSON
 * object of string lists (`{"event":["die"],"container":["web"]}`), `since`/`until` are unix
 * seconds with an optional fraction (the CLI turns durations and RFC 3339 into these).
 */
import { InvalidArgumentError } from '../errors.js';
import { ApiError, quoteInput } from './errors.js';
import { parseTimestampNanos } from './validate.js';

export const EVENT_HISTORY = 1024;

export type EventType = 'container' | 'daemon';

export interface DockerEvent {
  /** Docker's deprecated top-level fields, kept because older clients read them (container events only) */
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  /** unix seconds */
  time: number;
  /** unix nanoseconds */
  timeNano: number;
}

export interface ContainerActor {
  id: string;
  name?: string;
  /** the image, for corral the rootfs directory (or "host") */
  image?: string;
}

export type EventListener = (event: DockerEvent) => void;

/** Now in nanoseconds since the epoch, from the wall clock. */
function wallNanos(): bigint {
  const ms = BigInt(Date.now());
  // hrtime's sub-millisecond part keeps events in one millisecond ordered and distinct
  return ms * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}

export class EventBus {
  private readonly history: DockerEvent[] = [];
  private readonly listeners = new Set<EventListener>();
  private lastNano = 0n;

  constructor(private readonly capacity = EVENT_HISTORY, private readonly now: () => bigint = wallNanos) {}

  /** A container event; the name and image go into the attributes, as Docker puts them there. */
  container(action: string, actor: ContainerActor, attributes: Record<string, string | number | boolean | undefined> = {}): DockerEvent {
    const attrs: Record<string, string> = {};
    if (actor.image !== undefined) attrs.image = actor.image;
    if (actor.name !== undefined) attrs.name = actor.name;
    for (const [k, v] of Object.entries(attributes)) if (v !== undefined) attrs[k] = String(v);
    return this.publish({
      status: action,
      id: actor.id,
      ...(actor.image !== undefined ? { from: actor.image } : {}),
      Type: 'container',
      Action: action,
      Actor: { ID: actor.id, Attributes: attrs },
    });
  }

  /** A daemon event (Docker's Type "daemon"), e.g. a workloads file that was rejected. */
  daemon(action: string, daemonId: string, attributes: Record<string, string>): DockerEvent {
    return this.publish({ Type: 'daemon', Action: action, Actor: { ID: daemonId, Attributes: { ...attributes } } });
  }

  private publish(partial: Omit<DockerEvent, 'scope' | 'time' | 'timeNano'>): DockerEvent {
    let nano = this.now();
    // strictly increasing, so that `since` = an event's time never loses the events after it
    if (nano <= this.lastNano) nano = this.lastNano + 1n;
    this.lastNano = nano;
    const event: DockerEvent = { ...partial, scope: 'local', time: Number(nano / 1_000_000_000n), timeNano: Number(nano) };
    this.history.push(event);
    if (this.history.length > this.capacity) this.history.splice(0, this.history.length - this.capacity);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a broken subscriber must not stop the others or the emitter
      }
    }
    return event;
  }

  /** The kept events with sinceNano <= timeNano <= untilNano. */
  between(sinceNano: number | undefined, untilNano: number | undefined): DockerEvent[] {
    return this.history.filter((e) => (sinceNano === undefined || e.timeNano >= sinceNano) && (untilNano === undefined || e.timeNano <= untilNano));
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }
}

/** The filter names /events accepts (Docker's, those that mean something for corral). */
export const EVENT_FILTERS = ['container', 'event', 'type', 'label', 'image', 'daemon'] as const;
export type EventFilters = Partial<Record<(typeof EVENT_FILTERS)[number], string[]>>;

/**
 * Docker's `filters` query value: a JSON object whose values are string lists (or, in old clients,
 * objects whose keys are the values: {"event":{"die":true}}). Unknown filter names are a 400, as in Docker.
 */
export function parseEventFilters(text: string | null): EventFilters {
  if (text === null || text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError(400, `invalid filters ${quoteInput(text)}: expected a JSON object such as {"event":["die"]}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ApiError(400, `invalid filters ${quoteInput(text)}: expected a JSON object such as {"event":["die"]}`);
  const out: EventFilters = {};
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!(EVENT_FILTERS as readonly string[]).includes(name)) throw new ApiError(400, `invalid filter '${name}': expected one of ${EVENT_FILTERS.join(', ')}`);
    let values: unknown[];
    if (Array.isArray(value)) values = value;
    else if (typeof value === 'object' && value !== null) values = Object.keys(value);
    else throw new ApiError(400, `invalid filter '${name}': expected a list of strings`);
    if (!values.every((v): v is string => typeof v === 'string')) throw new ApiError(400, `invalid filter '${name}': expected a list of strings`);
    out[name as keyof EventFilters] = values;
  }
  return out;
}

/**
 * Whether an event passes the filters: every named filter must match (AND), any of a filter's values
 * may (OR). `container` matches the full id, an id prefix of 12+ characters, or the name.
 */
export function eventMatches(e: DockerEvent, f: EventFilters): boolean {
  const any = (values: string[] | undefined, test: (v: string) => boolean) => values === undefined || values.length === 0 || values.some(test);
  const attrs = e.Actor.Attributes;
  return (
    any(f.type, (v) => v === e.Type) &&
    any(f.event, (v) => v === e.Action) &&
    any(f.container, (v) => e.Type === 'container' && (v === e.Actor.ID || v === attrs.name || (v.length >= 12 && e.Actor.ID.startsWith(v)))) &&
    any(f.image, (v) => attrs.image === v) &&
    any(f.daemon, (v) => e.Type === 'daemon' && v === e.Actor.ID) &&
    any(f.label, (v) => {
      const eq = v.indexOf('=');
      return eq < 0 ? attrs[v] !== undefined : attrs[v.slice(0, eq)] === v.slice(eq + 1);
    })
  );
}

/** A `since`/`until` query value as unix nanoseconds (see parseTimestampNanos); undefined when absent. */
export function parseEventTime(text: string | null, name: string): number | undefined {
  const nanos = parseTimestampNanos(text, name);
  return nanos === undefined ? undefined : Number(nanos);
}

/**
 * The CLI's --since/--until as the API's timestamp: unix seconds, RFC 3339 ("2026-11-23T10:00:00Z",
 * a date alone), or a Go duration back from now ("10m", "1h30m", "90s"), as `docker events` takes them.
 */
export function cliTimeToTimestamp(text: string, flag: string, nowMs: number): string {
  if (/^\d{1,12}(\.\d{1,9})?$/.test(text)) return text;
  const duration = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/.exec(text);
  if (duration && text !== '') {
    const ms = Number(duration[1] ?? 0) * 3_600_000 + Number(duration[2] ?? 0) * 60_000 + Number(duration[3] ?? 0) * 1000 + Number(duration[4] ?? 0);
    return ((nowMs - ms) / 1000).toFixed(9);
  }
  if (/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?)?$/.test(text)) {
    const t = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
    if (!Number.isNaN(t)) return (t / 1000).toFixed(3);
  }
  throw new InvalidArgumentError(flag, text, 'unix seconds, an RFC 3339 time (2026-11-23T10:00:00Z) or a duration back from now (10m, 1h30m)');
}
