/**
 * `corral daemon` as a child process on a temp socket and --root, for the API tests and benches:
 * start it, talk JSON to it, follow its live event stream (GET /events) with each event's arrival
 * time, and count its file descriptors and inotify watches (for leak checks).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { CORRAL_BIN } from './corral.js';
import { request } from './http.js';

export interface TestDaemon {
  child: ChildProcess;
  pid: number;
  socket: string;
  stderr: () => string;
  exited: Promise<unknown>;
  /** SIGTERM and wait (a no-op once it exited) */
  stop: () => Promise<void>;
}

export async function startTestDaemon(o: { root: string; socket: string; logLevel?: string; env?: NodeJS.ProcessEnv }): Promise<TestDaemon> {
  const child = spawn(process.execPath, [CORRAL_BIN, '--root', o.root, '--host', `unix://${o.socket}`, 'daemon', '--log-level', o.logLevel ?? 'debug'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...o.env },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((resolve) => child.once('close', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the daemon exited:\n${stderr}`);
    try {
      if ((await request(o.socket, { path: '/_ping' })).body === 'OK') return { child, pid: child.pid!, socket: o.socket, stderr: () => stderr, exited, stop };
    } catch {
      // not yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the daemon did not answer within 60 s:\n${stderr}`);
    }
    await sleep(50);
  }
}

export async function api(socket: string, method: string, p: string, body?: unknown) {
  const r = await request(socket, { method, path: p, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }) });
  return { ...r, json: () => JSON.parse(r.body) as Record<string, any> };
}

export interface StreamedEvent {
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
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
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
      watches += fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length;
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
      target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/:\[\d+\]$/, ':').replace(/^\/.*/, 'file');
    } catch {
      continue;
    }
    out[target] = (out[target] ?? 0) + 1;
  }
  return out;
}
