/**
 * How the daemon scales: start N containers (busybox `sleep 3600`) through the API of a real
 * `corral daemon`, then report
 *
 *   - the time until all run, and the per-container start latency (POST /start round trip;
 *     median, p90, max), starts issued CONCURRENCY at a time;
 *   - the daemon's VmRSS before (idle, no container) and with all N running, and the growth per
 *     container (target: at most 50 KiB);
 *   - the daemon's CPU use while it only supervises the N idle containers (its exit polling), and
 *     its open fds;
 *   - each container's overhead on the host: its launcher's (corral-launch) VmRSS and Pss, median
 *     and max (target: at most 1 MiB; Pss shares the static binary's pages among the launchers);
 *
 * then removes them all (DELETE ?force=1) and checks that nothing is left: no launcher of its state
 * root, no container dir, no cgroup under its cgroup parent.
 *
 * A warm-up round of the same size runs first (unless --no-warmup), so that the growth measured is
 * what running containers hold, not the daemon's own warm-up (JIT, heap sizing); the growth from a
 * fresh daemon is reported too.
 *
 * Usage: node dist/bench/daemon-scale.js [--containers N] [--concurrency C] [--idle-seconds S] [--no-warmup]
 * Prints a table and, last, one JSON line. Exit status 1 when something was left behind or a
 * container did not start; the targets are reported, not enforced.
 *
 * Everything it makes lives in a temp dir (state root, socket) and under the cgroup parent
 * `corral-bench-<pid>` inside this process's own cgroup; all of it is removed at the end, also on
 * failure (the cgroups are destroyed, which ends any workload, and so its launcher).
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCgroupDriver } from '../src/cgroups/index.js';
import type { CgroupDriver } from '../src/cgroups/types.js';
import { launcherProcesses } from '../test/helpers/corral.js';
import { apiRequest, daemonScratch, startDaemonProcess, stopDaemonProcess, type DaemonProcess, type DaemonScratch } from '../test/helpers/daemon.js';
import { cpuTicks, openFds, smapsKiB, statusKiB } from './proc.js';

const JSON_MARKER = 'CORRAL_BENCH_JSON ';
const CGROUP_PARENT = `corral-bench-${process.pid}`;
const TARGET_LAUNCHER_KIB = 1024;
const TARGET_DAEMON_GROWTH_KIB = 50;
/** USER_HZ: the unit of /proc/<pid>/stat's times */
const TICKS_PER_SECOND = 100;

interface Options {
  containers: number;
  concurrency: number;
  idleSeconds: number;
  /** run a first round of the same size before measuring (--no-warmup: measure from a fresh daemon) */
  warmup: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { containers: 200, concurrency: 8, idleSeconds: 10, warmup: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--no-warmup') {
      o.warmup = false;
      continue;
    }
    const value = Number(argv[++i]);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag}: expected a positive integer, got ${argv[i]}`);
    if (flag === '--containers') o.containers = value;
    else if (flag === '--concurrency') o.concurrency = value;
    else if (flag === '--idle-seconds') o.idleSeconds = value;
    else throw new Error(`unknown flag ${flag} (--containers N, --concurrency C, --idle-seconds S, --no-warmup)`);
  }
  return o;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function summary(values: number[]): { median: number; p90: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p90: quantile(s, 0.9), max: s[s.length - 1]! };
}

/** Run `fn` on every item, at most `limit` at a time. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** The daemon's CPU use over `seconds`, in % of one CPU. */
async function cpuPercent(pid: number, seconds: number): Promise<number> {
  const t0 = cpuTicks(pid)!;
  const w0 = performance.now();
  await sleep(seconds * 1000);
  const t1 = cpuTicks(pid)!;
  return ((t1 - t0) / TICKS_PER_SECOND / ((performance.now() - w0) / 1000)) * 100;
}

interface Round {
  allRunningMs: number;
  latencies: number[];
  launcherRss: number[];
  launcherPss: number[];
  after: { vmRssKiB: number; fds: number; cpuPercent: number };
  removeAllMs: number;
  leftovers: string[];
}

/** Create and start `o.containers` containers, measure (with `measure`), remove them all. */
async function round(scratch: DaemonScratch, driver: CgroupDriver, o: Options, daemonPid: number, measure: boolean): Promise<Round> {
  const api = (method: string, target: string, body?: unknown) => apiRequest(scratch.socket, method, target, body);
  const ids: string[] = [];
  for (let i = 0; i < o.containers; i++) {
    const r = await api('POST', '/containers/create', { Image: scratch.rootfs, Cmd: ['sleep', '3600'], HostConfig: { CgroupParent: CGROUP_PARENT, NetworkMode: 'none' } });
    if (r.status !== 201) throw new Error(`create #${i}: ${r.status} ${r.body}`);
    ids.push(r.json().Id as string);
  }
  const t0 = performance.now();
  const latencies = await pool(ids, o.concurrency, async (id) => {
    const s = performance.now();
    const r = await api('POST', `/containers/${id}/start`);
    if (r.status !== 204) throw new Error(`start ${id.slice(0, 12)}: ${r.status} ${r.body}`);
    return performance.now() - s;
  });
  const list = await api('GET', '/containers/json');
  const running = (JSON.parse(list.body) as { State: string }[]).filter((c) => c.State === 'running').length;
  const allRunningMs = performance.now() - t0;
  if (running !== o.containers) throw new Error(`${running} of ${o.containers} containers run after all starts answered`);

  await sleep(2000);
  const launchers = launcherProcesses(scratch.root);
  if (launchers.length !== o.containers) throw new Error(`${launchers.length} launchers for ${o.containers} containers`);
  const launcherRss = launchers.map((pid) => statusKiB(pid, 'VmRSS')!);
  const launcherPss = launchers.map((pid) => smapsKiB(pid, 'Pss')!);
  const busy = measure ? await cpuPercent(daemonPid, o.idleSeconds) : 0;
  const after = { vmRssKiB: statusKiB(daemonPid, 'VmRSS')!, fds: openFds(daemonPid)!, cpuPercent: busy };

  const s0 = performance.now();
  await pool(ids, o.concurrency, async (id) => {
    const r = await api('DELETE', `/containers/${id}?force=1`);
    if (r.status !== 204) throw new Error(`delete ${id.slice(0, 12)}: ${r.status} ${r.body}`);
  });
  const removeAllMs = performance.now() - s0;
  const leftovers = [
    ...launcherProcesses(scratch.root).map((pid) => `launcher ${pid}`),
    ...fs.readdirSync(path.join(scratch.root, 'containers')).map((id) => `container dir ${id}`),
    ...(await driver.list()).map((name) => `cgroup ${name}`),
  ];
  return { allRunningMs, latencies, launcherRss, launcherPss, after, removeAllMs, leftovers };
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('the bench needs root (it creates cgroups and namespaces)');
  const scratch = await daemonScratch('corral-bench-scale-');
  const driver = await createCgroupDriver({ parent: CGROUP_PARENT });
  let daemon: DaemonProcess | undefined;
  let leftovers: string[] = [];
  try {
    daemon = await startDaemonProcess(scratch.root, scratch.socket, ['--log-level', 'warn']);
    await sleep(1000);

    const cold = { vmRssKiB: statusKiB(daemon.pid, 'VmRSS')!, fds: openFds(daemon.pid)! };
    // A first round of the same size warms the daemon up (JIT, heap sizing, lazily loaded modules),
    // so that the second round's growth is what each running container holds.
    if (o.warmup) {
      const r = await round(scratch, driver, o, daemon.pid, false);
      if (r.leftovers.length) throw new Error(`the warm-up round left ${r.leftovers.join(', ')}`);
      await sleep(2000);
    }
    const before = { vmRssKiB: statusKiB(daemon.pid, 'VmRSS')!, fds: openFds(daemon.pid)!, cpuPercent: await cpuPercent(daemon.pid, Math.min(o.idleSeconds, 5)) };
    const { allRunningMs, latencies, launcherRss, launcherPss, after, removeAllMs, leftovers: left } = await round(scratch, driver, o, daemon.pid, true);
    leftovers = left;
    const growthPerContainerKiB = (after.vmRssKiB - before.vmRssKiB) / o.containers;
    const coldGrowthPerContainerKiB = (after.vmRssKiB - cold.vmRssKiB) / o.containers;

    const latency = summary(latencies);
    const rss = summary(launcherRss);
    const pss = summary(launcherPss);
    const perContainerOk = rss.median <= TARGET_LAUNCHER_KIB;
    const growthOk = growthPerContainerKiB <= TARGET_DAEMON_GROWTH_KIB;
    const lines = [
      `daemon scale: ${o.containers} containers (busybox sleep 3600), starts ${o.concurrency} at a time`,
      `  all running after          ${(allRunningMs / 1000).toFixed(2)} s (${(allRunningMs / o.containers).toFixed(1)} ms a container)`,
      `  start latency (POST start) median ${latency.median.toFixed(1)} ms, p90 ${latency.p90.toFixed(1)} ms, max ${latency.max.toFixed(1)} ms`,
      `  daemon VmRSS               ${cold.vmRssKiB} KiB fresh, ${before.vmRssKiB} KiB idle${o.warmup ? ` after a warm-up round of ${o.containers}` : ''} -> ${after.vmRssKiB} KiB with ${o.containers} running`,
      `  daemon growth a container  ${growthPerContainerKiB.toFixed(1)} KiB${o.warmup ? ` (from fresh: ${coldGrowthPerContainerKiB.toFixed(1)} KiB)` : ''} (target <= ${TARGET_DAEMON_GROWTH_KIB}: ${growthOk ? 'met' : 'NOT met'})`,
      `  daemon CPU                 ${before.cpuPercent.toFixed(1)}% idle, ${after.cpuPercent.toFixed(1)}% supervising ${o.containers} (of one CPU, over ${o.idleSeconds} s)`,
      `  daemon open fds            ${before.fds} -> ${after.fds}`,
      `  launcher VmRSS             median ${rss.median} KiB, max ${rss.max} KiB (target <= ${TARGET_LAUNCHER_KIB}: ${perContainerOk ? 'met' : 'NOT met'}); Pss median ${pss.median} KiB, max ${pss.max} KiB`,
      `  removed all in             ${(removeAllMs / 1000).toFixed(2)} s; left behind: ${leftovers.length ? leftovers.join(', ') : 'nothing'}`,
    ];
    console.log(lines.join('\n'));
    console.log(
      JSON_MARKER +
        JSON.stringify({
          containers: o.containers,
          concurrency: o.concurrency,
          allRunningMs,
          startLatencyMs: latency,
          daemonFresh: cold,
          daemonBefore: before,
          daemonAfter: after,
          growthPerContainerKiB,
          coldGrowthPerContainerKiB,
          warmup: o.warmup,
          launcherVmRssKiB: rss,
          launcherPssKiB: pss,
          removeAllMs,
          leftovers,
          targets: { perContainerOk, growthOk },
        }),
    );
    return leftovers.length ? 1 : 0;
  } finally {
    if (daemon) await stopDaemonProcess(daemon);
    // whatever is still there (a failure above): destroying the cgroups ends the workloads and so their launchers
    for (const name of await driver.list())
      await driver
        .open(name)
        .destroy()
        .catch((err: Error) => console.error(`cannot remove cgroup ${name}: ${err.message}`));
    await driver.removeParentIfEmpty();
    fs.rmSync(scratch.tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`daemon-scale: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
