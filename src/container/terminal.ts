/**
 * The daemon's side of a container's input and terminal (-i, -t): the `stdin` and `control` FIFOs
 * the launcher reads (native/PROTOCOL.md "Terminal and input"), in the container's directory.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CONTAINER_FILES } from './layout.js';

/**
 * A writer of the container's input. The FIFO is opened for reading and writing, so that opening
 * never waits for the launcher (an attach comes before the start: what it sends waits in the
 * FIFO) and never fails for want of a reader; writes that the launcher has not taken yet wait in
 * the socket's queue (back-pressure: `write` returns false). Undefined when the container keeps no
 * stdin open.
 */
export function openInput(dir: string): net.Socket | undefined {
  let fd: number;
  try {
    // non-blocking, so opening (and each write) returns at once: no thread waits on a FIFO
    fd = openSync(path.join(dir, CONTAINER_FILES.stdin), constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // the socket owns the descriptor from here on (destroying it closes the fd)
  const socket = new net.Socket({ fd, readable: false, writable: true });
  socket.on('error', () => {});
  return socket;
}

/**
 * One command to the launcher (`resize ROWS COLS`, `close-stdin`): a single write of one line, so
 * that commands from several clients never interleave. False when no launcher reads it (the
 * container does not run, or has no terminal or input): there is nobody to tell.
 */
export function sendControl(dir: string, command: string): boolean {
  return sendControlTo(path.join(dir, CONTAINER_FILES.control), command);
}

/** sendControl to the control FIFO at `file` (an exec's, beside its spec). */
export function sendControlTo(file: string, command: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENXIO') return false;
    throw err;
  }
  try {
    writeSync(fd, `${command}\n`);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return false; // a launcher that does not read: dropped
    throw err;
  } finally {
    closeSync(fd);
  }
}
