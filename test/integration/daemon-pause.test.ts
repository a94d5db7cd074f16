/**
 * pause and unpause end to end, as root on the real kernel: `corral daemon` as a child process on a
 * temp socket with a temp --root, busybox containers under this test process's cgroup parent, driven
 * by Docker's own CLI (every call SIGKILLed after 30 s, so that a hang fails the test) and by
 * dockerode. A paused workload makes no progress (a counter it writes to a host directory stands
 * still), ps, inspect, events and stats show it, stop, kill, restart and rm -f of a paused container
 * end promptly, the state survives a daemon restart, and the workload can neither act nor thaw
 * itself. The same file runs on the host (cgroup v1) and in the QEMU guest (v2): every assertion
 * holds in both modes.
 */
import { test as nodeTest, before, after, afterEach, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { ensureBusyboxRootfs } from '../helpers/busybox.js';
import { apiCall, forceRemoveContainers, startTestDaemon, type ApiJson, type TestDaemon } from '../helpers/daemon.js';
import { TEST_CGROUP_PARENT, containerCgroups, stopAllCorrals, testDriver } from '../helpers/corral.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const execFileAsync = promisify(execFile);
const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { timeout: 120_000 }, fn);

let tmp: string;
let root: string;
let socket: string;
let rootfs: string;
let daemon: TestDaemon | undefined;

const api = (method: string, p: string, body?: unknown) => apiCall(socket, method, p, body);

/** Docker's CLI on the daemon's socket; a client that hangs is SIGKILLed after 30 s (code -1), so that a hang fails the test. */
async function docker(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(tmp, 'docker-config') };
  for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_API_VERSION', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[k];
  const started = Date.now();
  try {
    const { stdout, stderr } = await execFileAsync('docker', ['-H', `unix://${socket}`, ...args], { env, timeout: 30_000, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr, ms: Date.now() - started };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the docker CLI is not installed: install the Debian package docker-cli (or docker-ce-cli)');
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '', ms: Date.now() - started };
  }
}

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A host directory the container sees as /out: what the workload writes there is read without exec (refused while paused). */
function outDir(name: string): string {
  const dir = path.join(tmp, 'out', name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** The counter the workload writes (atomically: a new file renamed over the old), 0 before its first write. */
function count(dir: string): number {
  try {
    return Number(fs.readFileSync(path.join(dir, 'n'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/** A counter loop: every round forks (mv) and writes, so both stand still while paused. */
const COUNTER = 'i=0; while :; do i=$((i+1)); echo $i > /out/n.tmp; mv /out/n.tmp /out/n; done';
/** The same, exiting 0 on SIGTERM (pid 1 gets only the signals it handles), and noting a SIGUSR1 in /out/usr1. */
const POLITE_COUNTER = `trap 'exit 0' TERM; trap 'echo got > /out/usr1' USR1; ${COUNTER}`;

/** Create and start a named busybox container running `script` with `dir` as /out; its id once it has counted. */
async function startCounter(name: string, dir: string, script = COUNTER, hostConfig: Record<string, unknown> = {}): Promise<string> {
  const created = await api('POST', `/containers/create?name=${name}`, {
    Image: rootfs,
    Cmd: ['sh', '-c', script],
    HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none', Binds: [`${dir}:/out`], ...hostConfig },
  });
  assert.equal(created.status, 201, created.body);
  const id = created.json().Id as string;
  const started = await api('POST', `/containers/${id}/start`);
  assert.equal(started.status, 204, started.body);
  await until(`${name} to count`, () => count(dir) > 10);
  return id;
}

async function inspect(ref: string): Promise<ApiJson> {
  const r = await api('GET', `/containers/${ref}/json`);
  assert.equal(r.status, 200, r.body);
  return r.json();
}

/** The counter stands still for `ms` (and the kernel says the cgroup is frozen): the workload makes no progress. */
async function assertNoProgress(id: string, dir: string, ms = 1500): Promise<number> {
  const cgroup = (await testDriver()).open(id);
  assert.equal(await cgroup.frozen(), true, 'the freezer is in force');
  const pids = (await cgroup.pids()).join(',');
  const before = count(dir);
  const mtime = fs.statSync(path.join(dir, 'n')).mtimeMs;
  await sleep(ms);
  assert.equal(count(dir), before, 'no write while paused');
  assert.equal(fs.statSync(path.join(dir, 'n')).mtimeMs, mtime);
  assert.equal((await cgroup.pids()).join(','), pids, 'no fork and no exit while paused');
  return before;
}

async function assertProgress(dir: string, from: number): Promise<void> {
  await until('the counter to move on', () => count(dir) > from + 10);
}

/** The container's events between two unix-second times, as Docker's API gives them. */
async function eventsOf(id: string, since: string): Promise<ApiJson[]> {
  const untilNow = (Date.now() / 1000 + 0.001).toFixed(3);
  const r = await api('GET', `/events?since=${since}&until=${untilNow}&filters=${encodeURIComponent(JSON.stringify({ container: [id] }))}`);
  assert.equal(r.status, 200, r.body);
  return r.body
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ApiJson);
}

const nowSeconds = () => (Date.now() / 1000).toFixed(3);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-pause-'));
  root = path.join(tmp, 'root');
  socket = path.join(tmp, 'corral.sock');
  rootfs = await ensureBusyboxRootfs(path.join(tmp, 'busybox'));
  daemon = await startTestDaemon(root, socket);
});

// A test that failed midway must not leave a (maybe paused) container for the later tests and the
// final no-leak checks: rm -f ends paused ones too. Bounded: a hung daemon fails the test instead of
// hanging the file.
afterEach(
  async () => {
    if (daemon === undefined) return;
    if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) daemon = await startTestDaemon(root, socket);
    await forceRemoveContainers(socket);
  },
  { timeout: 120_000 },
);

after(async () => {
  await daemon?.stop();
  await stopAllCorrals();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('docker pause stops every task of the container (a counter that forks and writes stands still), docker unpause lets it go on', async () => {
  const dir = outDir('counter');
  const id = await startCounter('counter', dir);
  const paused = await docker('pause', 'counter');
  assert.equal(paused.code, 0, paused.stderr);
  assert.equal(paused.stdout, 'counter\n', 'docker pause prints each container as given');
  const at = await assertNoProgress(id, dir);
  const unpaused = await docker('unpause', 'counter');
  assert.equal(unpaused.code, 0, unpaused.stderr);
  assert.equal(unpaused.stdout, 'counter\n');
  assert.equal(await (await testDriver()).open(id).frozen(), false);
  await assertProgress(dir, at);
  // and again: a pause is not a one-off
  assert.equal((await docker('pause', 'counter')).code, 0);
  const again = await assertNoProgress(id, dir, 1000);
  assert.equal((await docker('unpause', 'counter')).code, 0);
  await assertProgress(dir, again);
});

test('inspect, ps, /containers/json, info, events and stats show a paused container; dockerode pauses and unpauses; update still works', async () => {
  const dir = outDir('shown');
  const id = await startCounter('shown', dir);
  const since = nowSeconds();
  const client = new Docker({ socketPath: socket });
  const container = client.getContainer('shown');
  await container.pause();
  const state = (await inspect(id)).State;
  // Docker's shape (v1.41-containers-paused-json.json): running and paused both true
  assert.equal(state.Status, 'paused');
  assert.equal(state.Running, true);
  assert.equal(state.Paused, true);
  assert.ok(state.Pid > 0, 'the workload is still there');
  assert.equal((await container.inspect()).State.Paused, true, 'dockerode reads it too');

  const ps = await docker('ps', '--format', '{{.Names}}|{{.Status}}|{{.State}}');
  assert.equal(ps.code, 0, ps.stderr);
  assert.match(ps.stdout, /^shown\|Up [^|]+ \(Paused\)\|paused$/m, "docker ps without -a lists it, in Docker's words");
  const byStatus = async (status: string) => (await docker('ps', '-q', '--no-trunc', '--filter', `status=${status}`)).stdout.trim().split('\n').filter(Boolean);
  assert.deepEqual(await byStatus('paused'), [id]);
  assert.deepEqual(await byStatus('running'), [], 'a paused container is not in the running state');
  const listed = (await api('GET', '/containers/json')).json() as ApiJson[];
  assert.equal(listed.find((c) => c.Id === id)?.State, 'paused');
  const info = await docker('info', '--format', '{{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}}');
  assert.equal(info.stdout.trim(), '0 1 0');

  // stats keep working: real memory and pids figures, and the CPU counter stands still
  const stats = async () => {
    const r = await api('GET', `/containers/${id}/stats?stream=false`);
    assert.equal(r.status, 200, r.body);
    return r.json();
  };
  // one sampler interval (1 s) and more since the freeze: the latest sample is of the frozen cgroup
  await sleep(1500);
  const first = await stats();
  assert.ok(first.memory_stats.usage > 0, JSON.stringify(first.memory_stats));
  assert.ok(first.pids_stats.current >= 1, JSON.stringify(first.pids_stats));
  await sleep(2500);
  const second = await stats();
  assert.ok(second.read > first.read, 'a new sample');
  assert.ok(second.cpu_stats.cpu_usage.total_usage - first.cpu_stats.cpu_usage.total_usage < 10_000_000, 'under 10 ms of CPU while frozen');

  // update changes a paused container's limits in its cgroup
  const updated = await docker('update', '--pids-limit', '77', 'shown');
  assert.equal(updated.code, 0, updated.stderr);
  assert.equal((await inspect(id)).HostConfig.PidsLimit, 77);
  assert.equal((await (await testDriver()).open(id).stats()).pids?.max, 77);
  assert.equal((await inspect(id)).State.Paused, true, 'still paused');

  await container.unpause();
  const after = (await inspect(id)).State;
  assert.deepEqual([after.Status, after.Running, after.Paused], ['running', true, false]);
  assert.match((await docker('ps', '--format', '{{.Names}}|{{.Status}}')).stdout, /^shown\|Up [^(]+$/m);
  assert.deepEqual(
    (await eventsOf(id, since)).map((e) => e.Action).filter((a) => a === 'pause' || a === 'unpause'),
    ['pause', 'unpause'],
  );
  const pauseEvent = (await eventsOf(id, since)).find((e) => e.Action === 'pause')!;
  assert.deepEqual([pauseEvent.Type, pauseEvent.Actor.ID, pauseEvent.Actor.Attributes.name], ['container', id, 'shown']);
});

test("the error cases, as Docker's: 409 not running, already paused, not paused, exec and start refused, rm without -f; 404 unknown", async () => {
  const dir = outDir('errors');
  const id = await startCounter('errors', dir);
  const created = await api('POST', '/containers/create?name=never-started', { Image: rootfs, Cmd: ['true'], HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none' } });
  const createdId = created.json().Id as string;

  const expect = async (method: string, p: string, status: number, message: string, body?: unknown) => {
    const r = await api(method, p, body);
    assert.equal(r.status, status, `${method} ${p}: ${r.body}`);
    assert.equal(r.json().message, message, `${method} ${p}`);
  };
  await expect('POST', `/containers/${createdId}/pause`, 409, `Container ${createdId} is not running`);
  await expect('POST', `/containers/${id}/unpause`, 409, `Container ${id} is not paused`);
  await expect('POST', '/containers/no-such-box/pause', 404, 'No such container: no-such-box');
  await expect('POST', '/containers/no-such-box/unpause', 404, 'No such container: no-such-box');

  const paused = await api('POST', `/containers/${id}/pause`);
  assert.equal(paused.status, 204, paused.body);
  assert.equal(paused.body, '');
  await expect('POST', `/containers/${id}/pause`, 409, `Container ${id} is already paused`);
  await expect('POST', `/containers/${id}/exec`, 409, `Container ${id} is paused, unpause the container before exec`, { Cmd: ['true'], AttachStdout: true });
  await expect('POST', `/containers/${id}/start`, 409, 'cannot start a paused container, try unpause instead');
  await expect('DELETE', `/containers/${id}`, 409, `You cannot remove a paused container ${id}. Unpause and then stop the container before attempting removal or force remove`);

  // the clients print them as Docker's daemon would have them printed, exit 1
  const twice = await docker('pause', 'errors');
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, new RegExp(`Error response from daemon: Container ${id} is already paused`));
  const exec = await docker('exec', 'errors', 'true');
  assert.notEqual(exec.code, 0);
  assert.match(exec.stderr, new RegExp(`Container ${id} is paused, unpause the container before exec`));
  const mixed = await docker('unpause', 'errors', 'no-such-box');
  assert.equal(mixed.code, 1);
  assert.equal(mixed.stdout, 'errors\n', 'each container that was unpaused is printed');
  assert.match(mixed.stderr, /No such container: no-such-box/);
  await assert.rejects(new Docker({ socketPath: socket }).getContainer('errors').unpause(), (e: { statusCode?: number; message: string }) => {
    assert.equal(e.statusCode, 409);
    assert.match(e.message, new RegExp(`Container ${id} is not paused`));
    return true;
  });

  // an exited container is not running either
  const stopped = await docker('stop', '-t', '0', 'errors');
  assert.equal(stopped.code, 0, stopped.stderr);
  await expect('POST', `/containers/${id}/pause`, 409, `Container ${id} is not running`);
  await expect('POST', `/containers/${id}/unpause`, 409, `Container ${id} is not paused`);
  assert.equal((await inspect(id)).State.Paused, false);
});

test('stop of a paused container delivers SIGTERM (thawed after it): it ends by its trap at once, not by the SIGKILL 25 s later', async () => {
  const dir = outDir('stopped');
  const id = await startCounter('stopped', dir, POLITE_COUNTER);
  assert.equal((await docker('pause', 'stopped')).code, 0);
  const since = nowSeconds();
  // a stop that waited for its SIGKILL would take 25 s; one that hung, the client's 30 s (code -1)
  const stop = await docker('stop', '-t', '25', 'stopped');
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(stop.stdout, 'stopped\n');
  assert.ok(stop.ms < 15_000, `stop took ${stop.ms} ms`);
  const state = (await inspect(id)).State;
  assert.deepEqual([state.Status, state.Paused, state.ExitCode], ['exited', false, 0], 'its own trap ended it');
  const actions = (await eventsOf(id, since)).map((e) => e.Action);
  for (const a of ['kill', 'unpause', 'die', 'stop']) assert.ok(actions.includes(a), `${a} in ${actions.join(' ')}`);
  assert.ok(actions.indexOf('die') < actions.indexOf('stop'));
  assert.equal((await api('GET', `/containers/${id}/stats?stream=false`)).status, 200, 'stats of the stopped container still answer');
});

test('kill, restart and rm -f of a paused container finish promptly; a signal that does not stop waits, queued, for the unpause', async () => {
  // a non-stopping signal: sent, but the paused workload acts on it only once thawed (as under Docker)
  const usrDir = outDir('usr1');
  const usrId = await startCounter('usr1', usrDir, POLITE_COUNTER);
  assert.equal((await docker('pause', 'usr1')).code, 0);
  const usr1 = await docker('kill', '--signal', 'USR1', 'usr1');
  assert.equal(usr1.code, 0, usr1.stderr);
  await sleep(1000);
  assert.equal(fs.existsSync(path.join(usrDir, 'usr1')), false, 'the trap has not run while paused');
  assert.equal((await inspect(usrId)).State.Status, 'paused', 'still paused');
  assert.equal((await docker('unpause', 'usr1')).code, 0);
  await until('the queued SIGUSR1 to be handled', () => fs.existsSync(path.join(usrDir, 'usr1')));

  // kill (SIGKILL): it ends, and is no longer paused
  const killDir = outDir('killed');
  const killId = await startCounter('killed', killDir);
  assert.equal((await docker('pause', 'killed')).code, 0);
  const kill = await docker('kill', 'killed');
  assert.equal(kill.code, 0, kill.stderr);
  assert.equal(kill.stdout, 'killed\n');
  await until('the killed container to exit', async () => (await inspect(killId)).State.Status === 'exited', 10_000);
  const killed = (await inspect(killId)).State;
  assert.deepEqual([killed.ExitCode, killed.Paused, killed.Running], [137, false, false]);

  // restart: stopped (by its trap) and started again, running and not paused
  const restartDir = outDir('restarted');
  const restartId = await startCounter('restarted', restartDir, POLITE_COUNTER);
  const pid = (await inspect(restartId)).State.Pid as number;
  assert.equal((await docker('pause', 'restarted')).code, 0);
  const restart = await docker('restart', '-t', '25', 'restarted');
  assert.equal(restart.code, 0, restart.stderr);
  assert.ok(restart.ms < 15_000, `restart took ${restart.ms} ms`);
  const restarted = (await inspect(restartId)).State;
  assert.deepEqual([restarted.Status, restarted.Paused], ['running', false]);
  assert.notEqual(restarted.Pid, pid);
  await assertProgress(restartDir, count(restartDir));

  // rm -f: gone, with its cgroup
  const rmDir = outDir('removed');
  const rmId = await startCounter('removed', rmDir);
  assert.equal((await docker('pause', 'removed')).code, 0);
  const rm = await docker('rm', '-f', 'removed');
  assert.equal(rm.code, 0, rm.stderr);
  assert.ok(rm.ms < 15_000, `rm -f took ${rm.ms} ms`);
  assert.equal((await api('GET', `/containers/${rmId}/json`)).status, 404);
  assert.equal((await containerCgroups()).includes(rmId), false, 'its cgroup is gone');
  await forceRemoveContainers(socket, [usrId, killId, restartId]);
});

test('the paused state survives a daemon restart; at adopt the cgroup freezer has the last word', async () => {
  const dir = outDir('survivor');
  const id = await startCounter('survivor', dir);
  assert.equal((await docker('pause', 'survivor')).code, 0);
  await daemon!.stop();
  daemon = await startTestDaemon(root, socket);
  assert.equal((await inspect(id)).State.Status, 'paused', 'state.json kept the mark');
  const at = await assertNoProgress(id, dir, 1000);
  assert.equal((await docker('unpause', 'survivor')).code, 0, 'the new daemon unpauses it');
  await assertProgress(dir, at);

  // frozen behind the daemon's back (a daemon that died between its freeze and its record): shown as paused
  await daemon.stop();
  const cgroup = (await testDriver()).open(id);
  await cgroup.freeze();
  daemon = await startTestDaemon(root, socket);
  assert.equal((await inspect(id)).State.Status, 'paused');
  assert.equal((await docker('unpause', 'survivor')).code, 0);
  await assertProgress(dir, count(dir));
  // paused, then thawed from outside corral: no longer shown as paused
  assert.equal((await docker('pause', 'survivor')).code, 0);
  await daemon.stop();
  await cgroup.thaw();
  daemon = await startTestDaemon(root, socket);
  assert.equal((await inspect(id)).State.Status, 'running');
  assert.match(daemon.stderr(), /the cgroup is not frozen: the container is no longer shown as paused/);
  const rm = await docker('rm', '-f', 'survivor');
  assert.equal(rm.code, 0, rm.stderr);
});

test('the attacker inside: a paused fork loop makes no progress, and the workload cannot reach the freezer to thaw itself', async () => {
  // a workload that forks as fast as it can (each round a subshell that appends), and tries to
  // thaw itself and to leave its cgroup on every round, at both modes' places
  const dir = outDir('attacker');
  const attack = [
    'i=0; while :; do',
    '  i=$((i+1)); (echo $i >> /out/forks) &',
    '  echo 0 > /sys/fs/cgroup/cgroup.freeze; echo THAWED > /sys/fs/cgroup/freezer/freezer.state; echo THAWED > /sys/fs/cgroup/freezer.state',
    '  echo $$ > /sys/fs/cgroup/cgroup.procs; echo $i > /out/n.tmp; mv /out/n.tmp /out/n',
    'done 2>/dev/null',
  ].join('\n');
  const id = await startCounter('attacker', dir, attack, { PidsLimit: 64 });
  const paused = await docker('pause', 'attacker');
  assert.equal(paused.code, 0, `the freeze wins over a fork loop: ${paused.stderr}`);
  const forked = () => (fs.existsSync(path.join(dir, 'forks')) ? fs.statSync(path.join(dir, 'forks')).size : 0);
  const forks = forked();
  const at = await assertNoProgress(id, dir, 2000);
  assert.equal(forked(), forks, 'no forked child ran while paused');
  assert.equal(await (await testDriver()).open(id).frozen(), true, 'its own attempts did not thaw it');
  assert.equal((await docker('unpause', 'attacker')).code, 0);
  await assertProgress(dir, at);

  // what the workload sees of its cgroup: no freezer file it can write, no cgroup file system it can
  // mount (no CAP_SYS_ADMIN), no way to make or join another cgroup
  const probe = [
    'for f in /sys/fs/cgroup/cgroup.freeze /sys/fs/cgroup/freezer/freezer.state /sys/fs/cgroup/freezer.state /sys/fs/cgroup/cgroup.procs; do',
    '  if (echo 0 > $f) 2>/dev/null; then echo "wrote $f"; fi',
    'done',
    'mkdir /tmp/m',
    'mount -t cgroup -o freezer none /tmp/m 2>/dev/null && echo "mounted v1 freezer"',
    'mount -t cgroup2 none /tmp/m 2>/dev/null && echo "mounted cgroup2"',
    'mount -o remount,rw /sys/fs/cgroup 2>/dev/null && echo "remounted rw"',
    'mkdir /sys/fs/cgroup/escape 2>/dev/null && echo "made a cgroup"',
    'echo probed',
  ].join('\n');
  const exec = await docker('exec', 'attacker', 'sh', '-c', probe);
  assert.equal(exec.code, 0, exec.stderr);
  assert.equal(exec.stdout, 'probed\n', `nothing succeeded: ${exec.stdout}`);
  assert.equal(await (await testDriver()).open(id).frozen(), false);
});
