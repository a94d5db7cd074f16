/**
 * A container's log read on as the launcher appends to it: what `logs?follow=1` and attach stream.
 *
 * The log is read from a descriptor held open, so the last lines of a container that AutoRemove
 * takes away (its directory unlinked the moment its end is recorded) are still read. The file is
 * created empty when a reader comes before the launcher: the launcher opens it O_CREAT|O_APPEND,
 * so it writes into the same file and nothing written between the attach and the start is lost.
 * When the launcher rotates it (max-size: NAME becomes NAME.1 and a new NAME is opened), the old
 * file is read to its end and the new one from its start.
 */
import { constants, watch, type FSWatcher } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import { parseLogRecord, type LogRecord } from './logfile.js';

/** Bytes read at a time. */
const CHUNK = 64 * 1024;

export class LogTail {
  private offset: number;
  /** an unfinished last line, read but not yet complete */
  private partial = Buffer.alloc(0);
  private watcher: FSWatcher | undefined;

  private constructor(
    private handle: FileHandle,
    private ino: number,
    offset: number,
    private readonly file: string,
  ) {
    this.offset = offset;
  }

  /**
   * Open the log at `file` (creating it when absent) at its start, or at its end: only what is
   * appended afterwards is read. The end is that of the complete lines: a line being written is read
   * once it is whole.
   */
  static async open(file: string, from: 'start' | 'end'): Promise<LogTail> {
    const handle = await fs.open(file, constants.O_RDONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o640);
    try {
      const { size, ino } = await handle.stat();
      let offset = 0;
      if (from === 'end' && size > 0) {
        // back to just after the last newline, so an unfinished record is read whole later
        const start = Math.max(0, size - CHUNK);
        const buf = Buffer.alloc(size - start);
        const { bytesRead } = await handle.read(buf, 0, buf.length, start);
        const nl = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
        offset = nl < 0 ? start : start + nl + 1;
      }
      return new LogTail(handle, ino, offset, file);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** The complete records appended since the last read (and, after a rotation, those of the new file). */
  async read(): Promise<LogRecord[]> {
    const records = await this.readHandle();
    const now = await fs.stat(this.file).catch(() => undefined);
    // a new file under the name: the launcher rotated (the old one, read to its end above, is NAME.1)
    if (now && now.ino !== this.ino) {
      const next = await fs.open(this.file, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
      if (next) {
        await this.handle.close();
        this.handle = next;
        this.ino = (await next.stat()).ino;
        this.offset = 0;
        this.partial = Buffer.alloc(0);
        records.push(...(await this.readHandle()));
      }
    }
    return records;
  }

  private async readHandle(): Promise<LogRecord[]> {
    const parts: Buffer[] = [this.partial];
    for (;;) {
      const buf = Buffer.alloc(CHUNK);
      const { bytesRead } = await this.handle.read(buf, 0, CHUNK, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      parts.push(buf.subarray(0, bytesRead));
      if (bytesRead < CHUNK) break;
    }
    const data = Buffer.concat(parts);
    const end = data.lastIndexOf(0x0a);
    this.partial = Buffer.from(data.subarray(end + 1));
    if (end < 0) return [];
    return data
      .subarray(0, end)
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => parseLogRecord(l, this.file));
  }

  /**
   * Call `wake` when the file changes (inotify), so that a follower polling at a slow pace sends
   * new lines at once; a follower that cannot watch still polls.
   */
  onChange(wake: () => void): void {
    if (this.watcher) return;
    try {
      this.watcher = watch(this.file, { persistent: false }, () => wake());
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // no inotify instance left, or the file is gone: polling alone
    }
  }

  async close(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    await this.handle.close();
  }
}
