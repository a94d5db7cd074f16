/**
 * The run flags Docker users expect (issue 10), each end to end against a real `corral daemon`
 * (temp socket and --root): given with Docker's own CLI (and corral's where it is cheap), read back
 * by inspect as Docker shows it, and honoured by the kernel or the daemon: --entrypoint,
 * --env-file, --stop-signal, --stop-timeout, --ulimit, --oom-score-adj, --shm-size, --tmpfs,
 * --oom-kill-disable and --memory-swappiness (cgroup v1 files; v2 discards the first with Docker's
 * warning and refuses the second), --init; and `docker port` and `docker logs --details`. Host (v1)
 * and guest (v2).
 */
import { test as nodeTest, before, after, afterEach, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiCall, daemonScratch, forceRemoveContainers, startDaemonProcess, stopDaemonProcess, until, type DaemonProcess, type DaemonScratch } from '../helpers/daemon.js';
import { CORRAL_BIN, TEST_CGROUP_PARENT, corral, stopAllCorrals } from '../helpers/corral.js';
import { detectCgroupLayout } from '../../src/cgroups/detect.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const execFileAsync = promisify(execFile);
const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { timeout: 120_000 }, fn);

let scratch: DaemonScratch;
let daemon: DaemonProcess | undefined;

before(async () => {
  scratch = await daemonScratch('corral-run-flags-');
  daemon = await startDaemonProcess(scratch.root, scratch.socket, ['--log-level', 'warn']);
});

afterEach(
  async () => {
    if (daemon !== undefined) await forceRemoveContainers(scratch.socket);
  },
  { timeout: 120_000 },
);

after(async () => {
  if (daemon !== undefined) await stopDaemonProcess(daemon);
  await stopAllCorrals();
  fs.rmSync(scratch.tmp, { recursive: true, force: true });
});

const env = () => ({ CORRAL_HOST: `unix://${scratch.socket}`, CORRAL_ROOT: scratch.root });

/** Docker's CLI against the daemon's socket, with a hard (SIGKILL) timeout so that a hang fails the test. */
async function docker(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const e: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(scratch.tmp, 'docker-config'), ...extraEnv };
  for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_API_VERSION']) delete e[k];
  try {
    const { stdout, stderr } = await execFileAsync('docker', ['-H', `unix://${scratch.socket}`, ...args], { env: e, timeout: 60_000, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const x = err as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

/** `docker run` on the host's directories, in the tests' cgroup parent. */
const dockerRun = (flags: string[], command: string[], extraEnv?: NodeJS.ProcessEnv) => docker(['run', '--cgroup-parent', TEST_CGROUP_PARENT, ...flags, 'host', ...command], extraEnv);

async function inspect(name: string) {
  const r = await apiCall(scratch.socket, 'GET', `/containers/${name}/json`);
  assert.equal(r.status, 200, r.body);
  return r.json();
}

const CAP_SYS_RESOURCE = 24;

/** Whether this process (and so the daemon it started) has a capability in its effective set. */
function hasCapability(cap: number): boolean {
  const line = fs
    .readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('CapEff:'));
  return line !== undefined && ((BigInt(`0x${line.slice(7).trim()}`) >> BigInt(cap)) & 1n) === 1n;
}

async function containerCount(): Promise<number> {
  return (await apiCall(scratch.socket, 'GET', '/containers/json?all=1')).json().length;
}

/** The container's log so far (stdout and stderr), through Docker's CLI. */
async function logs(name: string): Promise<string> {
  const r = await docker(['logs', name]);
  return r.stdout + r.stderr;
}

test("--entrypoint: Docker's CLI runs the entrypoint with COMMAND as its arguments; inspect shows Entrypoint, Cmd, Path and Args as Docker does", async () => {
  const run = await dockerRun(['--name', 'ep', '--entrypoint', 'echo'], ['hello', 'from', 'the', 'entrypoint']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'hello from the entrypoint\n');
  const i = await inspect('ep');
  assert.deepEqual(i.Config.Entrypoint, ['echo']);
  assert.deepEqual(i.Config.Cmd, ['hello', 'from', 'the', 'entrypoint']);
  assert.equal(i.Path, 'echo');
  assert.deepEqual(i.Args, ['hello', 'from', 'the', 'entrypoint']);
  // no COMMAND at all: the entrypoint alone
  const alone = await dockerRun(['--rm', '--entrypoint', 'true'], []);
  assert.equal(alone.code, 0, alone.stderr);
  // '' clears it: COMMAND alone, and inspect shows none
  const cleared = await dockerRun(['--name', 'ep-cleared', '--entrypoint', ''], ['echo', 'cmd alone']);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.equal(cleared.stdout, 'cmd alone\n');
  assert.equal((await inspect('ep-cleared')).Config.Entrypoint, null);
  // corral's own CLI, detached through the API: with no image, the command's own flags come after --
  const viaCorral = await corral(['run', '-d', '--name', 'ep-corral', '--entrypoint', 'sh', '--', '-c', 'echo via corral'], env());
  assert.equal(viaCorral.code, 0, viaCorral.stderr);
  await until('ep-corral ended', async () => (await inspect('ep-corral')).State.Status === 'exited');
  assert.deepEqual((await inspect('ep-corral')).Config.Entrypoint, ['sh']);
  assert.equal(await logs('ep-corral'), 'via corral\n');
});

test("--env-file: the client reads the file (KEY=VALUE as given, KEY alone from the client's environment, # comments), files first, then -e", async () => {
  const file = path.join(scratch.tmp, 'app.env');
  fs.writeFileSync(file, '# the app\nGREETING=hello world\nQUOTED="kept"\nFROM_CLIENT\nNOT_SET_ANYWHERE\nOVERRIDDEN=file\n');
  // NOT_SET_ANYWHERE is left out, not set empty: env counts it 0 times
  const script = 'echo "$GREETING|$QUOTED|$FROM_CLIENT|$(env | grep -c ^NOT_SET_ANYWHERE=)|$OVERRIDDEN"';
  const viaDocker = await dockerRun(['--rm', '--env-file', file, '-e', 'OVERRIDDEN=flag'], ['sh', '-c', script], { FROM_CLIENT: 'docker-cli' });
  assert.equal(viaDocker.code, 0, viaDocker.stderr);
  assert.equal(viaDocker.stdout, 'hello world|"kept"|docker-cli|0|flag\n');
  // corral run, attached: the daemon hands a client-side flag back to the client
  const viaCorral = await corral(['run', '--rm', '--env-file', file, '-e', 'OVERRIDDEN=flag', 'sh', '-c', script], { ...env(), FROM_CLIENT: 'corral-cli' });
  assert.equal(viaCorral.code, 0, viaCorral.stderr);
  assert.equal(viaCorral.stdout, 'hello world|"kept"|corral-cli|0|flag\n');
  // bin/corral as a program: the fast front, which hands --env-file back to the Node CLI (run as
  // `node -- ...`: Node 20 would take --env-file after the script as its own and load the file itself)
  const front = await execFileAsync(
    CORRAL_BIN,
    ['--root', scratch.root, '--host', `unix://${scratch.socket}`, 'run', '--rm', '--cgroup-parent', TEST_CGROUP_PARENT, '--env-file', file, 'sh', '-c', script],
    { env: { ...process.env, FROM_CLIENT: 'front' }, timeout: 60_000, killSignal: 'SIGKILL' },
  );
  assert.equal(front.stdout, 'hello world|"kept"|front|0|file\n');
  // bad input changes nothing: the flag and the line named, no container made
  const before = await containerCount();
  fs.writeFileSync(path.join(scratch.tmp, 'bad.env'), 'OK=1\nMY VAR=2\n');
  const bad = await corral(['run', '-d', '--env-file', path.join(scratch.tmp, 'bad.env'), 'true'], env());
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid value ".*bad\.env:2" for --env-file: variable "MY VAR" contains blanks/);
  const missing = await corral(['run', '--env-file', path.join(scratch.tmp, 'nope.env'), 'true'], env());
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /for --env-file: cannot read it: ENOENT/);
  assert.equal(await containerCount(), before);
});

test('--stop-signal: docker stop and docker restart send it instead of SIGTERM; inspect shows Config.StopSignal', async () => {
  const script = 'trap "echo got USR1; exit 3" USR1; echo ready; while :; do sleep 0.1; done';
  const run = await dockerRun(['-d', '--name', 'sig', '--stop-signal', 'SIGUSR1'], ['sh', '-c', script]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal((await inspect('sig')).Config.StopSignal, 'SIGUSR1');
  await until('sig ready', async () => (await logs('sig')).includes('ready'));
  const restarted = await docker(['restart', 'sig']);
  assert.equal(restarted.code, 0, restarted.stderr);
  assert.match(await logs('sig'), /ready\ngot USR1\nready/);
  assert.equal((await inspect('sig')).State.Running, true);
  await until('sig ready again', async () => (await logs('sig')).split('ready').length === 3);
  const stopped = await docker(['stop', 'sig']);
  assert.equal(stopped.code, 0, stopped.stderr);
  const i = await inspect('sig');
  assert.equal(i.State.ExitCode, 3, 'the trap ran: SIGUSR1 arrived, not SIGTERM (which sh as PID 1 ignores) nor SIGKILL');
  // a bad signal is refused at create, naming the field and the flag, and nothing is made
  const before = await containerCount();
  const bad = await dockerRun(['-d', '--stop-signal', 'SIGNOPE'], ['true']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /StopSignal: invalid value "SIGNOPE" for --stop-signal: expected a signal name/);
  assert.equal(await containerCount(), before);
});

test('--stop-timeout: the wait of docker stop before SIGKILL when the client gives none; -t still wins; inspect shows Config.StopTimeout', async () => {
  // sleep as PID 1 has no handler for SIGTERM, so only the SIGKILL after the timeout ends it
  const run = await dockerRun(['-d', '--name', 'slow', '--stop-timeout', '1'], ['sleep', '600']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal((await inspect('slow')).Config.StopTimeout, 1);
  let started = Date.now();
  const stopped = await docker(['stop', 'slow']);
  assert.equal(stopped.code, 0, stopped.stderr);
  const took = Date.now() - started;
  assert.ok(took >= 900 && took < 6000, `docker stop took ${took} ms: the container's 1 s, not Docker's default 10 s`);
  assert.equal((await inspect('slow')).State.ExitCode, 137);
  // corral stop, and restart, follow it too; an explicit -t wins
  assert.equal((await docker(['start', 'slow'])).code, 0);
  started = Date.now();
  const restarted = await corral(['restart', 'slow'], env());
  assert.equal(restarted.code, 0, restarted.stderr);
  assert.ok(Date.now() - started < 6000, 'corral restart waited the container timeout');
  started = Date.now();
  assert.equal((await docker(['stop', '-t', '0', 'slow'])).code, 0);
  assert.ok(Date.now() - started < 900, 'stop -t 0 kills at once');
  // a bad value is refused naming the flag
  const bad = await corral(['run', '-d', '--stop-timeout', 'soon', 'true'], env());
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid value "soon" for --stop-timeout: expected whole seconds from 0 to 86400, or -1/);
});

/** A line of /proc/self/limits as the workload sees it: [soft, hard]. */
function limitsOf(text: string, what: string): [string, string] {
  const line = text.split('\n').find((l) => l.startsWith(what));
  assert.ok(line !== undefined, `${what} in:\n${text}`);
  const [soft = '', hard = ''] = line.slice(what.length).trim().split(/\s+/);
  return [soft, hard];
}

test('--ulimit: setrlimit before exec, seen in /proc/self/limits; inspect shows HostConfig.Ulimits; bad values refused naming the flag, nothing made', async () => {
  const run = await dockerRun(['--name', 'ul', '--ulimit', 'nofile=64:128', '--ulimit', 'core=-1'], ['cat', '/proc/self/limits']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(limitsOf(run.stdout, 'Max open files'), ['64', '128']);
  assert.deepEqual(limitsOf(run.stdout, 'Max core file size'), ['unlimited', 'unlimited']);
  const i = await inspect('ul');
  // in the order Docker's CLI sent them (by name)
  assert.deepEqual(i.HostConfig.Ulimits, [
    { Name: 'core', Hard: -1, Soft: -1 },
    { Name: 'nofile', Hard: 128, Soft: 64 },
  ]);
  // docker exec gets the container's limits too, as moby gives an exec its container's process spec
  const running = await dockerRun(['-d', '--name', 'ul-exec', '--ulimit', 'nofile=32:48'], ['sleep', '600']);
  assert.equal(running.code, 0, running.stderr);
  const exec = await docker(['exec', 'ul-exec', 'cat', '/proc/self/limits']);
  assert.equal(exec.code, 0, exec.stderr);
  assert.deepEqual(limitsOf(exec.stdout, 'Max open files'), ['32', '48']);
  // corral's CLI, through the daemon and stand-alone alike (the fast front hands nothing back here)
  const viaCorral = await corral(['run', '--rm', '--ulimit', 'nproc=50', '-u', '1000', 'cat', '/proc/self/limits'], env());
  assert.equal(viaCorral.code, 0, viaCorral.stderr);
  assert.deepEqual(limitsOf(viaCorral.stdout, 'Max processes'), ['50', '50']);
  const before = await containerCount();
  const bad = await corral(['run', '-d', '--ulimit', 'nofile=128:64', 'true'], env());
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid value "nofile=128:64" for --ulimit: the soft limit 128 is above the hard limit 64/);
  const badName = await apiCall(scratch.socket, 'POST', '/containers/create', {
    Image: 'host',
    Cmd: ['true'],
    HostConfig: { CgroupParent: TEST_CGROUP_PARENT, Ulimits: [{ Name: 'files', Soft: 1, Hard: 1 }] },
  });
  assert.equal(badName.status, 400);
  assert.match(badName.body, /HostConfig\.Ulimits: invalid value \\"files=1:1\\" for --ulimit: unknown ulimit name \\"files\\"/);
  assert.equal(await containerCount(), before);
});

test("--oom-score-adj: written by the launcher's child, inherited by the workload; inspect shows it; out of range refused", async () => {
  const run = await dockerRun(['--name', 'oom', '--oom-score-adj', '500'], ['cat', '/proc/self/oom_score_adj']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '500\n');
  assert.equal((await inspect('oom')).HostConfig.OomScoreAdj, 500);
  // a lower score needs CAP_SYS_RESOURCE, which the child still has before it drops its capabilities,
  // if the daemon has it (some hosts, containers themselves, do not: then the kernel's refusal is reported)
  const lower = await corral(['run', '--rm', '--oom-score-adj', '-300', '-u', '1000', 'cat', '/proc/self/oom_score_adj'], env());
  if (hasCapability(CAP_SYS_RESOURCE)) {
    assert.equal(lower.code, 0, lower.stderr);
    assert.equal(lower.stdout, '-300\n');
  } else {
    assert.equal(lower.code, 125, lower.stderr);
    assert.match(lower.stderr, /container setup failed at oom-score-adj write -300 to \/proc\/self\/oom_score_adj: EACCES/);
  }
  const bad = await corral(['run', '-d', '--oom-score-adj', '1001', 'true'], env());
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid value "1001" for --oom-score-adj: expected a whole number from -1000 to 1000/);
});

test("--shm-size: the size of the container's /dev/shm (Docker's 64MiB without it); inspect shows HostConfig.ShmSize", async () => {
  const shmOptions = (out: string) => out.split('\n').find((l) => l.split(' ')[4] === '/dev/shm') ?? '';
  const run = await dockerRun(['--name', 'shm', '--shm-size', '8m'], ['cat', '/proc/self/mountinfo']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(shmOptions(run.stdout), /size=8192k/);
  assert.equal((await inspect('shm')).HostConfig.ShmSize, 8 * 1024 * 1024);
  const plain = await dockerRun(['--name', 'shm-default'], ['cat', '/proc/self/mountinfo']);
  assert.match(shmOptions(plain.stdout), /size=65536k/);
  assert.equal((await inspect('shm-default')).HostConfig.ShmSize, 64 * 1024 * 1024);
});

test('--tmpfs: a tmpfs at the path (noexec,nosuid,nodev by default; size= and exec as given), writable under --read-only; inspect shows HostConfig.Tmpfs', async () => {
  const script = 'grep " /scratch " /proc/self/mountinfo; grep " /exec " /proc/self/mountinfo; echo written > /scratch/f && cat /scratch/f; touch /elsewhere 2>/dev/null || echo read-only root';
  const run = await dockerRun(['--name', 'tmp', '--read-only', '--tmpfs', '/scratch:size=1m', '--tmpfs', '/exec:exec'], ['sh', '-c', script]);
  assert.equal(run.code, 0, run.stderr);
  const [scratchLine = '', execLine = '', written, readOnly] = run.stdout.trim().split('\n');
  assert.match(scratchLine, / \/scratch rw,nosuid,nodev,noexec[, ].* tmpfs .*size=1024k/);
  assert.match(execLine, / \/exec rw,nosuid,nodev[, ]/);
  assert.doesNotMatch(execLine.split(' ')[5] ?? '', /noexec/);
  assert.equal(written, 'written');
  assert.equal(readOnly, 'read-only root');
  assert.deepEqual((await inspect('tmp')).HostConfig.Tmpfs, { '/scratch': 'size=1m', '/exec': 'exec' });
  const before = await containerCount();
  const bad = await dockerRun(['-d', '--tmpfs', '/x:bind'], ['true']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /HostConfig\.Tmpfs: invalid value "\/x:bind" for --tmpfs: "bind" is not a tmpfs mount option/);
  assert.equal(await containerCount(), before);
});

/** The container's v1 memory cgroup directory on the host, from its workload's /proc/PID/cgroup. */
function v1MemoryDir(pid: number): string {
  const line = fs
    .readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  assert.ok(line !== undefined, `a memory hierarchy line in /proc/${pid}/cgroup`);
  return path.join('/sys/fs/cgroup/memory', line.slice(line.lastIndexOf(':') + 1));
}

test("--oom-kill-disable: v1 memory.oom_control says oom_kill_disable 1; v2 has none and discards it with Docker's warning", async () => {
  const mode = (await detectCgroupLayout()).mode;
  const run = await dockerRun(['-d', '--name', 'nooom', '-m', '32m', '--oom-kill-disable'], ['sleep', '600']);
  assert.equal(run.code, 0, run.stderr);
  const i = await inspect('nooom');
  if (mode === 'v2') {
    assert.match(run.stderr, /WARNING: Your kernel does not support OomKillDisable\. OomKillDisable discarded\./);
    assert.equal(i.HostConfig.OomKillDisable, false);
    assert.equal(i.State.Running, true);
    return;
  }
  assert.equal(i.HostConfig.OomKillDisable, true);
  const control = fs.readFileSync(path.join(v1MemoryDir(i.State.Pid), 'memory.oom_control'), 'utf8');
  assert.match(control, /^oom_kill_disable 1$/m);
});

test('--memory-swappiness: v1 memory.swappiness; v2 has none: refused naming the field and the flag, nothing made', async () => {
  const mode = (await detectCgroupLayout()).mode;
  const before = await containerCount();
  const run = await dockerRun(['-d', '--name', 'swappy', '--memory-swappiness', '10'], ['sleep', '600']);
  if (mode === 'v2') {
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /HostConfig\.MemorySwappiness \(memory\.swappiness\) is not supported on cgroup v2/);
    const viaCorral = await corral(['run', '-d', '--memory-swappiness', '10', 'true'], env());
    // corral run -d goes through the daemon's create body, whose refusal names the body's field
    assert.match(viaCorral.stderr, /(--memory-swappiness|HostConfig\.MemorySwappiness) \(memory\.swappiness\) is not supported on cgroup v2/);
    assert.equal(await containerCount(), before);
    return;
  }
  assert.equal(run.code, 0, run.stderr);
  const i = await inspect('swappy');
  assert.equal(i.HostConfig.MemorySwappiness, 10);
  assert.equal(fs.readFileSync(path.join(v1MemoryDir(i.State.Pid), 'memory.swappiness'), 'utf8').trim(), '10');
  const bad = await corral(['run', '-d', '--memory-swappiness', '101', 'true'], env());
  assert.match(bad.stderr, /invalid value "101" for --memory-swappiness: expected a whole number from 0 to 100, or -1 for the default/);
});

test('--init: PID 1 is an init that reaps orphaned zombies and passes SIGTERM on to the workload; inspect shows HostConfig.Init', async () => {
  // an orphan: the inner sh leaves a short sleep behind, reparented to PID 1 when it ends
  const orphan = ['sh', '-c', 'sh -c "sleep 0.3 &"; exec sleep 600'];
  const withInit = await dockerRun(['-d', '--name', 'reaped', '--init'], orphan);
  assert.equal(withInit.code, 0, withInit.stderr);
  const without = await dockerRun(['-d', '--name', 'zombie'], orphan);
  assert.equal(without.code, 0, without.stderr);
  assert.equal((await inspect('reaped')).HostConfig.Init, true);
  assert.equal((await inspect('zombie')).HostConfig.Init, undefined);
  // [comm, state] of the children of the container's PID 1, from the host's /proc (a zombie has left
  // its cgroup, so docker top, which lists cgroup.procs, cannot show one)
  const children = async (name: string): Promise<[string, string][]> => {
    const pid = String((await inspect(name)).State.Pid);
    const out: [string, string][] = [];
    for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      let status: string;
      try {
        status = fs.readFileSync(`/proc/${entry}/status`, 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      const field = (key: string) => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(status)?.[1] ?? '';
      if (field('PPid') === pid) out.push([field('Name'), field('State')]);
    }
    return out;
  };
  // without an init, sleep 600 as PID 1 never waits: the orphan stays a zombie
  await until('the orphan is a zombie without --init', async () => (await children('zombie')).some(([, state]) => state === 'Z'));
  await new Promise((r) => setTimeout(r, 1000));
  const reaped = await children('reaped');
  assert.deepEqual(reaped, [['sleep', 'S']], 'under --init PID 1 has one child, the workload, and no zombie');
  assert.equal(fs.readFileSync(`/proc/${(await inspect('reaped')).State.Pid}/comm`, 'utf8'), 'init\n', 'PID 1 is the init');
  // SIGTERM reaches sleep (PID 2 here, so its default action ends it); without an init, PID 1 would ignore it until the SIGKILL
  const started = Date.now();
  const stopped = await docker(['stop', '-t', '30', 'reaped']);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.ok(Date.now() - started < 10_000, `docker stop took ${Date.now() - started} ms: SIGTERM did not reach the workload`);
  assert.equal((await inspect('reaped')).State.ExitCode, 143, 'the init exits as the workload did: 128 + SIGTERM, as tini');
  // the exit code of a workload that exits on its own is passed on
  const code = await dockerRun(['--rm', '--init'], ['sh', '-c', 'exit 7']);
  assert.equal(code.code, 7, code.stderr);
  // a command that cannot be found is reported as without --init
  const missing = await corral(['run', '--rm', '--init', 'no-such-command'], env());
  assert.equal(missing.code, 127, missing.stderr);
});

test("docker port: no ports are published, so it prints nothing and exits 0 (a port asked for: Docker's error); docker logs --details: a leading space, as moby's empty attributes", async () => {
  const run = await dockerRun(['-d', '--name', 'portless'], ['sh', '-c', 'echo one; echo two >&2; exec sleep 600']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual((await inspect('portless')).NetworkSettings.Ports, {});
  const port = await docker(['port', 'portless']);
  assert.equal(port.code, 0, port.stderr);
  assert.equal(port.stdout, '');
  const one = await docker(['port', 'portless', '80']);
  assert.notEqual(one.code, 0);
  assert.match(one.stderr, /No public port '80(\/tcp)?' published for portless/);
  await until('both lines logged', async () => (await logs('portless')).includes('two'));
  const details = await docker(['logs', '--details', 'portless']);
  assert.equal(details.code, 0, details.stderr);
  assert.equal(details.stdout, ' one\n');
  assert.equal(details.stderr, ' two\n');
  const viaCorral = await corral(['logs', '--details', 'portless'], env());
  assert.equal(viaCorral.code, 0, viaCorral.stderr);
  assert.equal(viaCorral.stdout, ' one\n');
  assert.equal(viaCorral.stderr, ' two\n');
});
