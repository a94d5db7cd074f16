/** `corral daemon` as a child process on a temp socket and state root, and a JSON client for its API. */
import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CORRAL_BIN } from './corral.js';
import { request } from './http.js';

export interface TestDaemon {
  readonly child: ChildProcess;
  /** everything it logged so far (JSON lines) */
  stderr(): string;
  /** resolves when the process is gone */
  exited: Promise<unknown>;
  /** SIGTERM, and wait until it is gone; idempotent */
  stop(): Promise<void>;
}

async function answers(socket: string): Promise<boolean> {
  try {
    return (await request(socket, { path: '/_ping' })).body === 'OK';
  } catch {
    return false;
  }
}

/** Start a daemon with --log-level debug and wait (at most `timeoutMs`) until it answers /_ping. */
export async function startTestDaemon(root: string, socket: string, timeoutMs = 60_000): Promise<TestDaemon> {
  const child = spawn(process.execPath, [CORRAL_BIN, '--root', root, '--host', `unix://${socket}`, 'daemon', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const daemon: TestDaemon = {
    child,
    stderr: () => log,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
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

/** A request with an optional JSON body; `json()` parses the answer. */
export async function apiCall(socket: string, method: string, p: string, body?: unknown) {
  const r = await request(socket, { method, path: p, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }) });
  return { ...r, json: () => JSON.parse(r.body) as Record<string, any> };
}

/** GET /containers/{id}/json, asserting a 200. */
export async function inspectContainer(socket: string, id: string) {
  const r = await apiCall(socket, 'GET', `/containers/${id}/json`);
  assert.equal(r.status, 200, r.body);
  return r.json();
}

/** Poll `fn` every 50 ms until it holds; throws naming `what` after `ms`. */
export async function until(what: string, fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
