/**
 * Spawns the C launcher (native/corral-launch) for one container and follows its status pipe.
 * Node's spawn is fork+exec inside libuv, so no JavaScript runs in the child; everything between
 * fork and the workload's exec happens in C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { parseStatusLine, type LauncherStatus } from './status.js';

/** The launcher binary: $CORRAL_LAUNCHER, else native/corral-launch next to this package. */
export function launcherPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CORRAL_LAUNCHER ?? fileURLToPath(new URL('../../../native/corral-launch', import.meta.url));
}

export type LaunchOutcome = { kind: 'started'; pid: number; notes: string[] } | { kind: 'failed'; error: LauncherStatus & { kind: 'error' }; notes: string[] };

export type ExitOutcome = { how: 'exited' | 'signaled'; value: number };

export interface Launch {
  readonly process: ChildProcess;
  /** resolves once the workload exec'd (or setup failed) */
  readonly launched: Promise<LaunchOutcome>;
  /** resolves when the launcher is gone, with the workload's end as the launcher reported it */
  readonly ended: Promise<{ status: ExitOutcome | undefined; launcherCode: number | null; launcherSignal: NodeJS.Signals | null }>;
}

/** The launcher's fd 0-2: all the caller's, all /dev/null, or these descriptors for output (and input: /dev/null without). */
export type LauncherStdio = 'inherit' | 'ignore' | { stdin?: number; stdout: number; stderr: number };

export function startLauncher(specFile: string, stdio: LauncherStdio = 'inherit', bin = launcherPath()): Launch {
  const std: ('inherit' | 'ignore' | number)[] = typeof stdio === 'string' ? [stdio, stdio, stdio] : [stdio.stdin ?? 'ignore', stdio.stdout, stdio.stderr];
  const child = spawn(bin, [specFile], { stdio: [...std, 'pipe'] });
  const statusPipe = child.stdio[3] as Readable;
  const notes: string[] = [];
  let pid: number | undefined;
  let exitStatus: ExitOutcome | undefined;
  let settleLaunch!: (o: LaunchOutcome) => void;
  let failLaunch!: (e: Error) => void;
  const launched = new Promise<LaunchOutcome>((resolve, reject) => {
    settleLaunch = resolve;
    failLaunch = reject;
  });

  const lines = createInterface({ input: statusPipe });
  lines.on('line', (line) => {
    let status: LauncherStatus;
    try {
      status = parseStatusLine(line);
    } catch (err) {
      failLaunch(err as Error);
      return;
    }
    switch (status.kind) {
      case 'pid':
        pid = status.pid;
        break;
      case 'note':
        notes.push(status.text);
        break;
      case 'started':
        settleLaunch({ kind: 'started', pid: pid ?? -1, notes });
        break;
      case 'error':
        settleLaunch({ kind: 'failed', error: status, notes });
        break;
      case 'exit':
        exitStatus = { how: status.how, value: status.value };
        break;
    }
  });

  const ended = new Promise<{ status: ExitOutcome | undefined; launcherCode: number | null; launcherSignal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (err) => {
      failLaunch(new Error(`start launcher ${bin}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      reject(err);
    });
    // 'close' fires after the status pipe is drained, so exitStatus is final here.
    child.once('close', (code, signal) => {
      failLaunch(new Error(`launcher ended before the workload started (code ${code}, signal ${signal})`));
      resolve({ status: exitStatus, launcherCode: code, launcherSignal: signal });
    });
  });
  ended.catch(() => {});
  return { process: child, launched, ended };
}
