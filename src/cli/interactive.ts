/**
 * A session on a hijacked connection, held as Docker's CLI holds one (`run -it`, `attach`, `exec
 * -it`): with a terminal, the local terminal in raw mode (every key, Ctrl-C and the detach keys
 * included, goes to the container's terminal, which acts on it) and its size sent at the start and
 * on each change; our stdin to the connection (its end a half-close, the process's EOF); the
 * connection's bytes to our stdout, as they are for a terminal, else Docker's frames to stdout and
 * stderr.
 */
import type net from 'node:net';
import { StreamDemuxer } from '../client/demux.js';
import type { Output } from './output.js';

export interface Session {
  socket: net.Socket;
  /** stream bytes that arrived with the 101 */
  head: Buffer;
  /** the container (or exec) has a terminal: one raw stream */
  tty: boolean;
  /** our stdin goes to it */
  stdin: boolean;
  /** tell the daemon the terminal's size (rows, columns) */
  resize?: (rows: number, cols: number) => Promise<void>;
  out: Output;
  err: Output;
}

/** Hold the session until the daemon ends the stream (the process ended, or the detach keys were typed). */
export async function holdSession(s: Session): Promise<void> {
  const stdin = process.stdin;
  const raw = s.tty && stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  const sendSize = () => {
    if (s.resize && process.stdout.isTTY) void s.resize(process.stdout.rows, process.stdout.columns).catch(() => {});
  };
  const onInput = (d: Buffer) => {
    if (!s.socket.write(d)) {
      stdin.pause();
      s.socket.once('drain', () => stdin.resume());
    }
  };
  const onInputEnd = () => s.socket.end();
  if (s.stdin) {
    stdin.on('data', onInput);
    stdin.once('end', onInputEnd);
    stdin.resume();
  }
  if (s.tty) {
    sendSize();
    process.stdout.on('resize', sendSize);
  }
  const demux = new StreamDemuxer();
  const write = (chunk: Buffer) => {
    if (s.tty) s.out.write(chunk);
    else for (const f of demux.push(chunk)) (f.stream === 2 ? s.err : s.out).write(f.payload);
  };
  try {
    if (s.head.length > 0) write(s.head);
    await new Promise<void>((resolve, reject) => {
      s.socket.on('data', write);
      s.socket.once('end', () => resolve());
      s.socket.once('close', () => resolve());
      s.socket.once('error', reject);
    });
  } finally {
    process.stdout.off('resize', sendSize);
    stdin.off('data', onInput);
    stdin.off('end', onInputEnd);
    if (raw) stdin.setRawMode(false);
    // nothing more is read: the process may exit
    stdin.pause();
    s.socket.destroy();
  }
}
