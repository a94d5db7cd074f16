/**
 * Samples -> Docker's stats JSON, checked against Docker's own responses (test/fixtures/docker-api,
 * cgroup v2): each response is turned back into the samples corral would have read from the same
 * kernel files, converted, and the JSON text compared byte for byte (key order, nulls, the uint64
 * pids limit), with only `read`/`preread` rewritten (Docker's have nanoseconds, corral's milliseconds).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuPercent, deriveStats } from '../../../src/metrics/derive.js';
import { dockerStats, dockerStatsJson, leanStats, pressureStats, ZERO_TIME } from '../../../src/metrics/docker-stats.js';
import type { DockerCpuStats, DockerStats } from '../../../src/metrics/docker-stats-types.js';
import type { ContainerSample } from '../../../src/metrics/sample.js';
import type { CgroupStats } from '../../../src/cgroups/types.js';

const dir = fileURLToPath(new URL('../../../../test/fixtures/docker-api/', import.meta.url));
const readFixture = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');

const usec = (ns: number | undefined) => (ns === undefined ? undefined : ns / 1000);

/** The cpu part of a sample that Docker's cpu_stats came from. */
function cpuFrom(c: DockerCpuStats): Pick<ContainerSample, 'systemCpuNs' | 'onlineCpus'> & { cpu: NonNullable<CgroupStats['cpu']> } {
  return {
    cpu: {
      usageUsec: usec(c.cpu_usage?.total_usage)!,
      systemUsec: usec(c.cpu_usage?.usage_in_kernelmode)!,
      userUsec: usec(c.cpu_usage?.usage_in_usermode)!,
      nrPeriods: c.throttling_data?.periods as number,
      nrThrottled: c.throttling_data?.throttled_periods as number,
      throttledUsec: usec(c.throttling_data?.throttled_time)!,
    },
    systemCpuNs: c.system_cpu_usage!,
    onlineCpus: c.online_cpus!,
  };
}

/** What corral's v2 sampler reads from the files Docker read for `d` (plus memory.stat keys Docker leaves out). */
function samplesFrom(d: DockerStats, hostMemory: number): { current: ContainerSample; previous?: ContainerSample } {
  const now = cpuFrom(d.cpu_stats!);
  const limit = d.memory_stats!.limit!;
  const current: ContainerSample = {
    time: Date.parse(d.read!),
    cgroup: {
      cpu: now.cpu,
      memory: {
        current: d.memory_stats!.usage!,
        max: limit === hostMemory ? 'max' : limit,
        stat: { ...d.memory_stats!.stats!, zswap: 0, sec_pagetables: 0, file_thp: 0 },
        events: { low: 0, high: 0, max: 0, oom: 0, oomKill: 0 },
      },
      pids: { current: d.pids_stats!.current!, max: d.pids_stats!.limit === 2 ** 64 ? 'max' : d.pids_stats!.limit! },
      io: { devices: [] },
      errors: [],
    },
    systemCpuNs: now.systemCpuNs,
    onlineCpus: now.onlineCpus,
    errors: [],
  };
  if (d.preread === ZERO_TIME) return { current };
  const before = cpuFrom(d.precpu_stats!);
  return { current, previous: { time: Date.parse(d.preread!), cgroup: { cpu: before.cpu, errors: [] }, systemCpuNs: before.systemCpuNs, onlineCpus: before.onlineCpus, errors: [] } };
}

/** Docker's text with its read/preread replaced by the millisecond times corral writes. */
function withCorralTimes(text: string, d: DockerStats): string {
  const ms = (t: string) => (t === ZERO_TIME ? t : new Date(Date.parse(t)).toISOString());
  return text
    .replace(`"read":"${d.read}"`, `"read":"${ms(d.read!)}"`)
    .replace(`"preread":"${d.preread}"`, `"preread":"${ms(d.preread!)}"`)
    .trimEnd();
}

describe("Docker's responses, rebuilt from the samples of the same files", () => {
  const cases: [file: string, hostMemory: number][] = [
    ['v1.41-containers-id-stats-stream-false.json', 4105367552],
    ['v1.41-containers-id-stats-stream-false-limited.json', 4105367552],
    ['v1.41-containers-id-stats-stream-false-busy.json', 4105367552],
    ['v1.41-containers-id-stats-oneshot-limited.json', 4105367552],
  ];
  for (const [file, hostMemory] of cases) {
    test(file, () => {
      const text = readFixture(file);
      const d = JSON.parse(text) as DockerStats;
      const { current, previous } = samplesFrom(d, hostMemory);
      const ours = dockerStatsJson(dockerStats({ id: d.id!, name: d.name!.slice(1), mode: 'v2' }, current, previous, hostMemory));
      assert.equal(ours, withCorralTimes(text, d));
    });
  }
  test('the stream: each object from its own sample and the one before', () => {
    const lines = readFixture('v1.41-containers-id-stats-stream-true-limited.jsonl').trim().split('\n');
    for (const line of lines.slice(1)) {
      const d = JSON.parse(line) as DockerStats;
      const { current, previous } = samplesFrom(d, 4105367552);
      assert.equal(dockerStatsJson(dockerStats({ id: d.id!, name: 'limited', mode: 'v2' }, current, previous, 4105367552)), withCorralTimes(line, d));
    }
  });
});

describe('shapes Docker writes without readings', () => {
  const subject = { id: 'a'.repeat(64), name: 'idle', mode: 'v2' as const };
  test("a container that does not run: Docker's empty stats", () => {
    const s = dockerStats(subject, undefined, undefined, 1 << 30);
    assert.equal(s.read, ZERO_TIME);
    assert.deepEqual(s.memory_stats, {});
    assert.deepEqual(s.pids_stats, {});
    assert.equal(s.name, '/idle');
    assert.equal(deriveStats(s).memory, undefined, 'no reading is no number, not 0');
    assert.equal(cpuPercent(s.precpu_stats, s.cpu_stats), undefined, 'no system_cpu_usage: printed --');
  });
  test('a reading that failed is left out, never written as 0', () => {
    const sample: ContainerSample = { time: 0, cgroup: { cpu: { usageUsec: 5 }, errors: [{ file: '/x/memory.stat', message: 'boom' }] }, errors: [] };
    const s = dockerStats(subject, sample, undefined, 1 << 30);
    assert.deepEqual(s.memory_stats, {});
    assert.deepEqual(s.cpu_stats?.cpu_usage, { total_usage: 5000, usage_in_kernelmode: undefined, usage_in_usermode: undefined });
    assert.equal(JSON.parse(dockerStatsJson(s)).cpu_stats.cpu_usage.usage_in_kernelmode, undefined);
    assert.equal(s.cpu_stats?.system_cpu_usage, undefined);
    assert.equal(cpuPercent(s.precpu_stats, s.cpu_stats), undefined);
  });
});

test('cgroup v1: every memory.stat key, max_usage and failcnt, the capitalised blkio ops, networks without the loopback', () => {
  const sample: ContainerSample = {
    time: Date.UTC(2026, 0, 2),
    cgroup: {
      cpu: { usageUsec: 2_000_000, userUsec: 1_500_000, systemUsec: 500_000, nrPeriods: 10, nrThrottled: 2, throttledUsec: 1000 },
      memory: { current: 10 << 20, peak: 12 << 20, failcnt: 3, max: 64 << 20, stat: { total_inactive_file: 4 << 20, cache: 5, total_rss: 6 }, events: { oomKill: 0 } },
      pids: { current: 3, max: 'max' },
      io: { devices: [{ major: 254, minor: 0, rbytes: 4096, wbytes: 8192, dbytes: 0, rios: 1, wios: 2, dios: 0 }] },
      errors: [],
    },
    networks: new Map([['eth0', { rxBytes: 1200, rxPackets: 3, rxErrors: 0, rxDropped: 0, txBytes: 0, txPackets: 0, txErrors: 0, txDropped: 0 }]]),
    systemCpuNs: 1e12,
    onlineCpus: 2,
    errors: [],
  };
  const s = dockerStats({ id: 'b'.repeat(64), name: 'v1', mode: 'v1' }, sample, undefined, 1 << 30);
  assert.deepEqual(s.memory_stats, { usage: 10 << 20, max_usage: 12 << 20, stats: { cache: 5, total_inactive_file: 4 << 20, total_rss: 6 }, failcnt: 3, limit: 64 << 20 });
  assert.deepEqual(s.blkio_stats?.io_service_bytes_recursive, [
    { major: 254, minor: 0, op: 'Read', value: 4096 },
    { major: 254, minor: 0, op: 'Write', value: 8192 },
    { major: 254, minor: 0, op: 'Discard', value: 0 },
  ]);
  assert.match(dockerStatsJson(s), /"pids_stats":\{"current":3,"limit":18446744073709551615\}/);
  const e = deriveStats(s);
  assert.equal(e.memory, 6 << 20, 'usage - total_inactive_file');
  assert.deepEqual([e.blockRead, e.blockWrite, e.networkRx, e.networkTx], [4096, 8192, 1200, 0]);
  assert.equal(Object.keys(s).at(-1), 'networks');
});

test("corral's pressure field: the PSI files of a sample as read, absent without PSI", () => {
  const line = (avg10: number) => ({ avg10, avg60: 1.5, avg300: 0.5, total: 123456 });
  const sample = (pressure: CgroupStats['pressure']): ContainerSample => ({ time: 0, cgroup: { errors: [], ...(pressure ? { pressure } : {}) }, errors: [] });
  assert.equal(pressureStats(sample(undefined)), undefined);
  assert.equal(pressureStats(sample({})), undefined);
  assert.deepEqual(pressureStats(sample({ memory: { some: line(12.5), full: line(3) }, cpu: { some: line(0) } })), {
    cpu: { some: line(0) },
    memory: { some: line(12.5), full: line(3) },
  });
});

test('the lean stats of GET /containers/stats?working-set=1: the working set and the counters as in the full object, a third of the bytes', () => {
  const full: DockerStats = {
    read: '2026-01-01T00:00:01Z',
    id: 'a',
    name: '/web',
    pids_stats: { current: 3, limit: 64 },
    cpu_stats: { cpu_usage: { total_usage: 5 }, throttling_data: { periods: 10, throttled_periods: 2 } },
    precpu_stats: { cpu_usage: { total_usage: 4 } },
    memory_stats: { usage: 1000, limit: 4000, stats: { anon: 600, file: 400, inactive_file: 300, active_file: 100, pgfault: 7 } },
  };
  const lean = leanStats(full);
  assert.deepEqual(lean, {
    read: '2026-01-01T00:00:01Z',
    id: 'a',
    name: '/web',
    pids_stats: { current: 3, limit: 64 },
    cpu_stats: { cpu_usage: { total_usage: 5 }, throttling_data: { periods: 10, throttled_periods: 2 } },
    memory_stats: { usage: 1000, limit: 4000, stats: { inactive_file: 300 } },
  });
  assert.equal(deriveStats(lean).memory, deriveStats(full).memory);
  assert.deepEqual(leanStats({ id: 'b' }), { id: 'b' });
});
