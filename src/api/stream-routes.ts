/**
 * A container's output as Docker's clients read it: `GET /containers/{id}/logs` (what is logged,
 * optionally followed) and `POST /containers/{id}/attach` (hijacked, as `docker run` and `docker
 * start -a` use it: the output of the run under way or of the next one, until it ends).
 *
 * Both send Docker's multiplexed frames (stream byte 1 stdout / 2 stderr, 3 zero bytes, a 4-byte
 * big-endian length), read from the json-file log the launcher writes (container/log-tail.ts).
 */
import type { Readable, Writable } from 'node:stream';
import { readLog, formatLogTime, type LogRecord } from '../container/logfile.js';
import { LogTail } from '../container/log-tail.js';
import type { ContainerBackend } from '../daemon/backend.js';
import { ApiError } from './errors.js';
import { openInput, sendControl } from '../container/terminal.js';
import { DetachScanner, parseDetachKeys } from './detach-keys.js';
import { hijackedInput, openStream } from './hijack.js';
import type { RouteContext } from './router.js';
import { parseContainerRef, parseTimestampNanos, queryBool, queryInt } from './validate.js';
import fs from 'node:fs/promises';
import path from 'node:path';

/** The content type of Docker's multiplexed stream for API 1.41 (later versions say multiplexed-stream). */
export const RAW_STREAM = 'application/vnd.docker.raw-stream';

/** How often a followed log is read again when no change was heard (inotify wakes the reader at once). */
const FOLLOW_POLL_MS = 250;

/** Docker's multiplexed stream frame: stream (1 stdout, 2 stderr), 3 zero bytes, big-endian length. */
export function frame(stream: 1 | 2, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export interface LogFramerOptions {
  stdout: boolean;
  stderr: boolean;
  /** prefix each line with its RFC 3339 time (nine fraction digits), as `docker logs -t` */
  timestamps: boolean;
  /** only records at or after this time: unix nanoseconds (`since`; Docker's since=0 lets all through) */
  since?: bigint;
  /** only records before this time: unix nanoseconds (`until`; 0 lets all through) */
  until?: bigint;
  /** a container with a terminal (Tty): its output is sent as it is, without frames, as Docker does */
  raw?: boolean;
  /**
   * `docker logs --details`: each line after its record's attributes (Docker's `k=v,k2=v2 `, from
   * the labels= and env= log options). corral's json-file records carry none, so as moby writes an
   * empty attribute list, each line gets a leading space.
   */
  details?: boolean;
}

/**
 * What the logs route sends for one record: its frame, or undefined when the record's stream was
 * not asked for or it is older than `since`. The same for a plain and a followed read, so that
 * `tail` is counted before `since` drops records, as Docker does.
 */
export function logFramer(o: LogFramerOptions): (rec: LogRecord) => Buffer | undefined {
  return (rec) => {
    if (rec.stream === 'stdout' ? !o.stdout : !o.stderr) return undefined;
    if (o.since !== undefined && o.since > 0n && rec.time < o.since) return undefined;
    if (o.until !== undefined && o.until > 0n && rec.time >= o.until) return undefined;
    // moby's order: the time, then the attributes (none here) and a space, then the line
    const line = o.details === true ? ` ${rec.line}` : rec.line;
    const text = o.timestamps ? `${formatLogTime(rec.time)} ${line}` : line;
    if (o.raw === true) return Buffer.from(text, 'utf8');
    return frame(rec.stream === 'stdout' ? 1 : 2, Buffer.from(text, 'utf8'));
  };
}

async function idOf(sup: ContainerBackend, ctx: RouteContext): Promise<string> {
  return sup.resolve(parseContainerRef(ctx.params.id!));
}

export async function logsRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await idOf(sup, ctx);
  const stdout = queryBool(ctx.query, 'stdout');
  const stderr = queryBool(ctx.query, 'stderr');
  if (!stdout && !stderr) throw new ApiError(400, 'Bad parameters: you must choose at least one stream');
  const tailText = ctx.query.get('tail');
  const tail = tailText === null || tailText === '' || tailText === 'all' ? undefined : queryInt(ctx.query, 'tail', 0, 1 << 30);
  const since = parseTimestampNanos(ctx.query.get('since'), 'since');
  const until = parseTimestampNanos(ctx.query.get('until'), 'until');
  const { status } = await sup.record(id);
  const raw = (await sup.hostConfigOf(id)).stored.config.tty === true;
  const toFrame = logFramer({
    stdout,
    stderr,
    timestamps: queryBool(ctx.query, 'timestamps'),
    details: queryBool(ctx.query, 'details'),
    raw,
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
  });
  // As Docker: only a running container's log is followed; any other answers with what is logged
  // (a created one would otherwise hold the request until it has run)
  if (queryBool(ctx.query, 'follow') && status === 'running') return followLog(sup, id, ctx, tail, toFrame);
  const chunks: Buffer[] = [];
  try {
    for await (const rec of readLog(sup.logPath(id), tail === undefined ? {} : { tail })) {
      const f = toFrame(rec);
      if (f) chunks.push(f);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const body = Buffer.concat(chunks);
  ctx.res.statusCode = 200;
  ctx.res.setHeader('Content-Type', RAW_STREAM);
  ctx.res.setHeader('Content-Length', body.length);
  ctx.res.end(body);
}

/**
 * `logs?follow=1`: the records so far (the last `tail`), then new ones as the launcher appends
 * them, until the container has ended (its `exit` file exists, which the launcher writes only after
 * the log is complete) or the client goes away.
 */
async function followLog(sup: ContainerBackend, id: string, ctx: RouteContext, tail: number | undefined, toFrame: (rec: LogRecord) => Buffer | undefined): Promise<void> {
  const file = sup.logPath(id);
  const exitFile = path.join(path.dirname(file), 'exit');
  const log = await LogTail.open(file, 'start');
  ctx.res.statusCode = 200;
  ctx.res.setHeader('Content-Type', RAW_STREAM);
  ctx.res.flushHeaders();
  let first = true;
  await pump(log, ctx.res, {
    toFrames: (records) => {
      const kept = first && tail !== undefined ? (tail === 0 ? [] : records.slice(-tail)) : records;
      first = false;
      return kept.map(toFrame);
    },
    // ended: the exit file is there, or the container is gone (removed at once after its exit, as
    // docker-py's run() does while it still follows the log: it must not wait for an exit file that
    // will never come)
    ended: async () => (await exists(exitFile)) || !(await exists(path.dirname(file))),
  });
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/**
 * Docker's attach: `stream` follows the output of the run under way, or of the next one (attach
 * comes before start in `docker run`), until it ends; `logs` first sends what is logged; `stdout` and
 * `stderr` choose the streams. Hijacked when the client asks (`Upgrade: tcp`: 101 and the raw
 * connection, as every Docker client does), else a 200 streamed answer. A terminal's output (Tty)
 * goes as it is, other output in Docker's frames.
 *
 * With `stdin` and a container that keeps its stdin open (OpenStdin), what the client sends after
 * the request goes to the container's input (container/terminal.ts) until the detach keys
 * (`detachKeys`, ctrl-p,ctrl-q by default), which end the attach and leave the container running.
 * When the client's input ends: without a terminal and with StdinOnce the container's stdin is
 * closed (it reads EOF), with a terminal the attach ends, as in Docker.
 */
export async function attachRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await idOf(sup, ctx);
  const stream = queryBool(ctx.query, 'stream');
  const logs = queryBool(ctx.query, 'logs');
  const detachKeys = parseDetachKeys(ctx.query.get('detachKeys'));
  const { config } = (await sup.hostConfigOf(id)).stored;
  const tty = config.tty === true;
  const toFrame = logFramer({ stdout: queryBool(ctx.query, 'stdout'), stderr: queryBool(ctx.query, 'stderr'), timestamps: false, raw: tty });
  // from now on: the run's end is not missed however soon it comes (a start may follow at once)
  let runEnded = false;
  const end = stream
    ? sup.nextExit(id).then(
        () => (runEnded = true),
        () => (runEnded = true), // removed meanwhile
      )
    : undefined;
  const input = stream && queryBool(ctx.query, 'stdin') && config.openStdin === true ? hijackedInput(ctx.req) : undefined;
  const log = await LogTail.open(sup.logPath(id), logs ? 'start' : 'end');
  const out = openStream(ctx.req, ctx.res, RAW_STREAM);
  let inputEnded = false;
  let stopInput = () => {};
  const attachEnded = new Promise<void>((resolve) => {
    if (!input) return;
    stopInput = relayInput(input, path.dirname(sup.logPath(id)), {
      keys: detachKeys,
      // the end of the client's input ends a terminal's attach; else closes a StdinOnce stdin
      onEnd: (how) => {
        if (how === 'detached' || tty) {
          inputEnded = true;
          resolve();
        } else if (config.stdinOnce === true) void closeStdin(path.dirname(sup.logPath(id)), () => runEnded || inputEnded || attachGone);
      },
    });
  });
  let attachGone = false;
  out.once('close', () => (attachGone = true));
  // Docker's `attach` event, once the client holds the stream (a client may start the container on it)
  await sup.emit('attach', id).catch(() => {});
  try {
    await pump(log, out, {
      toFrames: (records) => records.map(toFrame),
      ended: async () => !stream || runEnded || inputEnded,
      wakeOn: Promise.race([end ?? new Promise(() => {}), attachEnded]),
    });
  } finally {
    stopInput();
  }
}

/**
 * Copy a client's input to the container's stdin FIFO, holding back the detach keys; `onEnd` once,
 * when the keys were typed or the input ended. Returns the function that stops the copy.
 */
function relayInput(input: Readable, dir: string, o: { keys: readonly number[]; onEnd: (how: 'detached' | 'ended') => void }): () => void {
  const scanner = new DetachScanner(o.keys);
  const fifo = openInput(dir);
  let done = false;
  const finish = (how: 'detached' | 'ended') => {
    if (done) return;
    done = true;
    input.off('data', onData);
    input.resume(); // what follows is read and dropped
    o.onEnd(how);
  };
  // the end of the input is told only once what came before it is in the FIFO (a close-stdin must not overtake it)
  let written: Promise<void> = Promise.resolve();
  const onData = (chunk: Buffer) => {
    const { forward, detached } = scanner.push(chunk);
    if (forward.length > 0 && fifo) {
      written = new Promise((resolve) => {
        if (!fifo.write(forward, () => resolve())) {
          input.pause();
          fifo.once('drain', () => input.resume());
        }
      });
    }
    if (detached) finish('detached');
  };
  input.on('data', onData);
  input.once('end', () => void written.then(() => finish('ended')));
  return () => {
    done = true;
    input.off('data', onData);
    input.resume();
    fifo?.end();
  };
}

/**
 * StdinOnce: close the container's stdin once its launcher reads the control FIFO. The input may
 * end before the start (`docker run -i` with piped input: attach, input, start), when nobody reads
 * it yet and a command would be lost: it is sent again until a launcher takes it or `done()`.
 */
async function closeStdin(dir: string, done: () => boolean): Promise<void> {
  while (!sendControl(dir, 'close-stdin') && !done()) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Docker's resize: the terminal's new size (h rows, w columns), for a running container's terminal. */
export async function resizeRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await idOf(sup, ctx);
  const rows = queryInt(ctx.query, 'h', 0, 65535);
  const cols = queryInt(ctx.query, 'w', 0, 65535);
  const { status } = await sup.record(id);
  if (status !== 'running') throw new ApiError(409, `Container ${id} is not running`);
  sendControl(path.dirname(sup.logPath(id)), `resize ${rows} ${cols}`);
  ctx.res.statusCode = 200;
  ctx.res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  ctx.res.end();
}

/**
 * Send the log's new records as frames until `ended()` says the output is complete (read once more
 * after it said so) or the client went away; then end the answer and close the log. A change of the
 * file heard by inotify, or `wakeOn` settling, reads at once rather than at the next poll.
 */
async function pump(log: LogTail, out: Writable, o: { toFrames: (records: LogRecord[]) => (Buffer | undefined)[]; ended: () => Promise<boolean>; wakeOn?: Promise<unknown> }): Promise<void> {
  let gone = false;
  let wake: (() => void) | undefined;
  const onClose = () => {
    gone = true;
    wake?.();
  };
  out.once('close', onClose);
  log.onChange(() => wake?.());
  o.wakeOn?.then(() => wake?.());
  try {
    for (;;) {
      const done = await o.ended();
      const frames = o.toFrames(await log.read()).filter((f): f is Buffer => f !== undefined);
      if (gone) break;
      if (frames.length > 0 && !out.write(Buffer.concat(frames))) await new Promise<void>((resolve) => out.once('drain', resolve).once('close', resolve));
      if (done) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FOLLOW_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    out.off('close', onClose);
    await log.close();
  }
  if (!gone) out.end();
}
