/**
 * The daemon's event stream, in the Docker Engine API's shape (GET /events): every container
 * lifecycle change (create, start, die, oom, restart, stop, kill, destroy, update, exec_*) and the
 * daemon's own reports (a workloads file that does not parse) become one event, kept in a bounded
 * in-memory history for `since` and pushed to the live subscribers.
 *
 * Like Docker's, the history is in memory only (Docker keeps 256 events; we keep EVENT_HISTORY): a
 * restarted daemon starts a new history. Filters and times follow Docker's API: `filters` is a JSON
 * object of string lists (`{"event":["die"],"container":["web"]}`), `since`/`until` are unix
 * seconds with an optional fraction (the CLI turns durations and RFC 3339 into these); their parsing
 * is the API's (api/event-filters.ts).
 */
export const EVENT_HISTORY = 1024;

export type EventType = 'container' | 'image' | 'daemon';

export interface DockerEvent {
  /** Docker's deprecated top-level fields, kept because older clients read them (container and image events) */
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

  constructor(
    private readonly capacity = EVENT_HISTORY,
    private readonly now: () => bigint = wallNanos,
  ) {}

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

  /**
   * An image event (moby's LogImageEvent): `id` is the image's ID, or for a pull the name pulled;
   * the image's labels and `name` (the name it concerns) are the attributes.
   */
  image(action: string, id: string, attributes: Record<string, string>): DockerEvent {
    return this.publish({ status: action, id, Type: 'image', Action: action, Actor: { ID: id, Attributes: { ...attributes } } });
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
