/**
 * `corral events [--since T] [--until T] [--filter k=v]... [--format json|TEMPLATE]`: the daemon's
 * event stream (GET /events), one line per event, until --until is reached or the command is
 * interrupted.
 */
import { createInterface } from 'node:readline';
import { openStream } from '../../client/stream.js';
import { formatEvent, parseEventLine, parseEventsFormat } from '../format/events.js';
import { clientCommand, parseCommand, repeatable } from './parse.js';
import type { ClientContext } from './context.js';
import { filtersQuery, parseTimeFlag } from './values.js';

interface EventsOptions {
  since?: string;
  until?: string;
  filter?: string[];
  format?: string;
}

export function eventsCommand() {
  return clientCommand('events', '[OPTIONS]', "stream the daemon's events (create, start, die, oom, kill, stop, destroy, ...)")
    .option('--since <time>', 'also the kept events since a time: unix seconds, RFC 3339 or a duration back from now (10m)')
    .option('--until <time>', 'stop at this time (same forms as --since)')
    .addOption(repeatable('-f, --filter <key=value>', 'filter: container, event, type, image, label, daemon'))
    .option('--format <format>', "json (one object a line) or a Go template such as '{{.Action}} {{.Actor.Attributes.name}}'");
}

export async function events(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { opts } = parseCommand<EventsOptions>(eventsCommand(), argv);
  const format = parseEventsFormat(opts.format);
  const query = new URLSearchParams();
  const now = ctx.now();
  if (opts.since !== undefined) query.set('since', parseTimeFlag('--since', opts.since, now));
  if (opts.until !== undefined) query.set('until', parseTimeFlag('--until', opts.until, now));
  const filters = filtersQuery('--filter', opts.filter ?? []);
  if (filters !== undefined) query.set('filters', filters);
  const q = query.toString();
  const res = await openStream(ctx.socket, { method: 'GET', path: `/events${q ? `?${q}` : ''}` });
  for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    ctx.out.write(`${formatEvent(parseEventLine(line), format)}\n`);
  }
  return 0;
}
