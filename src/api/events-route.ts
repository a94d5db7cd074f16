/**
 * GET /events: Docker's event stream as NDJSON. With `since`, the kept history from that time comes
 * first; with `until`, the stream ends at that time (at once when it is past); without `until` it
 * stays open and follows new events until the client goes away.
 */
import type { DockerEvent, EventBus } from '../events.js';
import { eventMatches, parseEventFilters, parseEventTime } from './event-filters.js';
import type { RouteContext } from './router.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

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
    // setTimeout holds at most 2^31-1 ms (~24.8 days): a later `until` re-arms until it is reached
    const arm = () => {
      const left = Math.ceil((until! - Date.now() * 1_000_000) / 1_000_000);
      timer = left <= 0 ? setTimeout(finish, 0) : setTimeout(left > MAX_TIMER_MS ? arm : finish, Math.min(left, MAX_TIMER_MS));
    };
    if (until !== undefined) arm();
    res.on('close', finish);
  });
}
