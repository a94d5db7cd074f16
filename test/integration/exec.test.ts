/**
 * exec end to end, as root on the real kernel: `corral daemon` as a child process on a temp socket
 * with a temp --root, busybox containers under this test process's cgroup parent, execs through the
 * API (plain and hijacked), through `corral exec` and through Docker's own CLI, and the launcher's
 * join refusing a reused pid. The same file runs on the host (cgroup v1) and in the QEMU guest (v2).
 */
import { test as nodeTest, before, after, afterEach, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBusyboxRootfs } from '../helpers/busybox.js';
import { forceRemoveContainers, startTestDaemon, type ApiJson, type TestDaemon } from '../helpers/daemon.js';
import { CORRAL_BIN, TEST_CGROUP_PARENT, containerCgroups, expectedMode, launcherProcesses, mountPoints, stopAllCorrals, testDriver } from '../helpers/corral.js';
import { planExec } from '../../src/container/exec.js';
import { launcherPath } from '../../src/container/launcher.js';
import { parsePidFile } from '../../src/container/records.js';
import { encodeSpec } from '../../src/isolate/spec.js';
import { parseKernelRelease } from '../../src/isolate/seccomp/filter.js';
import { FrameDecoder } from '../../src/cli/exec.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const execFileAsync = promisify(execFile);
const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { timeout: 120_000 }, fn);
const DOCKER = '/usr/local/bin/docker';

let tmp: string;
let root: string;
let socket: string;
let rootfs: string;
let daemon: TestDaemon | undefined;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json: () => ApiJson;
}

/** One API request with the whole answer as bytes. */
function api(method: string, p: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) };
    const req = http.request({ socketPath: socket, method, path: p, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const all = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: all, json: () => JSON.parse(all.toString('utf8')) as ApiJson });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The output of a multiplexed stream, per stream. */
function demux(buf: Buffer): { stdout: string; stderr: string; frames: number } {
  const decoder = new FrameDecoder();
  const out = { stdout: '', stderr: '', frames: 0 };
  for (const f of decoder.push(buf)) {
    out[f.stream === 1 ? 'stdout' : 'stderr'] += f.payload.toString('utf8');
    out.frames++;
  }
  assert.equal(decoder.pending, 0, 'the stream ends on a frame boundary');
  return out;
}

async function until(what: string, fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A started busybox container running `sleep 600` after writing a marker into its /tmp. */
async function runningContainer(extra: Record<string, unknown> = {}, hostConfig: Record<string, unknown> = {}): Promise<string> {
  const created = await api('POST', '/containers/create', {
    Image: rootfs,
    Cmd: ['sh', '-c', 'echo written-by-the-workload > /tmp/marker && exec sleep 600'],
    Hostname: 'exec-box',
    Env: ['CONTAINER_VAR=from-the-container'],
    HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none', ...hostConfig },
    ...extra,
  });
  assert.equal(created.status, 201, created.body.toString());
  const id = created.json().Id as string;
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  await until('the marker', async () => (await execIn(id, ['test', '-e', '/tmp/marker'])).code === 0);
  return id;
}

async function remove(id: string): Promise<void> {
  const r = await api('DELETE', `/containers/${id}?force=1`);
  assert.equal(r.status, 204, r.body.toString());
}

interface ExecResult {
  id: string;
  code: number;
  stdout: string;
  stderr: string;
  inspect: ApiJson;
}

async function createExec(container: string, body: Record<string, unknown>): Promise<string> {
  const r = await api('POST', `/containers/${container}/exec`, { AttachStdout: true, AttachStderr: true, ...body });
  assert.equal(r.status, 201, r.body.toString());
  assert.match(r.json().Id, /^[0-9a-f]{64}$/);
  return r.json().Id as string;
}

/** Create, start (plain 200 stream) and inspect an exec. */
async function execIn(container: string, cmd: string[], body: Record<string, unknown> = {}): Promise<ExecResult> {
  const id = await createExec(container, { Cmd: cmd, ...body });
  const started = await api('POST', `/exec/${id}/start`, { Detach: false, Tty: false });
  assert.equal(started.status, 200, started.body.toString());
  assert.equal(started.headers['content-type'], 'application/vnd.docker.raw-stream');
  const out = demux(started.body);
  const inspect = await api('GET', `/exec/${id}/json`);
  assert.equal(inspect.status, 200);
  assert.equal(inspect.json().Running, false, 'the stream ends only after the exec has ended');
  return { id, code: inspect.json().ExitCode as number, stdout: out.stdout, stderr: out.stderr, inspect: inspect.json() };
}

/** The exec start as Docker's CLI sends it: Connection: Upgrade, then a half-close; everything until the server closes. */
function hijackedStart(execId: string): Promise<{ head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const body = '{"Detach":false,"Tty":false}';
    const c = net.connect(socket);
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('error', reject);
    c.on('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      resolve({ head: all.subarray(0, end).toString(), body: all.subarray(end + 4) });
    });
    c.on('connect', () => {
      c.write(`POST /v1.41/exec/${execId}/start HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      c.end();
    });
  });
}

async function corralExec(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CORRAL_BIN, '--host', `unix://${socket}`, 'exec', ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-exec-'));
  root = path.join(tmp, 'root');
  socket = path.join(tmp, 'corral.sock');
  rootfs = await ensureBusyboxRootfs(path.join(tmp, 'busybox'));
  daemon = await startTestDaemon(root, socket);
});

// A test that failed before its removal (e.g. while its container started) must not leave it for
// the later tests and the final no-leak checks. Bounded: a hung daemon fails the test instead of
// hanging the file.
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

test("exec runs inside the container: its hostname, /proc, root, cgroup and capabilities; no host processes; not PID 1's child", async () => {
  const id = await runningContainer({}, { CapDrop: ['NET_RAW'] });
  try {
    const script = [
      'hostname',
      'cat /tmp/marker',
      'tr "\\0" " " < /proc/1/cmdline; echo',
      'for p in /proc/[0-9]*; do cat $p/comm; done | sort -u | tr "\\n" " "; echo',
      `test -e ${tmp} && echo host-dir-visible || echo host-dir-invisible`,
      'grep PPid /proc/$$/status',
      'echo "cgroup=$(cat /proc/self/cgroup | tr "\\n" ";")"',
      'echo "pid1cgroup=$(cat /proc/1/cgroup | tr "\\n" ";")"',
      'grep -E "^(Cap(Bnd|Eff|Prm)|NoNewPrivs)" /proc/self/status | tr "\\n" ";"; echo',
      'grep -E "^(Cap(Bnd|Eff|Prm)|NoNewPrivs)" /proc/1/status | tr "\\n" ";"; echo',
    ].join('; ');
    const r = await execIn(id, ['sh', '-c', script]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'exec-box', 'the container hostname');
    assert.equal(lines[1], 'written-by-the-workload', "the container's root file system, with its writes");
    assert.equal(lines[2], 'sleep 600 ', 'PID 1 is the workload');
    const names = lines[3]!.trim().split(' ');
    assert.ok(names.includes('sleep') && names.includes('sh'), lines[3]);
    for (const name of names) assert.ok(['cat', 'sh', 'sleep', 'sort', 'tr'].includes(name), `only the container's processes: ${lines[3]}`);
    assert.equal(lines[4], 'host-dir-invisible');
    assert.equal(lines[5], 'PPid:\t0', 'its parent (the launcher) is outside the pid namespace: not PID 1');
    const own = lines[6]!.slice('cgroup='.length);
    assert.equal(own, lines[7]!.slice('pid1cgroup='.length), "the same cgroups as the container's PID 1");
    if (expectedMode() === 'v2') assert.equal(own, '0::/;');
    for (const line of own.split(';').filter(Boolean)) assert.match(line, /:\/$/, `every hierarchy shows / (cgroup namespace): ${line}`);
    assert.equal(lines[8], lines[9], "the workload's capability sets and no_new_privs");
    assert.match(lines[8]!, /NoNewPrivs:\t1/);
    const bnd = BigInt(`0x${/CapBnd:\t([0-9a-f]+)/.exec(lines[8]!)![1]}`);
    assert.equal(bnd & (1n << 13n), 0n, 'NET_RAW, dropped from the container, is not in the exec');

    // from the host: the exec's process sits in the container's cgroup, with the launcher as parent
    const execId = await createExec(id, { Cmd: ['sleep', '30'], AttachStdout: false, AttachStderr: false });
    const detached = await api('POST', `/exec/${execId}/start`, { Detach: true, Tty: false });
    assert.equal(detached.status, 200, detached.body.toString());
    let info = (await api('GET', `/exec/${execId}/json`)).json();
    await until('the exec pid', async () => {
      info = (await api('GET', `/exec/${execId}/json`)).json();
      return info.Pid > 0;
    });
    assert.equal(info.Running, true);
    assert.equal(info.ExitCode, null);
    assert.equal(info.ContainerID, id);
    assert.deepEqual(info.ProcessConfig, { tty: false, entrypoint: 'sleep', arguments: ['30'], privileged: false, user: '0:0' });
    const pids = await (await testDriver()).open(id).pids();
    assert.ok(pids.includes(info.Pid), `exec pid ${info.Pid} in the container cgroup ${pids}`);
    const workload = (await api('GET', `/containers/${id}/json`)).json().State.Pid as number;
    const ppid = Number(/PPid:\t(\d+)/.exec(fs.readFileSync(`/proc/${info.Pid}/status`, 'utf8'))![1]);
    assert.notEqual(ppid, workload);
    assert.ok(fs.readFileSync(`/proc/${ppid}/cmdline`, 'utf8').includes('corral-launch'), 'the launcher is its parent');
  } finally {
    await remove(id);
  }
});

test("exit codes: 0, 3, 127 for a command not found (with Docker's message on stdout), 126 for one not executable", async () => {
  const id = await runningContainer();
  try {
    assert.equal((await execIn(id, ['true'])).code, 0);
    // Events carry wall-clock milliseconds (their sub-millisecond part is no time): `since` is the
    // next millisecond, waited for, so that it falls after the first exec's events, before the next's.
    const sinceMs = Date.now() + 1;
    while (Date.now() < sinceMs) await sleep(1);
    const since = (sinceMs / 1000).toFixed(3);
    assert.equal((await execIn(id, ['sh', '-c', 'exit 3'])).code, 3);
    // Docker's exec events: the command in the action, the exec's id and (on exec_die) the exit code
    const untilNow = (Date.now() / 1000 + 0.001).toFixed(3);
    const events = (await api('GET', `/events?since=${since}&until=${untilNow}&filters=${encodeURIComponent(JSON.stringify({ container: [id] }))}`)).body
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { Action: string; Actor: { Attributes: Record<string, string> } });
    assert.deepEqual(
      events.map((e) => e.Action),
      ['exec_create: sh -c exit 3', 'exec_start: sh -c exit 3', 'exec_die'],
    );
    assert.equal(events[2]!.Actor.Attributes.exitCode, '3');
    assert.equal(new Set(events.map((e) => e.Actor.Attributes.execID)).size, 1);
    const missing = await execIn(id, ['no-such-command']);
    assert.equal(missing.code, 127);
    assert.equal(missing.stdout, 'exec "no-such-command": executable file not found in $PATH\r\n');
    assert.equal((await execIn(id, ['/etc'])).code, 126);
    assert.equal((await execIn(id, ['sh', '-c', 'kill -TERM $$'])).code, 128 + 15);
  } finally {
    await remove(id);
  }
});

test('409 for a container that does not run, 404 for an unknown container or exec, 409 for a second start, 400 for what exec cannot do', async () => {
  const created = await api('POST', '/containers/create', { Image: rootfs, Cmd: ['true'], HostConfig: { CgroupParent: TEST_CGROUP_PARENT } });
  const stopped = created.json().Id as string;
  try {
    const r = await api('POST', `/containers/${stopped}/exec`, { Cmd: ['true'] });
    assert.equal(r.status, 409);
    assert.equal(r.json().message, `Container ${stopped} is not running`);
  } finally {
    await remove(stopped);
  }
  const unknown = await api('POST', '/containers/no-such-box/exec', { Cmd: ['true'] });
  assert.deepEqual([unknown.status, unknown.json().message], [404, 'No such container: no-such-box']);
  const noExec = await api('GET', `/exec/${'0'.repeat(64)}/json`);
  assert.deepEqual([noExec.status, noExec.json().message], [404, `No such exec instance: ${'0'.repeat(64)}`]);
  assert.equal((await api('POST', '/exec/not-hex/start', {})).status, 404);

  const id = await runningContainer();
  try {
    for (const [body, message] of [
      [{}, 'No exec command specified'],
      [{ Cmd: ['sh'], Privileged: true }, 'Privileged: corral runs no privileged processes; use Privileged false'],
      [
        { Cmd: ['id'], User: 'nobody' },
        'User: invalid value "nobody" for --user: user and group names are not supported; expected a numeric uid[:gid] from 0 to 4294967294, such as 1000 or 1000:1000',
      ],
      [{ Cmd: ['ls'], WorkingDir: 'tmp' }, 'WorkingDir: invalid value "tmp" for --workdir: expected an absolute path inside the container'],
    ] as const) {
      const bad = await api('POST', `/containers/${id}/exec`, body);
      assert.deepEqual([bad.status, bad.json().message], [400, message]);
    }
    const once = await execIn(id, ['true']);
    const again = await api('POST', `/exec/${once.id}/start`, { Detach: false, Tty: false });
    assert.deepEqual([again.status, again.json().message], [409, `exec command ${once.id} has already run`]);

    // created while the container ran, started after it stopped
    const late = await createExec(id, { Cmd: ['true'] });
    assert.equal((await api('POST', `/containers/${id}/kill`)).status, 204);
    await until('the container to stop', async () => (await api('GET', `/containers/${id}/json`)).json().State.Running === false);
    const tooLate = await api('POST', `/exec/${late}/start`, { Detach: false, Tty: false });
    assert.deepEqual([tooLate.status, tooLate.json().message], [409, `Container ${id} is not running`]);
  } finally {
    await remove(id);
  }
});

test("the exec's own env, workdir and user apply over the container's", async () => {
  const id = await runningContainer();
  try {
    // env, not the shell's expansion: a shell may set HOSTNAME itself
    const r = await execIn(id, ['sh', '-c', 'echo "$FOO|$CONTAINER_VAR|$(env | grep -c ^HOSTNAME=)|$(pwd)|$(id -u):$(id -g)|$HOME"'], {
      Env: ['FOO=bar', 'HOSTNAME'],
      WorkingDir: '/tmp',
      User: '1000:1000',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'bar|from-the-container|0|/tmp|1000:1000|/\n', 'a bare HOSTNAME removes it');
    assert.equal(r.inspect.ProcessConfig.user, '1000:1000');
    const defaults = await execIn(id, ['sh', '-c', 'echo "$HOSTNAME|$(pwd)|$(id -u)|$HOME"']);
    assert.equal(defaults.stdout, 'exec-box|/|0|/root\n');
    const missing = await execIn(id, ['true'], { WorkingDir: '/no/such/dir' });
    assert.equal(missing.code, 127);
    assert.equal(missing.stdout, 'chdir to cwd "/no/such/dir": ENOENT\r\n');
  } finally {
    await remove(id);
  }
});

test('output framing: stdout and stderr round-trip apart, plain and hijacked; a large output arrives whole; unattached streams are dropped', async () => {
  const id = await runningContainer();
  try {
    const script = 'echo o1; echo e1 >&2; sleep 0.2; echo o2; echo e2 >&2; echo via-dev-stderr > /dev/stderr';
    const plain = await execIn(id, ['sh', '-c', script]);
    assert.deepEqual([plain.stdout, plain.stderr], ['o1\no2\n', 'e1\ne2\nvia-dev-stderr\n']);

    const execId = await createExec(id, { Cmd: ['sh', '-c', `${script}; exit 4`] });
    const hijacked = await hijackedStart(execId);
    const headLines = hijacked.head.split('\r\n');
    assert.equal(headLines[0], 'HTTP/1.1 101 UPGRADED');
    for (const h of ['Content-Type: application/vnd.docker.raw-stream', 'Connection: Upgrade', 'Upgrade: tcp']) assert.ok(headLines.includes(h), `${h} in\n${hijacked.head}`);
    assert.ok(
      headLines.some((l) => /^api-version: 1\.41$/i.test(l)),
      hijacked.head,
    );
    const out = demux(hijacked.body);
    assert.deepEqual([out.stdout, out.stderr], ['o1\no2\n', 'e1\ne2\nvia-dev-stderr\n'], 'the stream survives the client half-close');
    assert.equal((await api('GET', `/exec/${execId}/json`)).json().ExitCode, 4, 'the exit code is there as soon as the stream ends');

    const big = await execIn(id, ['head', '-c', '3000000', '/dev/zero']);
    assert.equal(big.stdout.length, 3_000_000);
    const onlyOut = await execIn(id, ['sh', '-c', script], { AttachStderr: false });
    assert.deepEqual([onlyOut.stdout, onlyOut.stderr], ['o1\no2\n', '']);
  } finally {
    await remove(id);
  }
});

test("corral exec: output on our stdout and stderr, the exit code, -e/-w/-u/-d, and 1 with the daemon's reason when the container does not run (as docker exec)", async () => {
  const id = await runningContainer();
  try {
    const r = await corralExec(['-e', 'FOO=bar', '-w', '/tmp', '-u', '1000:1000', id.slice(0, 12), 'sh', '-c', 'echo "$FOO $(pwd) $(id -u)"; echo oops >&2; exit 5']);
    assert.deepEqual(r, { code: 5, stdout: 'bar /tmp 1000\n', stderr: 'oops\n' });
    const missing = await corralExec([id, 'no-such-command']);
    assert.equal(missing.code, 127);
    assert.equal(missing.stdout, 'exec "no-such-command": executable file not found in $PATH\r\n');
    const detached = await corralExec(['-d', id, 'sh', '-c', 'echo detached > /tmp/detached']);
    assert.equal(detached.code, 0, detached.stderr);
    await until('the detached exec', async () => (await execIn(id, ['cat', '/tmp/detached'])).stdout === 'detached\n');
  } finally {
    await remove(id);
  }
  const gone = await corralExec([id, 'true']);
  assert.equal(gone.code, 1);
  assert.equal(gone.stderr, `Error response from daemon: No such container: ${id}\n`);
  const stopped = await api('POST', '/containers/create', { Image: rootfs, Cmd: ['true'], HostConfig: { CgroupParent: TEST_CGROUP_PARENT } });
  try {
    const r = await corralExec([stopped.json().Id, 'true']);
    assert.deepEqual([r.code, r.stderr], [1, `Error response from daemon: Container ${stopped.json().Id} is not running\n`]);
  } finally {
    await remove(stopped.json().Id);
  }
});

test("Docker's own CLI: docker -H unix://SOCK exec", async (t) => {
  if (!fs.existsSync(DOCKER)) {
    t.skip(`the docker CLI is not installed at ${DOCKER} (Debian package docker-cli): docker exec against corral is NOT tested`);
    return;
  }
  const docker = async (...args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(tmp, 'docker-config') };
    for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_API_VERSION']) delete env[k];
    try {
      const { stdout, stderr } = await execFileAsync(DOCKER, ['-H', `unix://${socket}`, ...args], { env, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
  const id = await runningContainer({}, {});
  try {
    assert.deepEqual(await docker('exec', id, 'sh', '-c', 'hostname; echo to-stderr >&2; exit 3'), { code: 3, stdout: 'exec-box\n', stderr: 'to-stderr\n' });
    const env = await docker('exec', '-e', 'A=1', '-w', '/tmp', '-u', '1000', id, 'sh', '-c', 'echo "$A $(pwd) $(id -u)"');
    assert.deepEqual([env.code, env.stdout], [0, '1 /tmp 1000\n'], env.stderr);
    const missing = await docker('exec', id, 'no-such-command');
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stdout + missing.stderr, /executable file not found/);
    assert.equal((await docker('exec', '-d', id, 'sleep', '1')).code, 0);
  } finally {
    await remove(id);
  }
});

test('the launcher refuses to join a reused pid: a wrong start time is ESRCH and nothing runs', async () => {
  const id = await runningContainer();
  try {
    const target = parsePidFile(fs.readFileSync(path.join(root, 'containers', id, 'pid'), 'utf8'))!;
    const cgroup = (await testDriver()).open(id);
    const placement = { mode: cgroup.mode, dir: cgroup.dir, procsFiles: [...cgroup.procsFiles] };
    const isolation = JSON.parse(fs.readFileSync(path.join(root, 'containers', id, 'config.json'), 'utf8')).config.isolation;
    const run = async (startTime: string) => {
      const spec = planExec(isolation, { command: ['sh', '-c', 'echo joined > /tmp/joined'], env: [] }, { pid: target.pid, startTime }, placement, parseKernelRelease(os.release()));
      const file = path.join(tmp, `join-${startTime}.spec`);
      fs.writeFileSync(file, encodeSpec(spec.header, spec.directives));
      const child = spawn(launcherPath(), [file], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
      let status = '';
      child.stdio[3]!.on('data', (d: Buffer) => (status += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      return { code, status };
    };
    const wrong = String(BigInt(target.startTime) + 1n);
    const refused = await run(wrong);
    assert.equal(refused.code, 125);
    assert.equal(refused.status, `error\tjoin\t3\tESRCH\t/proc/${target.pid} started at ${target.startTime}, not at ${wrong}: the process to join is gone and its pid reused\n`);
    assert.equal((await execIn(id, ['cat', '/tmp/joined'])).code, 1, 'nothing ran');
    const joined = await run(target.startTime);
    assert.equal(joined.code, 0, joined.status);
    assert.equal((await execIn(id, ['cat', '/tmp/joined'])).stdout, 'joined\n');
  } finally {
    await remove(id);
  }
});

test('no process, cgroup or mount is left once the container is removed, even with an exec still running', async () => {
  const mountsBefore = mountPoints().filter((m) => m.startsWith(tmp));
  const id = await runningContainer();
  const execId = await createExec(id, { Cmd: ['sleep', '600'] });
  const stream = api('POST', `/exec/${execId}/start`, { Detach: false, Tty: false });
  let pid = 0;
  await until('the exec to run', async () => {
    pid = (await api('GET', `/exec/${execId}/json`)).json().Pid as number;
    return pid > 0;
  });
  await remove(id);
  const ended = await stream;
  assert.equal(ended.status, 200, 'the stream ends when the container is removed');
  await until('the exec process to be gone', async () => !fs.existsSync(`/proc/${pid}`) || !fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'));
  await until('no launcher of this root', async () => launcherProcesses(root).length === 0);
  assert.deepEqual(await containerCgroups(), []);
  assert.deepEqual(
    mountPoints().filter((m) => m.startsWith(tmp)),
    mountsBefore,
  );
  assert.equal((await api('GET', `/exec/${execId}/json`)).status, 404, 'the exec went with its container');
  assert.deepEqual(fs.readdirSync(path.join(root, 'containers')), []);
});
