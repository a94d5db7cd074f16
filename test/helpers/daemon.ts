/** `corral daemon` as a child process on a temp socket and root, for the integration tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CORRAL_BIN } from './corral.js';
import { request } from './http.js';

export interface Daemon {
  child: ChildProcess;
  /** everything it logged so far */
  stderr: () => string;
  exited: Promise<unknown>;
}

/** Start a daemon (debug logs) and wait until it answers /_ping. */
export async function startDaemon(root: string, socket: string, args: string[] = []): Promise<Daemon> {
  const child = spawn(process.execPath, [CORRAL_BIN, '--root', root, '--host', `unix://${socket}`, 'daemon', '--log-level', 'debug', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
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

/** SIGTERM once, and wait for it to end (nothing when it has ended). */
export async function stopDaemon(d: Daemon): Promise<void> {
  if (d.child.exitCode === null && d.child.signalCode === null) {
    d.child.kill('SIGTERM');
    await d.exited;
  }
}
