/**
 * Watch one file for changes, the way editors save it: in place (change), by writing a new file and
 * renaming it over the old one, or by deleting and re-creating it (unlink + add). The watch is on
 * the file's directory (depth 0, everything but the file ignored) rather than on the file itself, so
 * that it follows the name, not an inode a rename replaced. Bursts of events (an editor's save is
 * several) are debounced into one call.
 */
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

/** How long events for the file are gathered into one change, in ms. */
export const DEBOUNCE_MS = 100;

export interface FileWatch {
  /** stop watching; idempotent, and no call follows it */
  close(): Promise<void>;
}

export interface FileWatchOptions {
  /** called once per burst of changes (including the file's removal) */
  onChange: () => void;
  onError: (err: Error) => void;
  debounceMs?: number;
}

/** Watch `file` (absolute); resolves once the watch is in place. */
export async function watchFile(file: string, options: FileWatchOptions): Promise<FileWatch> {
  const dir = path.dirname(file);
  const watcher: FSWatcher = watch(dir, { depth: 0, ignoreInitial: true, ignored: (p: string) => p !== dir && p !== file, atomic: false });
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const changed = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) options.onChange();
    }, options.debounceMs ?? DEBOUNCE_MS);
  };
  watcher.on('all', (_event, p) => {
    if (p === file) changed();
  });
  watcher.on('error', (err) => options.onError(err as Error));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
