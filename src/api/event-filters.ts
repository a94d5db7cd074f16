/** GET /events's query: Docker's `filters` and the `since`/`until` times. */
import type { DockerEvent } from '../events.js';
import { ApiError } from './errors.js';
import { quoteInput } from '../errors.js';
import { parseTimestampNanos } from './validate.js';

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

/** moby's matchImage for an image event: its ID or name, with or without the tag. */
function imageEventMatches(e: DockerEvent, v: string): boolean {
  const stripTag = (s: string) => (s.startsWith('sha256:') ? s : s.replace(/:[^:/]*$/, ''));
  const name = e.Actor.Attributes.name ?? '';
  return [e.Actor.ID, name, stripTag(e.Actor.ID), stripTag(name)].includes(v);
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
    any(f.image, (v) => (e.Type === 'image' ? imageEventMatches(e, v) : attrs.image === v)) &&
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
