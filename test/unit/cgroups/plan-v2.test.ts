/** cgroup v2 plans as tables: limits -> ordered file writes, and exact messages for bad values. No file system. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidLimitError, UnsupportedError } from '../../../src/errors.js';
import * as cpu from '../../../src/cgroups/v2/cpu.js';
import * as cpuset from '../../../src/cgroups/v2/cpuset.js';
import * as io from '../../../src/cgroups/v2/io.js';
import * as memory from '../../../src/cgroups/v2/memory.js';
import * as pids from '../../../src/cgroups/v2/pids.js';
import { neededControllers } from '../../../src/cgroups/v2/driver.js';
import type { PlannedWrite } from '../../../src/cgroups/types.js';

const Mi = 1024 * 1024;
const w = (file: string, value: string): PlannedWrite => ({ file, value });

describe('v2 plans', () => {
  const cases: [string, () => PlannedWrite[], PlannedWrite[]][] = [
    ['nothing', () => cpu.plan(undefined), []],
    ['cpu weight 100', () => cpu.plan({ weight: 100 }), [w('cpu.weight', '100')]],
    ['cpu quota and period', () => cpu.plan({ quota: 50000, period: 100000 }), [w('cpu.max', '50000 100000')]],
    ['cpu quota alone keeps the period', () => cpu.plan({ quota: 25000 }), [w('cpu.max', '25000')]],
    ['cpu quota max', () => cpu.plan({ quota: 'max' }), [w('cpu.max', 'max')]],
    ['cpu period alone keeps the current quota', () => cpu.plan({ period: 50000 }, { current: { quota: 20000, period: 100000 } }), [w('cpu.max', '20000 50000')]],
    ['cpu period alone on a new cgroup', () => cpu.plan({ period: 50000 }), [w('cpu.max', 'max 50000')]],
    ['cpu weight and quota', () => cpu.plan({ weight: 10000, quota: 1000, period: 1000 }), [w('cpu.weight', '10000'), w('cpu.max', '1000 1000')]],
    ['memory max + swap 0', () => memory.plan({ max: 32 * Mi, swapMax: 0 }), [w('memory.max', '33554432'), w('memory.swap.max', '0')]],
    [
      'all memory limits',
      () => memory.plan({ max: 'max', swapMax: 'max', high: 16 * Mi, low: Mi, oomGroup: true }),
      [w('memory.max', 'max'), w('memory.swap.max', 'max'), w('memory.high', '16777216'), w('memory.low', '1048576'), w('memory.oom.group', '1')],
    ],
    ['oom group off', () => memory.plan({ oomGroup: false }), [w('memory.oom.group', '0')]],
    ['pids 16', () => pids.plan({ max: 16 }), [w('pids.max', '16')]],
    ['pids max', () => pids.plan({ max: 'max' }), [w('pids.max', 'max')]],
    ['cpuset normalized', () => cpuset.plan({ cpus: '1,0', mems: '0' }, { parentCpus: '0-3', parentMems: '0' }), [w('cpuset.cpus', '0-1'), w('cpuset.mems', '0')]],
    ['io weight', () => io.plan({ weight: 500 }), [w('io.weight', 'default 500')]],
    ['io weight under BFQ (converted to 1-1000)', () => io.plan({ weight: 100 }, { weightFile: 'io.bfq.weight' }), [w('io.bfq.weight', 'default 20')]],
    [
      'io max per device',
      () =>
        io.plan({
          max: [
            { major: 8, minor: 0, rbps: 1048576, wiops: 'max' },
            { major: 253, minor: 1, wbps: 2097152 },
          ],
        }),
      [w('io.max', '8:0 rbps=1048576 wiops=max'), w('io.max', '253:1 wbps=2097152')],
    ],
  ];
  for (const [name, plan, want] of cases) test(name, () => assert.deepEqual(plan(), want));
});

describe('v2 plan errors', () => {
  const cases: [string, () => unknown, typeof InvalidLimitError | typeof UnsupportedError, string][] = [
    ['cpu weight 0', () => cpu.plan({ weight: 0 }), InvalidLimitError, 'invalid cpu.weight 0: expected an integer in 1-10000'],
    ['cpu weight 10001', () => cpu.plan({ weight: 10001 }), InvalidLimitError, 'invalid cpu.weight 10001: expected an integer in 1-10000'],
    ['cpu weight 1.5', () => cpu.plan({ weight: 1.5 }), InvalidLimitError, 'invalid cpu.weight 1.5: expected an integer in 1-10000'],
    ['cpu period 999', () => cpu.plan({ period: 999 }), InvalidLimitError, 'invalid cpu.max period 999: expected an integer in 1000-1000000 (microseconds)'],
    ['cpu period 1000001', () => cpu.plan({ period: 1000001 }), InvalidLimitError, 'invalid cpu.max period 1000001: expected an integer in 1000-1000000 (microseconds)'],
    ['cpu quota 999', () => cpu.plan({ quota: 999 }), InvalidLimitError, "invalid cpu.max quota 999: expected an integer >= 1000 (microseconds) or 'max'"],
    ['cpu quota -1', () => cpu.plan({ quota: -1 }), InvalidLimitError, "invalid cpu.max quota -1: expected an integer >= 1000 (microseconds) or 'max'"],
    ['memory max -1', () => memory.plan({ max: -1 }), InvalidLimitError, "invalid memory.max -1: expected an integer >= 0 (bytes) or 'max'"],
    ['swap -1', () => memory.plan({ swapMax: -1 }), InvalidLimitError, "invalid memory.swap.max -1: expected an integer >= 0 (bytes) or 'max'"],
    ['memory low -5', () => memory.plan({ low: -5 }), InvalidLimitError, 'invalid memory.low -5: expected an integer >= 0 (bytes)'],
    ['memory high NaN', () => memory.plan({ high: NaN }), InvalidLimitError, "invalid memory.high NaN: expected an integer >= 0 (bytes) or 'max'"],
    [
      'swap without swap accounting',
      () => memory.plan({ swapMax: 0 }, { hasSwap: false, checkedDir: '/sys/fs/cgroup/app/corral' }),
      UnsupportedError,
      'memory.swap.max is not supported here: the file does not exist in /sys/fs/cgroup/app/corral (the kernel does no swap accounting; boot without swapaccount=0)',
    ],
    ['pids -1', () => pids.plan({ max: -1 }), InvalidLimitError, "invalid pids.max -1: expected an integer >= 0 (tasks) or 'max'"],
    ['cpuset syntax', () => cpuset.plan({ cpus: '0-' }), InvalidLimitError, 'invalid cpuset.cpus "0-": expected a kernel list such as "0-3,5"'],
    ['cpuset empty', () => cpuset.plan({ cpus: '' }), InvalidLimitError, 'invalid cpuset.cpus "": expected at least one entry'],
    ['cpuset outside the parent', () => cpuset.plan({ cpus: '1-3' }, { parentCpus: '0-1' }), InvalidLimitError, 'cpuset.cpus "1-3" is outside the parent\'s effective cpus "0-1" (not allowed: "2-3")'],
    ['cpuset mems outside', () => cpuset.plan({ mems: '1' }, { parentMems: '0' }), InvalidLimitError, 'cpuset.mems "1" is outside the parent\'s effective mems "0" (not allowed: "1")'],
    ['io weight 0', () => io.plan({ weight: 0 }), InvalidLimitError, 'invalid io.weight 0: expected an integer in 1-10000'],
    ['io max 0 bytes', () => io.plan({ max: [{ major: 8, minor: 0, rbps: 0 }] }), InvalidLimitError, "invalid io.max rbps 0: expected an integer >= 1 (bytes per second) or 'max'"],
    ['io max bad device', () => io.plan({ max: [{ major: -8, minor: 0, rbps: 1 }] }), InvalidLimitError, 'invalid io.max device -8:0: expected major:minor, non-negative integers'],
    [
      'io weight without a weight file',
      () => io.plan({ weight: 100 }, { weightFile: null, checkedDir: '/sys/fs/cgroup/app/corral' }),
      UnsupportedError,
      'io.weight is not supported here: neither io.weight nor io.bfq.weight exists in /sys/fs/cgroup/app/corral (they need the blk-iocost controller or the BFQ I/O scheduler)',
    ],
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

describe('neededControllers', () => {
  test('only sections with a value set', () => {
    assert.deepEqual(neededControllers({ cpu: { weight: 5 }, memory: {}, pids: { max: undefined }, io: { weight: 100 } }), ['cpu', 'io']);
  });
});

test('v2 has no per-cgroup swappiness nor a switch for the OOM killer: refused, naming the v1 file (no silent no-op)', () => {
  assert.throws(() => memory.plan({ swappiness: 10 }), {
    code: 'EUNSUPPORTED',
    message: 'memory.swappiness is not supported on cgroup v2: it has no per-cgroup swappiness (the kernel-wide vm.swappiness applies)',
  });
  assert.throws(
    () => memory.plan({ oomKillDisable: true }),
    (e: Error) => e instanceof UnsupportedError && e.message.startsWith('memory.oom_control is not supported on cgroup v2'),
  );
  assert.deepEqual(memory.plan({ oomKillDisable: false }), []);
});
