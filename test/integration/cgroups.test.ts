/**
 * The cgroup drivers on the real kernel, as root. The suite for the detected mode runs: v1 on this
 * project's hybrid hosts, v2 in the QEMU guest booted with cgroup_no_v1=all. CORRAL_TEST_CGROUP_MODE=v1|v2
 * states the expected mode: a different detected mode FAILS the run, naming both (the other mode's suite
 * is skipped with the reason printed). Unset, the expectation is whatever detection finds.
 *
 * Each test makes its own uniquely named cgroup under a per-run parent inside this process's own cgroup
 * (per hierarchy on v1), applies limits, reads them back from the files, moves child processes it started
 * in, checks stats, kills and destroys, and checks that nothing is left. Only processes this file started
 * are ever signalled, by pid.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { posix as path } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupFileError, UnsupportedError } from '../../src/errors.js';
import { createCgroupDriver } from '../../src/cgroups/index.js';
import { SUPERVISOR_LEAF } from '../../src/cgroups/detect.js';
import type { Cgroup, CgroupDriver, CgroupMode, Resources } from '../../src/cgroups/types.js';

const Mi = 1024 * 1024;
const PARENT = `corral-test-${process.pid}`;
const wanted = process.env.CORRAL_TEST_CGROUP_MODE;
const isRoot = process.getuid?.() === 0;

let detected: CgroupMode | undefined;
let detectError: unknown;
try {
  detected = (await createCgroupDriver({ parent: PARENT })).mode;
} catch (err) {
  detectError = err;
}

test('the cgroup mode is the one this run expects', () => {
  assert.equal(detectError, undefined, `cgroup detection failed: ${String(detectError)}`);
  if (wanted !== undefined) {
    assert.ok(wanted === 'v1' || wanted === 'v2', `CORRAL_TEST_CGROUP_MODE must be v1 or v2, not "${wanted}"`);
    assert.equal(detected, wanted, `CORRAL_TEST_CGROUP_MODE=${wanted} but this kernel's cgroups are ${detected} (see /proc/self/mountinfo): the ${wanted} tests cannot run here`);
  }
});

test('these tests run as root', () => {
  assert.ok(isRoot, 'the cgroup integration tests create cgroups and must run as root (sudo npm test)');
});

// --- helpers ----------------------------------------------------------------------------------

let counter = 0;
const uniqueName = () => `t${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

const started: ChildProcess[] = [];

/** start a child process (only these are ever signalled) */
function start(command: string, ...args: string[]): ChildProcess & { pid: number } {
  const child = spawn(command, args, { stdio: 'ignore' });
  started.push(child);
  assert.ok(child.pid, `${command} started`);
  return child as ChildProcess & { pid: number };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

const read = (file: string) => fs.readFileSync(file, 'utf8').trim();
const subdirs = (dir: string) =>
  fs.existsSync(dir)
    ? fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && e.name !== SUPERVISOR_LEAF)
        .map((e) => e.name)
        .sort()
    : [];

/** the own cgroup directory per hierarchy, and what is in it before the tests */
let driver: CgroupDriver;
let ownDirs: Record<string, string> = {};
const before_: Record<string, string[]> = {};

function setupSuite(): void {
  before(async () => {
    driver = await createCgroupDriver({ parent: PARENT });
    const info = await driver.parentInfo();
    ownDirs = Object.fromEntries(Object.entries(info.dirs).map(([h, d]) => [h, path.dirname(d)]));
    for (const [h, d] of Object.entries(ownDirs)) before_[h] = subdirs(d);
  });
  // a failed test's children end with it, not with the suite (a burner left running loads the rest)
  afterEach(() => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  after(async () => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
    const removed = await driver.removeParentIfEmpty();
    assert.equal(removed, true, `the test parent ${PARENT} could be removed`);
    for (const [h, d] of Object.entries(ownDirs)) assert.deepEqual(subdirs(d), before_[h], `nothing is left in the own ${h} cgroup ${d}`);
  });
}

/** create, run `body`, and always destroy; then check that the cgroup is gone from every hierarchy */
async function withCgroup(resources: Resources, body: (cg: Cgroup) => Promise<void>): Promise<void> {
  const name = uniqueName();
  const cg = await driver.create(name, resources);
  try {
    await body(cg);
  } finally {
    await cg.destroy();
  }
  for (const [h, dir] of Object.entries(cg.paths)) assert.equal(fs.existsSync(dir), false, `${h} cgroup ${dir} removed`);
  assert.ok(!(await driver.list()).includes(name));
}

/** processes in, stats move, kill: common to both modes */
async function processesAndStats(cg: Cgroup): Promise<void> {
  const sleeper = start('sleep', '60');
  const burner = start('sh', '-c', 'while :; do :; done');
  await cg.addProcess(sleeper.pid);
  await cg.addProcess(burner.pid);
  assert.deepEqual(
    (await cg.pids()).sort((a, b) => a - b),
    [sleeper.pid, burner.pid].sort((a, b) => a - b),
  );
  for (const file of cg.procsFiles) assert.ok(read(file).split('\n').map(Number).includes(sleeper.pid), `${file} lists the sleeper`);
  const s0 = await cg.stats();
  await sleep(400);
  const s1 = await cg.stats();
  assert.deepEqual(s1.errors, []);
  assert.equal(s1.pids?.current, 2);
  assert.ok(s0.cpu?.usageUsec !== undefined && s1.cpu?.usageUsec !== undefined, 'cpu usage is read');
  assert.ok(s1.cpu.usageUsec > s0.cpu.usageUsec + 50_000, `cpu usage moved: ${s0.cpu.usageUsec} -> ${s1.cpu.usageUsec} us`);
  assert.ok(s1.memory?.stat && Object.keys(s1.memory.stat).length > 5, 'memory.stat read');
  assert.equal(await cg.oomKillCount(), 0);

  await cg.freeze();
  const f0 = (await cg.stats()).cpu?.usageUsec ?? 0;
  await sleep(200);
  const f1 = (await cg.stats()).cpu?.usageUsec ?? 0;
  assert.ok(f1 - f0 < 20_000, `no cpu used while frozen (${f1 - f0} us)`);
  await cg.thaw();

  await cg.kill();
  assert.deepEqual(await cg.pids(), []);
  assert.deepEqual(await exited(sleeper), { code: null, signal: 'SIGKILL' });
  assert.deepEqual(await exited(burner), { code: null, signal: 'SIGKILL' });
}

/** a memory hog under a 16 MiB limit without swap is OOM-killed, and the kernel's counter says so */
async function oomKill(cg: Cgroup): Promise<void> {
  // The shell waits until it is inside the cgroup before it starts eating memory.
  const memoryProcs = path.join(cg.paths.memory ?? cg.paths.unified!, 'cgroup.procs');
  const hog = start('sh', '-c', `while ! grep -qx "$$" ${memoryProcs}; do sleep 0.01; done; exec tail /dev/zero`);
  await cg.addProcess(hog.pid);
  const result = await Promise.race([exited(hog), sleep(20_000, undefined, { ref: false }).then(() => 'timeout' as const)]);
  assert.notEqual(result, 'timeout', 'the hog was killed within 20 s');
  assert.deepEqual(result, { code: null, signal: 'SIGKILL' });
  assert.equal(await cg.oomKillCount(), 1);
  assert.equal((await cg.stats()).memory?.events?.oomKill, 1);
}

// --- v1 ----------------------------------------------------------------------------------------

describe('cgroup v1 on the real kernel', { skip: detected !== 'v1' && `the detected cgroup mode is ${detected ?? 'unknown'}, not v1` }, () => {
  setupSuite();

  test('limits are written and read back from the v1 files', async () => {
    const resources: Resources = {
      cpu: { weight: 100, quota: 50000, period: 100000 },
      memory: { max: 32 * Mi, swapMax: 0, low: Mi },
      pids: { max: 16 },
      cpuset: { cpus: '0', mems: '0' },
    };
    await withCgroup(resources, async (cg) => {
      const f = (controller: string, file: string) => read(path.join(cg.paths[controller]!, file));
      assert.equal(f('cpu', 'cpu.shares'), '1024');
      assert.equal(f('cpu', 'cpu.cfs_quota_us'), '50000');
      assert.equal(f('cpu', 'cpu.cfs_period_us'), '100000');
      assert.equal(f('memory', 'memory.limit_in_bytes'), '33554432');
      assert.equal(f('memory', 'memory.memsw.limit_in_bytes'), '33554432');
      assert.equal(f('memory', 'memory.soft_limit_in_bytes'), '1048576');
      assert.equal(f('pids', 'pids.max'), '16');
      assert.equal(f('cpuset', 'cpuset.cpus'), '0');
      assert.equal(f('cpuset', 'cpuset.mems'), '0');
      assert.equal(f('freezer', 'freezer.state'), 'THAWED');
      const stats = await cg.stats();
      assert.equal(stats.memory?.max, 33554432);
      assert.deepEqual(stats.pids, { current: 0, max: 16 });
    });
  });

  test('memory limits are raised and lowered on a live cgroup (memsw ordering)', async () => {
    await withCgroup({ memory: { max: 32 * Mi, swapMax: 0 } }, async (cg) => {
      const f = (file: string) => read(path.join(cg.paths.memory!, file));
      await cg.apply({ memory: { max: 1024 * Mi, swapMax: 0 } });
      assert.deepEqual([f('memory.limit_in_bytes'), f('memory.memsw.limit_in_bytes')], ['1073741824', '1073741824']);
      await cg.apply({ memory: { max: 16 * Mi, swapMax: 16 * Mi } });
      assert.deepEqual([f('memory.limit_in_bytes'), f('memory.memsw.limit_in_bytes')], ['16777216', '33554432']);
      await cg.apply({ memory: { max: 'max' } });
      assert.equal((await cg.stats()).memory?.max, 'max');
    });
  });

  test('child processes in, stats move, freeze, kill', async () => {
    await withCgroup({ pids: { max: 8 } }, processesAndStats);
  });

  test('an OOM kill is counted in memory.oom_control', async () => {
    await withCgroup({ memory: { max: 16 * Mi, swapMax: 0 } }, oomKill);
  });

  test('what v1 cannot do is an UnsupportedError, and nothing is created', async () => {
    const name = uniqueName();
    const blkioParent = (await driver.parentInfo()).dirs.blkio!;
    // This host: no blkio.weight (CFQ is gone); BFQ is loaded, so child cgroups have blkio.bfq.weight,
    // but no block device uses the bfq scheduler, so the weight would act nowhere.
    await assert.rejects(driver.create(name, { io: { weight: 100 } }), (err: unknown) => {
      assert.ok(err instanceof UnsupportedError, String(err));
      assert.ok(
        err.message.startsWith(`io.weight is not supported here: blkio.bfq.weight in ${blkioParent} only acts on block devices that use the BFQ I/O scheduler, and none does (`) ||
          err.message.startsWith('io.weight is not supported here: neither blkio.weight nor blkio.bfq.weight exists in /sys/fs/cgroup/blkio'),
        err.message,
      );
      return true;
    });
    await assert.rejects(driver.create(name, { memory: { high: Mi } }), { name: 'UnsupportedError' });
    assert.ok(!(await driver.list()).includes(name));
  });

  test('a write the kernel refuses removes the half-created cgroup from every hierarchy', async () => {
    const name = uniqueName();
    // No block device 1:99: the kernel refuses the throttle rule, after every directory was made.
    await assert.rejects(driver.create(name, { pids: { max: 4 }, io: { max: [{ major: 1, minor: 99, rbps: Mi }] } }), (err: unknown) => {
      assert.ok(err instanceof CgroupFileError, String(err));
      assert.match(err.message, new RegExp(`^write "1:99 1048576" to /sys/fs/cgroup/blkio/.*${name}/blkio\\.throttle\\.read_bps_device: E[A-Z]+$`));
      return true;
    });
    const dirs = (await driver.parentInfo()).dirs;
    for (const [h, d] of Object.entries(dirs)) assert.equal(fs.existsSync(path.join(d, name)), false, `${h}: nothing left`);
  });
});

// --- v2 ----------------------------------------------------------------------------------------

describe('cgroup v2 on the real kernel', { skip: detected !== 'v2' && `the detected cgroup mode is ${detected ?? 'unknown'}, not v2 (this suite runs in the QEMU guest)` }, () => {
  setupSuite();

  test('limits are written and read back from the v2 files', async () => {
    const resources: Resources = {
      cpu: { weight: 100, quota: 50000, period: 100000 },
      memory: { max: 32 * Mi, swapMax: 0, low: Mi, high: 24 * Mi, oomGroup: true },
      pids: { max: 16 },
      cpuset: { cpus: '0', mems: '0' },
    };
    await withCgroup(resources, async (cg) => {
      assert.ok(cg.dir);
      const f = (file: string) => read(path.join(cg.dir!, file));
      assert.equal(f('cpu.weight'), '100');
      assert.equal(f('cpu.max'), '50000 100000');
      assert.equal(f('memory.max'), '33554432');
      assert.equal(f('memory.swap.max'), '0');
      assert.equal(f('memory.low'), '1048576');
      assert.equal(f('memory.high'), '25165824');
      assert.equal(f('memory.oom.group'), '1');
      assert.equal(f('pids.max'), '16');
      assert.equal(f('cpuset.cpus'), '0');
      assert.equal(f('cpuset.mems'), '0');
      assert.deepEqual(f('cgroup.controllers').split(' ').sort(), ['cpu', 'cpuset', 'io', 'memory', 'pids']);
      const stats = await cg.stats();
      assert.deepEqual(stats.errors, []);
      assert.equal(stats.memory?.max, 33554432);
      assert.deepEqual(stats.pids, { current: 0, max: 16 });
      await cg.apply({ cpu: { period: 50000 }, memory: { max: 'max' } });
      assert.equal(f('cpu.max'), '50000 50000');
      assert.equal(f('memory.max'), 'max');
    });
  });

  test('child processes in, stats move, freeze, kill', async () => {
    await withCgroup({ pids: { max: 8 } }, processesAndStats);
  });

  test('an OOM kill is counted in memory.events', async () => {
    await withCgroup({ memory: { max: 16 * Mi, swapMax: 0 } }, oomKill);
  });

  test('a write the kernel refuses removes the half-created cgroup', async () => {
    const name = uniqueName();
    await assert.rejects(driver.create(name, { pids: { max: 4 }, io: { max: [{ major: 1, minor: 99, rbps: Mi }] } }), (err: unknown) => {
      assert.ok(err instanceof CgroupFileError, String(err));
      assert.match(err.message, new RegExp(`^write "1:99 rbps=1048576" to /sys/fs/cgroup/.*${name}/io\\.max: E[A-Z]+$`));
      return true;
    });
    assert.ok(!(await driver.list()).includes(name));
  });
});
