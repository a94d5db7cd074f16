/**
 * The client commands through the real bin/corral against a real daemon (a child process on a temp
 * socket with a temp --root), as root on the real kernel: run -d and attached, ps, inspect, logs,
 * stop, kill, wait, rm, update, restart, events, and what every command says when no daemon
 * answers. Busybox containers under this test process's cgroup parent; the same file runs on the
 * host (cgroup v1) and in the QEMU guest (v2).
 */
import { test as nodeTest, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBusyboxRootfs } from '../helpers/busybox.js';
import { corral, startCorral, containerCgroups, launcherProcesses, stopAllCorrals, type CorralResult } from '../helpers/corral.js';
import { forceRemoveContainers, startTestDaemon, until, type ApiJson, type TestDaemon } from '../helpers/daemon.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const test = (name: string, fn: () => Promise<void> | void) => nodeTest(name, { timeout: 120_000 }, fn);

let tmp: string;
let root: string;
let socket: string;
let rootfs: string;
let daemon: TestDaemon;

/** bin/corral against the test's daemon. */
function cli(...args: string[]): Promise<CorralResult> {
  return corral(['--host', `unix://${socket}`, '--root', root, ...args]);
}

/** `corral run -d --rootfs <busybox> ARGS`: the new container's full id. */
async function runDetached(...args: string[]): Promise<string> {
  const r = await cli('run', '-d', '--rootfs', rootfs, ...args);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
  return r.stdout.trim();
}

async function inspectOne(ref: string): Promise<ApiJson> {
  const r = await cli('inspect', ref);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as ApiJson[];
  assert.equal(list.length, 1);
  return list[0]!;
}

const logsContain = (ref: string, text: string) => async () => (await cli('logs', ref)).stdout.includes(text);

/** Whether the process holds a socket besides fds 0-2 (a spawned node's stdio pipes are sockets too, and it holds no other). */
function holdsSocket(pid: number): boolean {
  return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try {
      return Number(fd) > 2 && fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // closed while we looked
    }
  });
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-cli-'));
  root = path.join(tmp, 'root');
  socket = path.join(tmp, 'corral.sock');
  rootfs = await ensureBusyboxRootfs(path.join(tmp, 'busybox'));
  daemon = await startTestDaemon(root, socket);
});

// A test that failed before its `rm` must not leave its containers to the later tests and the final
// "no container, cgroup or launcher left". Bounded: a hung daemon fails the test instead of hanging
// the file.
afterEach(
  async () => {
    if (daemon !== undefined) await forceRemoveContainers(socket);
  },
  { timeout: 120_000 },
);

after(async () => {
  await daemon.stop();
  await stopAllCorrals();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('run -d prints the full id; ps, ps -a, -q, --no-trunc, --format json and a template list it as Docker does', async () => {
  const id = await runDetached('--name', 'cli-web', 'sh', '-c', 'echo ready; while :; do sleep 0.1; done');
  const done = await runDetached('--name', 'cli-done', 'sh', '-c', 'exit 3');
  assert.equal((await cli('wait', 'cli-done')).stdout, '3\n');

  const ps = await cli('ps');
  assert.equal(ps.code, 0, ps.stderr);
  const [header, ...rows] = ps.stdout.trimEnd().split('\n');
  assert.match(header!, /^CONTAINER ID {3}IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$/);
  const web = rows.find((r) => r.endsWith(' cli-web'));
  assert.ok(web, ps.stdout);
  assert.ok(web.startsWith(`${id.slice(0, 12)}   ${rootfs}`), web);
  assert.match(web, /"sh -c 'echo ready; …"/);
  assert.match(web, / (Less than a second|\d+ seconds?) ago +Up (Less than a second|\d+ seconds?) +cli-web$/);
  assert.equal(
    rows.some((r) => r.includes('cli-done')),
    false,
    'ps shows running containers only',
  );

  const all = await cli('ps', '-a');
  assert.match(all.stdout, /Exited \(3\) (Less than a second|\d+ seconds?) ago +cli-done\n/);
  const quiet = await cli('ps', '-a', '-q', '--no-trunc');
  assert.deepEqual(quiet.stdout.trim().split('\n').sort(), [id, done].sort());

  const json = await cli('ps', '-a', '--format', 'json');
  const objects = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, string>);
  const doneJson = objects.find((o) => o.Names === 'cli-done')!;
  assert.equal(doneJson.ID, done.slice(0, 12));
  assert.equal(doneJson.State, 'exited');
  assert.equal(doneJson.Command, '"sh -c \'exit 3\'"');
  assert.equal(doneJson.Networks, 'none');

  const template = await cli('ps', '--format', '{{.ID}}\\t{{.Names}}');
  assert.equal(template.stdout, `${id.slice(0, 12)}\tcli-web\n`);
  const bad = await cli('ps', '--format', '{{.Nope}}');
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid value "\{\{\.Nope\}\}" for --format: can't evaluate field Nope/);

  assert.equal((await cli('rm', '-f', 'cli-web', 'cli-done')).stdout, 'cli-web\ncli-done\n');
});

test('inspect: a JSON array of the found ones; an unknown one is "Error: No such object" and exit 1', async () => {
  const id = await runDetached('--name', 'cli-insp', '-m', '64m', 'sleep', '300');
  const info = await inspectOne('cli-insp');
  assert.equal(info.Id, id);
  assert.equal(info.Name, '/cli-insp');
  assert.equal(info.State.Running, true);
  assert.equal(info.HostConfig.Memory, 64 * 1024 * 1024);
  const mixed = await cli('inspect', 'cli-insp', 'cli-nope');
  assert.equal(mixed.code, 1);
  assert.equal((JSON.parse(mixed.stdout) as unknown[]).length, 1);
  assert.match(mixed.stdout, /^\[\n {4}\{\n {8}"Id": /);
  assert.equal(mixed.stderr, 'Error: No such object: cli-nope\n');
  const none = await cli('inspect', 'cli-nope');
  assert.equal(none.stdout, '[]\n');
  assert.equal(none.code, 1);
  const formatted = await cli('inspect', '-f', '{{.State.Status}} {{.Name}}', 'cli-insp');
  assert.equal(formatted.stdout, 'running /cli-insp\n');
  // rm -f: a running container is killed and removed, with its cgroup
  const rm = await cli('rm', '-f', 'cli-insp');
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(rm.stdout, 'cli-insp\n');
  assert.equal((await cli('inspect', 'cli-insp')).code, 1);
  assert.equal((await containerCgroups()).includes(id), false);
});

test('logs: stdout and stderr apart, --tail, --timestamps, --since (unix, RFC 3339, duration)', async () => {
  await runDetached('--name', 'cli-logs', 'sh', '-c', 'echo one; echo two >&2; sleep 0.5; echo three; sleep 2; echo late');
  assert.equal((await cli('wait', 'cli-logs')).stdout, '0\n');
  const all = await cli('logs', 'cli-logs');
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdout, 'one\nthree\nlate\n');
  assert.equal(all.stderr, 'two\n');
  const tail = await cli('logs', '--tail', '2', 'cli-logs');
  assert.equal(tail.stdout, 'three\nlate\n');
  assert.equal(tail.stderr, '');
  const stamped = await cli('logs', '-t', 'cli-logs');
  const lines = stamped.stdout.trim().split('\n');
  for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (one|three|late)$/);
  // since = the time of "late" (inclusive), as unix seconds with nanoseconds and as RFC 3339
  const lateTime = lines[2]!.split(' ')[0]!;
  const [whole, frac] = lateTime.slice(0, -1).split('.') as [string, string];
  const unix = `${Date.parse(`${whole}Z`) / 1000}.${frac}`;
  assert.equal((await cli('logs', '--since', unix, 'cli-logs')).stdout, 'late\n');
  assert.equal((await cli('logs', '--since', lateTime, 'cli-logs')).stdout, 'late\n');
  const sinceBoth = await cli('logs', '--since', '1h', 'cli-logs');
  assert.equal(sinceBoth.stdout, 'one\nthree\nlate\n');
  assert.equal(sinceBoth.stderr, 'two\n');
  const future = await cli('logs', '--since', String(Math.floor(Date.now() / 1000) + 3600), 'cli-logs');
  assert.equal(future.stdout + future.stderr, '');
  const bad = await cli('logs', '--since', 'yesterday', 'cli-logs');
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid value "yesterday" for --since/);
  assert.equal((await cli('rm', 'cli-logs')).code, 0);
});

test('logs -f follows new output and ends when the container exits', async () => {
  // the rest of the output waits for /tmp/go, made once the first tick was followed: a client that
  // starts slowly (node under emulation) cannot find the container already gone
  await runDetached('--name', 'cli-follow', 'sh', '-c', 'echo tick 1; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo tick 2; sleep 1; echo tick 3 >&2');
  const follow = startCorral(['--host', `unix://${socket}`, 'logs', '-f', 'cli-follow']);
  // it is still following while the container runs
  await until('the first tick followed', async () => follow.stdout().includes('tick 1'));
  assert.equal(follow.child.exitCode, null);
  const go = await cli('exec', 'cli-follow', 'touch', '/tmp/go');
  assert.equal(go.code, 0, go.stderr);
  const r = await follow.result;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'tick 1\ntick 2\n');
  assert.equal(r.stderr, 'tick 3\n');
  assert.equal((await cli('rm', 'cli-follow')).code, 0);
});

test('stop -t, kill -s, wait: each container printed as given; errors per container; exit 1 if any failed', async () => {
  await runDetached('--name', 'cli-term', 'sh', '-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done');
  await runDetached('--name', 'cli-usr1', 'sh', '-c', 'trap "exit 5" USR1; echo ready; while :; do sleep 0.1; done');
  await until('the traps set', async () => (await logsContain('cli-term', 'ready')()) && (await logsContain('cli-usr1', 'ready')()));

  const stop = await cli('stop', '-t', '20', 'cli-term', 'cli-nope');
  assert.equal(stop.code, 1);
  assert.equal(stop.stdout, 'cli-term\n');
  assert.equal(stop.stderr, 'Error response from daemon: No such container: cli-nope\n');
  assert.equal((await inspectOne('cli-term')).State.ExitCode, 7);

  const kill = await cli('kill', '-s', 'USR1', 'cli-usr1');
  assert.equal(kill.code, 0, kill.stderr);
  assert.equal(kill.stdout, 'cli-usr1\n');
  const wait = await cli('wait', 'cli-usr1', 'cli-term');
  assert.equal(wait.code, 0, wait.stderr);
  assert.equal(wait.stdout, '5\n7\n');

  const notRunning = await cli('kill', 'cli-usr1');
  assert.equal(notRunning.code, 1);
  assert.match(notRunning.stderr, /^Error response from daemon: Container [0-9a-f]{64} is not running\n$/);
  const badSignal = await cli('kill', '-s', 'SIGNOPE', 'cli-usr1');
  assert.equal(badSignal.code, 125);
  assert.match(badSignal.stderr, /invalid value "SIGNOPE" for --signal/);

  const rm = await cli('rm', 'cli-term', 'cli-usr1');
  assert.equal(rm.stdout, 'cli-term\ncli-usr1\n');
  assert.equal(rm.code, 0, rm.stderr);
});

test('run attached: the output here, the exit code, nothing said about stand-alone; --rm removes it', async () => {
  const r = await cli('run', '--name', 'cli-att', '--rootfs', rootfs, 'sh', '-c', 'echo out; echo err >&2; exit 3');
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal((await inspectOne('cli-att')).State.ExitCode, 3);
  assert.equal((await cli('rm', 'cli-att')).code, 0);

  const rm = await cli('run', '--rm', '--name', 'cli-att-rm', '--rootfs', rootfs, 'sh', '-c', 'echo bye; exit 4');
  assert.equal(rm.code, 4, rm.stderr);
  assert.equal(rm.stdout, 'bye\n');
  assert.equal((await cli('inspect', 'cli-att-rm')).code, 1);

  const missing = await cli('run', '--rm', '--name', 'cli-att-missing', '--rootfs', rootfs, 'no-such-command');
  assert.equal(missing.code, 127, missing.stderr);
  assert.match(missing.stderr, /exec "no-such-command": executable file not found in \$PATH/);
  const bad = await cli('run', '--rootfs', rootfs, '-m', '12x', 'true');
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid value "12x" for --memory/);
  // a failed start with --rm leaves nothing either
  assert.equal((await cli('inspect', 'cli-att-missing')).stdout, '[]\n');
});

test("run with a --root other than the daemon's: stand-alone in that root, said once; -d refuses it", async () => {
  const other = path.join(tmp, 'other-root');
  const r = await corral(['--host', `unix://${socket}`, '--root', other, 'run', '--rm', '--rootfs', rootfs, 'sh', '-c', 'echo here; exit 6']);
  assert.equal(r.code, 6, r.stderr);
  assert.equal(r.stdout, 'here\n');
  assert.equal(r.stderr, `corral: the daemon at unix://${socket} keeps its state in ${root}, not ${other}; running stand-alone\n`);
  const detached = await corral(['--host', `unix://${socket}`, '--root', other, 'run', '-d', '--rootfs', rootfs, 'true']);
  assert.equal(detached.code, 125);
  assert.match(detached.stderr, /^corral: a detached run goes to the daemon at unix:\/\/\S+, which keeps its state in \S+, not \S+other-root/);
  assert.equal((await cli('ps', '-aq')).stdout, '', 'nothing reached the daemon');
});

test("run attached: an OOM kill is exit 137 with the stand-alone run's message", async () => {
  const r = await cli('run', '--rm', '-m', '32m', '--rootfs', rootfs, 'tail', '/dev/zero');
  assert.equal(r.code, 137, r.stderr);
  assert.match(r.stderr, /^corral: killed by the OOM killer: memory limit 32MiB\n$/);
});

test('events: --since/--until replay, --filter, the text line, --format json and a template', async () => {
  const since = String(Date.now() / 1000);
  await runDetached('--name', 'cli-ev', 'sh', '-c', 'exit 2');
  assert.equal((await cli('wait', 'cli-ev')).stdout, '2\n');
  assert.equal((await cli('rm', 'cli-ev')).code, 0);
  const untilTime = String(Date.now() / 1000 + 0.5);

  const text = await cli('events', '--since', since, '--until', untilTime, '--filter', 'container=cli-ev');
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.split(' ')[2]),
    ['create', 'start', 'die', 'destroy'],
  );
  assert.match(lines[2]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container die [0-9a-f]{64} \(exitCode=2, image=\S+, name=cli-ev\)$/);

  const json = await cli('events', '--since', since, '--until', untilTime, '--filter', 'event=die', '--filter', 'container=cli-ev', '--format', 'json');
  const events = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ApiJson);
  assert.equal(events.length, 1, json.stdout);
  assert.equal(events[0]!.Action, 'die');
  assert.equal(events[0]!.Actor.Attributes.exitCode, '2');

  const template = await cli('events', '--since', since, '--until', untilTime, '--filter', 'container=cli-ev', '--format', '{{.Action}}={{.Actor.Attributes.name}}');
  assert.equal(template.stdout, 'create=cli-ev\nstart=cli-ev\ndie=cli-ev\ndestroy=cli-ev\n');

  // without --until it follows: a new event arrives while it streams
  const follow = startCorral(['--host', `unix://${socket}`, 'events', '--filter', 'event=create', '--format', '{{.Actor.Attributes.name}}']);
  try {
    // subscribed once it holds a connection (its one request is GET /events), however slowly it
    // started: the create below comes from a new process, after that
    await until('the events client connected', async () => holdsSocket(follow.child.pid!));
    const id = await runDetached('--name', 'cli-ev2', 'true');
    await until('the create event streamed', async () => follow.stdout().includes('cli-ev2'));
    assert.equal((await cli('rm', '-f', id)).code, 0);
  } finally {
    follow.child.kill('SIGTERM');
    await follow.result;
  }
});

test("update: limits and the restart policy in Docker's update body", async () => {
  await runDetached('--name', 'cli-upd', '-m', '64m', 'sleep', '300');
  const r = await cli('update', '-m', '128m', '--memory-swap', '256m', '--cpus', '0.5', '--pids-limit', '50', '--restart', 'on-failure:2', 'cli-upd');
  try {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'cli-upd\n');
    const info = await inspectOne('cli-upd');
    assert.equal(info.HostConfig.Memory, 128 * 1024 * 1024);
    assert.equal(info.HostConfig.MemorySwap, 256 * 1024 * 1024);
    assert.equal(info.HostConfig.NanoCpus, 500_000_000);
    assert.equal(info.HostConfig.PidsLimit, 50);
    assert.deepEqual(info.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  } finally {
    await cli('rm', '-f', 'cli-upd');
  }
  const none = await cli('update', 'cli-upd');
  assert.equal(none.code, 125);
  assert.match(none.stderr, /needs at least one flag/);
  const bad = await cli('update', '--memory', 'lots', 'cli-upd');
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid value "lots" for --memory/);
});

test('restart: the container runs again', async () => {
  await runDetached('--name', 'cli-rst', 'sh', '-c', 'echo started; while :; do sleep 0.1; done');
  try {
    await until('the first start logged', logsContain('cli-rst', 'started'));
    const r = await cli('restart', '-t', '1', 'cli-rst');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'cli-rst\n');
    assert.equal((await inspectOne('cli-rst')).State.Running, true);
    await until('the second start logged', async () => (await cli('logs', 'cli-rst')).stdout === 'started\nstarted\n');
  } finally {
    await cli('rm', '-f', 'cli-rst');
  }
});

test('no daemon on the socket: every client command says so and how to start it, exit 1; run -d exits 125', async () => {
  const nowhere = `unix://${path.join(tmp, 'nothing-listens.sock')}`;
  const commands = [['ps'], ['inspect', 'x'], ['logs', 'x'], ['stop', 'x'], ['kill', 'x'], ['restart', 'x'], ['rm', '-f', 'x'], ['wait', 'x'], ['update', '-m', '64m', 'x'], ['events']];
  for (const args of commands) {
    const r = await corral(['--host', nowhere, ...args]);
    assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^corral: cannot connect to the corral daemon at unix:\/\/\S+nothing-listens\.sock \(ENOENT\): is it running\? Start it with 'corral daemon'/, args[0]);
    assert.equal(r.stderr.split('\n').length, 2, `one line, no stack trace: ${r.stderr}`);
  }
  const detached = await corral(['--host', nowhere, 'run', '-d', '--rootfs', rootfs, 'true']);
  assert.equal(detached.code, 125);
  assert.match(detached.stderr, /^corral: cannot connect to the corral daemon .*Start it with 'corral daemon'/);
});

test('after all of the above: no container, cgroup or launcher left', async () => {
  assert.equal((await cli('ps', '-aq')).stdout, '');
  await until('the cgroups removed', async () => (await containerCgroups()).length === 0, 30_000);
  assert.deepEqual(launcherProcesses(root), []);
});
