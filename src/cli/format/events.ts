/**
 * `corral events` output for one line of GET /events: Docker's default text (docker/cli
 * prettyPrintEvent), the line itself for `--format json`, or a template over the Go field names of
 * events.Message (`{{.Type}} {{.Action}} {{.Actor.Attributes.name}}`). Pure.
 *
 * `timeNano` does not fit a double, so it is taken from the line's text, digits as sent; the time
 * is printed in UTC (Docker uses the client's local zone).
 */
import { formatLogTime } from '../../container/logfile.js';
import { ParseError } from '../../errors.js';
import { asGoMap, parseDockerFormat, RAW_JSON, renderTemplate, type DockerFormat } from './template.js';

export interface EventLine {
  /** the line as the daemon sent it (the `--format json` output) */
  raw: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  status?: string;
  id?: string;
  from?: string;
  scope?: string;
  time: number;
  /** unix nanoseconds, exactly */
  timeNano: bigint;
}

/** One NDJSON line of GET /events; a ParseError quoting it when it is not an event. */
export function parseEventLine(raw: string): EventLine {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new ParseError('event', raw.slice(0, 200));
  }
  const actor = (v?.Actor ?? {}) as { ID?: unknown; Attributes?: unknown };
  if (typeof v?.Type !== 'string' || typeof v.Action !== 'string' || typeof actor.ID !== 'string') throw new ParseError('event', raw.slice(0, 200));
  const nano = /"timeNano":\s*(\d+)/.exec(raw)?.[1];
  const time = typeof v.time === 'number' ? v.time : 0;
  return {
    raw,
    Type: v.Type,
    Action: v.Action,
    Actor: { ID: actor.ID, Attributes: (typeof actor.Attributes === 'object' && actor.Attributes !== null ? actor.Attributes : {}) as Record<string, string> },
    ...(typeof v.status === 'string' ? { status: v.status } : {}),
    ...(typeof v.id === 'string' ? { id: v.id } : {}),
    ...(typeof v.from === 'string' ? { from: v.from } : {}),
    ...(typeof v.scope === 'string' ? { scope: v.scope } : {}),
    time,
    timeNano: nano !== undefined ? BigInt(nano) : BigInt(time) * 1_000_000_000n,
  };
}

/** Docker's text line: "2026-11-23T10:00:00.123456789Z container die <id> (exitCode=3, image=..., name=...)". */
export function eventText(e: EventLine): string {
  const keys = Object.keys(e.Actor.Attributes).sort();
  const attrs = keys.length ? ` (${keys.map((k) => `${k}=${e.Actor.Attributes[k]}`).join(', ')})` : '';
  const when = e.timeNano !== 0n ? `${formatLogTime(e.timeNano)} ` : '';
  return `${when}${e.Type} ${e.Action} ${e.Actor.ID}${attrs}`;
}

/** events.Message's Go fields for templates; `{{json .}}` gives the line as sent. */
export function eventTemplateData(e: EventLine): Record<string, unknown> {
  return {
    Status: e.status ?? '',
    ID: e.id ?? '',
    From: e.from ?? '',
    Type: e.Type,
    Action: e.Action,
    Actor: { ID: e.Actor.ID, Attributes: asGoMap({ ...e.Actor.Attributes }) },
    Scope: e.scope ?? '',
    Time: e.time,
    TimeNano: e.timeNano,
    [RAW_JSON]: e.raw,
  };
}

const SAMPLE = eventTemplateData({ raw: '{}', Type: '', Action: '', Actor: { ID: '', Attributes: {} }, time: 0, timeNano: 0n });

/** --format for events: undefined (the text line), json, or a template checked against events.Message's fields. */
export function parseEventsFormat(text: string | undefined): DockerFormat | undefined {
  if (text === undefined || text === '') return undefined;
  return parseDockerFormat('--format', text, '', SAMPLE);
}

/** One event as the chosen format prints it (without the newline). */
export function formatEvent(e: EventLine, format: DockerFormat | undefined): string {
  if (format === undefined) return eventText(e);
  return renderTemplate(format.template, eventTemplateData(e));
}
