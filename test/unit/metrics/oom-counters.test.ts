/**
 * The OOM watcher's pure half against real captured files: v1 memory.oom_control / memory.failcnt /
 * memory.stat read on this host around two OOM kills (test/fixtures/cgroup/v1/oom), v2
 * memory.events / memory.stat read in the QEMU guest around two kills (v2/oom).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../../src/errors.js';
import { parseFlatKeyed, parseNumber } from '../../../src/cgroups/parse.js';
import {
  counterAttributes,
  diffCounters,
  killSnapshot,
  nearLimitThreshold,
  NEAR_LIMIT_MAX_GAP,
  oomEventAttributes,
  parseMemoryEvents,
  parseOomControl,
  snapshotAttributes,
  ZERO_COUNTERS,
  type MemorySnapshot,
} from '../../../src/metrics/oom-counters.js';
import { fixture } from '../../helpers/cgroup-fixtures.js';

const v1 = (name: string) => fixture('v1', `oom/${name}`);
const v2 = (name: string) => fixture('v2', `oom/${name}`);

test('parseOomControl: the v1 counters before, at the notification and after two kills, with memory.failcnt', () => {
  assert.deepEqual(parseOomControl(v1('memory.oom_control.before')), { oomKill: 0, underOom: 0 });
  assert.deepEqual(parseOomControl(v1('memory.oom_control.after-2-kills'), parseNumber(v1('memory.failcnt.after-2-kills'))), { oomKill: 2, underOom: 0, failcnt: 103 });
});

test('parseMemoryEvents: the v2 counters of memory.events', () => {
  assert.deepEqual(parseMemoryEvents(fixture('v2', 'guest-6.1/memory.events')), { oomKill: 2, oom: 2, max: 161, high: 0, oomGroupKill: 0 });
  assert.deepEqual(parseMemoryEvents(v2('memory.events.before')), { oomKill: 0, oom: 0, max: 0, high: 0, oomGroupKill: 0 });
});

test('a file without oom_kill (Linux before 4.13) is a ParseError naming the file and the kernel needed', () => {
  assert.throws(
    () => parseMemoryEvents('low 0\nhigh 0\nmax 3\noom 1\n', '/sys/fs/cgroup/a/memory.events'),
    (err: unknown) => {
      assert.ok(err instanceof ParseError);
      assert.equal(err.message, 'parse memory.events (no oom_kill counter: Linux 4.13+ needed) (/sys/fs/cgroup/a/memory.events): unexpected line "low 0\nhigh 0\nmax 3\noom 1"');
      return true;
    },
  );
  assert.throws(() => parseOomControl('oom_kill_disable 0\nunder_oom 0\n'), /no oom_kill counter/);
  assert.throws(() => parseOomControl('oom_kill_disable 0\noom_kill one\n'), ParseError);
});

test('diffCounters over the captured v1 sequence: one kill, then one more', () => {
  const before = parseOomControl(v1('memory.oom_control.before'));
  const one = parseOomControl(v1('memory.oom_control.after-1-kill'));
  const two = parseOomControl(v1('memory.oom_control.after-2-kills'), 103);
  assert.deepEqual(diffCounters(before, one), { oomKill: 1, oom: 0, max: 0, high: 0, oomGroupKill: 0, failcnt: 0 });
  // failcnt first read here: all of it is new
  assert.deepEqual(diffCounters(one, two), { oomKill: 1, oom: 0, max: 0, high: 0, oomGroupKill: 0, failcnt: 103 });
  assert.deepEqual(diffCounters(two, two), { oomKill: 0, oom: 0, max: 0, high: 0, oomGroupKill: 0, failcnt: 0 });
});

test('diffCounters over the captured v2 sequence: the first notification may come before the kill is counted', () => {
  const before = parseMemoryEvents(v2('memory.events.before'));
  const first = parseMemoryEvents(v2('memory.events.first-notification'));
  const one = parseMemoryEvents(v2('memory.events.after-1-kill'));
  const two = parseMemoryEvents(v2('memory.events.after-2-kills'));
  const total = diffCounters(before, two);
  assert.equal(total.oomKill, 2);
  assert.ok(total.oom >= 2 && total.max >= total.oom, JSON.stringify(total));
  assert.equal(diffCounters(before, first).oomKill + diffCounters(first, one).oomKill, 1);
  assert.equal(diffCounters(one, two).oomKill, 1);
});

test('a counter that went down belongs to a new cgroup of the same name: all of it is new; a baseline of zero counts everything', () => {
  assert.equal(diffCounters({ oomKill: 5, oom: 5 }, { oomKill: 1, oom: 2 }).oomKill, 1);
  assert.equal(diffCounters({ oomKill: 5, oom: 5 }, { oomKill: 1, oom: 2 }).oom, 2);
  assert.deepEqual(diffCounters(ZERO_COUNTERS, parseMemoryEvents(fixture('v2', 'guest-6.1/memory.events'))), { oomKill: 2, oom: 2, max: 161, high: 0, oomGroupKill: 0, failcnt: 0 });
});

test('snapshotAttributes v1: total_* keys under the common names, kernel from memory.kmem.usage_in_bytes, no invented keys', () => {
  const s: MemorySnapshot = {
    takenAt: Date.UTC(2026, 10, 23, 16, 45, 4, 402),
    usage: 33554432,
    limit: 33554432,
    peak: 33554432,
    kernel: parseNumber(v1('memory.kmem.usage_in_bytes.at-notification')),
    stat: parseFlatKeyed(v1('memory.stat.at-notification')),
  };
  const a = snapshotAttributes('v1', s);
  assert.equal(a['memory.anon'], '33419264');
  assert.equal(a['memory.file'], '0');
  assert.equal(a['memory.shmem'], '0');
  assert.equal(a['memory.kernel'], '135168');
  assert.equal(a['memory.inactive_anon'], '33415168');
  assert.equal(a['memory.usage'], '33554432');
  assert.equal(a['memory.limit'], '33554432');
  assert.equal(a['memory.peak'], '33554432');
  assert.equal(a['memory.stat_time'], '2026-11-23T16:45:04.402Z');
  // v1's memory.stat has no breakdown of kernel memory: absent, not 0
  for (const k of ['memory.kernel_stack', 'memory.slab', 'memory.sock', 'memory.pagetables', 'memory.percpu']) assert.equal(a[k], undefined, k);
});

test('snapshotAttributes v2: memory.stat keys as they are; an unlimited limit is "max"', () => {
  const a = snapshotAttributes('v2', { takenAt: 0, limit: 'max', stat: parseFlatKeyed(fixture('v2', 'memory.stat')) });
  assert.equal(a['memory.anon'], '790425600');
  assert.equal(a['memory.file'], '6502666240');
  assert.equal(a['memory.kernel_stack'], '7012352');
  assert.equal(a['memory.slab'], '358966048');
  assert.equal(a['memory.limit'], 'max');
  assert.equal(a['memory.usage'], undefined, 'not read: left out');
  assert.equal(a['memory.kernel'], undefined, 'this memory.stat (before Linux 5.18) has no kernel key');
  const guest = snapshotAttributes('v2', { takenAt: 0, usage: 123, stat: parseFlatKeyed(v2('memory.stat.first-notification')) });
  assert.match(guest['memory.anon'] ?? '', /^\d+$/);
  assert.match(guest['memory.kernel'] ?? '', /^\d+$/, 'Linux 6.1 has memory.stat kernel');
});

test('oomEventAttributes: the kill number, the counters by their kernel names, the snapshot', () => {
  const counters = parseOomControl(v1('memory.oom_control.after-2-kills'), 103);
  assert.deepEqual(counterAttributes(counters), { oom_kill: '2', failcnt: '103', under_oom: '0' });
  const a = oomEventAttributes('v1', 1, counters, { takenAt: 0, usage: 7, stat: {} });
  assert.equal(a.oom_kill, '1', 'the first of two kills seen in one read');
  assert.equal(a.failcnt, '103');
  assert.equal(a['memory.usage'], '7');
  assert.deepEqual(oomEventAttributes('v2', 3, { oomKill: 3, oom: 4, max: 10, high: 0 }, undefined), { oom_kill: '3', oom: '4', max: '10', high: '0' });
});

test('snapshotAttributes: memory.stat_when says whether the snapshot was read before or after the kill; left out when unknown', () => {
  assert.equal(snapshotAttributes('v1', { takenAt: 0, stat: {}, when: 'before-kill' })['memory.stat_when'], 'before-kill');
  assert.equal(snapshotAttributes('v2', { takenAt: 0, stat: {}, when: 'after-kill' })['memory.stat_when'], 'after-kill');
  assert.equal('memory.stat_when' in snapshotAttributes('v2', { takenAt: 0, stat: {} }), false);
});

test('killSnapshot: the fuller of the snapshots before and after the kill, the one before on a tie; either alone', () => {
  const MiB = 1024 * 1024;
  const before: MemorySnapshot = { takenAt: 1, usage: 30 * MiB, stat: { anon: 30 * MiB }, when: 'before-kill' };
  const emptied: MemorySnapshot = { takenAt: 2, usage: 64 * 1024, stat: { anon: 0 }, when: 'after-kill' };
  const stillFull: MemorySnapshot = { takenAt: 2, usage: 31 * MiB, stat: { anon: 31 * MiB }, when: 'after-kill' };
  assert.equal(killSnapshot(before, emptied), before, 'the victim was freed before the read after the kill');
  assert.equal(killSnapshot(before, stillFull), stillFull, 'a child was killed; the rest still fills the limit, and is newer');
  assert.equal(killSnapshot(before, { ...stillFull, usage: 30 * MiB }), before);
  assert.equal(killSnapshot(undefined, emptied), emptied);
  assert.equal(killSnapshot(before, undefined), before);
  assert.equal(killSnapshot(undefined, undefined), undefined);
  assert.equal(killSnapshot({ takenAt: 1, stat: {} }, { takenAt: 2, stat: {} })?.takenAt, 1, 'no usage read: the one before');
});

test('nearLimitThreshold: a tenth under the limit, at most 16 MiB under; none without a limit', () => {
  const MiB = 1024 * 1024;
  assert.equal(nearLimitThreshold(32 * MiB), 32 * MiB - Math.floor((32 * MiB) / 10));
  assert.equal(nearLimitThreshold(6 * MiB), 6 * MiB - Math.floor((6 * MiB) / 10), "Docker's smallest limit");
  assert.equal(nearLimitThreshold(160 * MiB), 144 * MiB, 'where the tenth and the cap meet');
  assert.equal(nearLimitThreshold(1024 * MiB), 1008 * MiB);
  assert.equal(NEAR_LIMIT_MAX_GAP, 16 * MiB);
  assert.equal(nearLimitThreshold(11), 10, 'whole bytes');
  assert.equal(nearLimitThreshold('max'), undefined);
  assert.equal(nearLimitThreshold(0), undefined);
});
