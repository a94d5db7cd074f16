/**
 * Docker's derived numbers (src/metrics/derive.ts) on real `GET /containers/{id}/stats` responses
 * (test/fixtures/docker-api, Docker 20.10.24, cgroup v2) and on hand-made cgroup v1 shapes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { blockIO, cpuPercent, deriveStats, memoryPercent, memoryUsage, networkIO, pids } from '../../../src/metrics/derive.js';
import { renderStatsTable, statsRow } from '../../../src/cli/format/stats.js';
import type { DockerStats } from '../../../src/metrics/docker-stats-types.js';
import { dockerFixture } from '../../helpers/http.js';

function stats(name: string): DockerStats {
  return JSON.parse(dockerFixture(name)) as DockerStats;
}

function streamStats(name: string): DockerStats[] {
  return dockerFixture(name)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as DockerStats);
}

describe('against what `docker stats --no-stream busy` printed', () => {
  // docker-stats-no-stream-busy.txt and v1.41-containers-id-stats-stream-false-busy.json come from the same
  // container but not the same sample (see the fixtures README): the memory, NET I/O, BLOCK I/O and PIDS
  // columns are Docker's own output; CPU % is computed by hand from the JSON's deltas instead.
  const printed = dockerFixture('docker-stats-no-stream-busy.txt');
  const busy = stats('v1.41-containers-id-stats-stream-false-busy.json');
  const row = statsRow(deriveStats(busy));
  const [header = '', line = ''] = printed.split('\n');

  test('every column but CPU % is what Docker printed', () => {
    const cols = line.split(/ {2,}/);
    assert.deepEqual(cols, ['0fcb8ea4e8d1', 'busy', '51.01%', '460KiB / 64MiB', '0.70%', '0B / 0B', '0B / 0B', '1']);
    assert.deepEqual({ ...row, cpu: cols[2] }, { container: cols[0], name: cols[1], cpu: cols[2], mem: cols[3], memPerc: cols[4], netIO: cols[5], blockIO: cols[6], pids: cols[7] });
  });

  test('CPU % by hand: (4400160000 - 3887594000) / (940180000000 - 938110000000) x 2 x 100 = 49.523...', () => {
    assert.equal(row.cpu, '49.52%');
    assert.ok(Math.abs((cpuPercent(busy.precpu_stats, busy.cpu_stats) ?? NaN) - 49.52328502415459) < 1e-9);
  });

  test("the table has Docker's header and column widths (with Docker's own CPU % put in)", () => {
    assert.equal(renderStatsTable([{ ...row, cpu: '51.01%' }]), `${header}\n${line}\n`);
  });
});

describe('every row of the other fixtures, computed by hand from the JSON (no Docker output was captured with them)', () => {
  const cases: [string, DockerStats, Record<string, string>][] = [
    // cpu: no delta (0 -> 0.00%); mem 311296 - inactive_file 0 = 304KiB; limit = host memory 4105367552 = 3.823GiB;
    // 311296 / 4105367552 = 0.0076% -> 0.01%
    [
      'stream=false, unlimited (/idle1)',
      stats('v1.41-containers-id-stats-stream-false.json'),
      { container: 'bf35357169f2', name: 'idle1', cpu: '0.00%', mem: '304KiB / 3.823GiB', memPerc: '0.01%', netIO: '0B / 0B', blockIO: '0B / 0B', pids: '1' },
    ],
    // cpu: no delta; mem 647168 = 632KiB of 64MiB = 0.964% -> 0.96%
    [
      'stream=false, 64m limit (/limited)',
      stats('v1.41-containers-id-stats-stream-false-limited.json'),
      { container: 'fb8a59bd6942', name: 'limited', cpu: '0.00%', mem: '632KiB / 64MiB', memPerc: '0.96%', netIO: '0B / 0B', blockIO: '0B / 0B', pids: '1' },
    ],
    // one-shot: precpu is all zero without system_cpu_usage, so the deltas are the totals:
    // 342713000 / 670270000000 x 2 x 100 = 0.1023% -> 0.10%
    [
      'one-shot (/limited)',
      stats('v1.41-containers-id-stats-oneshot-limited.json'),
      { container: 'fb8a59bd6942', name: 'limited', cpu: '0.10%', mem: '632KiB / 64MiB', memPerc: '0.96%', netIO: '0B / 0B', blockIO: '0B / 0B', pids: '1' },
    ],
  ];
  for (const [what, s, expected] of cases) test(what, () => assert.deepEqual(statsRow(deriveStats(s)), expected));

  test('stream=true (/limited): first sample against zero precpu (342713000 / 672260000000 x 2 x 100 = 0.1020%), then idle', () => {
    const cpus = streamStats('v1.41-containers-id-stats-stream-true-limited.jsonl').map((s) => statsRow(deriveStats(s)).cpu);
    assert.deepEqual(cpus, ['0.10%', '0.00%', '0.00%']);
  });

  test('pids and the memory numbers themselves', () => {
    const s = stats('v1.41-containers-id-stats-stream-false-limited.json');
    assert.equal(pids(s), 1);
    assert.equal(memoryUsage(s.memory_stats), 647168);
    assert.equal(memoryPercent(647168, 67108864), 0.96435546875);
  });
});

describe('cpuPercent (calculateCPUPercentUnix)', () => {
  test('online_cpus 0 (old v1 daemons): the length of percpu_usage counts', () => {
    const pre = { cpu_usage: { total_usage: 1_000_000_000 }, system_cpu_usage: 10_000_000_000 };
    const cur = { cpu_usage: { total_usage: 1_500_000_000, percpu_usage: [1, 2, 3, 4] }, system_cpu_usage: 12_000_000_000, online_cpus: 0 };
    assert.equal(cpuPercent(pre, cur), 100); // 0.5 / 2 x 4 x 100
  });
  test('online_cpus wins over percpu_usage', () => {
    const cur = { cpu_usage: { total_usage: 1_500_000_000, percpu_usage: [1, 2, 3, 4] }, system_cpu_usage: 12_000_000_000, online_cpus: 2 };
    assert.equal(cpuPercent({ cpu_usage: { total_usage: 1_000_000_000 }, system_cpu_usage: 10_000_000_000 }, cur), 50);
  });
  test('a non-positive delta is 0, as Docker', () => {
    assert.equal(cpuPercent({ cpu_usage: { total_usage: 5 }, system_cpu_usage: 10 }, { cpu_usage: { total_usage: 4 }, system_cpu_usage: 20, online_cpus: 1 }), 0);
    assert.equal(cpuPercent({ cpu_usage: { total_usage: 5 }, system_cpu_usage: 20 }, { cpu_usage: { total_usage: 9 }, system_cpu_usage: 20, online_cpus: 1 }), 0);
  });
  test('a current sample without counters is undefined, not 0', () => {
    assert.equal(cpuPercent(undefined, undefined), undefined);
    assert.equal(cpuPercent(undefined, { cpu_usage: { total_usage: 4 } }), undefined);
    assert.equal(cpuPercent(undefined, { system_cpu_usage: 4 }), undefined);
  });
});

describe('memoryUsage (calculateMemUsageUnixNoCache)', () => {
  for (const [what, mem, expected] of [
    ['v2: usage - inactive_file', { usage: 1000, stats: { inactive_file: 300 } }, 700],
    ['v1: usage - total_inactive_file', { usage: 1000, stats: { total_inactive_file: 400, inactive_file: 300 } }, 600],
    ['v1 key not below usage: falls to the v2 key', { usage: 1000, stats: { total_inactive_file: 1000, inactive_file: 300 } }, 700],
    ['inactive_file not below usage: usage itself (never below 0)', { usage: 1000, stats: { inactive_file: 5000 } }, 1000],
    ['no stats: usage', { usage: 1000 }, 1000],
    ['no usage: undefined', { stats: { inactive_file: 1 } }, undefined],
    ['no memory_stats: undefined', undefined, undefined],
  ] as const) {
    test(what, () => assert.equal(memoryUsage(mem), expected));
  }
});

describe('memoryPercent (calculateMemPercentUnixNoCache)', () => {
  test('against the limit', () => assert.equal(memoryPercent(16 * 2 ** 20, 64 * 2 ** 20), 25));
  test('limit 0 (not running): 0, as Docker', () => assert.equal(memoryPercent(100, 0), 0));
  test('missing: undefined', () => {
    assert.equal(memoryPercent(undefined, 100), undefined);
    assert.equal(memoryPercent(100, undefined), undefined);
  });
});

describe('networkIO (calculateNetwork)', () => {
  test('summed over interfaces', () => {
    assert.deepEqual(networkIO({ eth0: { rx_bytes: 1200, tx_bytes: 0 }, eth1: { rx_bytes: 34, tx_bytes: 56 } }), { rx: 1234, tx: 56 });
  });
  test('no networks: 0 / 0, as Docker prints it', () => assert.deepEqual(networkIO(undefined), { rx: 0, tx: 0 }));
});

describe('blockIO (calculateBlockIO)', () => {
  test('v2 ops ("read", "write") summed over devices', () => {
    assert.deepEqual(
      blockIO({
        io_service_bytes_recursive: [
          { major: 8, minor: 0, op: 'read', value: 1000 },
          { major: 8, minor: 0, op: 'write', value: 200 },
          { major: 8, minor: 16, op: 'read', value: 24 },
          { major: 8, minor: 16, op: 'write', value: 0 },
        ],
      }),
      { read: 1024, write: 200 },
    );
  });
  test('v1 ops ("Read", "Write", "Sync", "Async", "Discard", "Total", ""): only Read and Write count', () => {
    assert.deepEqual(
      blockIO({
        io_service_bytes_recursive: [
          { op: 'Read', value: 4096 },
          { op: 'Write', value: 8192 },
          { op: 'Sync', value: 1 },
          { op: 'Async', value: 2 },
          { op: 'Discard', value: 3 },
          { op: 'Total', value: 12288 },
          { op: '', value: 7 },
          { value: 9 },
        ],
      }),
      { read: 4096, write: 8192 },
    );
  });
  test('null lists: 0 / 0', () => {
    assert.deepEqual(blockIO({ io_service_bytes_recursive: null }), { read: 0, write: 0 });
    assert.deepEqual(blockIO(undefined), { read: 0, write: 0 });
  });
});
