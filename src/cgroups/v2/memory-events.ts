/**
 * cgroup v2 memory notifications: the kernel notifies a change of `memory.events` to inotify (a
 * modified event) at most every 20 ms per file, a later change deferred by a timer, never dropped.
 *
 * It is watched with chokidar through its `raw` event, straight from the inotify event, every time:
 * chokidar's `change` drops events within 5 ms of a raw event and within 50 ms of the last `change`,
 * with no trailing edge, and stats the file first, so a kill notified inside that window would wait
 * for the reader's backstop. For the same reason its `unlink` is lost when the removal comes within
 * 5 ms of a change (an OOM kill, then the cgroup's removal): the removal is taken from the raw
 * event too, a `rename` after which the file is gone.
 */
import fsp from 'node:fs/promises';
import { posix as path } from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import { MemoryEventSourceBase } from '../memory-events.js';
import type { MemoryEventOptions, V2MemoryEventSource } from '../types.js';

export interface V2MemoryEventsOptions extends MemoryEventOptions {
  /** the cgroup's directory */
  dir: string;
}

export class V2MemoryEvents extends MemoryEventSourceBase implements V2MemoryEventSource {
  readonly mode = 'v2' as const;
  private watcher: FSWatcher | undefined;

  constructor(private readonly o: V2MemoryEventsOptions) {
    super(o.onError);
  }

  protected async setup(): Promise<void> {
    const file = path.join(this.o.dir, 'memory.events');
    await fsp.access(file);
    const watcher = chokidar.watch(file, { ignoreInitial: true });
    this.watcher = watcher;
    let gone = false;
    const removed = () => {
      if (gone || this.closed) return;
      gone = true;
      this.emit('gone');
    };
    watcher.on('raw', (event) => {
      this.emit('events');
      if (event === 'rename') fsp.access(file).catch(removed);
    });
    watcher.on('unlink', removed);
    watcher.on('error', (err) => this.o.onError?.(err as Error));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ready.catch(() => {});
    await this.watcher?.close();
    this.watcher = undefined;
  }
}
