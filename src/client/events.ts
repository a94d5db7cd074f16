/**
 * Following GET /events: one NDJSON stream, each line handed over as a parsed event, for every
 * client that follows the daemon (corral top's event pane, corral alert's rules). The stream ends
 * when the daemon ends it or goes away (`onEnd`, with the error if one); `close()` ends it from this
 * side and is idempotent, and no `onEnd` follows it.
 */
import { createInterface } from 'node:readline';

/** One event of GET /events (Docker's shape; the fields clients read). */
export interface DaemonEvent {
  Type?: string;
  Action?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  /** unix seconds */
  time?: number;
  timeNano?: number;
}

/** Follow the event stream from `sinceSeconds` (unix seconds; the daemon keeps its last 1024 events). */
export function followEvents(socket: string, sinceSeconds: number, onEvent: (e: DaemonEvent) => void, onEnd: (err?: Error) => void): { close(): void } {
  let closed = false;
  let destroy: (() => void) | undefined;
  void (async () => {
    try {
      const { openStream } = await import('./stream.js');
      const res = await openStream(socket, { method: 'GET', path: `/events?since=${Math.floor(sinceSeconds)}` });
      destroy = () => res.destroy();
      if (closed) res.destroy();
      for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
        if (line.trim() === '') continue;
        let event: DaemonEvent;
        try {
          event = JSON.parse(line) as DaemonEvent;
        } catch {
          // a line that is not JSON is not an event: skipped
          continue;
        }
        onEvent(event);
      }
      if (!closed) onEnd();
    } catch (err) {
      if (!closed) onEnd(err as Error);
    }
  })();
  return {
    close: () => {
      closed = true;
      destroy?.();
    },
  };
}
