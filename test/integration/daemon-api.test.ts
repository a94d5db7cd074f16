/**
 * `corral daemon` end to end, as root: the real daemon as a child process on a socket in a temp
 * dir with a temp --root; requests over the socket (ours and the Docker CLI's); bad input; the
 * socket's lifecycle. The same file runs on the host (cgroup v1) and in the QEMU guest (v2).
 */
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBusyboxRootfs } from '../helpers/busybox.js';
import { CORRAL_BIN, TEST_CGROUP_PARENT, corral, startCorral, stopAllCorrals, expectedMode } from '../helpers/corral.js';
import { request, rawExchange, fixtureHeaders, dockerFixture } from '../helpers/http.js';
import { createCgroupDriver } from '../../src/cgroups/index.js';
import { startApiServer } from '../../src/api/server.js';
import { createLogger } from '../../src/log.js';
import type { SystemFacts } from '../../src/api/system.js';
import { CORRAL_VERSION } from '../../src/version.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const execFileAsync = promisify(execFile);
const test = (name: string, fn: () => Promise<void> | void) => nodeTest(name, { timeout: 120_000 }, fn);

// --- the daemon as a child process ----------------------------------------------------------------

interface Daemon {
  child: ChildProcess;
  socket: string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const daemons = new Set<Daemon>();
/** every daemon process spawned, also those a test expects to refuse to start: `after` ends any still running */
const spawned = new Set<Omit<Daemon, 'socket'>>();

function spawnDaemon(args: string[], env: NodeJS.ProcessEnv = {}): Omit<Daemon, 'socket'> {
  const child = spawn(process.execPath, [CORRAL_BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const d = { child, stderr: () => stderr, exited };
  spawned.add(d);
  return d;
}

/** Start `corral --root ROOT --host unix://SOCKET daemon ARGS` and wait until /_ping answers. */
async function startDaemon(root: string, socket: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Daemon> {
  const hostArgs = env.CORRAL_HOST !== undefined ? [] : ['--host', `unix://${socket}`];
  const d: Daemon = { ...spawnDaemon(['--root', root, ...hostArgs, 'daemon', '--log-level', 'debug', ...args], env), socket };
  daemons.add(d);
  let gone = false;
  void d.exited.then(() => (gone = true));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (gone) throw new Error(`the daemon exited before answering:\n${d.stderr()}`);
    try {
      if ((await request(socket, { path: '/_ping' })).body === 'OK') return d;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the daemon did not answer on ${socket} within 60 s:\n${d.stderr()}`);
    await sleep(50);
  }
}

/** SIGTERM by PID, and wait (SIGKILL after 20 s). */
async function stopDaemon(d: Daemon): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGTERM');
  const timer = setTimeout(() => d.child.kill('SIGKILL'), 20_000);
  const result = await d.exited;
  clearTimeout(timer);
  daemons.delete(d);
  return result;
}

/** The daemon's log lines, parsed (each must be one JSON object). */
function logLines(d: Daemon): Record<string, unknown>[] {
  return d
    .stderr()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function assertServing(d: Daemon, after: string): Promise<void> {
  assert.equal(d.child.exitCode, null, `the daemon exited after ${after}:\n${d.stderr()}`);
  const r = await request(d.socket, { path: '/_ping' });
  assert.equal(r.status, 200, `ping after ${after}`);
  assert.equal(r.body, 'OK');
}

// --- shared state -----------------------------------------------------------------------------------

let tmp: string;
let root: string;
let rootfs: string;
let main: Daemon;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-api-'));
  root = path.join(tmp, 'root');
  rootfs = await ensureBusyboxRootfs(path.join(os.tmpdir(), 'corral-test-busybox'));
  // the socket's directory does not exist yet: the daemon makes it
  main = await startDaemon(root, path.join(tmp, 'run', 'corral', 'api.sock'));
});

after(async () => {
  for (const d of daemons) await stopDaemon(d);
  // a daemon that started where a test expected it to refuse (and the test failed)
  for (const d of spawned) {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    await d.exited;
  }
  await stopAllCorrals();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function getJson<T>(target: string): Promise<T> {
  const r = await request(main.socket, { path: target });
  assert.equal(r.status, 200, `${target}: ${r.body}`);
  assert.equal(r.headers['content-type'], 'application/json');
  return JSON.parse(r.body) as T;
}

// --- system routes -----------------------------------------------------------------------------------

test('the socket: mode 0660, in a directory made 0755, group corral when that group exists', () => {
  const st = fs.statSync(main.socket);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.uid, 0);
  const line = fs
    .readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('corral:'));
  assert.equal(st.gid, line ? Number(line.split(':')[2]) : process.getegid!());
  assert.equal(fs.statSync(path.dirname(main.socket)).mode & 0o777, 0o755);
});

test('GET and HEAD /_ping: "OK" and Docker\'s headers', async () => {
  for (const [method, fixture, body] of [
    ['GET', 'ping.http', 'OK'],
    ['HEAD', 'ping-head.http', ''],
  ] as const) {
    for (const target of ['/_ping', '/v1.41/_ping', '/v1.24/_ping']) {
      const r = await request(main.socket, { method, path: target });
      assert.equal(r.status, 200, `${method} ${target}`);
      assert.equal(r.body, body);
      for (const [name, value] of fixtureHeaders(fixture)) {
        const got = r.headers[name];
        assert.ok(got !== undefined, `${method} ${target}: header ${name} missing`);
        if (name === 'server') assert.equal(got, `corral/${CORRAL_VERSION} (linux)`);
        else assert.equal(got, value, `${method} ${target}: header ${name}`);
      }
    }
  }
});

test('GET /version, with and without the version prefix', async () => {
  for (const target of ['/version', '/v1.41/version']) {
    const v = await getJson<Record<string, unknown>>(target);
    assert.equal(v.ApiVersion, '1.41');
    assert.equal(v.MinAPIVersion, '1.24');
    assert.equal(v.Version, CORRAL_VERSION);
    assert.equal(v.KernelVersion, os.release());
    assert.equal(v.Os, 'linux');
  }
});

test('GET /info: the host, and the cgroup version that detection finds', async () => {
  const info = await getJson<Record<string, unknown>>('/v1.41/info');
  const mode = (await createCgroupDriver({})).mode;
  assert.equal(info.CgroupVersion, mode === 'v2' ? '2' : '1');
  if (expectedMode()) assert.equal(info.CgroupVersion, expectedMode() === 'v2' ? '2' : '1');
  assert.equal(info.CgroupDriver, 'cgroupfs');
  assert.equal(info.KernelVersion, os.release());
  assert.equal(info.Architecture, os.machine());
  assert.equal(info.NCPU, os.availableParallelism());
  assert.equal(info.MemTotal, os.totalmem());
  assert.equal(info.Name, os.hostname());
  assert.equal(info.DockerRootDir, root);
  assert.equal(info.OSType, 'linux');
  assert.match(String(info.ID), /^[0-9a-f-]{36}$/);
  assert.equal(fs.readFileSync(path.join(root, 'engine-id'), 'utf8').trim(), info.ID);
});

// --- containers ------------------------------------------------------------------------------------

interface Summary {
  Id: string;
  Names: string[];
  Image: string;
  Command: string;
  Created: number;
  State: string;
  Status: string;
  HostConfig: { NetworkMode: string };
}

test('GET /containers/json on an empty state dir', async () => {
  assert.deepEqual(await getJson('/containers/json'), []);
  assert.deepEqual(await getJson('/v1.41/containers/json?all=1'), []);
  const info = await getJson<Record<string, number>>('/info');
  assert.deepEqual([info.Containers, info.ContainersRunning, info.ContainersStopped], [0, 0, 0]);
});

test("GET /containers/json lists the containers `corral run` recorded, in Docker's shape", async () => {
  const started = Math.floor(Date.now() / 1000);
  const x = await corral(['--root', root, 'run', '--rootfs', rootfs, '--name', 'xx', 'true']);
  assert.equal(x.code, 0, x.stderr);
  const y = await corral(['--root', root, 'run', '--rootfs', rootfs, '--name', 'yy', 'sh', '-c', 'exit 3']);
  assert.equal(y.code, 3, y.stderr);
  const ended = Math.ceil(Date.now() / 1000);

  const list = await getJson<Summary[]>('/v1.41/containers/json?all=1');
  assert.deepEqual(
    list.map((c) => c.Names),
    [['/yy'], ['/xx']],
    'newest first',
  );
  const [cy, cx] = list as [Summary, Summary];
  assert.match(cx.Id, /^[0-9a-f]{64}$/);
  assert.equal(cx.Id, path.basename(fs.readlinkSync(path.join(root, 'names', 'xx'))));
  assert.equal(cx.Image, rootfs);
  assert.equal(cx.Command, 'true');
  assert.equal(cy.Command, "sh -c 'exit 3'");
  assert.deepEqual([cx.State, cy.State], ['exited', 'exited']);
  assert.match(cx.Status, /^Exited \(0\) (Less than a second|1 second|\d+ seconds) ago$/);
  assert.match(cy.Status, /^Exited \(3\) (Less than a second|1 second|\d+ seconds) ago$/);
  assert.ok(cx.Created >= started && cx.Created <= ended, `Created ${cx.Created} within [${started}, ${ended}]`);
  assert.deepEqual(cx.HostConfig, { NetworkMode: 'none' });

  // stopped containers only with all, a limit or a status filter
  assert.deepEqual(await getJson('/containers/json'), []);
  assert.deepEqual(
    (await getJson<Summary[]>('/containers/json?limit=1')).map((c) => c.Names[0]),
    ['/yy'],
  );
  const q = (filters: unknown) => `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify(filters))}`;
  assert.deepEqual(
    (await getJson<Summary[]>(q({ name: ['xx'] }))).map((c) => c.Names[0]),
    ['/xx'],
  );
  assert.deepEqual(
    (await getJson<Summary[]>(q({ name: { '^/yy$': true } }))).map((c) => c.Names[0]),
    ['/yy'],
  );
  assert.deepEqual(
    (await getJson<Summary[]>(q({ id: [cx.Id.slice(0, 12)] }))).map((c) => c.Names[0]),
    ['/xx'],
  );
  assert.deepEqual((await getJson<Summary[]>(`/containers/json?filters=${encodeURIComponent(JSON.stringify({ status: ['exited'] }))}`)).length, 2);
  assert.deepEqual(await getJson(q({ status: ['running'] })), []);
  assert.deepEqual(
    (await getJson<Summary[]>(q({ exited: ['3'] }))).map((c) => c.Names[0]),
    ['/yy'],
  );

  const info = await getJson<Record<string, number>>('/info');
  assert.deepEqual([info.Containers, info.ContainersRunning, info.ContainersStopped], [2, 0, 2]);

  // a known container is inspected by name or ID prefix; an unknown one is Docker's 404
  assert.equal((await request(main.socket, { path: '/containers/xx/json' })).status, 200);
  assert.equal((await request(main.socket, { path: `/containers/${cx.Id.slice(0, 10)}/json` })).status, 200);
  const missing = await request(main.socket, { path: '/v1.41/containers/doesnotexist/json' });
  assert.equal(missing.status, 404);
  assert.equal(missing.body, dockerFixture('v1.41-containers-notfound.json').trim());
});

test('a running container is listed as running while it runs', async () => {
  const run = startCorral(['--root', root, 'run', '--rootfs', rootfs, '--name', 'rr', 'sh', '-c', 'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done']);
  try {
    let running: Summary[] = [];
    const deadline = Date.now() + 30_000;
    while (running.length === 0 && Date.now() < deadline) {
      running = await getJson<Summary[]>('/containers/json');
      if (running.length === 0) await sleep(100);
    }
    assert.deepEqual(
      running.map((c) => [c.Names[0], c.State]),
      [['/rr', 'running']],
    );
    assert.match(running[0]!.Status, /^Up (Less than a second|1 second|\d+ seconds)$/);
    const info = await getJson<Record<string, number>>('/info');
    assert.deepEqual([info.Containers, info.ContainersRunning, info.ContainersStopped], [3, 1, 2]);
  } finally {
    // PID 1 ignores SIGTERM until its trap is set: signal only once the workload says it is ready
    const ready = Date.now() + 60_000;
    while (!run.stdout().includes('ready') && Date.now() < ready) await sleep(50);
    run.child.kill('SIGTERM'); // forwarded to the workload, whose trap exits 0
  }
  const result = await run.result;
  assert.equal(result.code, 0, result.stderr);
  const r = (await getJson<Summary[]>('/containers/json?all=1')).find((c) => c.Names[0] === '/rr');
  assert.equal(r?.State, 'exited');
});

// --- the Docker CLI as a client ------------------------------------------------------------------------

async function docker(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(tmp, 'docker-config') };
  for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_API_VERSION', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[k];
  try {
    // a client that hangs ignores SIGTERM: SIGKILL, so that a hang fails the test (code -1) instead of stalling it
    const { stdout, stderr } = await execFileAsync('docker', ['-H', `unix://${main.socket}`, ...args], { env, timeout: 30_000, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the docker CLI is not installed: install the Debian package docker-cli (or docker-ce-cli)');
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test("the Docker CLI works against corral's socket: version, info, ps -a", async () => {
  const version = await docker('version', '--format', '{{.Server.Version}} {{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}}');
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), `${CORRAL_VERSION} 1.41 1.24 linux`);

  const info = await docker('info', '--format', '{{.CgroupVersion}} {{.CgroupDriver}} {{.DockerRootDir}}');
  assert.equal(info.code, 0, info.stderr);
  const mode = (await createCgroupDriver({})).mode;
  assert.equal(info.stdout.trim(), `${mode === 'v2' ? '2' : '1'} cgroupfs ${root}`);

  const ps = await docker('ps', '-a', '--no-trunc', '--format', '{{.ID}}|{{.Names}}|{{.Image}}|{{.Command}}|{{.Status}}');
  assert.equal(ps.code, 0, ps.stderr);
  const rows = ps.stdout
    .trim()
    .split('\n')
    .map((l) => l.split('|'));
  assert.deepEqual(rows.map((r) => r[1]).sort(), ['rr', 'xx', 'yy']);
  const x = rows.find((r) => r[1] === 'xx')!;
  assert.equal(x[0], path.basename(fs.readlinkSync(path.join(root, 'names', 'xx'))));
  assert.equal(x[2], rootfs);
  assert.equal(x[3], '"true"');
  assert.match(x[4]!, /^Exited \(0\) /);

  const filtered = await docker('ps', '-a', '--filter', 'name=^/yy$', '--format', '{{.Names}}');
  assert.equal(filtered.stdout.trim(), 'yy');
  assert.equal((await docker('ps', '--format', '{{.Names}}')).stdout.trim(), '', 'no container runs');

  // the CLI's real create body passes the body's validation and reaches create, which looks the
  // image up: not here, the CLI pulls it (as from dockerd), and no registry answers on that port
  const create = await docker('create', '--name', 'ok', '-e', 'A=1', '--memory', '64m', '127.0.0.1:1/nosuch', 'sh', '-c', 'echo hi');
  assert.notEqual(create.code, 0);
  assert.match(create.stderr, /Unable to find image '127\.0\.0\.1:1\/nosuch:latest' locally/);
  assert.match(create.stderr, /Error response from daemon: .*127\.0\.0\.1:1.*ECONNREFUSED/);
  const inspect = await docker('inspect', '--type', 'container', 'nope');
  assert.notEqual(inspect.code, 0);
  assert.match(inspect.stderr, /No such container: nope/);
  await assertServing(main, 'the Docker CLI');
});

// --- bad input --------------------------------------------------------------------------------------------

test('bad input: each gets its 4xx and message, and the daemon keeps serving', async () => {
  const json = { 'Content-Type': 'application/json' };
  const create = '/v1.41/containers/create';
  const table: [string, Parameters<typeof request>[1], number, string | RegExp][] = [
    ['malformed JSON', { method: 'POST', path: create, headers: json, body: '{"Image":' }, 400, /^invalid JSON in the request body: /],
    ['not an object', { method: 'POST', path: create, headers: json, body: '["busybox"]' }, 400, 'request body must be a JSON object, not an array'],
    ['empty body', { method: 'POST', path: create, headers: json }, 400, 'request body is empty: a JSON object is required'],
    ['a field corral cannot honour', { method: 'POST', path: create, headers: json, body: '{"Image":"bb","HostConfig":{"Privileged":true}}' }, 400, /^HostConfig\.Privileged: true is not supported: /],
    [
      'wrong type',
      { method: 'POST', path: create, headers: json, body: '{"Image":"bb","Cmd":5}' },
      400,
      'invalid value for field "Cmd" in the request body: expected a string or an array of strings, not a number',
    ],
    ['wrong content type', { method: 'POST', path: create, headers: { 'Content-Type': 'text/plain' }, body: '{}' }, 400, "Content-Type specified (text/plain) must be 'application/json'"],
    ['invalid UTF-8', { method: 'POST', path: create, headers: json, body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]) }, 400, 'request body is not valid UTF-8'],
    ['path-like name on create', { method: 'POST', path: `${create}?name=..%2Fx`, headers: json, body: '{}' }, 400, 'Invalid container name (../x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'],
    ['a valid body naming an image not here', { method: 'POST', path: create, headers: json, body: '{"Image":"busybox","Cmd":["true"],"HostConfig":{}}' }, 404, /^No such image: busybox:latest$/],
    ['huge body', { method: 'POST', path: create, headers: json, body: `{"Image":"${'x'.repeat(2 << 20)}"}` }, 413, `request body too large: the limit is ${1 << 20} bytes`],
    ['huge chunked body', { method: 'POST', path: create, headers: json, body: `{"Image":"${'x'.repeat(2 << 20)}"}`, chunked: true }, 413, `request body too large: the limit is ${1 << 20} bytes`],
    ['API version too new', { path: '/v9.99/_ping' }, 400, 'client version 9.99 is too new. Maximum supported API version is 1.41'],
    ['API version too old', { path: '/v1.0/version' }, 400, 'client version 1.0 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version'],
    ['unknown route', { path: '/v1.41/networks' }, 404, 'page not found'],
    ['wrong method', { method: 'DELETE', path: '/_ping' }, 405, 'method DELETE is not allowed here: use GET or HEAD'],
    ['bad limit', { path: '/containers/json?limit=lots' }, 400, 'invalid value "lots" for query parameter "limit": expected an integer from -1 to 1000000'],
    ['bad filters', { path: '/containers/json?filters=%7B' }, 400, /^invalid filters: /],
    ['unknown filter', { path: `/containers/json?filters=${encodeURIComponent('{"colour":["red"]}')}` }, 400, 'Invalid filter "colour"'],
    ['bad status filter', { path: `/containers/json?filters=${encodeURIComponent('{"status":["asleep"]}')}` }, 400, "Invalid filter 'status=asleep'"],
    ['bad percent-encoding', { path: '/containers/%ZZ/json' }, 400, 'invalid percent-encoding in path segment "%ZZ"'],
    ['unknown container', { path: '/containers/nope/json' }, 404, 'No such container: nope'],
  ];
  for (const [what, req, status, message] of table) {
    const r = await request(main.socket, req);
    assert.equal(r.status, status, `${what}: ${r.body.slice(0, 300)}`);
    assert.equal(r.headers['content-type'], 'application/json', what);
    const body = JSON.parse(r.body) as { message: string };
    assert.deepEqual(Object.keys(body), ['message'], what);
    if (typeof message === 'string') assert.equal(body.message, message, what);
    else assert.match(body.message, message, what);
    await assertServing(main, what);
  }
});

test('path-like container references are refused without touching the file system', async () => {
  // Traps: were a reference joined into a path unvalidated, names/../x and names/../../etc would
  // lead to container "xx" (a symlink at <root>/xx) or out of the state dir, and answer 200.
  const xId = path.basename(fs.readlinkSync(path.join(root, 'names', 'xx')));
  fs.symlinkSync(path.join('containers', xId), path.join(root, 'xx'));
  try {
    for (const ref of ['..%2Fxx', '..%2F..%2Fetc', '..', '.', '%2E%2E', 'xx%00', '%2F%2Fxx', 'xx%2F..%2Fxx', `..%2Fcontainers%2F${xId}`]) {
      const r = await request(main.socket, { path: `/v1.41/containers/${ref}/json` });
      assert.ok(r.status === 400 || r.status === 404, `${ref}: ${r.status} ${r.body}`);
      const message = (JSON.parse(r.body) as { message: string }).message;
      assert.ok(message.startsWith('invalid container name or ID ') || message === 'page not found', `${ref}: ${message}`);
      await assertServing(main, ref);
    }
  } finally {
    fs.rmSync(path.join(root, 'xx'));
  }
});

test('requests node:http cannot parse get the same error shape, and the daemon keeps serving', async () => {
  const garbage = await rawExchange(main.socket, 'GARBAGE\r\n\r\n');
  assert.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(garbage, /\r\n\r\n\{"message":"malformed HTTP request \(HPE_[A-Z_]+\)"\}$/);
  await assertServing(main, 'garbage');
  const headers = await rawExchange(main.socket, `GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
  assert.match(headers, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  await assertServing(main, 'huge headers');
  // a body declared far beyond the limit is refused at once, without reading it
  const declared = await rawExchange(main.socket, 'POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{');
  assert.match(declared, /^HTTP\/1\.1 413 Payload Too Large\r\n/);
  assert.match(declared, /\{"message":"request body too large: the limit is 1048576 bytes"\}$/);
  await assertServing(main, 'a declared huge body');
});

// --- the socket's lifecycle --------------------------------------------------------------------------------

test("a second daemon on the same socket and root refuses to start before it adopts the first one's containers; the first keeps serving", async () => {
  // a running container of the first daemon, which the second must leave alone
  const created = await request(main.socket, {
    method: 'POST',
    path: '/containers/create?name=api-owned',
    body: JSON.stringify({ Image: rootfs, Cmd: ['sleep', '600'], HostConfig: { CgroupParent: TEST_CGROUP_PARENT } }),
    headers: { 'Content-Type': 'application/json' },
  });
  assert.equal(created.status, 201, created.body);
  const id = (JSON.parse(created.body) as { Id: string }).Id;
  try {
    assert.equal((await request(main.socket, { method: 'POST', path: `/containers/${id}/start` })).status, 204);
    const second = spawnDaemon(['--root', root, '--host', `unix://${main.socket}`, 'daemon']);
    const { code } = await second.exited;
    assert.equal(code, 1);
    const lines = second
      .stderr()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.at(-1)!.level, 'error');
    assert.equal(lines.at(-1)!.msg, `cannot start: another daemon is already listening on ${main.socket}: stop it first, or choose another socket with --host`);
    assert.deepEqual(
      lines.filter((l) => String(l.msg).startsWith('following a container')),
      [],
      'the second daemon adopted nothing',
    );
    assert.ok(fs.statSync(main.socket).isSocket());
    await assertServing(main, 'a second daemon');
    const inspect = JSON.parse((await request(main.socket, { path: `/containers/${id}/json` })).body) as { State: { Running: boolean } };
    assert.equal(inspect.State.Running, true);
  } finally {
    assert.equal((await request(main.socket, { method: 'DELETE', path: `/containers/${id}?force=1` })).status, 204);
  }
});

test('a path that is not a socket is left alone, and the daemon refuses to start', async () => {
  const file = path.join(tmp, 'not-a-socket');
  fs.writeFileSync(file, 'data');
  const d = spawnDaemon(['--root', root, '--host', `unix://${file}`, 'daemon']);
  assert.equal((await d.exited).code, 1);
  assert.match(d.stderr(), /exists and is not a socket: remove it or choose another path with --host/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'data');
});

test('a stale socket is replaced; CORRAL_HOST selects the socket; --api-listen adds TCP with a warning; SIGTERM removes the socket', async () => {
  const socket = path.join(tmp, 'stale.sock');
  // a process that binds the socket and dies without removing it
  const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => holder.stdout!.once('data', resolve));
  holder.kill('SIGKILL');
  await new Promise((resolve) => holder.once('close', resolve));
  assert.ok(fs.statSync(socket).isSocket(), 'the dead process left its socket');
  await assert.rejects(new Promise((resolve, reject) => net.connect(socket).once('connect', resolve).once('error', reject)), { code: 'ECONNREFUSED' });

  const d = await startDaemon(root, socket, ['--api-listen', '127.0.0.1:0'], { CORRAL_HOST: `unix://${socket}` });
  const lines = logLines(d);
  for (const l of lines) {
    assert.equal(typeof l.time, 'string');
    assert.ok(['debug', 'info', 'warn', 'error'].includes(String(l.level)));
    assert.equal(typeof l.msg, 'string');
  }
  assert.ok(lines.some((l) => l.msg === 'removed a stale socket (nothing answered on it)' && l.socket === socket));
  // The unix socket may answer before the TCP listener is up and has logged its warning.
  const tcpWarning = () => logLines(d).find((l) => l.level === 'warn' && String(l.msg).startsWith('API also listening on TCP, without authentication or TLS'));
  const deadline = Date.now() + 20_000;
  while (!tcpWarning() && Date.now() < deadline) await sleep(50);
  const tcp = tcpWarning();
  assert.ok(tcp, d.stderr());
  const port = Number(String(tcp.address).split(':').at(-1));
  const overTcp = await fetch(`http://127.0.0.1:${port}/v1.41/_ping`);
  assert.equal(await overTcp.text(), 'OK');
  assert.equal(overTcp.headers.get('api-version'), '1.41');

  const { code, signal } = await stopDaemon(d);
  assert.deepEqual({ code, signal }, { code: 0, signal: null });
  assert.equal(fs.existsSync(socket), false, 'the socket is removed');
  const end = logLines(d)
    .slice(-2)
    .map((l) => l.msg);
  assert.deepEqual(end, ['shutting down', 'stopped']);
});

test('the socket belongs to group corral when /etc/group has it (in-process, with a stand-in group file)', async () => {
  const socket = path.join(tmp, 'group.sock');
  const groupFile = path.join(tmp, 'group');
  fs.writeFileSync(groupFile, 'root:x:0:\ncorral:x:4242:alice\n');
  const facts = { stateRoot: root } as SystemFacts;
  const server = await startApiServer({ socketPath: socket, groupFile, facts, log: createLogger({ level: 'error', write: () => {} }), now: () => new Date() });
  try {
    const st = fs.statSync(socket);
    assert.equal(st.gid, 4242);
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal((await request(socket, { path: '/_ping' })).body, 'OK');
  } finally {
    await server.close();
  }
  assert.equal(fs.existsSync(socket), false);
});

// --- Docker's clients as a new user meets them ---------------------------------------------------------

/** Create (and with `start`, start) a container on the main daemon; its id. */
async function createOn(name: string, body: Record<string, unknown>, start = false): Promise<string> {
  const r = await request(main.socket, {
    method: 'POST',
    path: `/containers/create?name=${name}`,
    body: JSON.stringify({ ...body, HostConfig: { CgroupParent: TEST_CGROUP_PARENT, ...(body.HostConfig as object | undefined) } }),
    headers: { 'Content-Type': 'application/json' },
  });
  assert.equal(r.status, 201, r.body);
  const id = (JSON.parse(r.body) as { Id: string }).Id;
  if (start) assert.equal((await request(main.socket, { method: 'POST', path: `/containers/${id}/start` })).status, 204);
  return id;
}

const removeForce = async (id: string) => request(main.socket, { method: 'DELETE', path: `/containers/${id}?force=1` });

test('docker run -d prints the id and the container runs: wait answers its status line and headers at once', async () => {
  // Image "host": the host's system directories (a busybox tree's path is no image reference for the CLI)
  const run = await docker('run', '-d', '--name', 'cli-detached', '--cgroup-parent', TEST_CGROUP_PARENT, 'host', 'sleep', '600');
  assert.equal(run.code, 0, `docker run -d: code ${run.code} (-1: killed after hanging)\n${run.stderr}`);
  const id = run.stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  try {
    const inspect = await getJson<{ State: { Status: string; Running: boolean } }>(`/containers/${id}/json`);
    assert.deepEqual([inspect.State.Status, inspect.State.Running], ['running', true]);
  } finally {
    assert.equal((await removeForce(id)).status, 204);
  }
});

test('POST /containers/{id}/wait?condition=next-exit: 200 and the headers before the container even starts, the body at its exit', async () => {
  const id = await createOn('waited', { Image: rootfs, Cmd: ['sh', '-c', 'sleep 1; exit 3'] });
  try {
    const { res, body } = await new Promise<{ res: import('node:http').IncomingMessage; body: Promise<string> }>((resolve, reject) => {
      const req = http.request({ socketPath: main.socket, method: 'POST', path: `/v1.41/containers/${id}/wait?condition=next-exit`, agent: false }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        resolve({ res, body: new Promise((done) => res.once('end', () => done(text))) });
      });
      req.on('error', reject);
      setTimeout(() => reject(new Error('no status line and headers within 5 s of the wait, before the start')), 5000).unref();
      req.end();
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['api-version'], '1.41');
    const status = await getJson<{ State: { Status: string } }>(`/containers/${id}/json`);
    assert.equal(status.State.Status, 'created', 'the headers came before the start');
    assert.equal((await request(main.socket, { method: 'POST', path: `/containers/${id}/start` })).status, 204);
    assert.deepEqual(JSON.parse(await body), { StatusCode: 3, Error: null });
  } finally {
    await removeForce(id);
  }
});

test('create accepts the body fields Docker ignores (a warning for the unknown), and refuses, by name, values corral cannot honour', async () => {
  const r = await request(main.socket, {
    method: 'POST',
    path: '/containers/create?name=lenient',
    body: JSON.stringify({
      name: 'lenient',
      Image: rootfs,
      Cmd: ['true'],
      VolumesFrom: [],
      Bogus: 1,
      HostConfig: { CgroupParent: TEST_CGROUP_PARENT, Bogus: 2, VolumesFrom: null, PortBindings: {}, Privileged: false },
    }),
    headers: { 'Content-Type': 'application/json' },
  });
  assert.equal(r.status, 201, r.body);
  const created = JSON.parse(r.body) as { Id: string; Warnings: string[] };
  assert.deepEqual(created.Warnings, ['unknown field "Bogus" in the request body: ignored']);
  await removeForce(created.Id);

  const refused = await docker('create', '--volumes-from', 'lenient', '--cgroup-parent', TEST_CGROUP_PARENT, 'host', 'true');
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /Error response from daemon: HostConfig\.VolumesFrom: \["lenient"\] is not supported: corral has no volumes of other containers/);
  // a weight this host cannot apply (no BFQ, no blk-iocost) is refused naming the field, not io.weight
  const weightRefused = await (await createCgroupDriver({ parent: TEST_CGROUP_PARENT })).plan({ io: { weight: 500 } }).then(
    () => false,
    () => true,
  );
  if (weightRefused) {
    const blkio = await docker('create', '--blkio-weight', '500', '--cgroup-parent', TEST_CGROUP_PARENT, 'host', 'true');
    assert.notEqual(blkio.code, 0);
    assert.match(blkio.stderr, /Error response from daemon: HostConfig\.BlkioWeight \(io\.weight\) is not supported here: /);
  }
  await assertServing(main, 'the lenient creates');
});

test("dockerode: createContainer({name}) and run() get past create (dockerode's own bodies)", async () => {
  const client = new Docker({ socketPath: main.socket });
  const named = await client.createContainer({ name: 'dockerode-named', Image: rootfs, Cmd: ['true'], HostConfig: { CgroupParent: TEST_CGROUP_PARENT } });
  try {
    assert.equal((await named.inspect()).Name, '/dockerode-named');
  } finally {
    await named.remove({ force: true });
  }
  // run() creates with VolumesFrom, Volumes, Tty... in its body (what is checked here: the create
  // got through; docker-attach.test.ts follows run() to its end)
  let created: Docker.Container | undefined;
  const err = await new Promise<(Error & { statusCode?: number }) | null>((resolve) => {
    const hub = client.run(rootfs, ['true'], new PassThrough(), { HostConfig: { CgroupParent: TEST_CGROUP_PARENT } }, {}, (e: Error | null) => resolve(e));
    hub.on('container', (c: Docker.Container) => (created = c));
  });
  assert.ok(created !== undefined, `run() did not get past create: ${err?.message}`);
  try {
    assert.notEqual(err?.statusCode, 400, err?.message);
    assert.deepEqual((await created.inspect()).Config.Cmd, ['true']);
  } finally {
    await created.remove({ force: true });
  }
});

test('docker info says the json-file logging driver, as inspect does', async () => {
  const info = await docker('info', '--format', '{{.LoggingDriver}}');
  assert.equal(info.code, 0, info.stderr);
  assert.equal(info.stdout.trim(), 'json-file');
  const id = await createOn('logged', { Image: rootfs, Cmd: ['true'] });
  try {
    const inspect = await docker('inspect', '--format', '{{.HostConfig.LogConfig.Type}}', id);
    assert.equal(inspect.stdout.trim(), 'json-file', inspect.stderr);
  } finally {
    await removeForce(id);
  }
});

test("POST /containers/prune (Docker's route): the containers that do not run go, with their layers' bytes; docker container prune", async () => {
  const labels = { 'prune-test': 'a' };
  const running = await createOn('prune-running', { Image: rootfs, Cmd: ['sleep', '600'], Labels: labels }, true);
  const created = await createOn('prune-created', { Image: rootfs, Cmd: ['true'], Labels: labels });
  const exited = await createOn('prune-exited', { Image: rootfs, Cmd: ['sh', '-c', 'echo 12345678 > /tmp/f'], Labels: labels }, true);
  const other = await createOn('prune-other', { Image: rootfs, Cmd: ['true'], Labels: { 'prune-test': 'b' } });
  try {
    assert.equal((await request(main.socket, { method: 'POST', path: `/containers/${exited}/wait` })).status, 200);
    const filters = encodeURIComponent(JSON.stringify({ label: ['prune-test=a'] }));
    const r = await request(main.socket, { method: 'POST', path: `/v1.41/containers/prune?filters=${filters}` });
    assert.equal(r.status, 200, r.body);
    const report = JSON.parse(r.body) as { ContainersDeleted: string[] | null; SpaceReclaimed: number };
    assert.deepEqual(Object.keys(report), ['ContainersDeleted', 'SpaceReclaimed']);
    assert.deepEqual([...(report.ContainersDeleted ?? [])].sort(), [created, exited].sort());
    assert.ok(report.SpaceReclaimed >= 9, `SpaceReclaimed ${report.SpaceReclaimed}: /tmp/f holds 9 bytes`);
    assert.equal((await getJson<{ State: { Status: string } }>(`/containers/${running}/json`)).State.Status, 'running');
    const none = await request(main.socket, { method: 'POST', path: `/containers/prune?filters=${filters}` });
    assert.deepEqual(JSON.parse(none.body), { ContainersDeleted: null, SpaceReclaimed: 0 });

    const cli = await docker('container', 'prune', '--force', '--filter', 'label=prune-test=b');
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`^Deleted Containers:\n${other}\n`));
    assert.equal((await request(main.socket, { path: `/containers/${other}/json` })).status, 404);
  } finally {
    for (const id of [running, created, exited, other]) await removeForce(id);
  }
});

test('the main daemon stops on SIGTERM and removes its socket', async () => {
  const { code } = await stopDaemon(main);
  assert.equal(code, 0, main.stderr());
  assert.equal(fs.existsSync(main.socket), false);
});
