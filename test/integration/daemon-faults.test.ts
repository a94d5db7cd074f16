/**
 * The supervisor survives `kill -9`: containers started through the API keep running and keep
 * logging while no daemon runs, a new daemon on the same --root adopts them (same PIDs), their logs
 * hold every line exactly once, and a container that exited while no daemon ran shows its real exit
 * code. As root on the real kernel; the same file runs on the host (cgroup v1) and in the QEMU guest (v2).
 *
 * CORRAL_FAULT_CONTAINERS sets how many counting containers run (default 20).
 */
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEST_CGROUP_PARENT, containerCgroups, launcherProcesses, stopAllCorrals } from '../helpers/corral.js';
import { apiRequest, daemonScratch, demux, getBytes, startDaemonProcess, stopDaemonProcess, until, type DaemonProcess } from '../helpers/daemon.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const COUNTERS = Number(process.env.CORRAL_FAULT_CONTAINERS ?? 20);
if (!Number.isInteger(COUNTERS) || COUNTERS < 1) throw new Error(`CORRAL_FAULT_CONTAINERS=${process.env.CORRAL_FAULT_CONTAINERS}: expected a positive integer`);
const EXIT_CODE = 42;
/** one number a line, every 20 ms, without end */
const COUNTER_SCRIPT = 'i=0; while :; do echo $i; i=$((i+1)); usleep 20000; done';
/** waits for /trigger/go (a bind mount of a host dir the test controls), then exits with EXIT_CODE */
const EXITER_SCRIPT = `echo waiting; while [ ! -e /trigger/go ]; do usleep 20000; done; echo bye; exit ${EXIT_CODE}`;

let tmp: string;
let root: string;
let socket: string;
let rootfs: string;
let trigger: string;
let daemon: DaemonProcess | undefined;

const api = (method: string, target: string, body?: unknown) => apiRequest(socket, method, target, body);

async function create(script: string, binds: string[] = []): Promise<string> {
  const r = await api('POST', '/containers/create', { Image: rootfs, Cmd: ['sh', '-c', script], HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none', Binds: binds } });
  assert.equal(r.status, 201, r.body);
  return r.json().Id as string;
}

async function inspect(id: string) {
  const r = await api('GET', `/containers/${id}/json`);
  assert.equal(r.status, 200, r.body);
  return r.json();
}

/** The numbers a counter logged on stdout, in log order. */
async function loggedNumbers(id: string): Promise<number[]> {
  const r = await getBytes(socket, `/containers/${id}/logs?stdout=1&stderr=1`);
  assert.equal(r.status, 200, r.body.toString());
  assert.equal(r.type, 'application/vnd.docker.raw-stream');
  const frames = demux(r.body);
  assert.deepEqual(
    frames.filter((f) => f.stream !== 1),
    [],
    `${id.slice(0, 12)} wrote to stderr`,
  );
  return frames.map((f) => {
    assert.match(f.text, /^\d+\n$/, `${id.slice(0, 12)}: a log line that is not one number: ${JSON.stringify(f.text)}`);
    return Number(f.text);
  });
}

/** 0, 1, 2, ... n with nothing missing, repeated or out of order: the index of the first line that breaks it, or -1. */
function firstBreak(numbers: number[]): number {
  return numbers.findIndex((n, i) => n !== i);
}

before(async () => {
  ({ tmp, root, socket, rootfs } = await daemonScratch('corral-faults-'));
  trigger = path.join(tmp, 'trigger');
  fs.mkdirSync(trigger);
  daemon = await startDaemonProcess(root, socket);
});

after(async () => {
  // on failure: whatever the test left, through the API if a daemon serves, then by cgroup
  if (daemon && daemon.child.exitCode === null && daemon.child.signalCode === null) {
    const list = await api('GET', '/containers/json?all=1').catch(() => undefined);
    for (const c of list?.status === 200 ? (JSON.parse(list.body) as { Id: string }[]) : []) await api('DELETE', `/containers/${c.Id}?force=1`).catch(() => undefined);
    await stopDaemonProcess(daemon);
  }
  await stopAllCorrals();
  fs.rmSync(tmp, { recursive: true, force: true });
});

nodeTest(
  `kill -9 the daemon with ${COUNTERS} logging containers and one that exits meanwhile: a new daemon adopts them all, no log line lost or doubled, the real exit code`,
  { timeout: 600_000 },
  async (t) => {
    const counters: string[] = [];
    for (let i = 0; i < COUNTERS; i++) counters.push(await create(COUNTER_SCRIPT));
    const exiter = await create(EXITER_SCRIPT, [`${trigger}:/trigger:ro`]);
    for (const id of [...counters, exiter]) assert.equal((await api('POST', `/containers/${id}/start`)).status, 204, id);

    const pids = new Map<string, number>();
    for (const id of [...counters, exiter]) {
      const info = await inspect(id);
      assert.equal(info.State.Running, true, `${id.slice(0, 12)}: ${JSON.stringify(info.State)}`);
      assert.ok(info.State.Pid > 0);
      pids.set(id, info.State.Pid as number);
    }
    // every counter has logged before the daemon dies, so that its log spans the outage
    const before = new Map<string, number>();
    for (const id of counters) {
      await until(`${id.slice(0, 12)} logging`, async () => (await loggedNumbers(id)).length >= 3, 60_000);
      before.set(id, (await loggedNumbers(id)).length);
    }

    const killedAt = Date.now();
    const killed = await stopDaemonProcess(daemon!, 'SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(launcherProcesses(root).length, COUNTERS + 1, 'every launcher outlives the daemon');
    fs.writeFileSync(path.join(trigger, 'go'), '');
    const exitFile = path.join(root, 'containers', exiter, 'exit');
    await until("the exiter's exit file (written by its launcher, no daemon running)", () => fs.existsSync(exitFile), 60_000);
    await sleep(1000);

    daemon = await startDaemonProcess(root, socket);
    const downMs = Date.now() - killedAt;

    const running = await api('GET', '/containers/json');
    assert.equal(running.status, 200, running.body);
    const listed = new Map((JSON.parse(running.body) as { Id: string; State: string }[]).map((c) => [c.Id, c.State]));
    for (const id of counters) assert.equal(listed.get(id), 'running', `${id.slice(0, 12)} listed as running`);
    assert.equal(listed.has(exiter), false, 'the exited container is not among the running ones');
    for (const id of counters) {
      const info = await inspect(id);
      assert.equal(info.State.Status, 'running', id);
      assert.equal(info.State.Running, true, id);
      assert.equal(info.State.Pid, pids.get(id), `${id.slice(0, 12)}: the same workload, not a restarted one`);
    }

    assert.deepEqual((await api('POST', `/containers/${exiter}/wait`)).json(), { StatusCode: EXIT_CODE, Error: null });
    const ended = await inspect(exiter);
    assert.equal(ended.State.Status, 'exited');
    assert.equal(ended.State.Running, false);
    assert.equal(ended.State.ExitCode, EXIT_CODE);
    assert.equal(ended.State.OOMKilled, false);
    assert.notEqual(ended.State.FinishedAt, '0001-01-01T00:00:00Z');
    assert.deepEqual(
      demux((await getBytes(socket, `/containers/${exiter}/logs?stdout=1`)).body).map((f) => f.text),
      ['waiting\n', 'bye\n'],
    );

    const lengths: number[] = [];
    for (const id of counters) {
      const numbers = await loggedNumbers(id);
      lengths.push(numbers.length);
      const at = firstBreak(numbers);
      assert.equal(at, -1, `${id.slice(0, 12)}: line ${at} holds ${numbers[at]} (around it: ${numbers.slice(Math.max(0, at - 3), at + 3).join(',')})`);
      assert.ok(numbers.length > before.get(id)!, `${id.slice(0, 12)} kept logging: ${numbers.length} lines now, ${before.get(id)} before the kill`);
    }

    t.diagnostic(`lines logged per counter: ${Math.min(...lengths)} to ${Math.max(...lengths)}; daemon down ${downMs} ms`);

    // the adopted containers are still managed: kill, wait, delete each
    await Promise.all(
      counters.map(async (id) => {
        assert.equal((await api('POST', `/containers/${id}/kill?signal=KILL`)).status, 204, id);
        assert.deepEqual((await api('POST', `/containers/${id}/wait`)).json(), { StatusCode: 137, Error: null });
        const numbers = await loggedNumbers(id);
        assert.equal(firstBreak(numbers), -1, `${id.slice(0, 12)}: the complete log after the end`);
        assert.equal((await api('DELETE', `/containers/${id}`)).status, 204, id);
      }),
    );
    assert.equal((await api('DELETE', `/containers/${exiter}`)).status, 204);
    await until('the cgroups removed', async () => (await containerCgroups()).length === 0);
    assert.deepEqual(launcherProcesses(root), []);
    assert.deepEqual(fs.readdirSync(path.join(root, 'containers')), []);
  },
);
