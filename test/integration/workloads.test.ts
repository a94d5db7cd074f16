/**
 * The workloads file end to end, as root on the real kernel: `corral up` through a daemon's API, then
 * a daemon given `--config` that follows edits of the file (a changed limit, an added and a removed
 * service, an invalid edit that must change nothing), then `corral down`. Busybox containers under
 * this test process's cgroup parent (the file's cgroup_parent); the daemon on a temp socket and root.
 * The same file runs on the host (cgroup v1) and in the QEMU guest (v2).
 */
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBusyboxRootfs } from '../helpers/busybox.js';
import { TEST_CGROUP_PARENT, containerCgroups, corral, launcherProcesses, stopAllCorrals, testDriver } from '../helpers/corral.js';
import { request } from '../helpers/http.js';
import { startDaemonProcess, stopDaemonProcess, type DaemonProcess as Daemon } from '../helpers/daemon.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const test = (name: string, fn: () => Promise<void> | void) => nodeTest(name, { timeout: 180_000 }, fn);

let tmp: string;
let root: string;
let socket: string;
let rootfs: string;
let file: string;
const daemons: Daemon[] = [];

/** A daemon on this test's root and socket, stopped in after() if a test does not stop it. */
async function newDaemon(args: string[] = []): Promise<Daemon> {
  // a test that failed before stopping its daemon must not make the next one fail on a busy socket
  for (const running of daemons.splice(0)) await stopDaemonProcess(running);
  const d = await startDaemonProcess(root, socket, ['--log-level', 'debug', ...args]);
  daemons.push(d);
  return d;
}

async function until(what: string, fn: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The project's containers: name → {id, state}. */
async function project(): Promise<Record<string, { id: string; state: string }>> {
  const filters = encodeURIComponent(JSON.stringify({ label: ['corral.workloads.project=shop'] }));
  const r = await request(socket, { path: `/containers/json?all=1&filters=${filters}` });
  assert.equal(r.status, 200, r.body);
  const out: Record<string, { id: string; state: string }> = {};
  for (const c of JSON.parse(r.body) as { Id: string; Names: string[]; State: string }[]) out[c.Names[0]!.slice(1)] = { id: c.Id, state: c.State };
  return out;
}

/** A container's limits as its cgroup files hold them: memory bytes, CPU quota µs per 100 ms, pids. */
async function limits(id: string): Promise<{ memory: string; cpuQuota: string; pids: string }> {
  const cg = (await testDriver()).open(id);
  const read = (hierarchy: string, f: string) => fs.readFileSync(path.join(cg.paths[hierarchy]!, f), 'utf8').trim();
  if (cg.paths.unified !== undefined) {
    return { memory: read('unified', 'memory.max'), cpuQuota: read('unified', 'cpu.max').split(' ')[0]!, pids: read('unified', 'pids.max') };
  }
  return { memory: read('memory', 'memory.limit_in_bytes'), cpuQuota: read('cpu', 'cpu.cfs_quota_us'), pids: read('pids', 'pids.max') };
}

/** A long-running service that stops at once on SIGTERM (busybox sh runs the trap between sleeps). */
const LOOP = `[sh, -c, 'trap "exit 0" TERM; while :; do sleep 1; done']`;

function service(name: string, fields: string[]): string[] {
  return [`  ${name}:`, `    command: ${LOOP}`, `    rootfs: ${rootfs}`, `    cgroup_parent: ${TEST_CGROUP_PARENT}`, ...fields.map((f) => `    ${f}`)];
}

const FIRST = () => ['services:', ...service('web', ['mem_limit: 32m', 'cpus: 0.5']), ...service('db', ['deploy: {resources: {limits: {memory: 24m, pids: 20}}}'])].join('\n') + '\n';
const EDITED = () => ['services:', ...service('web', ['mem_limit: 48m', 'cpus: 0.5']), ...service('worker', ['pids_limit: 30'])].join('\n') + '\n';

/** An editor's atomic save: write a temp file beside, rename it over. */
function saveAtomically(text: string): void {
  fs.writeFileSync(`${file}.swp`, text);
  fs.renameSync(`${file}.swp`, file);
}

async function daemonEvents(): Promise<{ Action: string; Actor: { Attributes: Record<string, string> } }[]> {
  const filters = encodeURIComponent(JSON.stringify({ type: ['daemon'] }));
  // until = the next millisecond: an event from this millisecond (already logged) has sub-ms nanoseconds
  // after the truncated `now`, and would be left out of a stream that ends at `now`
  const r = await request(socket, { path: `/events?since=0&until=${(Date.now() / 1000 + 0.001).toFixed(3)}&filters=${filters}` });
  assert.equal(r.status, 200, r.body);
  return r.body
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { Action: string; Actor: { Attributes: Record<string, string> } });
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-workloads-'));
  root = path.join(tmp, 'root');
  socket = path.join(tmp, 'corral.sock');
  rootfs = await ensureBusyboxRootfs(path.join(tmp, 'busybox'));
  fs.mkdirSync(path.join(tmp, 'shop'));
  file = path.join(tmp, 'shop', 'w.yml');
  fs.writeFileSync(file, FIRST());
});

after(async () => {
  for (const d of daemons) await stopDaemonProcess(d);
  await stopAllCorrals();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
let firstIds: Record<string, { id: string; state: string }>;

test('corral up starts the services with their limits in the cgroup files; a second up changes nothing', async () => {
  const daemon = await newDaemon();
  const up = await corral(['--host', `unix://${socket}`, 'up', '-f', file]);
  assert.equal(up.code, 0, up.stderr);
  assert.deepEqual(up.stdout.split('\n').filter(Boolean), ['Container shop-web-1  Created', 'Container shop-web-1  Started', 'Container shop-db-1  Created', 'Container shop-db-1  Started']);
  firstIds = await project();
  assert.deepEqual(Object.keys(firstIds).sort(), ['shop-db-1', 'shop-web-1']);
  assert.deepEqual([firstIds['shop-web-1']!.state, firstIds['shop-db-1']!.state], ['running', 'running']);
  const web = await limits(firstIds['shop-web-1']!.id);
  assert.deepEqual([web.memory, web.cpuQuota], [String(32 * MiB), '50000']);
  const db = await limits(firstIds['shop-db-1']!.id);
  assert.deepEqual([db.memory, db.pids], [String(24 * MiB), '20']);
  // inspect shows the labels
  const inspect = JSON.parse((await request(socket, { path: `/containers/${firstIds['shop-web-1']!.id}/json` })).body) as { Config: { Labels: Record<string, string> } };
  assert.equal(inspect.Config.Labels['corral.workloads.service'], 'web');
  assert.equal(inspect.Config.Labels['corral.workloads.file'], file);

  const again = await corral(['--host', `unix://${socket}`, 'up', '-f', file]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(again.stdout.split('\n').filter(Boolean), ['Container shop-web-1  Running', 'Container shop-db-1  Running']);
  assert.deepEqual(await project(), firstIds);

  // an invalid file: up refuses before touching anything, naming the line
  fs.writeFileSync(`${file}.bad`, FIRST().replace('mem_limit: 32m', 'mem_limit: 2m'));
  const bad = await corral(['--host', `unix://${socket}`, 'up', '-f', `${file}.bad`]);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /w\.yml\.bad:6:5: services\.web\.mem_limit: invalid value "2m": the minimum memory limit allowed is 6MB/);
  fs.rmSync(`${file}.bad`);
  assert.deepEqual(await project(), firstIds);
  // containers outlive their daemon: the next test's daemon takes them over
  await stopDaemonProcess(daemon);
});

test('a daemon with --config keeps the running set, then follows edits: recreates the changed, starts the added, removes the removed', async () => {
  assert.ok(firstIds, 'needs the previous test');
  const daemon = await newDaemon(['--config', file]);
  // edit the file the moment the first reconcile is done: the watch must already be in place
  const deadline = Date.now() + 60_000;
  while (!daemon.stderr().includes('"msg":"workloads file applied"')) {
    if (Date.now() > deadline) throw new Error(`no first reconcile:\n${daemon.stderr()}`);
    await sleep(2);
  }
  fs.writeFileSync(file, EDITED());
  const kept = JSON.parse(
    daemon
      .stderr()
      .split('\n')
      .find((l) => l.includes('"msg":"workloads file applied"'))!,
  ) as Record<string, unknown>;
  assert.deepEqual([kept.keep, kept.create, kept.recreate, kept.remove], [2, 0, 0, 0], 'an unchanged file keeps the same containers');

  await until('web recreated, worker added, db removed', async () => {
    const now = await project();
    return Object.keys(now).sort().join() === 'shop-web-1,shop-worker-1' && now['shop-web-1']!.id !== firstIds['shop-web-1']!.id && Object.values(now).every((c) => c.state === 'running');
  });
  const now = await project();
  assert.equal((await limits(now['shop-web-1']!.id)).memory, String(48 * MiB));
  assert.equal((await limits(now['shop-worker-1']!.id)).pids, '30');
  await until("the old containers' cgroups gone", async () => {
    const cgroups = await containerCgroups();
    return !cgroups.includes(firstIds['shop-web-1']!.id) && !cgroups.includes(firstIds['shop-db-1']!.id);
  });
  assert.equal(fs.existsSync(path.join(root, 'containers', firstIds['shop-db-1']!.id)), false);
  // the reload event is published once the whole reconcile is done, which may be after the new
  // containers run (the old ones' removal is part of it)
  const reloads = async () => (await daemonEvents()).filter((e) => e.Action === 'reload').map((e) => e.Actor.Attributes);
  await until('the reload event of the edit', async () => (await reloads()).length >= 2);
  assert.deepEqual((await reloads()).at(-1), { file, project: 'shop', created: '1', recreated: '1', started: '0', kept: '0', removed: '1' });

  // an invalid edit (a bad unit on line 6), saved the way editors do: nothing changes
  const running = await project();
  saveAtomically(EDITED().replace('mem_limit: 48m', 'mem_limit: 64q'));
  await until('the rejection logged', async () => daemon.stderr().includes('"msg":"workloads file rejected; nothing changed"'));
  const logLine = daemon
    .stderr()
    .split('\n')
    .find((l) => l.includes('workloads file rejected'))!;
  const logged = JSON.parse(logLine) as Record<string, unknown>;
  assert.equal(logged.level, 'warn');
  assert.equal(logged.line, 6);
  assert.equal(
    logged.error,
    `${file}:6:5: services.web.mem_limit: invalid value "64q": unknown unit "q"; expected a number of bytes with an optional unit b, k, m, g, t or p (binary multiples, e.g. 512m)`,
  );
  const errors = (await daemonEvents()).filter((e) => e.Action === 'config-error');
  assert.equal(errors.length, 1);
  assert.deepEqual({ ...errors[0]!.Actor.Attributes, error: undefined }, { file, line: '6', column: '5', error: undefined });
  // the next reconcile would have acted by now if the rejection had not stopped it
  await sleep(500);
  assert.deepEqual(await project(), running, 'the same containers, still running');
  assert.equal((await limits(running['shop-web-1']!.id)).memory, String(48 * MiB));

  // a value create refuses (not only a syntax error) is rejected the same way, with its line
  saveAtomically(EDITED().replace('pids_limit: 30', 'cpus: 99'));
  await until('the second rejection', async () => (await daemonEvents()).filter((e) => e.Action === 'config-error').length === 2);
  const second = (await daemonEvents()).filter((e) => e.Action === 'config-error')[1]!.Actor.Attributes;
  assert.equal(second.line, '12');
  assert.match(second.error!, /services\.worker\.cpus: invalid value "99": the range of CPUs is from 0\.01 to/);
  assert.deepEqual(await project(), running);
  await stopDaemonProcess(daemon);
  assert.match(daemon.stderr(), /"msg":"stopped"/);
});

test('corral down removes every container of the project, also with a file that no longer validates; nothing leaks', async () => {
  await newDaemon();
  const down = await corral(['--host', `unix://${socket}`, 'down', '-f', file]);
  assert.equal(down.code, 0, down.stderr);
  const lines = down.stdout.split('\n').filter(Boolean);
  assert.deepEqual(lines.filter((l) => l.endsWith('Removed')).sort(), ['Container shop-web-1  Removed', 'Container shop-worker-1  Removed']);
  assert.deepEqual(await project(), {});
  const again = await corral(['--host', `unix://${socket}`, 'down', '-f', file]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /No resource found to remove for project "shop"/);
  await until('no cgroups left', async () => (await containerCgroups()).length === 0);
  assert.deepEqual(launcherProcesses(root), []);
  assert.deepEqual(fs.existsSync(path.join(root, 'containers')) ? fs.readdirSync(path.join(root, 'containers')) : [], []);
});
