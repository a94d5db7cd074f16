/** The v2 driver against a temp-dir fake cgroupfs (test/helpers/fake-cgroupfs.ts). */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { posix as path } from 'node:path';
import { CgroupFileError, InvalidLimitError, UnsupportedError } from '../../../src/errors.js';
import { createCgroupDriver } from '../../../src/cgroups/index.js';
import { fakeV2, type FakeOptions, fakeDriverOptions } from '../../helpers/fake-cgroupfs.js';

const ME = 4_200_001; // fake pids: above any real pid_max, never signalled (the driver's signal is the fake's)
const OTHER = 4_200_002;
const Mi = 1024 * 1024;
const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

async function setup(opts: Parameters<typeof fakeV2>[0] & { parent?: string; fake?: FakeOptions } = {}) {
  const f = fakeV2({ ownProcs: [ME], ...opts });
  roots.push(f.root, path.dirname(f.sysBlockDir));
  const driver = await createCgroupDriver({
    ...fakeDriverOptions(f, ME),
    ...(opts.parent !== undefined ? { parent: opts.parent } : {}),
  });
  return { ...f, driver };
}

const exists = (p: string) => fs.existsSync(p);

describe('v2 driver: create', () => {
  test('moves corral out of its own cgroup, enables the controllers down the path, writes the limits', async () => {
    const { driver, kernel, root, ownDir } = await setup();
    assert.equal(driver.mode, 'v2');
    const cg = await driver.create('c1', { memory: { max: 32 * Mi, swapMax: 0 }, cpu: { weight: 100, quota: 50000, period: 100000 }, pids: { max: 16 } });
    const leaf = path.join(ownDir, 'corral', 'c1');
    assert.equal(cg.dir, leaf);
    assert.deepEqual(cg.procsFiles, [path.join(leaf, 'cgroup.procs')]);
    assert.deepEqual(cg.paths, { unified: leaf });
    // The no-internal-process rule: corral's own pid now sits in the supervisor leaf.
    assert.equal(kernel.text(path.join(ownDir, 'cgroup.procs')), '');
    assert.equal(kernel.text(path.join(ownDir, 'corral-supervisor', 'cgroup.procs')), String(ME));
    assert.equal(kernel.text(path.join(ownDir, 'cgroup.subtree_control')), 'cpuset cpu io memory pids');
    assert.equal(kernel.text(path.join(ownDir, 'corral', 'cgroup.subtree_control')), 'cpuset cpu io memory pids');
    assert.equal(kernel.text(path.join(leaf, 'memory.max')), '33554432');
    assert.equal(kernel.text(path.join(leaf, 'memory.swap.max')), '0');
    assert.equal(kernel.text(path.join(leaf, 'cpu.max')), '50000 100000');
    assert.equal(kernel.text(path.join(leaf, 'cpu.weight')), '100');
    assert.equal(kernel.text(path.join(leaf, 'pids.max')), '16');
    assert.deepEqual(kernel.writesOutside(ownDir), [], 'nothing is written outside the own cgroup');
    assert.equal(kernel.text(path.join(root, 'cgroup.subtree_control')), 'cpuset cpu io memory hugetlb pids rdma misc');
    assert.deepEqual(
      kernel.writes.map((w) => [path.relative(ownDir, w.path), w.value]),
      [
        ['corral-supervisor/cgroup.procs', String(ME)],
        ['cgroup.subtree_control', '+cpu +cpuset +memory +pids +io'],
        ['corral/cgroup.subtree_control', '+cpu +cpuset +memory +pids +io'],
        ['corral/c1/cpu.weight', '100'],
        ['corral/c1/cpu.max', '50000 100000'],
        ['corral/c1/memory.max', '33554432'],
        ['corral/c1/memory.swap.max', '0'],
        ['corral/c1/pids.max', '16'],
      ],
    );
    assert.deepEqual(await driver.list(), ['c1']);
  });

  test('a second container reuses the prepared parent: no more subtree_control writes', async () => {
    const { driver, kernel } = await setup();
    await driver.create('a', {});
    const before = kernel.writes.length;
    await driver.create('b', { pids: { max: 5 } });
    assert.deepEqual(
      kernel.writes.slice(before).map((w) => path.basename(w.path)),
      ['pids.max'],
    );
    assert.deepEqual(await driver.list(), ['a', 'b']);
  });

  test('another process in the own cgroup: a clear error, nothing created or moved', async () => {
    const { driver, kernel, ownDir } = await setup({ ownProcs: [ME, OTHER] });
    await assert.rejects(driver.create('c1', { pids: { max: 4 } }), (err: unknown) => {
      assert.ok(err instanceof UnsupportedError);
      assert.equal(
        err.message,
        `cannot enable controllers for child cgroups of ${ownDir}: it holds processes other than corral (pid ${ME}): ${OTHER}; ` +
          `cgroup v2 allows no processes in a cgroup whose children use controllers: move them into a leaf cgroup ` +
          `(e.g. mkdir ${ownDir}/leaf and write each pid to ${ownDir}/leaf/cgroup.procs), or start corral with --cgroup-parent naming an empty cgroup`,
      );
      return true;
    });
    assert.equal(exists(path.join(ownDir, 'corral')), false);
    assert.equal(exists(path.join(ownDir, 'corral-supervisor')), false);
    assert.deepEqual(kernel.writes, []);
  });

  test('a needed controller that is not available: UnsupportedError naming it, the cgroup and what to do', async () => {
    const { driver, ownDir, root } = await setup({ ownControllers: ['cpu', 'pids'] });
    await assert.rejects(driver.create('c1', { memory: { max: Mi } }), {
      name: 'UnsupportedError',
      message: `memory limits need the memory controller, which is not available in ${ownDir} (cgroup.controllers: "cpu pids"): enable it in the parent's cgroup.subtree_control (echo +memory > ${root}/cgroup.subtree_control), or choose another --cgroup-parent`,
    });
    assert.equal(exists(path.join(ownDir, 'corral')), false);
    // Limits that only need available controllers work; only those are enabled below.
    await driver.create('c2', { pids: { max: 3 } });
    assert.equal(fs.readFileSync(path.join(ownDir, 'corral', 'cgroup.subtree_control'), 'utf8').trim(), 'cpu pids');
  });

  test('a failed write removes the leaf and the parent this call created', async () => {
    const { driver, kernel, ownDir } = await setup();
    kernel.failures.push({ path: /\/memory\.max$/, errno: 'EINVAL' });
    const leaf = path.join(ownDir, 'corral', 'c1');
    await assert.rejects(driver.create('c1', { pids: { max: 10 }, memory: { max: 512 * Mi } }), (err: unknown) => {
      assert.ok(err instanceof CgroupFileError);
      assert.equal(err.message, `write "536870912" to ${leaf}/memory.max: EINVAL`);
      assert.equal(err.errno, 'EINVAL');
      return true;
    });
    assert.equal(exists(leaf), false);
    assert.equal(exists(path.join(ownDir, 'corral')), false);
  });

  test('a failed write keeps a parent that existed before', async () => {
    const { driver, kernel, ownDir } = await setup();
    await driver.create('first', {});
    kernel.failures.push({ path: /\/pids\.max$/, errno: 'EINVAL' });
    await assert.rejects(driver.create('c1', { pids: { max: 10 } }), CgroupFileError);
    assert.equal(exists(path.join(ownDir, 'corral', 'c1')), false);
    assert.equal(exists(path.join(ownDir, 'corral', 'first')), true);
  });

  test('a bad plan creates nothing', async () => {
    const { driver, kernel, ownDir } = await setup();
    await assert.rejects(driver.create('c1', { cpu: { weight: 0 } }), { name: 'InvalidLimitError', message: 'invalid cpu.weight 0: expected an integer in 1-10000' });
    assert.deepEqual(kernel.writes, []);
    assert.equal(exists(path.join(ownDir, 'corral')), false);
  });

  test("a cpuset outside the parent's effective set is refused before anything is created", async () => {
    const { driver, ownDir } = await setup({ effectiveCpus: '0-1' });
    assert.equal((await driver.parentInfo()).effectiveCpus, '0-1');
    await assert.rejects(driver.create('c1', { cpuset: { cpus: '2-3' } }), (err: unknown) => {
      assert.ok(err instanceof InvalidLimitError);
      assert.equal(err.message, 'cpuset.cpus "2-3" is outside the parent\'s effective cpus "0-1" (not allowed: "2-3")');
      return true;
    });
    assert.equal(exists(path.join(ownDir, 'corral')), false);
  });

  test('an existing cgroup of the same name is an error and is left alone', async () => {
    const { driver, ownDir } = await setup();
    await driver.create('c1', {});
    await assert.rejects(driver.create('c1', {}), { message: `mkdir ${ownDir}/corral/c1: EEXIST` });
    assert.equal(exists(path.join(ownDir, 'corral', 'c1')), true);
  });

  test('a bad name is refused', async () => {
    const { driver } = await setup();
    await assert.rejects(driver.create('../x', {}), { name: 'InvalidArgumentError' });
    assert.throws(() => driver.open('corral-supervisor'), { name: 'InvalidArgumentError' });
  });

  test('--cgroup-parent relative: inside the own cgroup', async () => {
    const { driver, ownDir } = await setup({ parent: 'tests/run1' });
    const cg = await driver.create('c1', {});
    assert.equal(cg.dir, path.join(ownDir, 'tests', 'run1', 'c1'));
    assert.deepEqual((await driver.parentInfo()).dirs, { unified: path.join(ownDir, 'tests', 'run1') });
  });

  test('--cgroup-parent absolute outside the own cgroup: from the root down, only missing controllers enabled', async () => {
    const { driver, kernel, root } = await setup({ parent: '/corral-test' });
    const cg = await driver.create('c1', { pids: { max: 2 } });
    assert.equal(cg.dir, path.join(root, 'corral-test', 'c1'));
    // The root's subtree_control already had them all: no write there.
    assert.ok(!kernel.writes.some((w) => w.path === path.join(root, 'cgroup.subtree_control')));
  });

  test('parentInfo: the nearest effective cpus and the usable controllers', async () => {
    const { driver, ownDir } = await setup({ effectiveCpus: '0-5' });
    assert.deepEqual(await driver.parentInfo(), {
      mode: 'v2',
      effectiveCpus: '0-5',
      effectiveMems: '0',
      controllers: ['cpu', 'cpuset', 'memory', 'pids', 'io'],
      dirs: { unified: path.join(ownDir, 'corral') },
    });
  });

  test('plan reads but never writes', async () => {
    const { driver, kernel } = await setup();
    assert.deepEqual(await driver.plan({ memory: { max: Mi } }), [{ file: 'memory.max', value: '1048576' }]);
    assert.deepEqual(kernel.writes, []);
  });
});

describe("v2 driver: a cgroup's life", () => {
  test('addProcess, pids, apply, stats, oomKillCount', async () => {
    const { driver, kernel, ownDir } = await setup();
    const cg = await driver.create('c1', { memory: { max: 64 * Mi } });
    await cg.addProcess(4_200_010);
    assert.deepEqual(await cg.pids(), [4_200_010]);
    await cg.apply({ cpu: { period: 50000 }, memory: { high: 32 * Mi } });
    const leaf = path.join(ownDir, 'corral', 'c1');
    assert.equal(kernel.text(path.join(leaf, 'cpu.max')), 'max 50000');
    assert.equal(kernel.text(path.join(leaf, 'memory.high')), '33554432');
    fs.writeFileSync(path.join(leaf, 'memory.events'), 'low 0\nhigh 2\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n');
    fs.writeFileSync(path.join(leaf, 'memory.current'), '1234\n');
    assert.equal(await cg.oomKillCount(), 1);
    const stats = await cg.stats();
    assert.deepEqual(stats.errors, []);
    assert.deepEqual(stats.memory, {
      current: 1234,
      peak: 0,
      max: 67108864,
      events: { low: 0, high: 2, max: 5, oom: 1, oomKill: 1, oomGroupKill: 0 },
      stat: { anon: 0, file: 0, kernel_stack: 0 },
    });
    assert.deepEqual(stats.cpu, { usageUsec: 0, userUsec: 0, systemUsec: 0, nrPeriods: 0, nrThrottled: 0, throttledUsec: 0 });
    assert.deepEqual(stats.pids, { current: 0, max: 'max' });
    assert.deepEqual(stats.io, { devices: [] });
    assert.deepEqual(stats.pressure?.cpu?.some, { avg10: 0, avg60: 0, avg300: 0, total: 0 });
  });

  test('stats are partial: a broken io.stat and a missing memory.peak blank nothing else', async () => {
    const { driver, ownDir } = await setup();
    const cg = await driver.create('c1', {});
    const leaf = path.join(ownDir, 'corral', 'c1');
    fs.writeFileSync(path.join(leaf, 'io.stat'), '8:0 rbytes=oops\n');
    fs.unlinkSync(path.join(leaf, 'memory.peak')); // a kernel before 5.19
    fs.unlinkSync(path.join(leaf, 'pids.current')); // broken: required
    fs.unlinkSync(path.join(leaf, 'cpu.pressure')); // no PSI: absence is data
    const stats = await cg.stats();
    assert.deepEqual(
      [...stats.errors].sort((a, b) => a.file.localeCompare(b.file)),
      [
        { file: `${leaf}/io.stat`, message: `parse nested keyed (${leaf}/io.stat): unexpected line "8:0 rbytes=oops"` },
        { file: `${leaf}/pids.current`, message: `read ${leaf}/pids.current: ENOENT` },
      ],
    );
    assert.equal(stats.memory?.peak, undefined);
    assert.equal(stats.memory?.current, 0);
    assert.deepEqual(stats.pids, { max: 'max' }, 'pids.current is absent, not 0');
    assert.equal(stats.io, undefined);
    assert.equal(stats.pressure?.cpu, undefined);
    assert.ok(stats.pressure?.memory);
  });

  test('destroy: cgroup.kill, wait until empty, rmdir; idempotent', async () => {
    const { driver, kernel, ownDir } = await setup();
    const cg = await driver.create('c1', {});
    kernel.addTasks(path.join(ownDir, 'corral', 'c1'), 4_200_020, 4_200_021);
    await cg.destroy();
    assert.ok(kernel.writes.some((w) => w.path.endsWith('/c1/cgroup.kill') && w.value === '1'));
    assert.deepEqual(kernel.signalled, []);
    assert.equal(exists(path.join(ownDir, 'corral', 'c1')), false);
    await cg.destroy();
    await driver.open('never-created').destroy();
    assert.deepEqual(await driver.list(), []);
    // The shared parent stays until asked.
    assert.equal(exists(path.join(ownDir, 'corral')), true);
    assert.equal(await driver.removeParentIfEmpty(), true);
    assert.equal(exists(path.join(ownDir, 'corral')), false);
  });

  test('destroy without cgroup.kill (before 5.14): freeze, SIGKILL each pid, thaw; nested cgroups too', async () => {
    const { driver, kernel, ownDir } = await setup({ fake: { noKill: true } });
    const cg = await driver.create('c1', {});
    const leaf = path.join(ownDir, 'corral', 'c1');
    kernel.addTasks(leaf, 4_200_030);
    fs.mkdirSync(path.join(leaf, 'inner'));
    kernel.populate(path.join(leaf, 'inner'));
    kernel.addTasks(path.join(leaf, 'inner'), 4_200_031);
    await cg.destroy();
    assert.deepEqual(kernel.signalled.sort(), [4_200_030, 4_200_031]);
    const freezes = kernel.writes.filter((w) => w.path === `${leaf}/cgroup.freeze`).map((w) => w.value);
    assert.deepEqual(freezes, ['1', '0']);
    assert.equal(exists(leaf), false);
  });

  test('freeze, frozen, thaw: cgroup.freeze written, cgroup.events waited for; frozen() reads the request', async () => {
    const { driver, kernel, ownDir } = await setup();
    const cg = await driver.create('c1', {});
    const leaf = path.join(ownDir, 'corral', 'c1');
    assert.equal(await cg.frozen(), false);
    await cg.freeze();
    assert.equal(kernel.text(path.join(leaf, 'cgroup.events')), 'populated 0\nfrozen 1');
    assert.equal(await cg.frozen(), true);
    await cg.thaw();
    assert.equal(await cg.frozen(), false);
    assert.deepEqual(
      kernel.writes.filter((w) => w.path === `${leaf}/cgroup.freeze`).map((w) => w.value),
      ['1', '0'],
    );
  });

  test('frozen: no cgroup.freeze (Linux before 5.2) is not frozen; a cgroup that is gone is an error', async () => {
    const { driver, ownDir } = await setup();
    const cg = await driver.create('c1', {});
    fs.rmSync(path.join(ownDir, 'corral', 'c1', 'cgroup.freeze'));
    assert.equal(await cg.frozen(), false);
    await assert.rejects(cg.freeze(), (e: Error) => e instanceof UnsupportedError && /cgroup v2 freezer: Linux 5\.2\+/.test(e.message));
    await assert.rejects(driver.open('never-created').frozen(), (e: Error) => e instanceof CgroupFileError && e.errno === 'ENOENT');
  });

  test('removeParentIfEmpty keeps a parent that still has a container', async () => {
    const { driver } = await setup();
    await driver.create('c1', {});
    assert.equal(await driver.removeParentIfEmpty(), false);
  });

  test('kill times out naming the processes that stay', async () => {
    const { driver, kernel, ownDir } = await setup({ fake: { noKill: true } });
    const cg = await driver.create('c1', {});
    const leaf = path.join(ownDir, 'corral', 'c1');
    kernel.addTasks(leaf, 4_200_040);
    kernel.immortal.add(4_200_040);
    await assert.rejects(cg.kill(), { name: 'CorralError', code: 'ECGROUPBUSY', message: `kill ${leaf}: processes 4200040 still present after 500 ms` });
  });
});
