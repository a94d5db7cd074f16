/** Docker's formatting (src/units.ts, src/cli/format/stats.ts): go-units sizes, Go's %g and %.2f, the row model. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { statsRow } from '../../src/cli/format/stats.js';
import { formatIoSize, formatMemorySize, formatPercentage, goFormatG } from '../../src/units.js';

const KiB = 1024,
  MiB = KiB * 1024,
  GiB = MiB * 1024,
  TiB = GiB * 1024,
  PiB = TiB * 1024;
const KB = 1000,
  MB = KB * 1000,
  GB = MB * 1000,
  TB = GB * 1000,
  PB = TB * 1000;

describe('formatMemorySize (go-units TestBytesSize, plus memory columns)', () => {
  for (const [size, expected] of [
    [1024, '1KiB'],
    [1024 * 1024, '1MiB'],
    [2 * MiB, '2MiB'],
    [3.42 * GiB, '3.42GiB'],
    [5.372 * TiB, '5.372TiB'],
    [2.22 * PiB, '2.22PiB'],
    [KiB * KiB * KiB * KiB * KiB * PiB, '1.049e+06YiB'],
    [0, '0B'],
    [1, '1B'],
    [1023, '1023B'],
    [1.5 * MiB, '1.5MiB'],
    [64 * MiB, '64MiB'],
    [471040, '460KiB'],
    [4105367552, '3.823GiB'],
    [1000 * KiB, '1000KiB'],
    [1023.99 * KiB, '1024KiB'],
  ] as const) {
    test(`${size} -> ${expected}`, () => assert.equal(formatMemorySize(size), expected));
  }
});

describe('formatIoSize(size, 3) (NET I/O, BLOCK I/O) and go-units TestHumanSize (precision 4)', () => {
  for (const [size, prec, expected] of [
    [1000, 4, '1kB'],
    [1024, 4, '1.024kB'],
    [1000000, 4, '1MB'],
    [1048576, 4, '1.049MB'],
    [2 * MB, 4, '2MB'],
    [3.42 * GB, 4, '3.42GB'],
    [5.372 * TB, 4, '5.372TB'],
    [2.22 * PB, 4, '2.22PB'],
    [10000000000000 * PB, 4, '1e+04YB'],
    [0, 3, '0B'],
    [1200, 3, '1.2kB'],
    [999, 3, '999B'],
    [1234567, 3, '1.23MB'],
    [999.6 * KB, 3, '1e+03kB'],
    [1125, 3, '1.12kB'], // an exact tie (1.125) rounds half to even, as Go; JS toPrecision would give 1.13
    [1135, 3, '1.14kB'],
    [12345, 3, '12.3kB'],
    [123456, 3, '123kB'],
  ] as const) {
    test(`${size} (precision ${prec}) -> ${expected}`, () => assert.equal(formatIoSize(size, prec), expected));
  }
});

describe('goFormatG (strconv %g)', () => {
  for (const [x, prec, expected] of [
    [1, 3, '1'],
    [0.5, 3, '0.5'],
    [0.0001, 3, '0.0001'],
    [0.00001, 3, '1e-05'],
    [123456789, 4, '1.235e+08'],
    [-2.5, 1, '-2'],
    [3.5, 1, '4'],
    [9.995, 3, '9.99'],
    [9.9951, 3, '10'],
  ] as const) {
    test(`%.${prec}g of ${x} -> ${expected}`, () => assert.equal(goFormatG(x, prec), expected));
  }
});

describe('formatPercentage (strconv.FormatFloat(val, \'f\', 2, 64) + "%")', () => {
  for (const [val, expected] of [
    [12.34, '12.34%'],
    [0, '0.00%'],
    [49.52328502415459, '49.52%'],
    [0.7019, '0.70%'],
    [0.007582658460101747, '0.01%'],
    [0.125, '0.12%'],
    [0.375, '0.38%'],
    [0.005, '0.01%'],
    [0.004, '0.00%'],
    [199.999, '200.00%'],
    [100, '100.00%'],
  ] as const) {
    test(`${val} -> ${expected}`, () => assert.equal(formatPercentage(val), expected));
  }
});

describe('statsRow', () => {
  const entry = {
    id: '0fcb8ea4e8d17dcc19adc645f87683d215408bbed33bcaa6a336680b83551a23',
    name: 'web',
    cpuPercent: 12.3449,
    memory: 1.5 * MiB,
    memoryLimit: 64 * MiB,
    memoryPercent: 2.34375,
    networkRx: 1200,
    networkTx: 0,
    blockRead: 4096,
    blockWrite: 1234567,
    pidsCurrent: 7,
  };
  test("the issue's examples", () => {
    assert.deepEqual(statsRow(entry), {
      container: '0fcb8ea4e8d1',
      name: 'web',
      cpu: '12.34%',
      mem: '1.5MiB / 64MiB',
      memPerc: '2.34%',
      netIO: '1.2kB / 0B',
      blockIO: '4.1kB / 1.23MB',
      pids: '7',
    });
  });
  test('missing numbers print as --, as Docker prints what it does not have', () => {
    const row = statsRow({ ...entry, name: '', cpuPercent: undefined, memory: undefined, memoryLimit: undefined, memoryPercent: undefined, pidsCurrent: undefined });
    assert.deepEqual([row.name, row.cpu, row.mem, row.memPerc, row.pids], ['--', '--', '-- / --', '--', '--']);
  });
});
