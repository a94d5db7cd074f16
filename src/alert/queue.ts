/**
 * The on-disk notification queue under --state: nothing is sent before it is written. One file per
 * notification and receiver, `<seq>.<receiver>.json` (seq: 16 digits, so names sort in order),
 * written atomically and fsynced (state/atomic.ts) before the send is attempted, removed once the
 * receiver has taken it (or refused it for good). A sidecar killed at any point finds on start every
 * notification that was not confirmed, and sends it again: delivery is at-least-once, and the
 * stable fingerprint lets Alertmanager (and webhook receivers) take a repeat as the same alert.
 *
 * Bounded: at `maxEntries` the oldest resolved notification is dropped to make room, then the oldest
 * firing one; every drop is returned for the caller to log and count. A resend of a firing alert is
 * not queued while that receiver still has a notification of the same alert waiting (it would say
 * nothing new, and a down receiver would otherwise fill the queue with resends).
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';
import type { Alert } from './engine.js';

export interface QueueEntry {
  seq: number;
  /** the receiver's id (receivers.ts) */
  receiver: string;
  alert: Alert;
  /** ms since the epoch */
  queuedAt: number;
}

/** The default bound, entries over every receiver. */
export const DEFAULT_QUEUE_SIZE = 10_000;

const NAME = /^(\d{16})\.([a-z0-9-]+)\.json$/;

export interface DroppedEntry {
  entry: QueueEntry;
  reason: 'queue-full' | 'unknown-receiver' | 'unreadable';
}

export class DiskQueue {
  /** by seq, ascending */
  private readonly entries = new Map<number, QueueEntry>();
  private nextSeq = 1;

  private constructor(
    readonly dir: string,
    readonly maxEntries: number,
  ) {}

  /**
   * Open (and create) the queue in `dir`, with what an earlier run left (replayed in order). Entries
   * of receivers not in `receivers` are dropped, as are files that do not parse (a crash cannot
   * leave half a file: writes are atomic; a hand-edited one can).
   */
  static async open(dir: string, receivers: ReadonlySet<string>, maxEntries = DEFAULT_QUEUE_SIZE): Promise<{ queue: DiskQueue; replayed: number; dropped: DroppedEntry[] }> {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const q = new DiskQueue(dir, maxEntries);
    const dropped: DroppedEntry[] = [];
    let replayed = 0;
    for (const name of fs.readdirSync(dir).sort()) {
      const m = NAME.exec(name);
      if (!m) {
        // a temporary of an interrupted atomic write
        if (name.startsWith('.') && name.endsWith('.tmp')) fs.rmSync(path.join(dir, name), { force: true });
        continue;
      }
      const seq = Number(m[1]);
      q.nextSeq = Math.max(q.nextSeq, seq + 1);
      let entry: QueueEntry;
      try {
        entry = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as QueueEntry;
        if (entry.seq !== seq || entry.receiver !== m[2] || typeof entry.alert?.fingerprint !== 'string') throw new Error('not a queue entry');
      } catch {
        fs.rmSync(path.join(dir, name), { force: true });
        dropped.push({ entry: { seq, receiver: m[2]!, alert: { status: 'firing', labels: {}, annotations: {}, startsAt: 0, fingerprint: '', rule: '' }, queuedAt: 0 }, reason: 'unreadable' });
        continue;
      }
      if (!receivers.has(entry.receiver)) {
        fs.rmSync(path.join(dir, name), { force: true });
        dropped.push({ entry, reason: 'unknown-receiver' });
        continue;
      }
      q.entries.set(seq, entry);
      replayed++;
    }
    return { queue: q, replayed, dropped };
  }

  private file(e: Pick<QueueEntry, 'seq' | 'receiver'>): string {
    return path.join(this.dir, `${String(e.seq).padStart(16, '0')}.${e.receiver}.json`);
  }

  /**
   * Queue `alert` for `receiver` (written and fsynced when this resolves). `resend`: a repeat of a
   * firing alert, skipped while one for the same alert waits. Returns what was dropped for room.
   */
  async push(receiver: string, alert: Alert, now: number, resend = false): Promise<{ queued: boolean; dropped: DroppedEntry[] }> {
    if (resend) {
      for (const e of this.entries.values()) if (e.receiver === receiver && e.alert.fingerprint === alert.fingerprint) return { queued: false, dropped: [] };
    }
    const dropped: DroppedEntry[] = [];
    while (this.entries.size >= this.maxEntries) {
      const victim = this.oldest((e) => e.alert.status === 'resolved') ?? this.oldest(() => true)!;
      this.removeOne(victim);
      dropped.push({ entry: victim, reason: 'queue-full' });
    }
    const entry: QueueEntry = { seq: this.nextSeq++, receiver, alert, queuedAt: now };
    await writeFileAtomic(this.file(entry), JSON.stringify(entry), 0o600);
    this.entries.set(entry.seq, entry);
    return { queued: true, dropped };
  }

  private oldest(pred: (e: QueueEntry) => boolean): QueueEntry | undefined {
    for (const e of this.entries.values()) if (pred(e)) return e;
    return undefined;
  }

  /**
   * The first entries waiting for `receiver`, oldest first: at most `max`, and ending before a second
   * notification of one alert (its firing and its resolution in one request would leave the receiver
   * only the last: each state goes in a request of its own, in order).
   */
  peek(receiver: string, max: number): QueueEntry[] {
    const out: QueueEntry[] = [];
    const alerts = new Set<string>();
    for (const e of this.entries.values()) {
      if (e.receiver !== receiver) continue;
      if (alerts.has(e.alert.fingerprint)) break;
      alerts.add(e.alert.fingerprint);
      out.push(e);
      if (out.length >= max) break;
    }
    return out;
  }

  private removeOne(e: QueueEntry): void {
    this.entries.delete(e.seq);
    fs.rmSync(this.file(e), { force: true });
  }

  /** Entries a receiver took (or refused for good): gone from memory and disk. */
  remove(entries: readonly QueueEntry[]): void {
    for (const e of entries) if (this.entries.get(e.seq) === e) this.removeOne(e);
  }

  /** Entries waiting, by receiver. */
  depth(): Map<string, number> {
    const out = new Map<string, number>();
    for (const e of this.entries.values()) out.set(e.receiver, (out.get(e.receiver) ?? 0) + 1);
    return out;
  }

  get size(): number {
    return this.entries.size;
  }
}
