/**
 * The drivers' memory notifications (Cgroup.memoryEvents()) against the temp-dir fake cgroupfs: v1
 * registers eventfds through cgroup.event_control (fake syscalls; the test signals the eventfds as
 * the kernel would), v2 watches memory.events with inotify (the test writes the file as the kernel
 * would). The real kernel's v1 paths are test/integration/oom-watch.test.ts; v2 runs only in the guest.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { posix as path } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnsupportedError } from '../../../src/errors.js';
import { createCgroupDriver } from '../../../src/cgroups/index.js';
import { eventControlLine } from '../../../src/cgroups/v1/memory-events.js';
import type { MemoryNotification } from '../../../src/cgroups/types.js';
import { FakeSyscalls } from '../../../src/sys/fake-syscalls.js';
import { fakeV1, fakeV2, fakeDriverOptions } from '../../helpers/fake-cgroupfs.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

async function until(what: string, fn: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function v1Setup() {
  const f = fakeV1({ own: { memory: '/process_api/x' } });
  roots.push(f.root, path.dirname(f.sysBlockDir));
  const sys = new FakeSyscalls();
  const driver = await createCgroupDriver({
    ...fakeDriverOptions(f, 4_300_000),
    syscalls: async () => sys,
  });
  return { ...f, sys, driver };
}

/** fds closed so far */
const closed = (sys: FakeSyscalls) => sys.calls.flatMap((c) => (c.call === 'close' ? [c.fd] : []));
/** eventfds made so far, in order */
const made = (sys: FakeSyscalls) => sys.calls.flatMap((c) => (c.call === 'eventfd' ? [c.fd] : []));
/** fds taken out of the epoll set so far */
const unregistered = (sys: FakeSyscalls) => sys.calls.flatMap((c) => (c.call === 'epollCtl' && c.op === 'del' ? [c.fd] : []));

describe('v1 memoryEvents', () => {
  test('the OOM eventfd is registered through cgroup.event_control with the fd of memory.oom_control, and signals "oom"', async () => {
    const { driver, kernel, sys } = await v1Setup();
    const cg = await driver.create('c1', { memory: { max: 32 * 1024 * 1024 } });
    assert.equal(cg.mode, 'v1');
    if (cg.mode !== 'v1') return;
    const heard: MemoryNotification[] = [];
    const events = cg.memoryEvents();
    events.onChange((what) => heard.push(what));
    await events.ready;
    const control = path.join(cg.paths.memory!, 'cgroup.event_control');
    const registrations = kernel.writes.filter((w) => w.path === control);
    assert.equal(registrations.length, 1);
    const [efd, fileFd, ...rest] = registrations[0]!.value.split(' ').map(Number);
    assert.equal(efd, made(sys)[0], 'the first eventfd made (the fd poller makes its wake eventfd next)');
    assert.ok(Number.isInteger(fileFd) && fileFd! > 2, 'a real descriptor of memory.oom_control');
    assert.deepEqual(rest, []);
    assert.ok(
      sys.calls.some((c) => c.call === 'epollCtl' && c.op === 'add' && c.fd === efd),
      'waited on by the fd poller',
    );

    sys.ready(efd!);
    await until('the notification', () => heard.length === 1);
    assert.deepEqual(heard, ['oom']);

    await events.close();
    assert.ok(unregistered(sys).includes(efd!));
    assert.ok(closed(sys).includes(efd!));
    sys.ready(efd!);
    await sleep(20);
    assert.deepEqual(heard, ['oom'], 'nothing after close');
    await events.close(); // idempotent
    await cg.destroy();
  });

  test('a usage threshold gets its own eventfd, is replaced by the next, and is gone with undefined', async () => {
    const { driver, kernel, sys } = await v1Setup();
    const cg = await driver.create('c2', {});
    if (cg.mode !== 'v1') return assert.fail('a v1 handle');
    const heard: MemoryNotification[] = [];
    const events = cg.memoryEvents();
    events.onChange((what) => heard.push(what));
    const control = path.join(cg.paths.memory!, 'cgroup.event_control');
    const lines = () => kernel.writes.filter((w) => w.path === control).map((w) => w.value.split(' '));
    // before ready: it waits for the OOM registration
    const first = events.watchUsageThreshold(1_000_000);
    await first;
    const [oomLine, thresholdLine] = lines();
    assert.equal(oomLine!.length, 2);
    assert.equal(thresholdLine![2], '1000000');
    const tfd = Number(thresholdLine![0]);
    assert.notEqual(tfd, Number(oomLine![0]));
    sys.ready(tfd);
    await until('the crossing', () => heard.length === 1);
    assert.deepEqual(heard, ['usage-threshold']);

    // two changes at once: one after the other, one threshold left
    await Promise.all([events.watchUsageThreshold(2_000_000), events.watchUsageThreshold(3_000_000)]);
    const thresholds = lines().slice(2);
    assert.deepEqual(
      thresholds.map((l) => l[2]),
      ['2000000', '3000000'],
    );
    const [second, third] = thresholds.map((l) => Number(l[0]));
    assert.ok(closed(sys).includes(tfd) && closed(sys).includes(second!), 'the replaced eventfds are closed');
    assert.ok(!closed(sys).includes(third!));

    await events.watchUsageThreshold(undefined);
    assert.ok(closed(sys).includes(third!));
    assert.equal(lines().length, 4, 'no registration for no threshold');
    assert.ok(!closed(sys).includes(Number(oomLine![0])), 'the OOM eventfd stays');
    await events.close();
    assert.ok(closed(sys).includes(Number(oomLine![0])));
    await cg.destroy();
  });

  test('a refused registration closes its eventfd: ready rejects for the OOM one, watchUsageThreshold throws for a threshold', async () => {
    const { driver, kernel, sys } = await v1Setup();
    const cg = await driver.create('c3', {});
    if (cg.mode !== 'v1') return assert.fail('a v1 handle');
    const control = path.join(cg.paths.memory!, 'cgroup.event_control');
    const events = cg.memoryEvents();
    await events.ready;
    kernel.failures.push({ path: control, errno: 'EINVAL' });
    await assert.rejects(events.watchUsageThreshold(1_000_000), /cgroup.event_control: EINVAL/);
    assert.ok(closed(sys).includes(made(sys).at(-1)!), 'the threshold eventfd is closed');
    await events.close();

    const refused = cg.memoryEvents();
    await assert.rejects(refused.ready, /EINVAL/);
    assert.ok(closed(sys).includes(made(sys).at(-1)!), 'the OOM eventfd is closed');
    await refused.close();
    kernel.failures.length = 0;
    await cg.destroy();
  });

  test('a removed cgroup: ready rejects (no memory.oom_control to open), nothing is held', async () => {
    const { driver, sys } = await v1Setup();
    const cg = await driver.create('c4', {});
    if (cg.mode !== 'v1') return assert.fail('a v1 handle');
    await cg.destroy();
    const events = cg.memoryEvents();
    await assert.rejects(events.ready, { code: 'ENOENT' });
    assert.deepEqual(
      made(sys).filter((fd) => !closed(sys).includes(fd)),
      [],
    );
    await events.close();
  });

  test('eventControlLine: "<eventfd> <fd>" and "<eventfd> <fd> <bytes>"', () => {
    assert.equal(eventControlLine(7, 9), '7 9');
    assert.equal(eventControlLine(7, 9, 1048576), '7 9 1048576');
  });
});

async function v2Setup() {
  const f = fakeV2({ ownProcs: [4_200_001] });
  roots.push(f.root, path.dirname(f.sysBlockDir));
  const driver = await createCgroupDriver({
    ...fakeDriverOptions(f, 4_200_001),
  });
  return { ...f, driver };
}

describe('v2 memoryEvents', () => {
  test('a change of memory.events notifies "events"; its removal "gone"; nothing after close', async (t) => {
    const { driver } = await v2Setup();
    const cg = await driver.create('c1', { memory: { max: 32 * 1024 * 1024 } });
    assert.equal(cg.mode, 'v2');
    if (cg.mode !== 'v2') return;
    const heard: MemoryNotification[] = [];
    const events = cg.memoryEvents();
    // closed also when an assertion fails: an open watch would keep this file's process alive
    t.after(() => events.close());
    events.onChange((what) => heard.push(what));
    await events.ready;
    const file = path.join(cg.dir, 'memory.events');
    fs.writeFileSync(file, 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n');
    await until('the change', () => heard.includes('events'));
    fs.rmSync(file);
    await until('the removal', () => heard.includes('gone'));
    await events.close();
    const count = heard.length;
    fs.writeFileSync(file, 'low 0\n');
    await sleep(100);
    assert.equal(heard.length, count, 'nothing after close');
  });

  test('a removal right after a change still notifies "gone" (chokidar drops an unlink within 5 ms of a change)', async (t) => {
    const { driver } = await v2Setup();
    for (let i = 0; i < 20; i++) {
      const cg = await driver.create(`quick${i}`, {});
      if (cg.mode !== 'v2') return assert.fail('a v2 handle');
      const file = path.join(cg.dir, 'memory.events');
      fs.writeFileSync(file, 'low 0\n');
      const heard: MemoryNotification[] = [];
      const events = cg.memoryEvents();
      t.after(() => events.close());
      let changed!: () => void;
      const change = new Promise<void>((resolve) => (changed = resolve));
      events.onChange((what) => {
        heard.push(what);
        if (what === 'events') changed();
      });
      await events.ready;
      fs.writeFileSync(file, 'low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n');
      // removed 0-4 ms after the change was heard: inside chokidar's 5 ms throttle window
      await change;
      await sleep(i % 5);
      fs.rmSync(file);
      await until(`the removal (round ${i})`, () => heard.includes('gone'));
      await events.close();
    }
  });

  test('without memory.events (no memory controller), ready rejects', async () => {
    const { driver } = await v2Setup();
    const cg = await driver.create('c2', {});
    if (cg.mode !== 'v2') return assert.fail('a v2 handle');
    fs.rmSync(path.join(cg.dir, 'memory.events'));
    const events = cg.memoryEvents();
    await assert.rejects(events.ready, { code: 'ENOENT' });
    await events.close();
  });
});

describe('handles say their mode', () => {
  test('v1: mode v1, no one directory; v2: mode v2 and its directory', async () => {
    const one = await v1Setup();
    const h1 = one.driver.open('x');
    assert.equal(h1.mode, 'v1');
    assert.equal(h1.dir, undefined);
    const two = await v2Setup();
    const h2 = two.driver.open('x');
    assert.equal(h2.mode, 'v2');
    assert.equal(h2.dir, path.join(two.ownDir, 'corral', 'x'));
  });

  test('v1 without a memory hierarchy: memoryEvents says what is missing', async () => {
    const { driver } = await v1Setup();
    const h = driver.open('x');
    if (h.mode !== 'v1') return assert.fail('a v1 handle');
    // the driver's managed hierarchies as detected; pretend memory is not mounted
    const hier = (driver as unknown as { byController: Map<string, unknown> }).byController;
    hier.delete('memory');
    assert.throws(() => h.memoryEvents(), UnsupportedError);
    assert.throws(() => h.memoryEvents(), /OOM notification needs the cgroup v1 memory controller/);
  });
});
