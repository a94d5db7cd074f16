/** Run the real `bin/corral` as a child process, and snapshot what a container could leak. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCgroupDriver } from '../../src/cgroups/index.js';

/**
 * Every container a test process starts lives under its own cgroup parent (relative, so inside the
 * test's own cgroup in each hierarchy), so that concurrent test runs never see, count or clean up
 * each other's containers.
 */
export const TEST_CGROUP_PARENT = `corral-test-${process.pid}`;

export function testDriver() {
  return createCgroupDriver({ parent: TEST_CGROUP_PARENT });
}

/** `run` invocations get --cgroup-parent TEST_CGROUP_PARENT unless they name one. */
function withTestParent(args: string[]): string[] {
  const at = args.indexOf('run');
  if (at < 0 || args.includes('--cgroup-parent')) return args;
  return [...args.slice(0, at + 1), '--cgroup-parent', TEST_CGROUP_PARENT, ...args.slice(at + 1)];
}

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const CORRAL_BIN = path.join(REPO, 'bin', 'corral');

export interface CorralResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const running = new Set<ChildProcess>();

/**
 * After a failed test: end every corral this test process started that still runs (by PID), then
 * kill and remove the container cgroups they left, which ends their workloads and so their launchers.
 */
export async function stopAllCorrals(): Promise<void> {
  const driver = await testDriver();
  for (const child of running) {
    // 'exit', not 'close': a workload it started may hold its stdout open until its cgroup goes below
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }
  // every cgroup, even when one of them fails; the first failure is thrown after
  let failure: unknown;
  for (const name of await driver.list())
    await driver
      .open(name)
      .destroy()
      .catch((err: unknown) => (failure ??= err));
  if (failure !== undefined) throw failure;
  await driver.removeParentIfEmpty();
}

export function startCorral(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; result: Promise<CorralResult>; stdout: () => string } {
  // "--": Node 20 reads --env-file even after the script (corral run --env-file is corral's)
  const child = spawn(process.execPath, ['--', CORRAL_BIN, ...withTestParent(args)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  running.add(child);
  const result = new Promise<CorralResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, result, stdout: () => stdout };
}

export function corral(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CorralResult> {
  return startCorral(args, env).result;
}

/** Mount points visible to this process (the host's view). */
export function mountPoints(): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4]!)
    .sort();
}

/** Container cgroups that exist under this test process's cgroup parent. */
export async function containerCgroups(): Promise<string[]> {
  return (await (await testDriver()).list()).sort();
}

/** Container cgroups under corral's default parent (`<own cgroup>/corral`), which tests never use. */
export async function defaultParentCgroups(): Promise<string[]> {
  return (await (await createCgroupDriver({})).list()).sort();
}

/**
 * PIDs of corral launcher processes alive on this machine; with `stateRoot`, only those of
 * containers in that state directory (the launcher's argument is <root>/containers/<id>/launch.spec).
 */
export function launcherProcesses(stateRoot?: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const [bin, spec] = cmd.split('\0');
      if (bin?.endsWith('corral-launch') && (stateRoot === undefined || spec?.startsWith(stateRoot + '/'))) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

export interface LeakSnapshot {
  mounts: string[];
  cgroups: string[];
  launchers: number[];
}

/** What this test process's containers could leak; `stateRoot` scopes the launchers to ours. */
export async function snapshot(stateRoot?: string): Promise<LeakSnapshot> {
  return { mounts: mountPoints(), cgroups: await containerCgroups(), launchers: launcherProcesses(stateRoot) };
}

/** The cgroup mode the tests expect (set by the test runner: v1 on the host, v2 in the guest). */
export function expectedMode(): 'v1' | 'v2' | undefined {
  const m = process.env.CORRAL_TEST_CGROUP_MODE;
  return m === 'v1' || m === 'v2' ? m : undefined;
}
