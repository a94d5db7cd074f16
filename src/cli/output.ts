/**
 * The CLI's stdout and stderr, written straight to file descriptors 1 and 2 (write(2), whole, in
 * order). Node makes process.stdout, when first used, a net.Socket if stdout is a pipe (as it is for
 * `corral ps | grep`, or any program reading the output): that alone costs a command about a sixth of
 * node's own start-up.
 *
 * Only a descriptor that is non-blocking (EAGAIN: another process set O_NONBLOCK on a pipe it shares,
 * or process.stdout was made for it) is handed to process.stdout / process.stderr, this write and every
 * later one, so that they wait for the reader in order. The reader going away (EPIPE, `corral logs web |
 * head`) ends the command quietly, as with Docker's CLI.
 */
import fs from 'node:fs';

/** Where a client command writes: stdout, stderr (FdOutput), or a test's collector. */
export interface Output {
  /** false: the text is queued (a stream waits for its reader); wait for drained() before writing more */
  write(chunk: string | Uint8Array): boolean;
  /** resolves once everything written is out */
  drained(): Promise<void>;
}

/** The reader of stdout went away: end quietly (exit 0), as `docker logs x | head` does. */
export function exitOnEpipe(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
}

export class FdOutput implements Output {
  private stream?: NodeJS.WriteStream;

  constructor(private readonly fd: 1 | 2) {}

  write(chunk: string | Uint8Array): boolean {
    if (this.stream) return this.stream.write(chunk);
    let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    while (data.length > 0) {
      try {
        data = data.subarray(fs.writeSync(this.fd, data));
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EAGAIN') return this.toStream().write(data);
        if (this.fd === 1) exitOnEpipe(e);
        throw err;
      }
    }
    return true;
  }

  drained(): Promise<void> {
    const stream = this.stream;
    if (!stream?.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => stream.once('drain', resolve));
  }

  /** Resolves once what was written is out (at once, unless it went to a stream). */
  flushed(): Promise<void> {
    const stream = this.stream;
    return stream ? new Promise((resolve) => stream.write('', () => resolve())) : Promise.resolve();
  }

  private toStream(): NodeJS.WriteStream {
    const stream = this.fd === 1 ? process.stdout : process.stderr;
    if (this.fd === 1) stream.on('error', exitOnEpipe);
    this.stream = stream;
    return stream;
  }
}

export const stdout = new FdOutput(1);
export const stderr = new FdOutput(2);
