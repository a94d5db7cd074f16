/**
 * The exposition of a fixed set of containers, compared exactly with the checked-in
 * test/fixtures/metrics/exposition.prom (cAdvisor keeps its metrics/testdata/prometheus_metrics the
 * same way): names, types, help, labels, which series exist and their values. Regenerate it with
 * CORRAL_UPDATE_FIXTURES=1 after a deliberate change, and read the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { containerLabelName, createRegistry, exposition, type ExporterSource } from '../../../src/metrics/prometheus.js';
import { METRICS } from '../../../src/metrics/names.js';
import type { TrackedContainer } from '../../../src/metrics/sample.js';
import { promtool } from '../../helpers/promtool.js';

const EXPECTED = fileURLToPath(new URL('../../../../test/fixtures/metrics/exposition.prom', import.meta.url));

const T = Date.UTC(2026, 10, 23, 12, 0, 0);

/** A v1 container under limits, a v2 one with PSI, swap, a network and a failing io.stat, an exited one and a created one. */
export function fixedContainers(): TrackedContainer[] {
  return [
    {
      id: '1'.repeat(64),
      name: 'web',
      image: '/srv/busybox',
      network: 'none',
      spec: { memoryLimit: 64 << 20, cpuQuota: 50_000, cpuPeriod: 100_000, cpuWeight: 100, pidsLimit: 64 },
      restartPolicy: { name: 'always', maximumRetryCount: 0 },
      status: 'running',
      startedAt: T - 60_000,
      pid: 4242,
      restarts: 2,
      oomKills: 0,
      readErrors: new Map(),
      latest: {
        time: T,
        cgroup: {
          cpu: { usageUsec: 2_500_000, userUsec: 2_000_000, systemUsec: 500_000, nrPeriods: 120, nrThrottled: 30, throttledUsec: 1_250_000 },
          memory: {
            current: 10_485_760,
            peak: 12_582_912,
            failcnt: 0,
            swapCurrent: 0,
            max: 64 << 20,
            events: { oomKill: 0 },
            stat: { total_inactive_file: 2_097_152, total_rss: 6_291_456, total_cache: 4_194_304 },
          },
          pids: { current: 3, max: 64 },
          io: { devices: [{ major: 254, minor: 0, rbytes: 4096, wbytes: 8192, rios: 1, wios: 2 }] },
          errors: [],
        },
        networks: new Map(),
        systemCpuNs: 9e12,
        onlineCpus: 2,
        errors: [],
      },
    },
    {
      id: '2'.repeat(64),
      name: 'db "primary"',
      image: 'host',
      network: 'none',
      spec: { memoryReservation: 32 << 20, cpuWeight: 200 },
      status: 'running',
      startedAt: T - 5_000,
      pid: 4343,
      restarts: 0,
      oomKills: 1,
      readErrors: new Map([['io.stat', 3]]),
      latest: {
        time: T,
        cgroup: {
          cpu: { usageUsec: 7_000_000, userUsec: 6_000_000, systemUsec: 1_000_000, nrPeriods: 0, nrThrottled: 0, throttledUsec: 0 },
          memory: {
            current: 104_857_600,
            peak: 209_715_200,
            swapCurrent: 1_048_576,
            max: 'max',
            events: { low: 0, high: 0, max: 5, oom: 2, oomKill: 1 },
            stat: { anon: 52_428_800, file: 41_943_040, inactive_file: 20_971_520 },
          },
          pids: { current: 12, max: 'max' },
          pressure: {
            cpu: { some: { avg10: 0, avg60: 0, avg300: 0, total: 1_500_000 }, full: { avg10: 0, avg60: 0, avg300: 0, total: 500_000 } },
            memory: { some: { avg10: 0, avg60: 0, avg300: 0, total: 250_000 }, full: { avg10: 0, avg60: 0, avg300: 0, total: 125_000 } },
            io: { some: { avg10: 0, avg60: 0, avg300: 0, total: 0 } },
          },
          errors: [{ file: '/sys/fs/cgroup/corral/2222/io.stat', message: 'read: EIO' }],
        },
        networks: new Map([['eth0', { rxBytes: 1200, rxPackets: 10, rxErrors: 0, rxDropped: 0, txBytes: 800, txPackets: 8, txErrors: 0, txDropped: 0 }]]),
        systemCpuNs: 9e12,
        onlineCpus: 2,
        errors: [{ file: '/sys/fs/cgroup/corral/2222/io.stat', message: 'read: EIO' }],
      },
    },
    { id: '3'.repeat(64), name: 'oomer', image: '/srv/busybox', network: 'none', spec: { memoryLimit: 16 << 20 }, status: 'exited', exitCode: 137, restarts: 0, oomKills: 1, readErrors: new Map() },
    { id: '4'.repeat(64), image: '/srv/busybox', network: 'host', spec: {}, status: 'created', restarts: 0, readErrors: new Map() },
  ];
}

function source(): ExporterSource {
  const list = fixedContainers();
  return {
    list: () => [...list],
    health: { ticks: 10, cpuSeconds: 0.25, lastTickSeconds: 0.002, lastTickContainers: 2, fullReads: 15, quietReads: 5, openFiles: 24, unkeptReads: 0 },
    intervalMs: 1000,
    idleIntervalMs: 10_000,
  };
}

test('the exposition of a fixed set of containers is exactly the checked-in one', async () => {
  const text = await exposition(createRegistry(source()));
  if (process.env.CORRAL_UPDATE_FIXTURES === '1') fs.writeFileSync(EXPECTED, text);
  assert.equal(text, fs.readFileSync(EXPECTED, 'utf8'));
});

test("exposition() writes what prom-client's own Registry.metrics() writes, line for line", async () => {
  const registry = createRegistry(source(), { processMetrics: true });
  const lines = (t: string) => t.split('\n').filter((l) => l !== '' && !/^(process|nodejs)_/.test(l) && !/^# (HELP|TYPE) (process|nodejs)_/.test(l));
  assert.deepEqual(lines(await exposition(registry)), lines(await registry.metrics()));
});

test('every metric of names.ts is there with its type; a value not read has no series (never 0)', async () => {
  const text = await exposition(createRegistry(source()));
  for (const m of METRICS) assert.ok(text.includes(`# TYPE ${m.name} ${m.type}\n`), m.name);
  // web (v1) has no PSI: no pressure series for it
  assert.doesNotMatch(text, /container_pressure_cpu_waiting_seconds_total\{id="\/corral\/1{64}"/);
  // the failing io.stat: no fs series for db, and the failures counted
  assert.doesNotMatch(text, /container_fs_reads_bytes_total\{id="\/corral\/2{64}"/);
  assert.match(text, /corral_sample_errors_total\{id="\/corral\/2{64}",name="db \\"primary\\"",image="host",file="io.stat"\} 3\n/);
  // the exited container: state, exit code and OOM kills, no usage
  assert.match(text, /corral_container_exit_code\{id="\/corral\/3{64}",name="oomer",image="\/srv\/busybox"\} 137\n/);
  assert.doesNotMatch(text, /container_memory_usage_bytes\{id="\/corral\/3{64}"/);
  // ContainerDown's input: web's policy keeps it up; the exited oomer (no policy) is not meant to run
  assert.match(text, /corral_container_should_run\{id="\/corral\/1{64}",name="web",image="\/srv\/busybox"\} 1\n/);
  assert.match(text, /corral_container_should_run\{id="\/corral\/3{64}",name="oomer",image="\/srv\/busybox"\} 0\n/);
});

test('a paused container: state "paused" (not "running"), its usage still exported', async () => {
  const list = fixedContainers().map((c) => (c.name === 'web' ? { ...c, paused: true } : c));
  const text = await exposition(createRegistry({ ...source(), list: () => list }));
  const web = (state: string) => new RegExp(`corral_container_state\\{id="/corral/1{64}",name="web",image="/srv/busybox",state="${state}"\\} (\\d)\n`).exec(text)?.[1];
  assert.deepEqual([web('running'), web('paused')], ['0', '1']);
  assert.match(text, /container_memory_usage_bytes\{id="\/corral\/1{64}",name="web",image="\/srv\/busybox"\} 10485760\n/);
});

test('promtool check metrics accepts the exposition, process metrics included', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'corral-prom-')), 'metrics.prom');
  try {
    fs.writeFileSync(file, await exposition(createRegistry(source(), { processMetrics: true })));
    const r = promtool(['check', 'metrics'], undefined, file);
    assert.equal(r.status, 0, r.output);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

test("a container's own labels: container_label_KEY (cAdvisor's names) on every series, as --metrics-container-labels chooses", async () => {
  const labelled = (): ExporterSource => {
    const list = fixedContainers();
    list[0]!.labels = { 'com.example.team': 'web "front"', env: 'prod', 'a.b': 'first', a_b: 'second' };
    return { ...source(), list: () => [...list] };
  };
  assert.equal(containerLabelName('com.example.team'), 'container_label_com_example_team');
  assert.equal(containerLabelName('x-y/z:1'), 'container_label_x_y_z_1');
  const all = await exposition(createRegistry(labelled()));
  const webLine = all.split('\n').find((l) => l.startsWith('container_memory_usage_bytes{') && l.includes('name="web"'));
  // key order: a.b before a_b, so the name both give is a.b's
  assert.equal(
    webLine,
    `container_memory_usage_bytes{id="/corral/${'1'.repeat(64)}",name="web",image="/srv/busybox",container_label_a_b="first",container_label_com_example_team="web \\"front\\"",container_label_env="prod"} 10485760`,
  );
  assert.match(all, /corral_container_state\{[^}]*container_label_env="prod",state="running"\} 1/);
  // the other containers have none
  assert.ok(
    all
      .split('\n')
      .filter((l) => l.includes('name="db'))
      .every((l) => !l.includes('container_label_')),
  );
  const some = await exposition(createRegistry(labelled(), { containerLabels: ['env'] }));
  assert.ok(some.includes('name="web",image="/srv/busybox",container_label_env="prod"}'));
  assert.ok(!some.includes('container_label_com_example_team'));
  const none = await exposition(createRegistry(labelled(), { containerLabels: [] }));
  assert.ok(!none.includes('container_label_'));
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'corral-prom-')), 'metrics.prom');
  try {
    fs.writeFileSync(file, all);
    const r = promtool(['check', 'metrics'], undefined, file);
    assert.equal(r.status, 0, r.output);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});
