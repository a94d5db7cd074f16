/**
 * `corral run` through its fast front (native/corral-front, bin/corral run as a program) with a
 * daemon on a temp socket: the daemon prepares the container, the front runs the launcher in its
 * own foreground, the daemon cleans up. Same exit codes, messages, stdio and leaks as stand-alone.
 */
import { test as nodeTest, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBusyboxRootfs } from '../helpers/busybox.js';
import { CORRAL_BIN, TEST_CGROUP_PARENT, containerCgroups, launcherProcesses, stopAllCorrals } from '../helpers/corral.js';
import { request } from '../helpers/http.js';
import { forceRemoveContainers, startTestDaemon, type ApiJson, type TestDaemon } from '../helpers/daemon.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const test = (name: string, fn: () => Promise<void> | void) => nodeTest(name, { timeout: 120_000 }, fn);

let tmp: string;
let root: string;
let socket: string;
let rootfs: string;
let daemon: TestDaemon;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** bin/corral executed as a program (so through sh and the native front), not under node. */
function front(args: string[], opts: { input?: string; root?: string; env?: NodeJS.ProcessEnv; onStdout?: (text: string, child: ChildProcess) => void } = {}): Promise<Result> {
  const child = spawn(CORRAL_BIN, ['--root', opts.root ?? root, '--host', `unix://${socket}`, 'run', '--cgroup-parent', TEST_CGROUP_PARENT, '--rootfs', rootfs, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    opts.onStdout?.(stdout, child);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin!.end(opts.input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function api(method: string, p: string) {
  const r = await request(socket, { method, path: p });
  return { ...r, json: () => JSON.parse(r.body) as ApiJson };
}

function containerDirs(stateRoot = root): string[] {
  try {
    return fs.readdirSync(path.join(stateRoot, 'containers')).filter((n) => /^[0-9a-f]{64}$/.test(n));
  } catch {
    return [];
  }
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-front-'));
  root = path.join(tmp, 'root');
  socket = path.join(tmp, 'corral.sock');
  rootfs = await ensureBusyboxRootfs(path.join(tmp, 'busybox'));
  assert.ok(fs.existsSync(path.join(path.dirname(CORRAL_BIN), '..', 'native', 'corral-front')), 'native/corral-front is not built (npm run build)');
  daemon = await startTestDaemon(root, socket);
});

// A failed test may leave its container (and a front still running it): force-remove every container
// of this file's daemon, so that the next test's "leaves nothing" checks report only their own
// findings. After a passing test there is none. Bounded: a hung daemon fails the test, not the file.
afterEach(
  async () => {
    if (daemon !== undefined) await forceRemoveContainers(socket);
  },
  { timeout: 120_000 },
);

after(async () => {
  await daemon?.stop();
  await stopAllCorrals();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("through the daemon: stdout, stderr and stdin pass straight through; the exit code is the workload's; --rm leaves nothing", async () => {
  const since = (Date.now() / 1000 - 1).toFixed(3);
  const r = await front(['--rm', '--name', 'front-io', 'sh', '-c', 'read line; echo "got $line"; echo err >&2; hostname; exit 3'], { input: 'hello\n' });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, /^got hello\n[0-9a-f]{12}\n$/);
  assert.equal(r.stderr, 'err\n');
  assert.deepEqual(containerDirs(), []);
  assert.deepEqual(await containerCgroups(), []);
  assert.deepEqual(launcherProcesses(root), []);
  // it really went through the daemon: its event history has the container
  const events = await api('GET', `/events?since=${since}&until=${(Date.now() / 1000 + 0.001).toFixed(3)}&filters=${encodeURIComponent('{"container":["front-io"]}')}`);
  assert.deepEqual(
    events.body
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { Action: string }).Action),
    ['create', 'start', 'die', 'destroy'],
  );
});

test("-e KEY takes the value from the client's environment, not the daemon's", async () => {
  const r = await front(['--rm', '-e', 'CORRAL_FRONT_TEST_VALUE', '-e', 'HOME', 'sh', '-c', 'echo "$CORRAL_FRONT_TEST_VALUE $HOME"'], {
    env: { CORRAL_FRONT_TEST_VALUE: 'from-client', HOME: '/client/home' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'from-client /client/home\n');
});

test('without --rm the container stays, exited, with its exit code in inspect', async () => {
  const r = await front(['--name', 'front-keep', 'sh', '-c', 'exit 4']);
  assert.equal(r.code, 4, r.stderr);
  const info = await api('GET', '/containers/front-keep/json');
  assert.equal(info.status, 200, info.body);
  assert.equal(info.json().State.Status, 'exited');
  assert.equal(info.json().State.ExitCode, 4);
  assert.deepEqual(await containerCgroups(), []);
  assert.equal((await api('DELETE', '/containers/front-keep')).status, 204);
  assert.deepEqual(containerDirs(), []);
});

test("a missing command is 127, a bad flag 125, each with the stand-alone run's message, and leave nothing", async () => {
  const missing = await front(['--rm', 'nosuchcmd']);
  assert.equal(missing.code, 127);
  assert.equal(missing.stderr, 'corral: exec "nosuchcmd": executable file not found in $PATH\n');
  const bad = await front(['--rm', '--memory', '12q', 'true']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /^corral: invalid value "12q" for --memory: unknown unit "q"/);
  assert.deepEqual(containerDirs(), []);
  assert.deepEqual(await containerCgroups(), []);
});

test('an OOM kill: exit 137 and the message with the limit', async () => {
  const r = await front(['--rm', '-m', '32m', '--memory-swap', '32m', 'sh', '-c', 'a=x; while :; do a="$a$a"; done']);
  assert.equal(r.code, 137, r.stderr);
  assert.equal(r.stderr, 'corral: killed by the OOM killer: memory limit 32MiB\n');
  assert.deepEqual(await containerCgroups(), []);
});

test('SIGTERM to the command reaches the workload', async () => {
  let sent = false;
  const r = await front(['--rm', 'sh', '-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done'], {
    onStdout: (text, child) => {
      if (!sent && text.includes('ready')) {
        sent = true;
        child.kill('SIGTERM');
      }
    },
  });
  assert.ok(sent, 'the workload never said ready');
  assert.equal(r.code, 7, r.stderr);
});

test("a --root other than the daemon's runs stand-alone in that root, not through the daemon", async () => {
  const other = path.join(tmp, 'other-root');
  const r = await front(['--name', 'front-other', 'sh', '-c', 'exit 6'], { root: other });
  assert.equal(r.code, 6, r.stderr);
  assert.equal(containerDirs(other).length, 1);
  assert.equal((await api('GET', '/containers/front-other/json')).status, 404);
});
