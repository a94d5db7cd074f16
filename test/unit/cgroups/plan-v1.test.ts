/**
 * cgroup v1 plans as tables: v2-meaning limits -> ordered v1 writes (memsw = memory + swap, written in
 * the order the kernel accepts), and exact messages for what v1 cannot do. No file system.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidLimitError, UnsupportedError } from '../../../src/errors.js';
import * as blkio from '../../../src/cgroups/v1/blkio.js';
import * as cpu from '../../../src/cgroups/v1/cpu.js';
import * as cpuset from '../../../src/cgroups/v1/cpuset.js';
import * as memory from '../../../src/cgroups/v1/memory.js';
import * as pids from '../../../src/cgroups/v1/pids.js';
import type { PlannedWrite } from '../../../src/cgroups/types.js';

const Mi = 1024 * 1024;
const Gi = 1024 * Mi;
const w = (hierarchy: string, file: string, value: string): PlannedWrite => ({ hierarchy, file, value });
const LIMIT = 'memory.limit_in_bytes';
const MEMSW = 'memory.memsw.limit_in_bytes';

describe('v1 plans', () => {
  const cases: [string, () => PlannedWrite[], PlannedWrite[]][] = [
    ['cpu weight 100 -> shares 1024', () => cpu.plan({ weight: 100 }), [w('cpu', 'cpu.shares', '1024')]],
    ['cpu weight 1 -> shares 2', () => cpu.plan({ weight: 1 }), [w('cpu', 'cpu.shares', '2')]],
    ['cpu weight 10000 -> shares 262144', () => cpu.plan({ weight: 10000 }), [w('cpu', 'cpu.shares', '262144')]],
    ['cpu quota and period: period first', () => cpu.plan({ quota: 50000, period: 100000 }), [w('cpu', 'cpu.cfs_period_us', '100000'), w('cpu', 'cpu.cfs_quota_us', '50000')]],
    ['cpu quota max -> -1', () => cpu.plan({ quota: 'max' }), [w('cpu', 'cpu.cfs_quota_us', '-1')]],
    // New cgroup (memory and memsw unlimited): memory first, then memsw = memory + swap.
    ['memory 32Mi + swap 0 on a new cgroup', () => memory.plan({ max: 32 * Mi, swapMax: 0 }), [w('memory', LIMIT, '33554432'), w('memory', MEMSW, '33554432')]],
    ['memory 32Mi + swap 16Mi', () => memory.plan({ max: 32 * Mi, swapMax: 16 * Mi }), [w('memory', LIMIT, '33554432'), w('memory', MEMSW, '50331648')]],
    ['memory alone on a new cgroup leaves swap unlimited', () => memory.plan({ max: 32 * Mi }), [w('memory', LIMIT, '33554432')]],
    [
      'raising (32Mi/32Mi -> 1Gi, swap 0): memsw first',
      () => memory.plan({ max: Gi, swapMax: 0 }, { current: { limit: 32 * Mi, memsw: 32 * Mi } }),
      [w('memory', MEMSW, '1073741824'), w('memory', LIMIT, '1073741824')],
    ],
    [
      'lowering (1Gi/2Gi -> 32Mi, swap 0): memory first',
      () => memory.plan({ max: 32 * Mi, swapMax: 0 }, { current: { limit: Gi, memsw: 2 * Gi } }),
      [w('memory', LIMIT, '33554432'), w('memory', MEMSW, '33554432')],
    ],
    [
      'memory alone keeps the current swap allowance (64Mi/96Mi -> 128Mi: memsw 160Mi first)',
      () => memory.plan({ max: 128 * Mi }, { current: { limit: 64 * Mi, memsw: 96 * Mi } }),
      [w('memory', MEMSW, '167772160'), w('memory', LIMIT, '134217728')],
    ],
    [
      'memory alone, lowering, keeps the allowance (128Mi/160Mi -> 64Mi: memory first)',
      () => memory.plan({ max: 64 * Mi }, { current: { limit: 128 * Mi, memsw: 160 * Mi } }),
      [w('memory', LIMIT, '67108864'), w('memory', MEMSW, '100663296')],
    ],
    ['unlimited memory on a limited cgroup: memsw -1 first', () => memory.plan({ max: 'max' }, { current: { limit: 32 * Mi, memsw: 32 * Mi } }), [w('memory', MEMSW, '-1'), w('memory', LIMIT, '-1')]],
    ['swap alone uses the current memory limit', () => memory.plan({ swapMax: 8 * Mi }, { current: { limit: 32 * Mi, memsw: 32 * Mi } }), [w('memory', MEMSW, '41943040')]],
    ['swap max', () => memory.plan({ max: 32 * Mi, swapMax: 'max' }, { current: { limit: 64 * Mi, memsw: 64 * Mi } }), [w('memory', MEMSW, '-1'), w('memory', LIMIT, '33554432')]],
    ['memory without swap accounting', () => memory.plan({ max: 32 * Mi }, { hasMemsw: false, current: { limit: 64 * Mi, memsw: 'max' } }), [w('memory', LIMIT, '33554432')]],
    ['memory.low -> soft limit', () => memory.plan({ low: Mi }), [w('memory', 'memory.soft_limit_in_bytes', '1048576')]],
    ['oomGroup false is what v1 does: nothing to write', () => memory.plan({ oomGroup: false }), []],
    ['pids 16', () => pids.plan({ max: 16 }), [w('pids', 'pids.max', '16')]],
    ['cpuset', () => cpuset.plan({ cpus: '0', mems: '0' }, { parentCpus: '0-1', parentMems: '0' }), [w('cpuset', 'cpuset.cpus', '0'), w('cpuset', 'cpuset.mems', '0')]],
    ['io weight 100 under BFQ -> 20', () => blkio.plan({ weight: 100 }, { weightFile: 'blkio.bfq.weight' }), [w('blkio', 'blkio.bfq.weight', '20')]],
    [
      'io max -> throttle files; max removes the rule (0)',
      () => blkio.plan({ max: [{ major: 8, minor: 0, rbps: 1048576, wbps: 'max', riops: 100, wiops: 200 }] }),
      [
        w('blkio', 'blkio.throttle.read_bps_device', '8:0 1048576'),
        w('blkio', 'blkio.throttle.write_bps_device', '8:0 0'),
        w('blkio', 'blkio.throttle.read_iops_device', '8:0 100'),
        w('blkio', 'blkio.throttle.write_iops_device', '8:0 200'),
      ],
    ],
  ];
  for (const [name, plan, want] of cases) test(name, () => assert.deepEqual(plan(), want));
});

describe('v1 plan errors', () => {
  const cases: [string, () => unknown, typeof InvalidLimitError | typeof UnsupportedError, string][] = [
    ['memory.high', () => memory.plan({ high: 16 * Mi }), UnsupportedError, 'memory.high is not supported on cgroup v1: it has no throttling limit (use memory.max)'],
    ['memory.oom.group', () => memory.plan({ oomGroup: true }), UnsupportedError, 'memory.oom.group is not supported on cgroup v1: its OOM killer picks single tasks'],
    [
      'swap without a memory limit',
      () => memory.plan({ swapMax: 0 }),
      UnsupportedError,
      'memory.swap.max 0 without a memory.max is not supported on cgroup v1: it limits memory + swap (memory.memsw.limit_in_bytes), so the swap limit needs a memory limit',
    ],
    [
      'swap without swap accounting',
      () => memory.plan({ max: Mi, swapMax: 0 }, { hasMemsw: false, checkedDir: '/sys/fs/cgroup/memory/corral' }),
      UnsupportedError,
      'memory.swap.max is not supported here: memory.memsw.limit_in_bytes does not exist in /sys/fs/cgroup/memory/corral (the kernel does no swap accounting; boot with swapaccount=1)',
    ],
    ['negative memory', () => memory.plan({ max: -1 }), InvalidLimitError, "invalid memory.max -1: expected an integer >= 0 (bytes) or 'max'"],
    ['negative swap', () => memory.plan({ max: Mi, swapMax: -2 }), InvalidLimitError, "invalid memory.swap.max -2: expected an integer >= 0 (bytes) or 'max'"],
    ['memory + swap too large', () => memory.plan({ max: 2 ** 52, swapMax: 2 ** 52 }), InvalidLimitError, 'invalid memory.max + memory.swap.max 4503599627370496 + 4503599627370496: too large'],
    ['cpu weight 0', () => cpu.plan({ weight: 0 }), InvalidLimitError, 'invalid cpu.weight 0: expected an integer in 1-10000'],
    ['cpu period 500', () => cpu.plan({ period: 500 }), InvalidLimitError, 'invalid cpu.max period 500: expected an integer in 1000-1000000 (microseconds)'],
    [
      'io weight where neither weight file exists (this host)',
      () => blkio.plan({ weight: 100 }, { weightFile: null, checkedDir: '/sys/fs/cgroup/blkio' }),
      UnsupportedError,
      "io.weight is not supported here: neither blkio.weight nor blkio.bfq.weight exists in /sys/fs/cgroup/blkio (cgroup v1 needs the BFQ I/O scheduler for a weight; CFQ's blkio.weight was removed in Linux 5.0)",
    ],
    ['cpuset outside', () => cpuset.plan({ cpus: '2' }, { parentCpus: '0-1' }), InvalidLimitError, 'cpuset.cpus "2" is outside the parent\'s effective cpus "0-1" (not allowed: "2")'],
  ];
  for (const [name, fn, type, message] of cases) {
    test(name, () =>
      assert.throws(fn, (err: unknown) => {
        assert.ok(err instanceof type, `${type.name}, got ${String(err)}`);
        assert.equal(err.message, message);
        return true;
      }),
    );
  }
});

describe('v1 limit values', () => {
  test('9223372036854771712 reads as max', () => assert.equal(memory.fromV1Limit(Number('9223372036854771712')), 'max'));
  test('-1 reads as max', () => assert.equal(memory.fromV1Limit(-1), 'max'));
  test('a real limit stays', () => assert.equal(memory.fromV1Limit(33554432), 33554432));
});

test('v1: --oom-kill-disable writes memory.oom_control 1 and --memory-swappiness memory.swappiness, after the limits', () => {
  assert.deepEqual(memory.plan({ max: 32 * Mi, swapMax: 0, oomKillDisable: true, swappiness: 0 }), [
    w('memory', LIMIT, '33554432'),
    w('memory', MEMSW, '33554432'),
    w('memory', 'memory.swappiness', '0'),
    w('memory', 'memory.oom_control', '1'),
  ]);
  assert.throws(() => memory.plan({ swappiness: 101 }), { message: 'invalid memory.swappiness 101: expected 0 to 100' });
});
