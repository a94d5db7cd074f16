/**
 * `corral daemon` as a child process for the integration tests and benches: start it on a socket
 * with a --root, talk to it, stop it by PID, and decode Docker's multiplexed log stream.
 * (Two starters grew up side by side: startTestDaemon for the lifecycle, restart and exec tests,
 * startDaemonProcess for the fault, fuzz and socket tests.)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { afterEach } from 'node:test';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBusyboxRootfs } from './busybox.js';
import { CORRAL_BIN } from './corral.js';
import { request, type HttpResult } from './http.js';

export interface TestDaemon {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly socket: string;
  /** everything it logged so far (JSON lines) */
  stderr(): string;
  /** resolves when the process is gone */
  exited: Promise<unknown>;
  /** `signal` (SIGTERM unless given; SIGKILL after 20 s), and wait until it is gone; idempotent */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * What a daemon is doing, for a request it did not answer: its state and CPU time twice a second
 * apart (spinning, or asleep), where each of its threads waits in the kernel (wchan, the system
 * call, the kernel stack), and the end of its log without the stream of answered requests.
 */
export async function daemonState(daemon: TestDaemon): Promise<string> {
  const pid = daemon.pid;
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, 'utf8').trim();
    } catch (err) {
      return `(${(err as Error).message})`;
    }
  };
  const stat = () =>
    read(`/proc/${pid}/stat`)
      .replace(/^.*\) /, '')
      .split(' ');
  const cpu = (s: string[]) => `state ${s[0]} utime+stime ${Number(s[11]) + Number(s[12])} ticks`;
  const first = stat();
  await sleep(1000);
  const second = stat();
  let threads: string[] = [];
  try {
    threads = fs.readdirSync(`/proc/${pid}/task`);
  } catch {}
  const waits = threads.map((t) => {
    const task = `/proc/${pid}/task/${t}`;
    const stack = read(`${task}/stack`).split('\n').slice(0, 6).join(' < ');
    return `  thread ${t} (${read(`${task}/comm`)}): wchan ${read(`${task}/wchan`)}; syscall ${read(`${task}/syscall`).split(' ')[0]}; stack ${stack}`;
  });
  const log = daemon
    .stderr()
    .trimEnd()
    .split('\n')
    .filter((l) => !l.includes('"msg":"request"'))
    .slice(-40)
    .join('\n');
  // its sockets with bytes not yet read (Recv-Q) or not yet taken by the peer (Send-Q), and its listener's backlog
  let sockets = '';
  try {
    sockets = execFileSync('ss', ['-xpn'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(`pid=${pid},`))
      .map((l) => `  ${l.replace(/\s+/g, ' ')}`)
      .join('\n');
  } catch (err) {
    sockets = `  (ss: ${(err as Error).message})`;
  }
  return `the daemon (pid ${pid}): ${cpu(first)}, a second later ${cpu(second)}\n${waits.join('\n')}\nits unix sockets:\n${sockets}\nits log's end (answered requests left out):\n${log}`;
}

async function answers(socket: string): Promise<boolean> {
  try {
    return (await request(socket, { path: '/_ping' })).body === 'OK';
  } catch {
    return false;
  }
}

/** Start a daemon with --log-level debug (and `args`) and wait (at most `timeoutMs`) until it answers /_ping. */
export async function startTestDaemon(root: string, socket: string, opts: { timeoutMs?: number; logLevel?: string; args?: readonly string[] } = {}): Promise<TestDaemon> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const child = spawn(process.execPath, [CORRAL_BIN, '--root', root, '--host', `unix://${socket}`, 'daemon', '--log-level', opts.logLevel ?? 'debug', ...(opts.args ?? [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const daemon: TestDaemon = {
    child,
    pid: child.pid!,
    socket,
    stderr: () => log,
    exited,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // a daemon hung on SIGTERM must not hang the file's after() (hooks have no timeout)
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
  for (const deadline = Date.now() + timeoutMs; !(await answers(socket)); await sleep(50)) {
    if (child.exitCode !== null) throw new Error(`the daemon exited (code ${child.exitCode}):\n${log}`);
    if (Date.now() > deadline) {
      await daemon.stop();
      throw new Error(`the daemon did not answer on ${socket} within ${timeoutMs} ms:\n${log}`);
    }
  }
  return daemon;
}

/** A parsed JSON answer of the API, as the tests read it: any field at any depth, checked by assert. */
// biome-ignore lint/suspicious/noExplicitAny: typing each answer the tests look into would copy the API's schema here
export type ApiJson = Record<string, any>;

/** A request with an optional JSON body; `json()` parses the answer. */
export async function apiCall(socket: string, method: string, p: string, body?: unknown) {
  const r = await request(socket, { method, path: p, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }) });
  return { ...r, json: () => JSON.parse(r.body) as ApiJson };
}

/** the same, by the name the OOM tests use */
export const api = apiCall;

/**
 * Clean-up that runs after a test whether it passed or not: force-remove `ids`, or without them
 * every container the daemon lists (for a daemon of the file's own, where no container outlives a
 * test). Those already gone (404) and a daemon that no longer answers are ignored: the file's
 * after() ends whatever is left then. Resolves with the IDs it removed.
 */
export async function forceRemoveContainers(socket: string, ids?: Iterable<string>): Promise<string[]> {
  let targets: string[];
  try {
    targets = ids !== undefined ? [...ids] : ((await apiCall(socket, 'GET', '/containers/json?all=1')).json() as unknown as { Id: string }[]).map((c) => c.Id);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const id of targets) {
    try {
      if ((await apiCall(socket, 'DELETE', `/containers/${id}?force=1`)).status === 204) removed.push(id);
    } catch {
      // the daemon no longer answers
    }
  }
  return removed;
}

/** The daemon a file's tests share, as the file holds it (its variables are set in before()). */
export interface SharedDaemon {
  /** the file's daemon; undefined when before() failed before starting it */
  daemon(): TestDaemon | undefined;
  /** start it again and keep the new one as the file's daemon */
  restart(): Promise<unknown>;
  socket(): string;
}

/**
 * After each test of a file whose tests share one daemon: a test that failed midway may have left
 * the daemon down (killed to test adoption or a restart) or containers behind (a restart loop,
 * too), so start it again and force-remove every container: the later tests and "no leaks" must
 * not fail for it as well. Bounded: a hung daemon fails the test instead of hanging the file.
 */
export function afterEachRestoreDaemon(shared: SharedDaemon): void {
  afterEach(
    async () => {
      const daemon = shared.daemon();
      if (daemon === undefined) return;
      if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) await shared.restart();
      await forceRemoveContainers(shared.socket());
    },
    { timeout: 120_000 },
  );
}

/** GET /containers/{id}/json, asserting a 200. */
export async function inspectContainer(socket: string, id: string) {
  const r = await apiCall(socket, 'GET', `/containers/${id}/json`);
  assert.equal(r.status, 200, r.body);
  return r.json();
}

export interface DaemonProcess {
  child: ChildProcess;
  pid: number;
  socket: string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Start `corral --root ROOT --host unix://SOCKET daemon ARGS` (in `cwd`, default this process's)
 * and wait (at most 60 s) until /_ping answers. `openFilesLimit`: run it under `ulimit -n` (soft and
 * hard, so Node cannot raise it).
 */
export async function startDaemonProcess(root: string, socket: string, args: string[] = ['--log-level', 'debug'], cwd?: string, openFilesLimit?: number): Promise<DaemonProcess> {
  const command = [process.execPath, CORRAL_BIN, '--root', root, '--host', `unix://${socket}`, 'daemon', ...args];
  const [bin, ...argv] = openFilesLimit === undefined ? command : ['sh', '-c', `ulimit -n ${openFilesLimit} && exec "$@"`, 'sh', ...command];
  const child = spawn(bin!, argv, { stdio: ['ignore', 'ignore', 'pipe'], ...(cwd === undefined ? {} : { cwd }) });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const d: DaemonProcess = { child, pid: child.pid!, socket, stderr: () => stderr, exited };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the daemon exited before answering:\n${stderr}`);
    try {
      if ((await request(socket, { path: '/_ping' })).body === 'OK') return d;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopDaemonProcess(d, 'SIGKILL');
      throw new Error(`the daemon did not answer on ${socket} within 60 s:\n${stderr}`);
    }
    await sleep(50);
  }
}

/** End the daemon by PID with `signal` (SIGKILL after 20 s) and wait for it; a no-op when it has ended. */
export async function stopDaemonProcess(d: DaemonProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill(signal);
  const timer = setTimeout(() => d.child.kill('SIGKILL'), 20_000);
  const result = await d.exited;
  clearTimeout(timer);
  return result;
}

export interface ApiResult extends HttpResult {
  json: () => ApiJson;
}

/** A JSON request to the API on `socket` (the body, when given, is sent as JSON). */
export async function apiRequest(socket: string, method: string, target: string, body?: unknown): Promise<ApiResult> {
  const r = await request(socket, { method, path: target, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }) });
  return { ...r, json: () => JSON.parse(r.body) as ApiJson };
}

/** A GET whose body is kept as bytes (the log stream is binary framing). */
export function getBytes(socket: string, target: string): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  return import('node:http').then(
    ({ default: http }) =>
      new Promise((resolve, reject) => {
        http
          .get({ socketPath: socket, path: target, agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
            res.on('error', reject);
          })
          .on('error', reject);
      }),
  );
}

export interface Frame {
  stream: 1 | 2;
  text: string;
}

/** Decode Docker's multiplexed stream: per frame, stream (1 or 2), three zero bytes, a big-endian length, the payload. */
export function demux(buf: Buffer): Frame[] {
  const out: Frame[] = [];
  for (let at = 0; at < buf.length; ) {
    if (buf.length - at < 8) throw new Error(`a truncated frame header at byte ${at}`);
    const stream = buf[at];
    if ((stream !== 1 && stream !== 2) || buf[at + 1] !== 0 || buf[at + 2] !== 0 || buf[at + 3] !== 0) {
      throw new Error(`a bad frame header at byte ${at}: ${buf.subarray(at, at + 8).toString('hex')}`);
    }
    const len = buf.readUInt32BE(at + 4);
    if (at + 8 + len > buf.length) throw new Error(`a frame at byte ${at} claims ${len} bytes, ${buf.length - at - 8} are left`);
    out.push({ stream, text: buf.subarray(at + 8, at + 8 + len).toString('utf8') });
    at += 8 + len;
  }
  return out;
}

/** Poll `fn` every 50 ms until it holds; throws naming `what` after `ms`. */
export async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

export interface DaemonScratch {
  /** a fresh temp dir holding the rest */
  tmp: string;
  /** the --root to give the daemon (not created: the daemon makes it) */
  root: string;
  socket: string;
  /** the shared busybox tree, for Image */
  rootfs: string;
}

/** A temp dir for one daemon's state root and socket, and the busybox rootfs; the caller removes `tmp`. */
export async function daemonScratch(prefix: string): Promise<DaemonScratch> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const rootfs = await ensureBusyboxRootfs(path.join(os.tmpdir(), 'corral-test-busybox'));
  return { tmp, root: path.join(tmp, 'root'), socket: path.join(tmp, 'corral.sock'), rootfs };
}

export interface StreamedEvent {
  /** Docker's deprecated fields (container and image events) */
  status?: string;
  id?: string;
  Action: string;
  Type: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  timeNano: number;
  /** process.hrtime.bigint() when the line arrived here */
  arrivedNs: bigint;
}

export interface EventSubscription {
  readonly events: StreamedEvent[];
  /** the first event (already received or to come) that passes `pred` */
  waitFor(pred: (e: StreamedEvent) => boolean, what: string, ms?: number): Promise<StreamedEvent>;
  close(): void;
}

/** Follow GET /events?filters=... live; resolves once the stream's headers are here (subscribed). */
export function subscribeEvents(socket: string, filters: Record<string, string[]>): Promise<EventSubscription> {
  return new Promise((resolve, reject) => {
    const events: StreamedEvent[] = [];
    const waiters = new Set<() => void>();
    let buffered = '';
    const req = http.get({ socketPath: socket, path: `/events?filters=${encodeURIComponent(JSON.stringify(filters))}`, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`GET /events: ${res.statusCode}`));
        return;
      }
      res.on('data', (chunk: Buffer) => {
        const arrivedNs = process.hrtime.bigint();
        buffered += chunk.toString('utf8');
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.trim() !== '') events.push({ ...(JSON.parse(line) as Omit<StreamedEvent, 'arrivedNs'>), arrivedNs });
        }
        for (const w of [...waiters]) w();
      });
      resolve({
        events,
        waitFor(pred, what, ms = 60_000) {
          return new Promise((res2, rej2) => {
            const check = () => {
              const found = events.find(pred);
              if (!found) return;
              clearTimeout(timer);
              waiters.delete(check);
              res2(found);
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              rej2(new Error(`timed out after ${ms} ms waiting for ${what}; events: ${events.map((e) => e.Action).join(', ')}`));
            }, ms);
            waiters.add(check);
            check();
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', (err) => {
      if (!/socket hang up|aborted/.test(err.message)) reject(err);
    });
  });
}

/** The number of open file descriptors of a process. */
export function openFds(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** The inotify watches a process holds: the `inotify wd:` lines of its inotify fds' fdinfo. */
export function inotifyWatches(pid: number): number {
  let watches = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:inotify') continue;
      watches += fs
        .readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('inotify wd:')).length;
    } catch {
      // closed while we looked
    }
  }
  return watches;
}

/** The process's fds by kind ("anon_inode:[eventfd]", "socket:", a path...), for a leak's message. */
export function fdKinds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = fs
        .readlinkSync(`/proc/${pid}/fd/${fd}`)
        .replace(/:\[\d+\]$/, ':')
        .replace(/^\/.*/, 'file');
    } catch {
      continue;
    }
    out[target] = (out[target] ?? 0) + 1;
  }
  return out;
}
