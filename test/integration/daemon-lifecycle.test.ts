/**
 * The container lifecycle through `corral daemon`'s API, as root on the real kernel: the daemon as
 * a child process on a temp socket with a temp --root; busybox containers under this test
 * process's cgroup parent. The same file runs on the host (cgroup v1) and in the QEMU guest (v2).
 */
import { test as nodeTest, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureBusyboxRootfs } from '../helpers/busybox.js';
import { TEST_CGROUP_PARENT, containerCgroups, launcherProcesses, stopAllCorrals } from '../helpers/corral.js';
import { afterEachRestoreDaemon, apiCall, inspectContainer, startTestDaemon, until as untilHolds, type TestDaemon } from '../helpers/daemon.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const execFileAsync = promisify(execFile);
const test = (name: string, fn: () => Promise<void> | void) => nodeTest(name, { timeout: 120_000 }, fn);

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

async function create(cmd: string[], extra: Record<string, unknown> = {}, name?: string): Promise<string> {
  const r = await api('POST', `/containers/create${name ? `?name=${name}` : ''}`, { Image: rootfs, Cmd: cmd, HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none' }, ...extra });
  assert.equal(r.status, 201, r.body);
  assert.deepEqual(r.json().Warnings, []);
  return r.json().Id as string;
}

function inspect(id: string) {
  return inspectContainer(socket, id);
}

function until(what: string, fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  return untilHolds(what, fn, ms);
}

/** Decode Docker's multiplexed stream. */
function demux(buf: Buffer): { stream: number; text: string }[] {
  const out: { stream: number; text: string }[] = [];
  for (let at = 0; at < buf.length; ) {
    assert.ok(buf[at] === 1 || buf[at] === 2, `stream byte ${buf[at]}`);
    assert.deepEqual([...buf.subarray(at + 1, at + 4)], [0, 0, 0]);
    const len = buf.readUInt32BE(at + 4);
    out.push({ stream: buf[at]!, text: buf.subarray(at + 8, at + 8 + len).toString('utf8') });
    at += 8 + len;
  }
  return out;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-lifecycle-'));
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
  if (daemon.child.exitCode === null) {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
  await stopAllCorrals();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('create, start, wait: the exit code; logs with Docker framing; inspect; delete removes everything', async () => {
  const id = await create(['sh', '-c', 'echo out1; echo err1 >&2; echo out2; exit 3'], {}, 'lc-first');
  let info = await inspect(id);
  assert.equal(info.State.Status, 'created');
  assert.equal(info.Name, '/lc-first');
  assert.deepEqual(await containerCgroups(), [id]);
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  const waited = await api('POST', `/containers/${id}/wait`);
  assert.equal(waited.status, 200);
  assert.deepEqual(waited.json(), { StatusCode: 3, Error: null });
  info = await inspect(id);
  assert.equal(info.State.Status, 'exited');
  assert.equal(info.State.Running, false);
  assert.equal(info.State.ExitCode, 3);
  assert.equal(info.State.OOMKilled, false);
  assert.equal(info.RestartCount, 0);
  assert.notEqual(info.State.FinishedAt, '0001-01-01T00:00:00Z');
  await until('the cgroup removed', async () => (await containerCgroups()).length === 0);

  const logs = await new Promise<{ type: string | undefined; body: Buffer }>((resolve, reject) => {
    import('node:http').then(({ default: http }) => {
      http
        .get({ socketPath: socket, path: `/containers/${id}/logs?stdout=1&stderr=1` }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ type: res.headers['content-type'], body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    }, reject);
  });
  assert.equal(logs.type, 'application/vnd.docker.raw-stream');
  const frames = demux(logs.body);
  assert.deepEqual(
    frames.filter((f) => f.stream === 1).map((f) => f.text),
    ['out1\n', 'out2\n'],
  );
  assert.deepEqual(
    frames.filter((f) => f.stream === 2).map((f) => f.text),
    ['err1\n'],
  );
  const tail = demux(Buffer.from((await api('GET', `/containers/${id}/logs?stdout=1&tail=3&timestamps=1`)).body, 'latin1'));
  assert.equal(tail.length, 2);
  assert.match(tail[1]!.text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out2\n$/);

  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);
  assert.equal(fs.existsSync(path.join(root, 'containers', id)), false);
  assert.equal(fs.existsSync(path.join(root, 'names', 'lc-first')), false);
  assert.equal((await api('GET', `/containers/${id}/json`)).status, 404);
  assert.deepEqual(await containerCgroups(), []);
});

test('kill with a signal gives 128+N; a name in use and deleting a running container are 409', async () => {
  const id = await create(['sleep', '1000'], {}, 'lc-sleeper');
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 304);
  const info = await inspect(id);
  assert.equal(info.State.Status, 'running');
  assert.equal(info.State.Running, true);
  assert.ok(info.State.Pid > 0);
  const dup = await api('POST', '/containers/create?name=lc-sleeper', { Image: rootfs, Cmd: ['true'], HostConfig: { CgroupParent: TEST_CGROUP_PARENT } });
  assert.equal(dup.status, 409, dup.body);
  const del = await api('DELETE', `/containers/${id}`);
  assert.equal(del.status, 409, del.body);
  assert.equal((await api('POST', `/containers/${id}/kill?signal=SIGKILL`)).status, 204);
  assert.deepEqual((await api('POST', `/containers/${id}/wait`)).json(), { StatusCode: 137, Error: null });
  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);
  assert.deepEqual(await containerCgroups(), []);
});

test('stop: SIGTERM reaches a workload that traps it; a stopped container answers 304', async () => {
  const id = await create(['sh', '-c', 'trap "echo bye; exit 7" TERM; echo ready; while :; do sleep 0.1; done']);
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  await until('ready in the log', async () => (await api('GET', `/containers/${id}/logs?stdout=1`)).body.includes('ready'));
  const t0 = Date.now();
  assert.equal((await api('POST', `/containers/${id}/stop?t=10`)).status, 204);
  assert.ok(Date.now() - t0 < 8000);
  assert.equal((await inspect(id)).State.ExitCode, 7);
  assert.equal((await api('POST', `/containers/${id}/stop`)).status, 304);
  assert.match((await api('GET', `/containers/${id}/logs?stdout=1`)).body, /bye/);
  assert.equal((await api('DELETE', `/containers/${id}?force=1`)).status, 204);
});

test('bad values are a 400 naming the field; delete with force kills a running container', async () => {
  const r = await api('POST', '/containers/create', { Image: rootfs, Cmd: ['true'], HostConfig: { CgroupParent: TEST_CGROUP_PARENT, Memory: 1000 } });
  assert.equal(r.status, 400, r.body);
  assert.match(r.json().message, /HostConfig\.Memory/);
  const c = await api('POST', '/containers/create', { Image: rootfs, HostConfig: { CgroupParent: TEST_CGROUP_PARENT } });
  assert.equal(c.status, 400, c.body);
  assert.match(c.json().message, /Cmd/);
  const id = await create(['sleep', '1000'], { HostConfig: { CgroupParent: TEST_CGROUP_PARENT, Memory: 64 * 1024 * 1024, PidsLimit: 20 } });
  assert.equal((await inspect(id)).HostConfig.Memory, 64 * 1024 * 1024);
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  assert.equal((await api('DELETE', `/containers/${id}?force=true`)).status, 204);
  assert.equal(fs.existsSync(path.join(root, 'containers', id)), false);
  assert.deepEqual(await containerCgroups(), []);
});

nodeTest('the Docker CLI as a client: inspect and logs', { timeout: 120_000 }, async (t: TestContext) => {
  try {
    await execFileAsync('docker', ['--version']);
  } catch {
    t.skip('no docker CLI');
    return;
  }
  const id = await create(['sh', '-c', 'echo from-docker-cli']);
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  await api('POST', `/containers/${id}/wait`);
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: tmp };
  const ins = await execFileAsync('docker', ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', id], { env });
  assert.equal(ins.stdout.trim(), 'exited 0');
  const logs = await execFileAsync('docker', ['logs', id], { env });
  assert.equal(logs.stdout, 'from-docker-cli\n');
  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);
});

test('kill -9 the daemon: the container keeps running, a new daemon adopts it and sees its exit', async () => {
  // ends only when told (a fixed sleep races a slow guest's daemon restart)
  const id = await create(['sh', '-c', 'trap "exit 5" TERM; while :; do sleep 0.1; done']);
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  daemon.child.kill('SIGKILL');
  await daemon.exited;
  assert.equal(launcherProcesses(root).length, 1);
  daemon = await startDaemon();
  const info = await inspect(id);
  assert.equal(info.State.Status, 'running');
  assert.equal((await api('POST', `/containers/${id}/kill?signal=TERM`)).status, 204);
  assert.deepEqual((await api('POST', `/containers/${id}/wait`)).json(), { StatusCode: 5, Error: null });
  await until('the cgroup removed', async () => (await containerCgroups()).length === 0);
  assert.equal((await inspect(id)).State.ExitCode, 5);
  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);
});

test('AutoRemove: the container is gone once it exited', async () => {
  const id = await create(['true'], { HostConfig: { CgroupParent: TEST_CGROUP_PARENT, AutoRemove: true } });
  assert.equal((await inspect(id)).HostConfig.AutoRemove, true);
  // as Docker's CLI does for --rm: wait for the next exit before starting, since once it has
  // exited the container is gone and a later wait can only be a 404
  const waited = api('POST', `/containers/${id}/wait?condition=next-exit`);
  await sleep(100);
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  assert.deepEqual((await waited).json(), { StatusCode: 0, Error: null });
  await until('the container removed', async () => !fs.existsSync(path.join(root, 'containers', id)));
  assert.equal((await api('GET', `/containers/${id}/json`)).status, 404);
  assert.deepEqual(await containerCgroups(), []);
});

test("a start that fails (command not found) is a 400 with Docker's message and leaves no cgroup; the Docker CLI stops and removes", async () => {
  const id = await create(['no-such-command']);
  const r = await api('POST', `/containers/${id}/start`);
  assert.equal(r.status, 400, r.body);
  assert.match(r.json().message, /executable file not found/);
  const failed = await inspect(id);
  assert.equal(failed.State.Status, 'exited');
  assert.equal(failed.State.ExitCode, 127);
  assert.deepEqual(await containerCgroups(), []);
  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);

  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: tmp };
  const sleeper = await create(['sleep', '1000']);
  await execFileAsync('docker', ['start', sleeper], { env });
  assert.equal((await inspect(sleeper)).State.Running, true);
  await execFileAsync('docker', ['stop', '-t', '1', sleeper], { env });
  assert.equal((await inspect(sleeper)).State.ExitCode, 137);
  await execFileAsync('docker', ['rm', sleeper], { env });
  assert.equal(fs.existsSync(path.join(root, 'containers', sleeper)), false);
});

test('a memory hog under HostConfig.Memory is OOM-killed: State.OOMKilled, exit 137', async () => {
  const id = await create(['tail', '/dev/zero'], { HostConfig: { CgroupParent: TEST_CGROUP_PARENT, Memory: 32 * 1024 * 1024 } });
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  assert.deepEqual((await api('POST', `/containers/${id}/wait`)).json(), { StatusCode: 137, Error: null });
  const info = await inspect(id);
  assert.equal(info.State.OOMKilled, true);
  assert.equal(info.State.ExitCode, 137);
  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);
  assert.deepEqual(await containerCgroups(), []);
});

test('logs?follow=1 streams the output as it comes and ends when the container exits', async () => {
  const id = await create(['sh', '-c', 'echo one; sleep 0.5; echo two >&2; sleep 0.5; echo three']);
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  const { default: http } = await import('node:http');
  // on the monotonic clock, sub-millisecond: a difference of Date.now() values can read up to 1 ms short
  const got = await new Promise<{ body: Buffer; firstAt: number; endAt: number }>((resolve, reject) => {
    http
      .get({ socketPath: socket, path: `/containers/${id}/logs?stdout=1&stderr=1&follow=1` }, (res) => {
        const chunks: Buffer[] = [];
        let firstAt = 0;
        res.on('data', (c: Buffer) => {
          if (!firstAt) firstAt = performance.now();
          chunks.push(c);
        });
        res.on('end', () => resolve({ body: Buffer.concat(chunks), firstAt, endAt: performance.now() }));
      })
      .on('error', reject);
  });
  assert.deepEqual(demux(got.body), [
    { stream: 1, text: 'one\n' },
    { stream: 2, text: 'two\n' },
    { stream: 1, text: 'three\n' },
  ]);
  assert.ok(got.endAt - got.firstAt >= 400, 'the first line came before the last was written');
  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);
});

test('no leaks: no cgroups under the test parent, no launchers of this state root', async () => {
  assert.deepEqual(await containerCgroups(), []);
  assert.deepEqual(launcherProcesses(root), []);
  assert.deepEqual(fs.readdirSync(path.join(root, 'containers')), []);
});

test('events: the history since a time holds create, start, die with the exit code, destroy; filters apply; a live stream sees new events', async () => {
  const since = (Date.now() / 1000 - 1).toFixed(3);
  const id = await create(['sh', '-c', 'exit 5'], {}, 'lc-events');
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  assert.deepEqual((await api('POST', `/containers/${id}/wait`)).json(), { StatusCode: 5, Error: null });
  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);
  const untilNow = (Date.now() / 1000 + 0.001).toFixed(3);
  const history = await api('GET', `/events?since=${since}&until=${untilNow}&filters=${encodeURIComponent(JSON.stringify({ container: ['lc-events'] }))}`);
  assert.equal(history.status, 200, history.body);
  const events = history.body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { Action: string; Actor: { ID: string; Attributes: Record<string, string> } });
  assert.deepEqual(
    events.map((e) => e.Action),
    ['create', 'start', 'die', 'destroy'],
  );
  assert.ok(events.every((e) => e.Actor.ID === id && e.Actor.Attributes.name === 'lc-events' && e.Actor.Attributes.image === rootfs));
  assert.equal(events[2]!.Actor.Attributes.exitCode, '5');
  const onlyDie = await api('GET', `/events?since=${since}&until=${untilNow}&filters=${encodeURIComponent('{"event":["die"],"container":["lc-events"]}')}`);
  assert.equal(onlyDie.body.trim().split('\n').length, 1);
  assert.equal((await api('GET', '/events?filters=%7B%22colour%22%3A%5B%5D%7D')).status, 400);

  const http = (await import('node:http')).default;
  const live = await new Promise<string>((resolve, reject) => {
    const req = http.get({ socketPath: socket, path: `/events?filters=${encodeURIComponent('{"event":["create"]}')}` }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\n')) {
          req.destroy();
          resolve(text);
        }
      });
      // subscribed once the headers are here: now make something happen
      create(['true'], {}, 'lc-events-live').catch(reject);
    });
    req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)));
  });
  const created = JSON.parse(live.split('\n')[0]!) as { Action: string; Actor: { ID: string; Attributes: Record<string, string> } };
  assert.equal(created.Action, 'create');
  assert.equal(created.Actor.Attributes.name, 'lc-events-live');
  assert.equal((await api('DELETE', `/containers/lc-events-live`)).status, 204);
});

test('HostConfig.LogConfig max-size/max-file: the log rotates into at most max-file files; the logs route reads across them; inspect shows the options', async () => {
  const id = await create(['sh', '-c', 'i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done'], {
    HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none', LogConfig: { Type: 'json-file', Config: { 'max-size': '2k', 'max-file': '3' } } },
  });
  assert.deepEqual((await inspect(id)).HostConfig.LogConfig, { Type: 'json-file', Config: { 'max-size': '2048', 'max-file': '3' } });
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  // not-running (next-exit, after the start, would wait for a run after this one, as Docker's does)
  assert.deepEqual((await api('POST', `/containers/${id}/wait`)).json(), { StatusCode: 0, Error: null });
  const dir = path.join(root, 'containers', id);
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.startsWith('container.log'))
    .sort();
  assert.deepEqual(files, ['container.log', 'container.log.1', 'container.log.2'], 'three files in all, the oldest dropped');
  // a record is ~70 bytes: a file never holds much more than max-size
  for (const f of files) assert.ok(fs.statSync(path.join(dir, f)).size <= 2048 + 200, `${f} is ${fs.statSync(path.join(dir, f)).size} bytes`);
  const { default: http } = await import('node:http');
  const body = await new Promise<Buffer>((resolve, reject) => {
    http
      .get({ socketPath: socket, path: `/containers/${id}/logs?stdout=1` }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      })
      .on('error', reject);
  });
  const lines = demux(body)
    .map((f) => f.text)
    .join('')
    .trim()
    .split('\n');
  assert.equal(lines.at(-1), 'line-399');
  // what is kept is a contiguous tail: the oldest lines went with the dropped file
  const first = Number(lines[0]!.slice('line-'.length));
  assert.ok(first > 0, 'the oldest lines were rotated away');
  assert.deepEqual(
    lines,
    Array.from({ length: 400 - first }, (_, k) => `line-${first + k}`),
  );
  const bad = await api('POST', '/containers/create', { Image: rootfs, Cmd: ['true'], HostConfig: { CgroupParent: TEST_CGROUP_PARENT, LogConfig: { Type: 'json-file', Config: { 'max-fil': '3' } } } });
  assert.equal(bad.status, 400);
  assert.match(bad.json().message, /^HostConfig.LogConfig: invalid value "max-fil=3" for --log-opt: unknown log opt 'max-fil'/);
  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);
});
