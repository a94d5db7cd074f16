/**
 * Attached runs as Docker's clients make them, against a real `corral daemon` on a temp socket:
 * `docker run` and `docker run --rm` (hijacked attach before start, wait with next-exit and
 * removed), dockerode's attach and run(), docker-py's attach, and the raw hijacked exchange (the 101
 * before the start, frames per stream, the end at the exit). What a client that never reads can do
 * to the container and the daemon, and what an attach leaves behind. Host (v1) and guest (v2).
 */
import { test as nodeTest, before, after, afterEach, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { apiCall, daemonScratch, demux, forceRemoveContainers, openFds, startTestDaemon, subscribeEvents, until, type DaemonScratch, type TestDaemon } from '../helpers/daemon.js';
import { TEST_CGROUP_PARENT, stopAllCorrals } from '../helpers/corral.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const execFileAsync = promisify(execFile);
const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { timeout: 120_000 }, fn);

let scratch: DaemonScratch;
let daemon: TestDaemon | undefined;

before(async () => {
  scratch = await daemonScratch('corral-attach-');
  daemon = await startTestDaemon(scratch.root, scratch.socket);
});

// a test that failed midway leaves no container for the next ones or the final leak checks
afterEach(
  async () => {
    if (daemon !== undefined) await forceRemoveContainers(scratch.socket);
  },
  { timeout: 120_000 },
);

after(async () => {
  await daemon?.stop();
  await stopAllCorrals();
  fs.rmSync(scratch.tmp, { recursive: true, force: true });
});

/** The Docker CLI on the daemon's socket; a hang is SIGKILLed after 30 s (code -1), so it fails the test. */
async function docker(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(scratch.tmp, 'docker-config') };
  for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_API_VERSION', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[k];
  try {
    const { stdout, stderr } = await execFileAsync('docker', ['-H', `unix://${scratch.socket}`, ...args], { env, timeout: 30_000, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the docker CLI is not installed: install the Debian package docker-cli (or docker-ce-cli)');
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function create(body: Record<string, unknown>, name?: string): Promise<string> {
  const r = await apiCall(scratch.socket, 'POST', `/containers/create${name ? `?name=${name}` : ''}`, {
    Image: scratch.rootfs,
    ...body,
    HostConfig: { CgroupParent: TEST_CGROUP_PARENT, ...(body.HostConfig as object) },
  });
  assert.equal(r.status, 201, r.body);
  return r.json().Id as string;
}

async function status(id: string): Promise<number | string> {
  const r = await apiCall(scratch.socket, 'GET', `/containers/${id}/json`);
  return r.status === 200 ? (r.json().State.Status as string) : r.status;
}

/**
 * A hijacked attach as the Docker CLI sends it (`Upgrade: tcp`, then its write side closed): the
 * head as it arrived (resolved as soon as it did), and the frames' bytes once the daemon ended the stream.
 */
function hijackedAttach(id: string, query: string): Promise<{ head: string; stream: Promise<Buffer>; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(scratch.socket);
    let buf = Buffer.alloc(0);
    let headSeen = false;
    let endStream!: (b: Buffer) => void;
    const stream = new Promise<Buffer>((done) => (endStream = done));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (headSeen) return;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      headSeen = true;
      const head = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
      resolve({ head, stream, socket });
    });
    socket.on('end', () => endStream(buf));
    socket.on('error', reject);
    socket.write(`POST /v1.41/containers/${id}/attach?${query} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`);
    socket.end();
    setTimeout(() => reject(new Error('no answer head within 5 s of the attach')), 5000).unref();
  });
}

test('docker run (attached): the output of both streams, each on its own, and the exit code; the container stays, exited', async () => {
  const r = await docker('run', '--name', 'attached', '--cgroup-parent', TEST_CGROUP_PARENT, 'host', 'sh', '-c', 'echo out; sleep 0.3; echo err >&2; echo more; exit 3');
  assert.equal(r.code, 3, `docker run: code ${r.code} (-1: killed after hanging)\n${r.stderr}`);
  assert.equal(r.stdout, 'out\nmore\n');
  assert.equal(r.stderr, 'err\n');
  const ps = await docker('ps', '-a', '--filter', 'name=^/attached$', '--format', '{{.Status}}');
  assert.match(ps.stdout, /^Exited \(3\)/);
});

test('docker run --rm: the output, the exit code, and no container left (wait condition=removed)', async () => {
  const r = await docker('run', '--rm', '--name', 'removed-after', '--cgroup-parent', TEST_CGROUP_PARENT, 'host', 'sh', '-c', 'echo hi; exit 7');
  assert.equal(r.code, 7, `docker run --rm: code ${r.code} (-1: killed after hanging)\n${r.stderr}`);
  assert.equal(r.stdout, 'hi\n');
  assert.equal((await docker('ps', '-a', '--filter', 'name=^/removed-after$', '--format', '{{.ID}}')).stdout, '', 'the container is gone');
  // a quick one: the whole output of a container that ends (and is removed) within milliseconds of its start
  const quick = await docker('run', '--rm', '--cgroup-parent', TEST_CGROUP_PARENT, 'host', 'echo', 'quick');
  assert.deepEqual([quick.code, quick.stdout], [0, 'quick\n'], quick.stderr);
});

test('docker start -a: attaches to the next run of an exited container, and its output only', async () => {
  const created = await docker('create', '--name', 'again', '--cgroup-parent', TEST_CGROUP_PARENT, 'host', 'sh', '-c', 'echo run; exit 2');
  assert.equal(created.code, 0, created.stderr);
  const first = await docker('start', '-a', 'again');
  assert.deepEqual([first.code, first.stdout], [2, 'run\n'], first.stderr);
  const second = await docker('start', '-a', 'again');
  assert.deepEqual([second.code, second.stdout], [2, 'run\n'], "the second run streams its own output, not the first run's again");
});

test('the raw hijacked attach: 101 UPGRADED before the start, frames per stream, the end at the exit; logs=1 replays', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'echo one; echo two >&2; sleep 0.5; echo three'] });
  const fdsBefore = openFds(daemon!.pid);
  const attach = await hijackedAttach(id, 'stream=1&stdout=1&stderr=1');
  assert.match(attach.head, /^HTTP\/1\.1 101 UPGRADED\r\n/);
  assert.match(attach.head, /\r\nContent-Type: application\/vnd\.docker\.raw-stream\r\n/i);
  assert.match(attach.head, /\r\nUpgrade: tcp\r\n/i);
  assert.equal(await status(id), 'created', 'the head came before the start');
  assert.equal((await apiCall(scratch.socket, 'POST', `/containers/${id}/start`)).status, 204);
  const frames = demux(await attach.stream);
  assert.deepEqual(
    frames.map((f) => [f.stream, f.text]),
    [
      [1, 'one\n'],
      [2, 'two\n'],
      [1, 'three\n'],
    ],
  );
  assert.equal(await status(id), 'exited', 'the stream ended at the exit');
  // stream=0 logs=1: what is logged, then the end; stdout only
  const replay = await hijackedAttach(id, 'logs=1&stdout=1');
  assert.deepEqual(
    demux(await replay.stream).map((f) => f.text),
    ['one\n', 'three\n'],
  );
  await until('the attaches closed their log descriptors', () => openFds(daemon!.pid) <= fdsBefore, 5000);
});

test('attach without Upgrade (a plain client): 200 at once, then the same frames, ended at the exit', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'echo plain'] });
  const answer = await plainAttach(id);
  assert.equal(answer.status, 200);
  assert.equal(answer.type, 'application/vnd.docker.raw-stream');
  assert.equal((await apiCall(scratch.socket, 'POST', `/containers/${id}/start`)).status, 204);
  assert.deepEqual(
    demux(await answer.body).map((f) => f.text),
    ['plain\n'],
  );
});

/** POST attach over plain HTTP/1.1 (no upgrade): resolved with the head, the body once it ends. */
async function plainAttach(id: string): Promise<{ status: number; type: string | undefined; body: Promise<Buffer> }> {
  const http = (await import('node:http')).default;
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: scratch.socket, method: 'POST', path: `/containers/${id}/attach?stream=1&stdout=1&stderr=1`, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: new Promise((done) => res.on('end', () => done(Buffer.concat(chunks)))) });
    });
    req.on('error', reject);
    req.end();
  });
}

test('dockerode: attach({hijack}) then start, demuxed; run() resolves with the exit code and the output', async () => {
  const client = new Docker({ socketPath: scratch.socket });
  const container = await client.createContainer({ Image: scratch.rootfs, Cmd: ['sh', '-c', 'echo o; echo e >&2; exit 4'], HostConfig: { CgroupParent: TEST_CGROUP_PARENT } });
  const stream = await container.attach({ stream: true, stdout: true, stderr: true, hijack: true });
  const out = new PassThrough();
  const err = new PassThrough();
  let outText = '';
  let errText = '';
  out.on('data', (d: Buffer) => (outText += d.toString()));
  err.on('data', (d: Buffer) => (errText += d.toString()));
  container.modem.demuxStream(stream, out, err);
  const ended = new Promise((resolve) => stream.once('end', resolve));
  await container.start();
  await ended;
  assert.deepEqual([outText, errText], ['o\n', 'e\n']);
  assert.equal((await container.wait()).StatusCode, 4);

  // run() with two streams demuxes into them (with one it pipes the raw stream, for a Tty container)
  const sinks = [new PassThrough(), new PassThrough()] as const;
  const texts = ['', ''];
  const drained = sinks.map((s, i) => {
    s.on('data', (d: Buffer) => (texts[i] += d.toString()));
    return new Promise((resolve) => s.once('end', resolve));
  });
  const [result, runContainer] = (await client.run(scratch.rootfs, ['sh', '-c', 'echo from-run; echo run-err >&2; exit 5'], [...sinks], {
    Tty: false,
    HostConfig: { CgroupParent: TEST_CGROUP_PARENT },
  })) as [{ StatusCode: number }, Docker.Container];
  assert.equal(result.StatusCode, 5);
  await Promise.all(drained);
  assert.deepEqual(texts, ['from-run\n', 'run-err\n']);
  await runContainer.remove();
});

test('docker-py: attach(stream=True) to a running container yields its output until the exit', async () => {
  // the container prints only when told (SIGUSR1), once docker-py holds the stream: Docker's `attach`
  // event says when (python's start-up alone takes seconds under emulation)
  const id = await create({ Cmd: ['sh', '-c', 'trap "echo py-one; echo py-two; exit 0" USR1; while :; do sleep 0.05; done'] });
  assert.equal((await apiCall(scratch.socket, 'POST', `/containers/${id}/start`)).status, 204);
  const events = await subscribeEvents(scratch.socket, { event: ['attach'], container: [id] });
  try {
    const script = [
      'import docker, sys',
      `c = docker.DockerClient(base_url="unix://${scratch.socket}").containers.get(sys.argv[1])`,
      'sys.stdout.write(b"".join(c.attach(stream=True, stdout=True, stderr=True)).decode())',
    ].join('\n');
    const py = execFileAsync('python3', ['-c', script, id], { timeout: 60_000, killSignal: 'SIGKILL' });
    await events.waitFor((e) => e.Action === 'attach' && e.Actor.ID === id, "docker-py's attach");
    assert.equal((await apiCall(scratch.socket, 'POST', `/containers/${id}/kill?signal=USR1`)).status, 204);
    const { stdout } = await py;
    assert.equal(stdout, 'py-one\npy-two\n');
  } finally {
    events.close();
  }
});

test('docker-py: containers.run attached (removed after) and detached; wait, logs, stats, remove', async () => {
  const script = [
    'import docker, json, sys',
    'c = docker.DockerClient(base_url="unix://" + sys.argv[1])',
    'out = c.containers.run("host", ["sh", "-c", "echo py-run"], remove=True, cgroup_parent=sys.argv[2])',
    'd = c.containers.run("host", ["sh", "-c", "echo d-out; echo d-err >&2; exit 4"], detach=True, cgroup_parent=sys.argv[2], name="py-detached", labels={"via": "docker-py"})',
    'code = d.wait()["StatusCode"]',
    'logs = d.logs(stdout=True, stderr=True).decode()',
    'stats = d.stats(stream=False)',
    'd.reload()',
    'labels = d.labels',
    'd.remove()',
    'left = [x.name for x in c.containers.list(all=True)]',
    'print(json.dumps({"run": out.decode(), "code": code, "logs": logs, "stats": sorted(stats)[:3], "labels": labels, "left": left}))',
  ].join('\n');
  const { stdout } = await execFileAsync('python3', ['-c', script, scratch.socket, TEST_CGROUP_PARENT], { timeout: 60_000, killSignal: 'SIGKILL' });
  const r = JSON.parse(stdout) as { run: string; code: number; logs: string; stats: string[]; labels: Record<string, string>; left: string[] };
  assert.equal(r.run, 'py-run\n');
  assert.equal(r.code, 4);
  // two pipes: their lines' order between the streams is the launcher's reading order
  assert.deepEqual(r.logs.split('\n').sort(), ['', 'd-err', 'd-out']);
  assert.ok(r.stats.length > 0, 'stats(stream=False) answers an object');
  assert.deepEqual(r.labels, { via: 'docker-py' });
  assert.deepEqual(r.left, [], 'the attached run was removed, and the detached one too');
});

test('docker logs --until: the lines before that time only', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'echo early; sleep 1.2; echo late'] });
  assert.equal((await apiCall(scratch.socket, 'POST', `/containers/${id}/start`)).status, 204);
  await until('the container ended', async () => (await status(id)) === 'exited', 20_000);
  const all = await docker('logs', '--timestamps', id);
  const lateAt = all.stdout
    .split('\n')
    .find((l) => l.endsWith(' late'))!
    .split(' ')[0]!;
  const before = await docker('logs', '--until', lateAt, id);
  assert.equal(before.code, 0, before.stderr);
  assert.equal(before.stdout, 'early\n');
});

test('wait condition=removed with AutoRemove: headers at once, the body once the container is gone, with its exit code', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'sleep 0.3; exit 9'], HostConfig: { AutoRemove: true } });
  const http = (await import('node:http')).default;
  const { res, body } = await new Promise<{ res: import('node:http').IncomingMessage; body: Promise<string> }>((resolve, reject) => {
    const req = http.request({ socketPath: scratch.socket, method: 'POST', path: `/v1.41/containers/${id}/wait?condition=removed`, agent: false }, (r) => {
      let text = '';
      r.on('data', (d: Buffer) => (text += d.toString()));
      resolve({ res: r, body: new Promise((done) => r.once('end', () => done(text))) });
    });
    req.on('error', reject);
    setTimeout(() => reject(new Error('no status line and headers within 5 s of the wait')), 5000).unref();
    req.end();
  });
  assert.equal(res.statusCode, 200);
  assert.equal((await apiCall(scratch.socket, 'POST', `/containers/${id}/start`)).status, 204);
  assert.deepEqual(JSON.parse(await body), { StatusCode: 9, Error: null });
  assert.equal(await status(id), 404, 'removed by the time the wait answered');
  // and for one that is not removed by itself: the answer comes with the DELETE
  const kept = await create({ Cmd: ['true'] });
  const waiting = apiCall(scratch.socket, 'POST', `/containers/${kept}/wait?condition=removed`);
  assert.equal((await apiCall(scratch.socket, 'DELETE', `/containers/${kept}`)).status, 204);
  assert.deepEqual((await waiting).json(), { StatusCode: 0, Error: null });
});

test('as an attacker: a client that attaches and never reads stalls neither the container nor the daemon', async () => {
  // 8 MiB of output into an attach nobody reads: the container writes to its log, not to the client
  const id = await create({ Cmd: ['sh', '-c', 'head -c 8388608 /dev/zero | tr "\\0" x; echo; echo done'] });
  const attach = await hijackedAttach(id, 'stream=1&stdout=1&stderr=1');
  attach.socket.pause();
  const started = Date.now();
  assert.equal((await apiCall(scratch.socket, 'POST', `/containers/${id}/start`)).status, 204);
  await until('the container ran to its end unread', async () => (await status(id)) === 'exited', 30_000);
  const ping = Date.now();
  assert.equal((await apiCall(scratch.socket, 'GET', '/_ping')).body, 'OK');
  assert.ok(Date.now() - ping < 2000, 'the daemon answers while the attach is stuck');
  assert.ok(Date.now() - started < 30_000);
  attach.socket.destroy();
  // the daemon lets go of the attach once the client is gone: the container can be removed
  assert.equal((await apiCall(scratch.socket, 'DELETE', `/containers/${id}`)).status, 204);
});

test('an attach to a container removed while attached ends', async () => {
  const id = await create({ Cmd: ['sleep', '600'] });
  assert.equal((await apiCall(scratch.socket, 'POST', `/containers/${id}/start`)).status, 204);
  const attach = await hijackedAttach(id, 'stream=1&stdout=1');
  assert.equal((await apiCall(scratch.socket, 'DELETE', `/containers/${id}?force=1`)).status, 204);
  const ended = await Promise.race([attach.stream.then(() => 'ended'), new Promise((r) => setTimeout(r, 10_000, 'still open'))]);
  assert.equal(ended, 'ended');
});

test('a followed log ends when its container is removed right after its exit (docker-py run(remove=True) follows while it removes)', async () => {
  for (let round = 0; round < 5; round++) {
    const id = await create({ Cmd: ['sleep', '600'] });
    assert.equal((await apiCall(scratch.socket, 'POST', `/containers/${id}/start`)).status, 204);
    const followed = new Promise<number>((resolve, reject) => {
      const req = http.get({ socketPath: scratch.socket, path: `/containers/${id}/logs?follow=1&stdout=1&stderr=1`, agent: false }, (res) => {
        res.resume();
        res.once('end', () => resolve(Date.now()));
      });
      req.once('error', reject);
    });
    // give the follow time to be under way, then kill and remove at once
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await apiCall(scratch.socket, 'DELETE', `/containers/${id}?force=1`)).status, 204);
    const removedAt = Date.now();
    const timeout = new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`round ${round}: the followed log did not end within 5 s of the removal`)), 5000).unref());
    const endedAt = await Promise.race([followed, timeout]);
    assert.ok(endedAt - removedAt < 5000);
  }
});
