/** `corral daemon` as a child process of a test, on a temp socket with a temp --root. */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { CORRAL_BIN } from './corral.js';

export interface TestDaemon {
  readonly child: ChildProcess;
  /** what the daemon logged so far (JSON lines) */
  stderr(): string;
  /** SIGTERM, and wait until it is gone; idempotent */
  stop(): Promise<void>;
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/_ping', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body === 'OK'));
    });
    req.on('error', () => resolve(false));
  });
}

/** Start the daemon and wait (at most `timeoutMs`) until it answers /_ping. */
export async function startTestDaemon(root: string, socketPath: string, timeoutMs = 60_000): Promise<TestDaemon> {
  const child = spawn(process.execPath, [CORRAL_BIN, '--root', root, '--host', `unix://${socketPath}`, 'daemon', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const daemon: TestDaemon = {
    child,
    stderr: () => log,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  for (const deadline = Date.now() + timeoutMs; !(await ping(socketPath)); await sleep(50)) {
    if (child.exitCode !== null) throw new Error(`the daemon exited (code ${child.exitCode}):\n${log}`);
    if (Date.now() > deadline) {
      await daemon.stop();
      throw new Error(`the daemon did not answer on ${socketPath} within ${timeoutMs} ms:\n${log}`);
    }
  }
  return daemon;
}
