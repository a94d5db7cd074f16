/** The v1 driver against a temp-dir fake cgroupfs laid out like this project's hybrid hosts. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { posix as path } from 'node:path';
import { CgroupFileError, UnsupportedError } from '../../../src/errors.js';
import { createCgroupDriver } from '../../../src/cgroups/index.js';
import { fakeV1, type FakeOptions, fakeDriverOptions } from '../../helpers/fake-cgroupfs.js';

const Mi = 1024 * 1024;
const Gi = 1024 * Mi;
const OWN_MEMORY = '/process_api/1a8cdddd9ef1845e4f3a2d27146fa32c';
const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

async function setup(opts: { comount?: boolean; fake?: FakeOptions; parent?: string; schedulers?: Record<string, string> } = {}) {
  const f = fakeV1({
    own: { memory: OWN_MEMORY },
    ...(opts.comount ? { comount: true } : {}),
    ...(opts.fake ? { fake: opts.fake } : {}),
    ...(opts.schedulers ? { schedulers: opts.schedulers } : {}),
  });
  roots.push(f.root, path.dirname(f.sysBlockDir));
  const driver = await createCgroupDriver({
    ...fakeDriverOptions(f, 4_300_000),
    ...(opts.parent !== undefined ? { parent: opts.parent } : {}),
  });
  const leaf = (controller: string, name: string, parent = 'corral') => path.join(f.ownDirs[controller]!, parent, name);
  return { ...f, driver, leaf };
}

const exists = (p: string) => fs.existsSync(p);

describe('v1 driver: create', () => {
  test('one directory per hierarchy under the own cgroup of each; cpuset lists copied down; limits written', async () => {
    const { driver, kernel, root, leaf, ownDirs } = await setup();
    assert.equal(driver.mode, 'v1');
    const cg = await driver.create('c1', { memory: { max: 32 * Mi, swapMax: 0 }, cpu: { weight: 100, quota: 50000 }, pids: { max: 16 }, cpuset: { cpus: '1' } });
    assert.equal(cg.dir, undefined);
    assert.equal(leaf('memory', 'c1'), `${root}/memory${OWN_MEMORY}/corral/c1`);
    assert.equal(leaf('cpu', 'c1'), `${root}/cpu/corral/c1`);
    assert.deepEqual(cg.paths, {
      cpuset: leaf('cpuset', 'c1'),
      cpu: leaf('cpu', 'c1'),
      cpuacct: leaf('cpuacct', 'c1'),
      memory: leaf('memory', 'c1'),
      pids: leaf('pids', 'c1'),
      blkio: leaf('blkio', 'c1'),
      freezer: leaf('freezer', 'c1'),
    });
    assert.equal(cg.procsFiles.length, 7);
    assert.ok(!exists(path.join(root, 'devices', 'corral')), 'devices is not managed');
    assert.equal(kernel.text(path.join(ownDirs.cpuset!, 'corral', 'cpuset.cpus')), '0-1', "the intermediate cpuset got the parent's cpus");
    assert.equal(kernel.text(path.join(ownDirs.cpuset!, 'corral', 'cpuset.mems')), '0');
    assert.equal(kernel.text(path.join(leaf('cpuset', 'c1'), 'cpuset.cpus')), '1');
    assert.equal(kernel.text(path.join(leaf('cpuset', 'c1'), 'cpuset.mems')), '0');
    assert.equal(kernel.text(path.join(leaf('memory', 'c1'), 'memory.limit_in_bytes')), '33554432');
    assert.equal(kernel.text(path.join(leaf('memory', 'c1'), 'memory.memsw.limit_in_bytes')), '33554432');
    assert.equal(kernel.text(path.join(leaf('cpu', 'c1'), 'cpu.shares')), '1024');
    assert.equal(kernel.text(path.join(leaf('cpu', 'c1'), 'cpu.cfs_quota_us')), '50000');
    assert.equal(kernel.text(path.join(leaf('pids', 'c1'), 'pids.max')), '16');
    for (const w of kernel.writes) {
      assert.ok(
        Object.values(ownDirs).some((own) => w.path.startsWith(`${own}/`)),
        `${w.path} is inside an own cgroup`,
      );
    }
    // A task can join: every cpuset on the way has cpus (the fake refuses with ENOSPC otherwise).
    await cg.addProcess(4_300_001);
    assert.deepEqual(await cg.pids(), [4_300_001]);
    assert.deepEqual(await driver.list(), ['c1']);
  });

  test('memory limits can be raised and lowered in both orders the kernel requires', async () => {
    const { driver, kernel, leaf } = await setup();
    const cg = await driver.create('c1', { memory: { max: 32 * Mi, swapMax: 0 } });
    const file = (f: string) => kernel.text(path.join(leaf('memory', 'c1'), f));
    await cg.apply({ memory: { max: Gi, swapMax: 0 } }); // memsw first, or EINVAL
    assert.deepEqual([file('memory.limit_in_bytes'), file('memory.memsw.limit_in_bytes')], ['1073741824', '1073741824']);
    await cg.apply({ memory: { max: 16 * Mi, swapMax: 16 * Mi } }); // memory first, or EINVAL
    assert.deepEqual([file('memory.limit_in_bytes'), file('memory.memsw.limit_in_bytes')], ['16777216', '33554432']);
    await cg.apply({ memory: { max: 64 * Mi } }); // swap allowance (16 MiB) kept
    assert.deepEqual([file('memory.limit_in_bytes'), file('memory.memsw.limit_in_bytes')], ['67108864', '83886080']);
    await cg.apply({ memory: { max: 'max' } });
    assert.deepEqual([file('memory.limit_in_bytes'), file('memory.memsw.limit_in_bytes')], ['9223372036854771712', '9223372036854771712']);
    assert.equal((await cg.stats()).memory?.max, 'max');
  });

  test('io weight where no weight file exists: UnsupportedError naming the file and the cgroup, nothing created', async () => {
    const { driver, kernel, root } = await setup();
    await assert.rejects(driver.create('c1', { io: { weight: 100 } }), (err: unknown) => {
      assert.ok(err instanceof UnsupportedError);
      assert.equal(
        err.message,
        `io.weight is not supported here: neither blkio.weight nor blkio.bfq.weight exists in ${root}/blkio (cgroup v1 needs the BFQ I/O scheduler for a weight; CFQ's blkio.weight was removed in Linux 5.0)`,
      );
      return true;
    });
    assert.deepEqual(kernel.writes, []);
    assert.equal(exists(path.join(root, 'cpu', 'corral')), false);
  });

  test('io weight under BFQ is written to blkio.bfq.weight when a device uses bfq', async () => {
    const { driver, kernel, leaf } = await setup({ fake: { bfq: true }, schedulers: { sda: 'mq-deadline kyber [bfq] none', loop0: '[none] bfq' } });
    await driver.create('c1', {}); // the parent now exists and shows the file
    await driver.create('c2', { io: { weight: 100 } });
    assert.equal(kernel.text(path.join(leaf('blkio', 'c2'), 'blkio.bfq.weight')), '20');
  });

  test('io weight where blkio.bfq.weight exists but no device uses bfq (this host): UnsupportedError', async () => {
    const { driver, root } = await setup({ fake: { bfq: true }, schedulers: { vda: 'none [mq-deadline] kyber bfq', loop0: '[none] mq-deadline kyber bfq' } });
    await driver.create('c1', {});
    await assert.rejects(driver.create('c2', { io: { weight: 100 } }), {
      name: 'UnsupportedError',
      message: `io.weight is not supported here: blkio.bfq.weight in ${root}/blkio/corral only acts on block devices that use the BFQ I/O scheduler, and none does (vda: mq-deadline, loop0: none)`,
    });
    assert.deepEqual(await driver.list(), ['c1']);
  });

  test('memory.high is refused before anything is created', async () => {
    const { driver, kernel } = await setup();
    await assert.rejects(driver.create('c1', { memory: { high: Mi } }), {
      name: 'UnsupportedError',
      message: 'memory.high is not supported on cgroup v1: it has no throttling limit (use memory.max)',
    });
    assert.deepEqual(kernel.writes, []);
  });

  test('a failed write removes the cgroup from every hierarchy, and the parents this call created', async () => {
    const { driver, kernel, root, leaf } = await setup();
    kernel.failures.push({ path: /\/pids\.max$/, errno: 'EINVAL' });
    await assert.rejects(driver.create('c1', { memory: { max: 32 * Mi }, pids: { max: 10 } }), (err: unknown) => {
      assert.ok(err instanceof CgroupFileError);
      assert.equal(err.message, `write "10" to ${leaf('pids', 'c1')}/pids.max: EINVAL`);
      return true;
    });
    for (const h of ['cpu', 'cpuacct', 'cpuset', 'pids', 'blkio', 'freezer']) assert.equal(exists(path.join(root, h, 'corral')), false, h);
    assert.equal(exists(path.join(root, 'memory', OWN_MEMORY, 'corral')), false);
  });

  test('co-mounted cpu,cpuacct: one directory, cpu limits and cpuacct usage from it', async () => {
    const { driver, kernel, root } = await setup({ comount: true });
    const cg = await driver.create('c1', { cpu: { weight: 200 } });
    const dir = path.join(root, 'cpu,cpuacct', 'corral', 'c1');
    assert.equal(cg.paths.cpu, dir);
    assert.equal(cg.paths.cpuacct, dir);
    assert.equal(cg.procsFiles.filter((f) => f.startsWith(path.join(root, 'cpu,cpuacct'))).length, 1);
    assert.equal(kernel.text(path.join(dir, 'cpu.shares')), '2451');
    fs.writeFileSync(path.join(dir, 'cpuacct.usage'), '5000000\n');
    assert.equal((await cg.stats()).cpu?.usageUsec, 5000);
  });

  test("parentInfo: the cpuset parent's effective cpus, the mounted controllers, the parent dirs", async () => {
    const { driver, ownDirs } = await setup();
    const info = await driver.parentInfo();
    assert.equal(info.effectiveCpus, '0-1');
    assert.equal(info.effectiveMems, '0');
    assert.deepEqual(info.controllers, ['cpuset', 'cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'freezer']);
    assert.equal(info.dirs.memory, path.join(ownDirs.memory!, 'corral'));
  });
});

describe("v1 driver: a cgroup's life", () => {
  test("stats from the fixtures' formats; partial on a broken file", async () => {
    const { driver, leaf } = await setup();
    const cg = await driver.create('c1', { memory: { max: 32 * Mi } });
    fs.writeFileSync(path.join(leaf('cpuacct', 'c1'), 'cpuacct.usage'), '162540060\n');
    // user and system come from usage_all (per CPU; the same counters as usage_user 167979119 and usage_sys 24000000)
    fs.writeFileSync(path.join(leaf('cpuacct', 'c1'), 'cpuacct.usage_all'), 'cpu user system\n0 167979119 12000000\n1 0 12000000\n');
    fs.writeFileSync(path.join(leaf('cpu', 'c1'), 'cpu.stat'), 'nr_periods 18\nnr_throttled 16\nthrottled_time 1394546384\nnr_bursts 0\nburst_time 0\n');
    fs.writeFileSync(path.join(leaf('memory', 'c1'), 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    fs.writeFileSync(path.join(leaf('blkio', 'c1'), 'blkio.throttle.io_service_bytes_recursive'), '254:0 Read 6537216\n254:0 Write 4194304\nbroken\n');
    const stats = await cg.stats();
    assert.deepEqual(stats.cpu, { usageUsec: 162540, userUsec: 167979, systemUsec: 24000, nrPeriods: 18, nrThrottled: 16, throttledUsec: 1394546 });
    assert.deepEqual(stats.memory?.events, { oomKill: 1 });
    assert.equal(stats.memory?.max, 33554432);
    assert.equal(await cg.oomKillCount(), 1);
    assert.deepEqual(stats.errors, [
      {
        file: `${leaf('blkio', 'c1')}/blkio.throttle.io_service_bytes_recursive`,
        message: `parse blkio stat (${leaf('blkio', 'c1')}/blkio.throttle.io_service_bytes_recursive): unexpected line "broken"`,
      },
    ]);
    assert.deepEqual(stats.io, { devices: [] }, 'io_serviced still read');
    assert.deepEqual(stats.pids, { current: 0, max: 'max' });
  });

  test('destroy: freeze, SIGKILL each pid, thaw, wait, rmdir everywhere; idempotent; the parent stays', async () => {
    const { driver, kernel, leaf, ownDirs } = await setup();
    const cg = await driver.create('c1', {});
    await cg.addProcess(4_300_010);
    await cg.addProcess(4_300_011);
    await cg.destroy();
    assert.deepEqual(kernel.signalled.sort(), [4_300_010, 4_300_011]);
    const freezer = kernel.writes.filter((w) => w.path === `${leaf('freezer', 'c1')}/freezer.state`).map((w) => w.value);
    assert.deepEqual(freezer, ['FROZEN', 'THAWED']);
    for (const c of Object.keys(ownDirs).filter((c) => c !== 'devices')) assert.equal(exists(leaf(c, 'c1')), false, c);
    await cg.destroy();
    assert.deepEqual(await driver.list(), []);
    assert.equal(exists(path.join(ownDirs.cpu!, 'corral')), true);
    assert.equal(await driver.removeParentIfEmpty(), true);
    for (const c of Object.keys(ownDirs)) assert.equal(exists(path.join(ownDirs[c]!, 'corral')), false, c);
  });

  test('freeze and thaw', async () => {
    const { driver, kernel, leaf } = await setup();
    const cg = await driver.create('c1', {});
    await cg.freeze();
    assert.equal(kernel.text(path.join(leaf('freezer', 'c1'), 'freezer.state')), 'FROZEN');
    await cg.thaw();
    assert.equal(kernel.text(path.join(leaf('freezer', 'c1'), 'freezer.state')), 'THAWED');
  });

  test('frozen: freezer.state FROZEN or FREEZING (a freeze in force, not yet complete) is frozen, THAWED is not', async () => {
    const { driver, kernel, leaf } = await setup();
    const cg = await driver.create('c1', {});
    assert.equal(await cg.frozen(), false);
    await cg.freeze();
    assert.equal(await cg.frozen(), true);
    fs.writeFileSync(path.join(leaf('freezer', 'c1'), 'freezer.state'), 'FREEZING\n');
    assert.equal(await cg.frozen(), true, 'some tasks stopped: the workload makes no whole progress');
    await cg.thaw();
    assert.equal(await cg.frozen(), false);
    assert.equal(kernel.writes.filter((w) => w.path.endsWith('freezer.state')).length, 2, 'frozen() only reads');
    fs.writeFileSync(path.join(leaf('freezer', 'c1'), 'freezer.state'), 'PARTLY\n');
    await assert.rejects(cg.frozen(), { code: 'EPARSE', message: `parse freezer.state (${leaf('freezer', 'c1')}/freezer.state): unexpected line "PARTLY"` });
  });

  test('frozen: a cgroup that is gone is an error, not "thawed"', async () => {
    const { driver } = await setup();
    await assert.rejects(driver.open('never-created').frozen(), (e: Error) => e instanceof CgroupFileError && e.errno === 'ENOENT');
  });
});
