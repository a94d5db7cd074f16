/**
 * Delivery: one loop per receiver takes its notifications from the queue, oldest first, and sends
 * them; a receiver that is down, slow or failing delays only itself. A retryable failure waits a
 * capped exponential back-off (from `minBackoffMs`, doubling, at most `maxBackoffMs`, with up to a
 * tenth of jitter) before the same notifications are tried again; a refusal (4xx) of a batch is
 * retried one notification at a time, so that one bad alert does not sink the others, and a
 * notification refused on its own is logged with the receiver's answer, counted and dropped.
 */
import type { Logger } from '../log.js';
import type { AlertMetrics } from './metrics.js';
import type { DiskQueue } from './queue.js';
import type { Receiver } from './receivers.js';

export interface DeliveryOptions {
  minBackoffMs: number;
  maxBackoffMs: number;
  now?: () => number;
}

export const DEFAULT_MIN_BACKOFF_MS = 500;
export const DEFAULT_MAX_BACKOFF_MS = 30_000;

/** The wait before retry number `attempt` (1-based): min * 2^(attempt-1), capped, plus jitter. */
export function backoff(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(base + base * 0.1 * random());
}

export class Delivery {
  private readonly wakers = new Map<string, () => void>();
  private readonly loops: Promise<void>[] = [];
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<() => void>();

  constructor(
    private readonly queue: DiskQueue,
    private readonly receivers: readonly Receiver[],
    private readonly metrics: AlertMetrics,
    private readonly log: Logger,
    private readonly options: DeliveryOptions,
  ) {}

  start(): void {
    for (const r of this.receivers) this.loops.push(this.run(r));
  }

  /** Something was queued: the idle loops look again. */
  wake(): void {
    for (const w of [...this.wakers.values()]) w();
  }

  private sleep(ms: number | undefined, receiver: string): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (timer) {
          clearTimeout(timer);
          this.timers.delete(timer);
        }
        this.wakers.delete(receiver);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      if (timer) this.timers.add(timer);
      // an idle loop is woken by a push; a backing-off one only by its timer (or close)
      if (ms === undefined) this.wakers.set(receiver, done);
      this.sleepers.add(done);
    });
  }

  private async run(r: Receiver): Promise<void> {
    const now = this.options.now ?? Date.now;
    let failures = 0;
    let single = false;
    while (!this.closed) {
      const batch = this.queue.peek(r.id, single ? 1 : r.batch);
      if (batch.length === 0) {
        single = false;
        await this.sleep(undefined, r.id);
        continue;
      }
      const result = await r.send(
        batch.map((e) => e.alert),
        now(),
      );
      if (this.closed && result.outcome !== 'sent') break;
      if (result.outcome === 'sent') {
        this.queue.remove(batch);
        this.metrics.sent.inc({ receiver: r.description }, batch.length);
        if (failures > 0) this.log.info('receiver takes notifications again', { receiver: r.description, failures });
        failures = 0;
        continue;
      }
      if (result.outcome === 'refused') {
        if (batch.length > 1) {
          // which one? each alone, from the first
          single = true;
          continue;
        }
        this.queue.remove(batch);
        this.metrics.failed.inc({ receiver: r.description });
        this.log.error('receiver refused a notification: dropped, not retried', {
          receiver: r.description,
          status: result.status,
          answer: result.reason,
          alertname: batch[0]!.alert.rule,
          fingerprint: batch[0]!.alert.fingerprint,
        });
        continue;
      }
      failures++;
      this.metrics.retried.inc({ receiver: r.description }, batch.length);
      const wait = backoff(failures, this.options.minBackoffMs, this.options.maxBackoffMs);
      (failures === 1 ? this.log.warn : this.log.debug).call(this.log, 'receiver failed: retrying', {
        receiver: r.description,
        reason: result.reason,
        failures,
        retryInMs: wait,
        queued: batch.length,
      });
      await this.sleep(wait, r.id);
    }
  }

  /** Stop every loop (a send under way is waited for, its timeout bounds it). */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of [...this.sleepers]) s();
    await Promise.all(this.loops);
  }
}
