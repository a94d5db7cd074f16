/**
 * GET /events: Docker's event stream as NDJSON. With `since`, the kept history from that time comes
 * first; with `until`, the stream ends at that time (at once when it is past); without `until` it
 * stays open and follows new events until the client goes away.
 */
import { eventMatches, parseEventFilters, parseEventTime, type DockerEvent, type EventBus } from './events.js';
import type { RouteContext } from './router.js';

export function eventsRoute(bus: EventBus, ctx: RouteContext): Promise<void> {
  const filters = parseEventFilters(ctx.query.get('filters'));
  const since = parseEventTime(ctx.query.get('since'), 'since');
  const until = parseEventTime(ctx.query.get('until'), 'until');
  const { res } = ctx;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const send = (e: DockerEvent) => {
    if (eventMatches(e, filters) && (until === undefined || e.timeNano <= until)) res.write(JSON.stringify(e) + '\n');
  };
  // subscribe before replaying, so that nothing published in between is lost; the replay is
  // synchronous, so nothing is sent twice either
  const seen: DockerEvent[] = [];
  const unsubscribe = bus.subscribe((e) => seen.push(e));
  if (since !== undefined) for (const e of bus.between(since, until)) send(e);
  unsubscribe();
  for (const e of seen) send(e);
  const nowNano = Date.now() * 1_000_000;
  if (until !== undefined && until <= nowNano) {
    res.end();
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const stop = bus.subscribe(send);
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      stop();
      if (timer) clearTimeout(timer);
      if (!res.writableEnded) res.end();
      resolve();
    };
    if (until !== undefined) timer = setTimeout(finish, Math.ceil((until - nowNano) / 1_000_000));
    res.on('close', finish);
  });
}
