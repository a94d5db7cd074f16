/** The kernel-format parsers, against real captured files (test/fixtures/cgroup) and bad lines. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../../../src/errors.js';
import {
  formatCpuList,
  integerAt,
  parseBlkioStat,
  parseCpuacctUsageAll,
  parseCpuList,
  parseCpuMax,
  parseFlatKeyed,
  parseMountinfo,
  parseNestedKeyed,
  parseNumber,
  parsePidList,
  parsePressure,
  parseProcCgroup,
  parseSingleValue,
} from '../../../src/cgroups/parse.js';
import { parseFlatKeyedBytes, parseNumberBytes, parseSingleValueBytes } from '../../../src/cgroups/parse-bytes.js';
import { fixture } from '../../helpers/cgroup-fixtures.js';

function throwsParse(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ParseError, `a ParseError, got ${String(err)}`);
    assert.equal(err.code, 'EPARSE');
    assert.equal(err.message, message);
    return true;
  });
}

describe('parseSingleValue', () => {
  for (const [text, want] of [
    ['max\n', 'max'],
    ['67108864\n', 67108864],
    ['0\n', 0],
    ['-1\n', -1],
    ['100', 100],
  ] as const) {
    test(`${JSON.stringify(text)} -> ${want}`, () => assert.equal(parseSingleValue(text), want));
  }
  test('captured v1 memory.limit_in_bytes (64 MiB)', () => assert.equal(parseSingleValue(fixture('v1', 'memory.limit_in_bytes')), 67108864));
  test('captured v1 unlimited memsw keeps its magnitude', () => assert.ok((parseSingleValue(fixture('v1', 'memory.memsw.limit_in_bytes')) as number) > 2 ** 62));
  test('a word is a ParseError quoting the line', () => throwsParse(() => parseSingleValue('512M\n', '/x/memory.max'), 'parse single value (/x/memory.max): unexpected line "512M"'));
  test('two lines are a ParseError', () => throwsParse(() => parseSingleValue('1\n2\n'), 'parse single value: unexpected line "1\n2\n"'));
  test('parseNumber refuses max', () => throwsParse(() => parseNumber('max\n', '/x/pids.current'), 'parse number (/x/pids.current): unexpected line "max"'));
  test('parseNumber reads captured cpuacct.usage', () => assert.equal(parseNumber(fixture('v1', 'cpuacct.usage')), 162540060));
});

describe('parseFlatKeyed', () => {
  test('captured v1 memory.stat', () => {
    const s = parseFlatKeyed(fixture('v1', 'memory.stat'));
    assert.equal(s.cache, 131072);
    assert.equal(s.rss, 0);
    assert.ok('total_rss' in s && 'hierarchical_memory_limit' in s);
    assert.equal(Object.keys(s).length, fixture('v1', 'memory.stat').trim().split('\n').length);
  });
  test('captured v1 memory.oom_control after an OOM kill', () => {
    assert.deepEqual(parseFlatKeyed(fixture('v1', 'memory.oom_control.oom-killed')), { oom_kill_disable: 0, under_oom: 0, oom_kill: 1 });
  });
  test('captured v1 cpu.stat of a throttled cgroup', () => {
    assert.deepEqual(parseFlatKeyed(fixture('v1', 'cpu.stat')), { nr_periods: 18, nr_throttled: 16, throttled_time: 1394546384, nr_bursts: 0, burst_time: 0 });
  });
  test('captured v2 cpu.stat (kernel 6.18, cgroup2 without the cpu controller)', () => {
    assert.deepEqual(parseFlatKeyed(fixture('v2', 'cpu.stat')), { usage_usec: 91467558, user_usec: 46015271, system_usec: 45452286, nice_usec: 0 });
  });
  test('captured v2 cgroup.stat', () => assert.equal(parseFlatKeyed(fixture('v2', 'cgroup.stat')).nr_descendants, 0));
  test('v2 memory.stat (opencontainers/cgroups fs2 test data)', () => {
    const s = parseFlatKeyed(fixture('v2', 'memory.stat'));
    assert.equal(s.anon, 790425600);
    assert.equal(s.file, 6502666240);
    assert.equal(s.thp_collapse_alloc, 443);
    assert.equal(Object.keys(s).length, 40);
  });
  test('v2 memory.events (kernel documentation format)', () => {
    assert.deepEqual(parseFlatKeyed(fixture('v2', 'memory.events')), { low: 0, high: 0, max: 1043, oom: 7, oom_kill: 3, oom_group_kill: 0 });
  });
  test('captured v2 memory.events after two OOM kills (guest, 6.1)', () => {
    assert.deepEqual(parseFlatKeyed(fixture('v2', 'guest-6.1/memory.events')), { low: 0, high: 0, max: 161, oom: 2, oom_kill: 2, oom_group_kill: 0 });
  });
  test('captured v2 cpu.stat of a throttled cgroup (guest, 6.1)', () => {
    assert.deepEqual(parseFlatKeyed(fixture('v2', 'guest-6.1/cpu.stat')), {
      usage_usec: 2578763,
      user_usec: 728692,
      system_usec: 1850070,
      nr_periods: 54,
      nr_throttled: 51,
      throttled_usec: 2437277,
      nr_bursts: 0,
      burst_usec: 0,
    });
  });
  test('captured v2 memory.stat (guest, 6.1)', () => {
    const s = parseFlatKeyed(fixture('v2', 'guest-6.1/memory.stat'));
    assert.equal(s.file, 16384);
    assert.equal(Object.keys(s).length, 51);
  });
  test('captured v2 cgroup.events', () => assert.deepEqual(parseFlatKeyed(fixture('v2', 'guest-6.1/cgroup.events')), { populated: 0, frozen: 0 }));
  test('empty file is {}', () => assert.deepEqual(parseFlatKeyed(''), {}));
  test('a key without value is a ParseError', () => throwsParse(() => parseFlatKeyed('anon 1\nfile\n', '/x/memory.stat'), 'parse flat keyed (/x/memory.stat): unexpected line "file"'));
  test('a non-number value is a ParseError', () => throwsParse(() => parseFlatKeyed('anon 1k\n'), 'parse flat keyed: unexpected line "anon 1k"'));
});

describe('parseNestedKeyed', () => {
  test('v2 io.stat (opencontainers/cgroups fs2 test data)', () => {
    const s = parseNestedKeyed(fixture('v2', 'io.stat'));
    assert.deepEqual(Object.keys(s), ['254:1', '254:0', '259:0']);
    assert.deepEqual(s['259:0'], { rbytes: 6911345664, wbytes: 14245536256, rios: 264538, wios: 244914, dbytes: 530485248, dios: 2 });
  });
  test('io.stat with iocost debug keys (decimals)', () => {
    const s = parseNestedKeyed(fixture('v2', 'io.stat.iocost-debug'));
    assert.equal(s['259:0']?.['cost.vrate'], 100);
    assert.equal(s['259:0']?.['cost.usage'], 1532009788);
  });
  test('io.max with max values', () => {
    assert.deepEqual(parseNestedKeyed('8:16 rbps=2097152 wbps=max riops=max wiops=120\n'), {
      '8:16': { rbps: 2097152, wbps: 'max', riops: 'max', wiops: 120 },
    });
  });
  test('a pair without "=" is a ParseError', () =>
    throwsParse(() => parseNestedKeyed('8:0 rbytes=1 wbytes\n', '/x/io.stat'), 'parse nested keyed (/x/io.stat): unexpected line "8:0 rbytes=1 wbytes"'));
  test('a bad value is a ParseError', () => throwsParse(() => parseNestedKeyed('8:0 rbytes=x\n'), 'parse nested keyed: unexpected line "8:0 rbytes=x"'));
});

describe('parsePressure', () => {
  test('captured v2 cpu.pressure (6.18)', () => {
    assert.deepEqual(parsePressure(fixture('v2', 'cpu.pressure')), {
      some: { avg10: 11.59, avg60: 2.13, avg300: 0.97, total: 9972583 },
      full: { avg10: 0, avg60: 0, avg300: 0, total: 0 },
    });
  });
  test('captured v2 io.pressure', () => assert.equal(parsePressure(fixture('v2', 'io.pressure')).full?.total, 10885461));
  test('captured v2 memory.pressure', () => assert.equal(parsePressure(fixture('v2', 'memory.pressure')).some.total, 0));
  test('opencontainers/cgroups psi test data', () => {
    assert.deepEqual(parsePressure(fixture('v2', 'cpu.pressure.opencontainers')), {
      some: { avg10: 1.71, avg60: 2.36, avg300: 2.57, total: 230548833 },
      full: { avg10: 1, avg60: 1.01, avg300: 1, total: 157622356 },
    });
  });
  test('cpu.pressure before 5.13 has no full line', () => {
    assert.deepEqual(parsePressure('some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n'), { some: { avg10: 0, avg60: 0, avg300: 0, total: 5 } });
  });
  test('an unknown line kind is a ParseError', () => throwsParse(() => parsePressure('most avg10=0.00\n', '/x/cpu.pressure'), 'parse pressure (/x/cpu.pressure): unexpected line "most avg10=0.00"'));
  test('a missing field is a ParseError', () => throwsParse(() => parsePressure('some avg10=0.00 avg60=0.00 total=1\n'), 'parse pressure: unexpected line "some avg10=0.00 avg60=0.00 total=1"'));
});

describe('parseCpuMax', () => {
  test('max 100000', () => assert.deepEqual(parseCpuMax('max 100000\n'), { quota: 'max', period: 100000 }));
  test('50000 100000', () => assert.deepEqual(parseCpuMax('50000 100000\n'), { quota: 50000, period: 100000 }));
  test('a missing period is a ParseError', () => throwsParse(() => parseCpuMax('50000\n', '/x/cpu.max'), 'parse cpu.max (/x/cpu.max): unexpected line "50000"'));
});

describe('parseProcCgroup', () => {
  test('captured /proc/self/cgroup of this hybrid host', () => {
    const entries = parseProcCgroup(fixture('v1', 'proc-self-cgroup'));
    const memory = entries.find((e) => e.controllers.includes('memory'));
    assert.match(memory?.path ?? '', /^\/process_api\/[0-9a-f]+$/);
    assert.deepEqual(
      entries.find((e) => e.controllers.includes('cpu')),
      { id: 1, controllers: ['cpu'], path: '/' },
    );
    assert.deepEqual(entries.at(-1), { id: 0, controllers: [], path: '/' });
    assert.deepEqual(entries.find((e) => e.id === 9)?.controllers, ['name=systemd']);
  });
  test('co-mounted cpu,cpuacct', () => {
    const entries = parseProcCgroup(fixture('v1', 'proc-self-cgroup-comounted'));
    assert.deepEqual(
      entries.find((e) => e.id === 4),
      { id: 4, controllers: ['cpu', 'cpuacct'], path: '/user.slice' },
    );
  });
  test('a path with a colon stays whole', () => assert.equal(parseProcCgroup('0::/a:b\n')[0]?.path, '/a:b'));
  test('a bad line is a ParseError', () => throwsParse(() => parseProcCgroup('0::/\ngarbage\n', '/proc/self/cgroup'), 'parse /proc/<pid>/cgroup (/proc/self/cgroup): unexpected line "garbage"'));
});

describe('parseMountinfo', () => {
  test('captured /proc/self/mountinfo of this hybrid host', () => {
    const mounts = parseMountinfo(fixture('v1', 'proc-self-mountinfo'));
    const memory = mounts.find((m) => m.mountPoint === '/sys/fs/cgroup/memory');
    assert.equal(memory?.fsType, 'cgroup');
    assert.deepEqual(memory?.superOptions, ['rw', 'memory']);
    assert.equal(memory?.root, '/');
    const unified = mounts.find((m) => m.mountPoint === '/sys/fs/cgroup/unified');
    assert.equal(unified?.fsType, 'cgroup2');
    assert.equal(mounts.find((m) => m.mountPoint === '/sys/fs/cgroup')?.fsType, 'tmpfs');
  });
  test('optional fields and escaped spaces', () => {
    const [m] = parseMountinfo('36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n');
    assert.deepEqual(m, {
      mountId: 36,
      parentId: 35,
      device: '98:0',
      root: '/mnt1',
      mountPoint: '/mnt two',
      mountOptions: ['rw', 'noatime'],
      fsType: 'ext3',
      source: '/dev/root',
      superOptions: ['rw', 'errors=continue'],
    });
  });
  test('a line without the separator is a ParseError', () => {
    throwsParse(
      () => parseMountinfo('36 35 98:0 / /mnt rw ext3 /dev/root rw\n', '/proc/self/mountinfo'),
      'parse mountinfo (/proc/self/mountinfo): unexpected line "36 35 98:0 / /mnt rw ext3 /dev/root rw"',
    );
  });
});

describe('parseCpuList / formatCpuList', () => {
  for (const [text, list, canonical] of [
    ['0-3,5', [0, 1, 2, 3, 5], '0-3,5'],
    ['0', [0], '0'],
    ['', [], ''],
    ['0-1\n', [0, 1], '0-1'],
    ['3,1,2', [1, 2, 3], '1-3'],
    ['0,2,4-5,7', [0, 2, 4, 5, 7], '0,2,4-5,7'],
  ] as const) {
    test(`${JSON.stringify(text)} <-> ${canonical}`, () => {
      assert.deepEqual(parseCpuList(text), list);
      assert.equal(formatCpuList(list), canonical);
    });
  }
  test('captured cpuset.effective_cpus', () => assert.deepEqual(parseCpuList(fixture('v1', 'cpuset.effective_cpus')), [0, 1]));
  test('a reversed range is a ParseError', () => throwsParse(() => parseCpuList('3-1'), 'parse cpu list: unexpected line "3-1"'));
  test('garbage is a ParseError', () => throwsParse(() => parseCpuList('0-', '/x/cpuset.cpus'), 'parse cpu list (/x/cpuset.cpus): unexpected line "0-"'));
});

describe('parseBlkioStat', () => {
  test('captured v1 blkio.throttle.io_service_bytes_recursive', () => {
    assert.deepEqual(parseBlkioStat(fixture('v1', 'blkio.throttle.io_service_bytes_recursive')), [
      { major: 254, minor: 0, ops: { Read: 6537216, Write: 4194304, Sync: 10731520, Async: 0, Discard: 0, Total: 10731520 } },
    ]);
  });
  test('captured v1 blkio.throttle.io_serviced_recursive', () => {
    assert.equal(parseBlkioStat(fixture('v1', 'blkio.throttle.io_serviced_recursive'))[0]?.ops.Read, 552);
  });
  test('only a Total line is no device', () => assert.deepEqual(parseBlkioStat('Total 0\n'), []));
  test('a bad line is a ParseError', () => throwsParse(() => parseBlkioStat('254:0 Read\n'), 'parse blkio stat: unexpected line "254:0 Read"'));
});

describe('parsePidList', () => {
  test('pids', () => assert.deepEqual(parsePidList('1\n42\n'), [1, 42]));
  test('empty', () => assert.deepEqual(parsePidList(''), []));
  test('a bad line is a ParseError', () => throwsParse(() => parsePidList('1\nx\n', '/x/cgroup.procs'), 'parse pid list (/x/cgroup.procs): unexpected line "x"'));
});

describe("integerAt (the hot parsers' in-place numbers)", () => {
  for (const [text, want] of [
    ['0', 0],
    ['42', 42],
    ['-1', -1],
    ['007', 7],
    ['9007199254740991', 9007199254740991],
    // past 2^53 the same double Number() gives (v1's unlimited, PAGE_COUNTER_MAX pages in bytes)
    ['9223372036854771712', Number('9223372036854771712')],
    ['-9223372036854775808', Number('-9223372036854775808')],
    ['', NaN],
    ['-', NaN],
    ['1-', NaN],
    ['1 ', NaN],
    ['1.5', NaN],
    ['max', NaN],
  ] as const) {
    test(`${JSON.stringify(text)} -> ${want}`, () => assert.equal(integerAt(text, 0, text.length), want));
  }
  test('reads inside a longer string', () => assert.equal(integerAt('cache 131072\n', 6, 12), 131072));
});

/** The rules the fast paths must agree with: the general line-by-line parsers as they were before them. */
function generalSingleValue(text: string, path?: string): number | 'max' {
  const trimmed = text.replace(/\n+$/, '');
  const all = trimmed === '' ? [] : trimmed.split('\n');
  const line = all[0];
  if (all.length !== 1 || line === undefined) throw new ParseError('single value', text, path);
  const value = line.trim();
  if (value === 'max') return 'max';
  if (!/^-?\d+$/.test(value)) throw new ParseError('single value', line, path);
  return Number(value);
}

function generalFlatKeyed(text: string, path?: string): Record<string, number> {
  const out: Record<string, number> = {};
  const trimmed = text.replace(/\n+$/, '');
  for (const line of trimmed === '' ? [] : trimmed.split('\n')) {
    if (line.trim() === '') continue;
    const parts = line.trim().split(/\s+/);
    const [key, value] = parts;
    if (parts.length !== 2 || key === undefined || value === undefined || !/^-?\d+$/.test(value)) throw new ParseError('flat keyed', line, path);
    out[key] = Number(value);
  }
  return out;
}

/** The result, or the error's message: both must be the same. */
function outcome<T>(fn: () => T): { value: T } | { error: string } {
  try {
    return { value: fn() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('the fast paths agree with the general rule', () => {
  // kernel-like text and its near misses: blanks, tabs, CR, signs, long digit runs, a non-ASCII blank
  const chunk = fc.constantFrom('cache', 'total_rss', 'a', '_', '1', '0', '9', '-', ' ', '  ', '\t', '\r', '\n', '\n\n', 'max', '12345678901234567890', '\u00a0');
  const text = fc.array(chunk, { maxLength: 24 }).map((parts) => parts.join(''));
  test('parseFlatKeyed', () => {
    fc.assert(
      fc.property(text, (t) =>
        assert.deepEqual(
          outcome(() => parseFlatKeyed(t, '/x/f')),
          outcome(() => generalFlatKeyed(t, '/x/f')),
        ),
      ),
      { numRuns: 5000 },
    );
  });
  test('parseSingleValue', () => {
    fc.assert(
      fc.property(text, (t) =>
        assert.deepEqual(
          outcome(() => parseSingleValue(t, '/x/f')),
          outcome(() => generalSingleValue(t, '/x/f')),
        ),
      ),
      { numRuns: 5000 },
    );
  });
  test('parseFlatKeyedBytes with a memo of the keys: the same result whatever the memo holds from an earlier text', () => {
    fc.assert(
      fc.property(text, text, (earlier, t) => {
        const keys: string[] = [];
        outcome(() => parseFlatKeyedBytes(Buffer.from(earlier, 'latin1'), '/x/f', keys));
        assert.deepEqual(
          outcome(() => parseFlatKeyedBytes(Buffer.from(t, 'latin1'), '/x/f', keys)),
          outcome(() => generalFlatKeyed(t, '/x/f')),
        );
      }),
      { numRuns: 5000 },
    );
  });
  test('parseSingleValueBytes and parseNumberBytes', () => {
    fc.assert(
      fc.property(text, (t) => {
        const bytes = Buffer.from(t, 'latin1');
        assert.deepEqual(
          outcome(() => parseSingleValueBytes(bytes, '/x/f')),
          outcome(() => generalSingleValue(t, '/x/f')),
        );
        assert.deepEqual(
          outcome(() => parseNumberBytes(bytes, '/x/f')),
          outcome(() => parseNumber(t, '/x/f')),
        );
      }),
      { numRuns: 5000 },
    );
  });
  test('the memo gives back the same key strings on the next read of the same keys', () => {
    const keys: string[] = [];
    const bytes = Buffer.from(fixture('v1', 'memory.stat'), 'latin1');
    parseFlatKeyedBytes(bytes, undefined, keys);
    const first = [...keys];
    assert.equal(first.length, fixture('v1', 'memory.stat').trim().split('\n').length);
    assert.deepEqual(Object.keys(parseFlatKeyedBytes(bytes, undefined, keys)), first);
    assert.ok(keys.every((k, i) => k === first[i]));
  });
  test('every captured flat keyed file', () => {
    for (const [mode, name] of [
      ['v1', 'memory.stat'],
      ['v1', 'cpu.stat'],
      ['v1', 'memory.oom_control'],
      ['v2', 'guest-6.1/memory.stat'],
      ['v2', 'guest-6.1/memory.events'],
      ['v2', 'guest-6.1/cpu.stat'],
    ] as const) {
      assert.deepEqual(parseFlatKeyed(fixture(mode, name)), generalFlatKeyed(fixture(mode, name)), `${mode}/${name}`);
    }
  });
});

describe('parseCpuacctUsageAll', () => {
  test('captured v1 cpuacct.usage_all: per CPU, summing to usage_user and usage_sys of the same cgroup', () => {
    const cpus = parseCpuacctUsageAll(fixture('v1', 'cpuacct.usage_all'));
    assert.deepEqual(cpus, [
      { cpu: 0, user: 167979119, system: 12000000 },
      { cpu: 1, user: 0, system: 12000000 },
    ]);
    assert.equal(
      cpus.reduce((sum, c) => sum + c.user, 0),
      parseNumber(fixture('v1', 'cpuacct.usage_user')),
    );
    assert.equal(
      cpus.reduce((sum, c) => sum + c.system, 0),
      parseNumber(fixture('v1', 'cpuacct.usage_sys')),
    );
  });
  test('another header is a ParseError', () =>
    throwsParse(() => parseCpuacctUsageAll('cpu user\n0 1\n', '/x/cpuacct.usage_all'), 'parse cpuacct.usage_all header (/x/cpuacct.usage_all): unexpected line "cpu user"'));
  test('a short line is a ParseError', () => throwsParse(() => parseCpuacctUsageAll('cpu user system\n0 1\n'), 'parse cpuacct.usage_all: unexpected line "0 1"'));
  test('a negative counter is a ParseError', () => throwsParse(() => parseCpuacctUsageAll('cpu user system\n0 -1 2\n'), 'parse cpuacct.usage_all: unexpected line "0 -1 2"'));
});
