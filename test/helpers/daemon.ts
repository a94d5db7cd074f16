/** `corral daemon` as a child process on a temp socket and state root, and a JSON client for its API. */
import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CORRAL_BIN } from './corral.js';
import { request } from './http.js';

export interface TestDaemon {
  child: ChildProcess;
  /** everything it logged so far (JSON lines) */
  stderr: () => string;
  exited: Promise<unknown>;
}

/** Start a daemon with --log-level debug and wait until it answers /_ping (at most 60 s). */
export async function startTestDaemon(root: string, socket: string): Promise<TestDaemon> {
  const child = spawn(process.execPath, [CORRAL_BIN, '--root', root, '--host', `unix://${socket}`, 'daemon', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((resolve) => child.once('close', resolve));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the daemon exited:\n${stderr}`);
    try {
      if ((await request(socket, { path: '/_ping' })).body === 'OK') return { child, stderr: () => stderr, exited };
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`no answer:\n${stderr}`);
    await sleep(50);
  }
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
