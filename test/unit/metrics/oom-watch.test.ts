/**
 * The OOM watcher's logic on a fake cgroup v2 directory in a temp dir (memory.events and
 * memory.stat written by the test; the v2 driver's memory.events watch sees the writes through
 * inotify as it sees the kernel's): one call per kill whatever the notifications, the baselines, the
 * last re-read of unwatch, the end when the directory goes. On v1, the driver's eventfds with fake
 * syscalls (the test signals them). The real kernel paths are test/integration/oom-watch.test.ts.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NodeCgroupFs } from '../../../src/cgroups/cgroupfs.js';
import { V1MemoryEvents } from '../../../src/cgroups/v1/memory-events.js';
import { V2MemoryEvents } from '../../../src/cgroups/v2/memory-events.js';
import { OomWatcher, type OomKill, type OomWatchTarget } from '../../../src/metrics/oom-watch.js';
import { FakeSyscalls } from '../../../src/sys/fake-syscalls.js';
import type { Logger } from '../../../src/log.js';
import { fixture } from '../../helpers/cgroup-fixtures.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, enabled: () => false } as unknown as Logger;
const dirs: string[] = [];
let watcher: OomWatcher | undefined;

afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function fakeCgroup(events: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-oomwatch-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'memory.events'), events);
  fs.writeFileSync(path.join(dir, 'memory.stat'), fixture('v2', 'oom/memory.stat.first-notification'));
  fs.writeFileSync(path.join(dir, 'memory.current'), '33554432\n');
  fs.writeFileSync(path.join(dir, 'memory.max'), '33554432\n');
  return dir;
}

/** a v2 cgroup handle's part the watcher uses, on the fake directory */
const v2 = (dir: string): OomWatchTarget => ({ mode: 'v2', dir, memoryEvents: (o) => new V2MemoryEvents({ ...o, dir }) });

const events = (oom: number, oomKill: number, max = oom * 50) => `low 0\nhigh 0\nmax ${max}\noom ${oom}\noom_kill ${oomKill}\noom_group_kill 0\n`;

async function until(what: string, fn: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('baseline zero: a kill before the first read is reported; later kills once each, numbered as the kernel counted them', async () => {
  const dir = fakeCgroup(events(1, 1));
  const kills: OomKill[] = [];
  watcher = new OomWatcher({ log: quiet });
  watcher.watch('c1', v2(dir), (k) => kills.push(k), { baseline: 'zero' });
  await until('the first kill', () => kills.length === 1);
  assert.equal(kills[0]!.killNumber, 1);
  assert.equal(kills[0]!.attributes.oom_kill, '1');
  assert.equal(kills[0]!.attributes['memory.limit'], '33554432');
  assert.match(kills[0]!.attributes['memory.anon'] ?? '', /^\d+$/);

  // two kills in one write: one notification (or several), two calls
  fs.writeFileSync(path.join(dir, 'memory.events'), events(3, 3));
  await until('kills 2 and 3', () => kills.length === 3);
  assert.deepEqual(
    kills.map((k) => k.killNumber),
    [1, 2, 3],
  );
  assert.equal(kills[2]!.attributes.oom, '3');
  // notifications without a counter change report nothing
  fs.writeFileSync(path.join(dir, 'memory.events'), events(3, 3));
  fs.writeFileSync(path.join(dir, 'memory.events'), events(3, 3, 400));
  await sleep(300);
  assert.equal(kills.length, 3);
  assert.equal(watcher.killCount('c1'), 3);

  assert.equal(await watcher.unwatch('c1'), 3);
  assert.deepEqual(watcher.active(), []);
  fs.writeFileSync(path.join(dir, 'memory.events'), events(4, 4));
  await sleep(300);
  assert.equal(kills.length, 3, 'nothing after unwatch');
});

test('baseline current (an adopted container): earlier kills are not reported, new ones are', async () => {
  const dir = fakeCgroup(events(2, 2));
  const kills: OomKill[] = [];
  watcher = new OomWatcher({ log: quiet });
  watcher.watch('c2', v2(dir), (k) => kills.push(k), { baseline: 'current' });
  await until('the baseline read', () => watcher!.killCount('c2') === 2);
  await sleep(200);
  assert.equal(kills.length, 0);
  fs.writeFileSync(path.join(dir, 'memory.events'), events(3, 3));
  await until('the new kill', () => kills.length === 1);
  assert.equal(kills[0]!.killNumber, 3);
});

test('unwatch re-reads once more: a kill no notification announced is reported before it resolves', async () => {
  const dir = fakeCgroup(events(0, 0));
  const kills: OomKill[] = [];
  watcher = new OomWatcher({ log: quiet, backstopMs: 3_600_000 });
  watcher.watch('c3', v2(dir), (k) => kills.push(k), { baseline: 'zero' });
  await until('the first read', () => watcher!.killCount('c3') === 0);
  // a new file in place of the watched one: the watch on the old inode hears nothing
  fs.writeFileSync(path.join(dir, 'memory.events.new'), events(1, 1));
  fs.renameSync(path.join(dir, 'memory.events.new'), path.join(dir, 'memory.events'));
  assert.equal(await watcher.unwatch('c3'), 1);
  assert.deepEqual(
    kills.map((k) => k.killNumber),
    [1],
  );
});

test('the watch ends by itself when the cgroup directory is gone', async () => {
  const dir = fakeCgroup(events(0, 0));
  watcher = new OomWatcher({ log: quiet, backstopMs: 50 });
  watcher.watch('c4', v2(dir), () => assert.fail('no kill'), { baseline: 'zero' });
  await until('the first read', () => watcher!.killCount('c4') === 0);
  assert.deepEqual(watcher.active(), ['c4']);
  fs.rmSync(dir, { recursive: true });
  await until('the watch ended', () => watcher!.active().length === 0);
  assert.equal(await watcher.unwatch('c4'), 0, 'the last count read stays known');
});

test('a directory without memory.events (no memory controller) is not watched, and says so', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-oomwatch-'));
  dirs.push(dir);
  const warnings: string[] = [];
  watcher = new OomWatcher({ log: { ...quiet, warn: (msg: string) => warnings.push(msg) } as Logger });
  watcher.watch('c5', v2(dir), () => {}, { baseline: 'zero' });
  assert.equal(await watcher.unwatch('c5'), undefined);
  assert.deepEqual(warnings, ['cannot watch the cgroup for OOM kills']);
});

const MiB = 1024 * 1024;

/** The fake cgroup's memory as the kernel would show it: usage and the anon pages in memory.stat. */
function fill(dir: string, usage: number, anon: number): void {
  fs.writeFileSync(path.join(dir, 'memory.stat'), `anon ${anon}\nfile 0\nshmem 0\n`);
  fs.writeFileSync(path.join(dir, 'memory.current'), `${usage}\n`);
}

/** A fake cgroup with no OOM yet, watched from zero once its first read is done; its kills. */
async function watchedFromZero(id: string): Promise<{ dir: string; kills: OomKill[] }> {
  const dir = fakeCgroup(events(0, 0));
  const kills: OomKill[] = [];
  watcher = new OomWatcher({ log: quiet });
  watcher.watch(id, v2(dir), (k) => kills.push(k), { baseline: 'zero' });
  await until('the first read', () => watcher!.killCount(id) === 0);
  return { dir, kills };
}

test('the snapshot read at a notification before the kill goes with the kill when the memory was freed by the time the kill was seen', async () => {
  const { dir, kills } = await watchedFromZero('c6');
  // `max` rose: usage reached memory.max; the hog's 31 MiB are there
  fill(dir, 32 * MiB, 31 * MiB);
  fs.writeFileSync(path.join(dir, 'memory.events'), events(0, 0, 7));
  await sleep(300);
  // the kill, seen once the kernel freed the victim's pages
  fill(dir, 64 * 1024, 0);
  fs.writeFileSync(path.join(dir, 'memory.events'), events(1, 1, 8));
  await until('the kill', () => kills.length === 1);
  assert.equal(kills[0]!.attributes['memory.anon'], String(31 * MiB));
  assert.equal(kills[0]!.attributes['memory.usage'], String(32 * MiB));
  assert.equal(kills[0]!.attributes['memory.stat_when'], 'before-kill');

  // the next kill does not reuse it: nothing was read before it, so the one after goes
  fs.writeFileSync(path.join(dir, 'memory.events'), events(2, 2, 9));
  await until('the second kill', () => kills.length === 2);
  assert.equal(kills[1]!.attributes['memory.anon'], '0');
  assert.equal(kills[1]!.attributes['memory.stat_when'], 'after-kill');
});

test('a snapshot read after the kill goes with it when it is fuller (a child was killed, the rest still fills the limit)', async () => {
  const { dir, kills } = await watchedFromZero('c7');
  fill(dir, 8 * MiB, 7 * MiB);
  fs.writeFileSync(path.join(dir, 'memory.events'), events(0, 0, 1));
  await sleep(300);
  fill(dir, 30 * MiB, 29 * MiB);
  fs.writeFileSync(path.join(dir, 'memory.events'), events(1, 1, 2));
  await until('the kill', () => kills.length === 1);
  assert.equal(kills[0]!.attributes['memory.anon'], String(29 * MiB));
  assert.equal(kills[0]!.attributes['memory.stat_when'], 'after-kill');
});

/** A fake v1 memory cgroup directory: the files the watcher reads, and cgroup.event_control. */
function fakeV1Memory(limit: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-oomwatch-v1-'));
  dirs.push(dir);
  const w = (f: string, t: string) => fs.writeFileSync(path.join(dir, f), t);
  w('memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n');
  w('memory.failcnt', '0\n');
  w('memory.limit_in_bytes', `${limit}\n`);
  w('memory.usage_in_bytes', '0\n');
  w('memory.max_usage_in_bytes', '0\n');
  w('memory.stat', 'cache 0\nrss 0\ntotal_cache 0\ntotal_rss 0\n');
  w('cgroup.event_control', '');
  return dir;
}

/** v1 through the driver's eventfd source, with fake syscalls; the eventfds in the order they were made */
function v1(dir: string, sys: FakeSyscalls, fs_ = new NodeCgroupFs()): OomWatchTarget {
  return { mode: 'v1', paths: { memory: dir }, memoryEvents: (o) => new V1MemoryEvents({ ...o, fs: fs_, dir, syscalls: async () => sys }) };
}

/** eventfds made and not closed, in order (the fd poller's wake eventfd left out) */
function openEventfds(sys: FakeSyscalls): number[] {
  const made = sys.calls.flatMap((c) => (c.call === 'eventfd' ? [c.fd] : []));
  const closed = new Set(sys.calls.flatMap((c) => (c.call === 'close' ? [c.fd] : [])));
  const wake = sys.calls.flatMap((c) => (c.call === 'epollCtl' && c.op === 'add' ? [c.fd] : []))[0];
  return made.filter((fd) => fd !== wake && !closed.has(fd));
}

test('v1: the usage-threshold snapshot, read before the kill, goes with the kill the OOM notification announces', async () => {
  const dir = fakeV1Memory(32 * MiB);
  const sys = new FakeSyscalls();
  const writes: string[] = [];
  const recording = new (class extends NodeCgroupFs {
    override async write(p: string, value: string): Promise<void> {
      writes.push(`${path.basename(p)}: ${value}`);
      await super.write(p, value);
    }
  })();
  const kills: OomKill[] = [];
  watcher = new OomWatcher({ log: quiet, backstopMs: 3_600_000 });
  watcher.watch('v1a', v1(dir, sys, recording), (k) => kills.push(k), { baseline: 'zero' });
  await until('the first read', () => watcher!.killCount('v1a') === 0);
  const [oomFd, thresholdFd] = openEventfds(sys);
  assert.ok(oomFd !== undefined && thresholdFd !== undefined, 'an OOM eventfd and a threshold eventfd');
  // "<eventfd> <fd of the file> [threshold]": the threshold 3.2 MiB under the 32 MiB limit
  assert.equal(writes.length, 2);
  assert.match(writes[0]!, new RegExp(`^cgroup.event_control: ${oomFd} \\d+$`));
  assert.match(writes[1]!, new RegExp(`^cgroup.event_control: ${thresholdFd} \\d+ ${32 * MiB - Math.floor((32 * MiB) / 10)}$`));

  // usage crosses the threshold: the hog's pages are there
  fs.writeFileSync(path.join(dir, 'memory.stat'), `rss ${30 * MiB}\ntotal_rss ${30 * MiB}\ntotal_cache 0\n`);
  fs.writeFileSync(path.join(dir, 'memory.usage_in_bytes'), `${31 * MiB}\n`);
  sys.ready(thresholdFd);
  await sleep(50);
  assert.equal(kills.length, 0);
  // the kill, notified once the pages were freed
  fs.writeFileSync(path.join(dir, 'memory.stat'), 'rss 0\ntotal_rss 0\ntotal_cache 0\n');
  fs.writeFileSync(path.join(dir, 'memory.usage_in_bytes'), '65536\n');
  fs.writeFileSync(path.join(dir, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
  sys.ready(oomFd);
  await until('the kill', () => kills.length === 1);
  assert.equal(kills[0]!.mode, 'v1');
  assert.equal(kills[0]!.attributes['memory.usage'], String(31 * MiB));
  assert.equal(kills[0]!.attributes['memory.stat_when'], 'before-kill');

  assert.equal(await watcher.unwatch('v1a'), 1);
  assert.deepEqual(openEventfds(sys), [], 'both eventfds closed');
});

test('v1: a new limit moves the usage threshold to a new eventfd and closes the old one', async () => {
  const dir = fakeV1Memory(100 * MiB);
  const sys = new FakeSyscalls();
  watcher = new OomWatcher({ log: quiet, backstopMs: 3_600_000 });
  watcher.watch('v1b', v1(dir, sys), () => {}, { baseline: 'zero' });
  await until('the first read', () => watcher!.killCount('v1b') === 0);
  const [oomFd, firstThreshold] = openEventfds(sys);
  assert.equal(fs.readFileSync(path.join(dir, 'cgroup.event_control'), 'utf8').split(' ')[2], String(100 * MiB - 10 * MiB));
  fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), `${400 * MiB}\n`);
  await watcher.limitChanged('v1b');
  const [, secondThreshold] = openEventfds(sys);
  assert.notEqual(secondThreshold, firstThreshold);
  assert.deepEqual(openEventfds(sys), [oomFd, secondThreshold]);
  assert.equal(fs.readFileSync(path.join(dir, 'cgroup.event_control'), 'utf8').split(' ')[2], String(400 * MiB - 16 * MiB), 'at most 16 MiB under');
  // no limit: no threshold
  fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), '9223372036854771712\n');
  await watcher.limitChanged('v1b');
  assert.deepEqual(openEventfds(sys), [oomFd]);
});

test('v1: a kernel that refuses thresholds keeps the OOM notification, with a warning', async () => {
  const dir = fakeV1Memory(32 * MiB);
  const sys = new FakeSyscalls();
  const refusing = new (class extends NodeCgroupFs {
    override async write(p: string, value: string): Promise<void> {
      if (value.split(' ').length === 3) throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
      await super.write(p, value);
    }
  })();
  const warnings: string[] = [];
  const kills: OomKill[] = [];
  watcher = new OomWatcher({ log: { ...quiet, warn: (msg: string) => warnings.push(msg) } as Logger, backstopMs: 3_600_000 });
  watcher.watch('v1c', v1(dir, sys, refusing), (k) => kills.push(k), { baseline: 'zero' });
  await until('the first read', () => watcher!.killCount('v1c') === 0);
  assert.deepEqual(warnings, ['no usage threshold: the OOM snapshot is read at the OOM notification only']);
  const [oomFd, ...rest] = openEventfds(sys);
  assert.deepEqual(rest, [], 'the refused eventfd is closed');
  fs.writeFileSync(path.join(dir, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
  sys.ready(oomFd!);
  await until('the kill', () => kills.length === 1);
  assert.equal(kills[0]!.attributes['memory.stat_when'], 'after-kill');
});
