/**
 * Supervision through `corral daemon`'s API, as root on the real kernel: restart policies and their
 * back-off, start of an exited container, POST /restart, POST /update read back from the cgroup
 * files, re-adoption after a daemon restart, and corrupt state files. The daemon runs as a child
 * process on a temp socket with a temp --root; busybox containers under this test process's cgroup
 * parent. The same file runs on the host (cgroup v1) and in the QEMU guest (v2).
 */
import { test as nodeTest, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBusyboxRootfs } from '../helpers/busybox.js';
import { TEST_CGROUP_PARENT, containerCgroups, launcherProcesses, stopAllCorrals, testDriver } from '../helpers/corral.js';
import { afterEachRestoreDaemon, apiCall, daemonState, inspectContainer, startTestDaemon, until as untilHolds, type TestDaemon } from '../helpers/daemon.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');
const mode = process.env.CORRAL_TEST_CGROUP_MODE;
if (mode !== 'v1' && mode !== 'v2') throw new Error(`CORRAL_TEST_CGROUP_MODE must be v1 or v2, not "${mode}" (the test runner sets it)`);

const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { timeout: 180_000 }, fn);

type Daemon = TestDaemon;

let tmp: string;
let root: string;
let socket: string;
let rootfs: string;
let daemon: Daemon;

function startDaemon(): Promise<Daemon> {
  return startTestDaemon(root, socket);
}

function api(method: string, p: string, body?: unknown) {
  return apiCall(socket, method, p, body);
}

async function create(cmd: string[], hostConfig: Record<string, unknown> = {}, name?: string): Promise<string> {
  const r = await api('POST', `/containers/create${name ? `?name=${name}` : ''}`, { Image: rootfs, Cmd: cmd, HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none', ...hostConfig } });
  assert.equal(r.status, 201, r.body);
  return r.json().Id as string;
}

function inspect(id: string) {
  return inspectContainer(socket, id);
}

function until(what: string, fn: () => Promise<boolean>, ms = 60_000): Promise<void> {
  return untilHolds(what, fn, ms);
}

/** The container's stdout lines from its log (json-file records). */
function logLines(id: string): string[] {
  const file = path.join(root, 'containers', id, 'container.log');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { log: string }).log.trimEnd());
}

interface Ev {
  Action: string;
  timeNano: number;
  Actor: { ID: string; Attributes: Record<string, string> };
}

async function eventsOf(id: string, sinceSec: number): Promise<Ev[]> {
  const untilSec = (Date.now() / 1000 + 0.001).toFixed(3);
  const r = await api('GET', `/events?since=${sinceSec.toFixed(3)}&until=${untilSec}&filters=${encodeURIComponent(JSON.stringify({ container: [id] }))}`);
  assert.equal(r.status, 200, r.body);
  return r.body.trim() === ''
    ? []
    : r.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Ev);
}

/** The live limit files of a container's cgroup, read from the kernel, in this mode's names. */
async function limitFiles(id: string): Promise<{ memory: string; cpu: string; pids: string }> {
  const cg = (await testDriver()).open(id);
  const read = (dir: string | undefined, file: string) => fs.readFileSync(path.join(dir!, file), 'utf8').trim();
  if (mode === 'v2') return { memory: read(cg.dir, 'memory.max'), cpu: read(cg.dir, 'cpu.max'), pids: read(cg.dir, 'pids.max') };
  return { memory: read(cg.paths.memory, 'memory.limit_in_bytes'), cpu: read(cg.paths.cpu, 'cpu.cfs_quota_us'), pids: read(cg.paths.pids, 'pids.max') };
}

const MiB = 1024 * 1024;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-restart-'));
  root = path.join(tmp, 'root');
  socket = path.join(tmp, 'corral.sock');
  rootfs = await ensureBusyboxRootfs(path.join(tmp, 'busybox'));
  daemon = await startDaemon();
});

afterEachRestoreDaemon({
  daemon: () => daemon,
  restart: async () => {
    daemon = await startDaemon();
  },
  socket: () => socket,
});

after(async () => {
  // remove every container this file made through the API (ending restart loops first), then whatever is left
  try {
    const list = await api('GET', '/containers/json?all=1');
    for (const c of list.json() as unknown as { Id: string }[]) await api('DELETE', `/containers/${c.Id}?force=1`);
  } catch {
    // the daemon is gone: stopAllCorrals below cleans the cgroups up
  }
  await daemon.stop();
  await stopAllCorrals();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('on-failure:2 restarts a failing container twice, then leaves it exited with RestartCount 2; the log grows across runs', async () => {
  const since = Date.now() / 1000 - 1;
  const id = await create(['sh', '-c', 'echo run; exit 3'], { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } });
  assert.deepEqual((await inspect(id)).HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  await until('three runs', async () => (await eventsOf(id, since)).filter((e) => e.Action === 'die').length === 3);
  await sleep(1000); // a third restart would come after 400 ms
  const info = await inspect(id);
  assert.equal(info.State.Status, 'exited');
  assert.equal(info.State.Running, false);
  assert.equal(info.State.Restarting, false);
  assert.equal(info.State.ExitCode, 3);
  assert.equal(info.RestartCount, 2);
  const actions = (await eventsOf(id, since)).map((e) => e.Action);
  assert.deepEqual(actions, ['create', 'start', 'die', 'start', 'die', 'start', 'die']);
  assert.deepEqual(logLines(id), ['run', 'run', 'run']);
  await until('the cgroup removed', async () => !(await containerCgroups()).includes(id));
  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);
});

test('always restarts after exit 0; a user stop ends the loop and it stays exited', async () => {
  const id = await create(['sh', '-c', 'echo up; exit 0'], { RestartPolicy: { Name: 'always' } });
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  await until('two restarts', async () => (await inspect(id)).RestartCount >= 2);
  const stop = await api('POST', `/containers/${id}/stop?t=1`);
  assert.ok(stop.status === 204, stop.body);
  await until('exited', async () => (await inspect(id)).State.Status === 'exited');
  const count = (await inspect(id)).RestartCount;
  await sleep(1500);
  const info = await inspect(id);
  assert.equal(info.State.Status, 'exited');
  assert.equal(info.RestartCount, count, 'restarted after a user stop');
  assert.equal(info.State.ExitCode, 0);
  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);
});

test('back-off: the waits before the restarts grow (at least 100, 200, 400, 800 ms), and so do the gaps between exit and start', async () => {
  const since = Date.now() / 1000 - 1;
  const id = await create(['sh', '-c', 'exit 1'], { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 4 } });
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  await until('five runs', async () => (await eventsOf(id, since)).filter((e) => e.Action === 'die').length === 5);
  const delays = [100, 200, 400, 800];
  // the daemon's own measure of each wait (from the exit's recording to the restart's beginning)
  const waits = daemon
    .stderr()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg: string; id?: string; backoffMs?: number; waitedMs?: number })
    .filter((l) => l.msg === 'restarting container' && l.id === id);
  assert.deepEqual(
    waits.map((w) => w.backoffMs),
    delays,
  );
  const waited = waits.map((w) => w.waitedMs!);
  waited.forEach((w, i) => {
    assert.ok(w >= delays[i]!, `wait ${i + 1} was ${w} ms, below the ${delays[i]} ms back-off (${waited.join(', ')})`);
  });
  for (let i = 1; i < waited.length; i++) assert.ok(waited[i]! > waited[i - 1]!, `the waits do not grow: ${waited.join(', ')}`);
  // seen from outside, each gap between a die and the next start is at least its back-off (plus a
  // noisy launch), less the 1 ms resolution of the events' wall-clock milliseconds
  const events = (await eventsOf(id, since)).filter((e) => e.Action === 'die' || e.Action === 'start');
  const gaps: number[] = [];
  for (let i = 0; i < events.length - 1; i++) {
    if (events[i]!.Action === 'die' && events[i + 1]!.Action === 'start') gaps.push((events[i + 1]!.timeNano - events[i]!.timeNano) / 1e6);
  }
  assert.equal(gaps.length, 4, JSON.stringify(events.map((e) => e.Action)));
  gaps.forEach((g, i) => {
    assert.ok(g > delays[i]! - 1, `gap ${i + 1} was ${g.toFixed(0)} ms, below the ${delays[i]} ms back-off (gaps ${gaps.map((x) => x.toFixed(0)).join(', ')})`);
  });
  const info = await inspect(id);
  assert.equal(info.RestartCount, 4);
  assert.equal(info.State.Status, 'exited');
  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);
});

test('an OOM kill counts as a failure: on-failure restarts it; OOMKilled, exit 137 and RestartCount show', async () => {
  const id = await create(['tail', '/dev/zero'], { Memory: 32 * MiB, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 1 } });
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  await until('restarted once and exited', async () => {
    const i = await inspect(id);
    return i.RestartCount === 1 && i.State.Status === 'exited';
  });
  const info = await inspect(id);
  assert.equal(info.State.OOMKilled, true);
  assert.equal(info.State.ExitCode, 137);
  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);
});

test('start of an exited container runs it again in the same layer and log; restart stops and starts, emitting restart', async () => {
  const since = Date.now() / 1000 - 1;
  const id = await create(['sh', '-c', 'echo run >> /runs; cat /runs | wc -l; exit 4']);
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  assert.deepEqual((await api('POST', `/containers/${id}/wait`)).json(), { StatusCode: 4, Error: null });
  assert.equal((await inspect(id)).State.Status, 'exited');
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  assert.deepEqual((await api('POST', `/containers/${id}/wait`)).json(), { StatusCode: 4, Error: null });
  // the writable layer is kept: the second run saw the first run's line
  assert.deepEqual(logLines(id), ['1', '2']);
  assert.equal((await inspect(id)).RestartCount, 0);

  const loop = await create(['sh', '-c', 'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done']);
  assert.equal((await api('POST', `/containers/${loop}/start`)).status, 204);
  await until('ready', async () => logLines(loop).length === 1);
  const pid = (await inspect(loop)).State.Pid;
  assert.equal((await api('POST', `/containers/${loop}/restart?t=5`)).status, 204);
  const after = await inspect(loop);
  assert.equal(after.State.Status, 'running');
  assert.notEqual(after.State.Pid, pid);
  await until('ready again', async () => logLines(loop).length === 2);
  assert.ok((await eventsOf(loop, since)).some((e) => e.Action === 'restart'));
  // restarting an exited container starts it
  assert.equal((await api('POST', `/containers/${id}/restart`)).status, 204);
  assert.deepEqual((await api('POST', `/containers/${id}/wait`)).json(), { StatusCode: 4, Error: null });
  assert.equal((await api('POST', `/containers/nope-nope/restart`)).status, 404);
  for (const c of [id, loop]) assert.equal((await api('DELETE', `/containers/${c}?force=1`)).status, 204);
});

test('inspect answers all through a restart (it once waited for the new run to end: corral top in the guest)', async () => {
  const id = await create(['sleep', '600']);
  try {
    assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
    for (let round = 0; round < 5; round++) {
      let restarting = true;
      const restarted = api('POST', `/containers/${id}/restart?t=0`).finally(() => (restarting = false));
      // inspects back to back from 16 clients, over the whole restart and a moment after: a record
      // read while the new run starts must not wait for the new run's end (it did, on the old
      // run's exit and the new run's monitor, in one round out of two here)
      const inspecting = async () => {
        for (let settled = 0; restarting || settled++ < 20; ) {
          const started = Date.now();
          const answer = await Promise.race([inspect(id), sleep(10_000).then(() => undefined)]);
          if (answer === undefined) assert.fail(`round ${round}: an inspect had no answer after ${Date.now() - started} ms\n${await daemonState(daemon)}`);
        }
      };
      await Promise.all([restarted, ...Array.from({ length: 16 }, inspecting)]);
      assert.equal((await restarted).status, 204);
      assert.equal((await inspect(id)).State.Status, 'running');
    }
  } finally {
    await api('DELETE', `/containers/${id}?force=1`);
  }
});

test("update: new limits reach the running cgroup's files, inspect and the next start; the update event names the fields", async () => {
  const since = Date.now() / 1000 - 1;
  const id = await create(['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done'], { Memory: 64 * MiB, NanoCpus: 500_000_000, PidsLimit: 20 });
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  const before = await limitFiles(id);
  assert.equal(before.memory, String(64 * MiB));
  assert.equal(before.pids, '20');
  assert.equal(before.cpu, mode === 'v2' ? '50000 100000' : '50000');
  // 0.8 CPUs: the v2 guest has only one
  const r = await api('POST', `/containers/${id}/update`, { Memory: 96 * MiB, NanoCpus: 800_000_000, PidsLimit: 50, CpuShares: 0, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(r.json(), { Warnings: [] });
  const live = await limitFiles(id);
  assert.deepEqual(live, { memory: String(96 * MiB), cpu: mode === 'v2' ? '80000 100000' : '80000', pids: '50' });
  const info = await inspect(id);
  assert.equal(info.HostConfig.Memory, 96 * MiB);
  assert.equal(info.HostConfig.NanoCpus, 800_000_000);
  assert.equal(info.HostConfig.PidsLimit, 50);
  assert.deepEqual(info.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  const update = (await eventsOf(id, since)).find((e) => e.Action === 'update');
  assert.ok(update, 'no update event');
  assert.equal(update.Actor.Attributes.Memory, String(96 * MiB));
  // a restart makes the cgroup again from the stored limits
  assert.equal((await api('POST', `/containers/${id}/restart?t=5`)).status, 204);
  assert.deepEqual(await limitFiles(id), live);
  assert.equal((await api('DELETE', `/containers/${id}?force=1`)).status, 204);
});

test('bad update bodies are 400s naming the field and change nothing', async () => {
  const id = await create(['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done'], { Memory: 64 * MiB, PidsLimit: 20 });
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  const files = await limitFiles(id);
  const hostConfig = (await inspect(id)).HostConfig;
  const bad: [unknown, RegExp][] = [
    [{ Memory: 1000 }, /HostConfig\.Memory/],
    [{ PidsLimit: 'many' }, /PidsLimit/],
    [{ CpusetCpus: '4096' }, /HostConfig\.CpusetCpus/],
    [{ CpuShares: 1 }, /HostConfig\.CpuShares/],
    [{ KernelMemory: 1 << 20 }, /KernelMemory/],
    [{ Devices: [{ PathOnHost: '/dev/sda' }] }, /Devices/],
    [{ RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } }, /RestartPolicy.*maximum retry count can only be used with 'on-failure'/],
    [{ RestartPolicy: { Name: 'sometimes' } }, /RestartPolicy\.Name.*unknown policy 'sometimes'/],
    [{ Colour: 'red' }, /unknown field "Colour"/],
    [{ Memory: 96 * MiB, PidsLimit: -5 }, /HostConfig\.PidsLimit/],
  ];
  for (const [body, message] of bad) {
    const r = await api('POST', `/containers/${id}/update`, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.body}`);
    assert.match(r.json().message, message);
    assert.deepEqual(await limitFiles(id), files, `${JSON.stringify(body)} changed the cgroup`);
    assert.deepEqual((await inspect(id)).HostConfig, hostConfig, `${JSON.stringify(body)} changed the stored HostConfig`);
  }
  assert.equal((await api('POST', `/containers/${'f'.repeat(64)}/update`, { Memory: 96 * MiB })).status, 404);
  assert.equal((await api('DELETE', `/containers/${id}?force=1`)).status, 204);
});

test('update: a memory limit below what the container holds is refused (EBUSY) and the limit stays', async () => {
  // 24 MiB in the container's /dev/shm (tmpfs: charged to its cgroup, not reclaimable without swap)
  const id = await create(['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1048576 count=24 2>/dev/null; echo full; trap "exit 0" TERM; while :; do sleep 0.1; done'], { Memory: 64 * MiB });
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  await until('the tmpfs filled', async () => logLines(id).includes('full'));
  const r = await api('POST', `/containers/${id}/update`, { Memory: 8 * MiB, MemorySwap: -1 });
  assert.equal(r.status, 409, r.body);
  assert.match(r.json().message, /below what the container uses now.*EBUSY/);
  assert.equal((await limitFiles(id)).memory, String(64 * MiB));
  assert.equal((await inspect(id)).HostConfig.Memory, 64 * MiB);
  assert.equal((await inspect(id)).State.Status, 'running');
  assert.equal((await api('DELETE', `/containers/${id}?force=1`)).status, 204);
});

test('daemon restart: unless-stopped stays stopped after a user stop, always comes back; a container that failed while the daemon was down gets its policy', async () => {
  const loop = ['sh', '-c', 'trap "exit 0" TERM; echo up; while :; do sleep 0.1; done'];
  const always = await create(loop, { RestartPolicy: { Name: 'always' } });
  const unless = await create(loop, { RestartPolicy: { Name: 'unless-stopped' } });
  for (const id of [always, unless]) {
    assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
    await until('up', async () => logLines(id).length === 1);
    assert.equal((await api('POST', `/containers/${id}/stop?t=5`)).status, 204);
  }
  await sleep(500);
  for (const id of [always, unless]) assert.equal((await inspect(id)).State.Status, 'exited', 'restarted after a user stop');

  // fails 2 s after its start: while no daemon runs
  const failing = await create(['sh', '-c', 'echo try; sleep 2; exit 2'], { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 1 } });
  assert.equal((await api('POST', `/containers/${failing}/start`)).status, 204);
  await daemon.stop('SIGKILL');
  await until('the exit file', async () => fs.existsSync(path.join(root, 'containers', failing, 'exit')), 30_000);
  daemon = await startDaemon();

  await until('always back up', async () => (await inspect(always)).State.Status === 'running');
  await until('the failed one restarted and exited again', async () => {
    const i = await inspect(failing);
    return i.RestartCount === 1 && i.State.Status === 'exited';
  });
  assert.equal((await inspect(failing)).State.ExitCode, 2);
  assert.deepEqual(logLines(failing), ['try', 'try']);
  assert.equal((await inspect(unless)).State.Status, 'exited');
  assert.match(daemon.stderr(), /starting a container by its restart policy/);
  for (const id of [always, unless, failing]) assert.equal((await api('DELETE', `/containers/${id}?force=1`)).status, 204);
});

test('a corrupt state file is moved aside with a warning; the daemon starts and lists the other containers', async (t) => {
  const good = await create(['true'], {}, 'rs-good');
  const broken = await create(['true'], {}, 'rs-broken');
  for (const id of [good, broken]) {
    assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
    await api('POST', `/containers/${id}/wait`);
  }
  await daemon.stop();
  const config = path.join(root, 'containers', broken, 'config.json');
  fs.truncateSync(config, 40);
  // the broken container is no longer the daemon's: remove what is left by hand, also after a failure
  t.after(() => {
    fs.rmSync(path.dirname(config), { recursive: true, force: true });
    fs.rmSync(path.join(root, 'names', 'rs-broken'), { force: true });
  });
  daemon = await startDaemon();
  const list = (await api('GET', '/containers/json?all=1')).json() as unknown as { Id: string }[];
  assert.deepEqual(
    list.map((c) => c.Id).filter((c) => c === good || c === broken),
    [good],
  );
  assert.equal((await api('GET', `/containers/${broken}/json`)).status, 404);
  assert.equal(fs.existsSync(config), false);
  const aside = fs.readdirSync(path.dirname(config)).filter((f) => f.startsWith('config.json.corrupt-'));
  assert.equal(aside.length, 1);
  const warning = daemon
    .stderr()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === 'corrupt state file moved aside');
  assert.ok(warning, daemon.stderr());
  assert.equal(warning.level, 'warn');
  assert.equal(warning.file, config);
  assert.match(String(warning.error), /not JSON/);
  assert.equal((await api('DELETE', `/containers/${good}`)).status, 204);
});

test('no leaks: no cgroups under the test parent, no launchers of this state root', async () => {
  await until('no cgroups', async () => (await containerCgroups()).length === 0, 10_000);
  assert.deepEqual(launcherProcesses(root), []);
  assert.deepEqual(fs.readdirSync(path.join(root, 'containers')), []);
});
