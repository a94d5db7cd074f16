/** What the v1 and v2 memory-event sources share: set-up started at once, and the fan-out to listeners. */
import type { MemoryEventOptions, MemoryNotification } from './types.js';

export abstract class MemoryEventSourceBase {
  readonly ready: Promise<void>;
  private readonly listeners: ((what: MemoryNotification) => void)[] = [];
  protected closed = false;

  constructor(protected readonly onError: MemoryEventOptions['onError']) {
    // set-up starts now and listeners are added before anything can arrive, so none is missed
    this.ready = Promise.resolve().then(() => this.setup());
    this.ready.catch(() => {}); // the caller hears of it through `ready`
  }

  protected abstract setup(): Promise<void>;

  onChange(listener: (what: MemoryNotification) => void): void {
    this.listeners.push(listener);
  }

  /** Tell every listener; one that throws is reported and does not keep the others from hearing. */
  protected emit(what: MemoryNotification): void {
    if (this.closed) return;
    for (const listener of this.listeners) {
      try {
        listener(what);
      } catch (err) {
        this.onError?.(err as Error);
      }
    }
  }
}
