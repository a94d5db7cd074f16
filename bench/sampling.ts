/**
 * The cost of watching 500 containers: `npm run bench:sampling` (as root, on the host).
 *
 * Starts `corral daemon` (temp --root and socket, --metrics-addr on a free loopback port) and, through
 * its API, N busybox `sleep` containers (default 500; BENCH_CONTAINERS=n) under a cgroup parent of
 * the bench's own. Then, with every container sampled once a second:
 *   - the daemon's CPU time per second (utime + stime of /proc/<pid>/stat over BENCH_SECONDS, default
 *     20), and the part inside its sampling ticks (corral_sampler_cpu_seconds_total, same window);
 *   - the sampler alone (counted from BENCH_WARM_UP_SECONDS after its start, default 2: see below):
 *     the same Sampler in a process of its own (bench/sampler-alone.ts), over the same
 *     containers, its process CPU time per second (what sampling costs, without the supervisor), as
 *     the daemon runs it (a quiet container's other files read in full every 10 s) and reading every
 *     file every second (the cost when every container is busy);
 *   - the floor: a C reader (bench/floor/sample-floor.c, built here with cc into bench/.cache/) doing
 *     exactly the preads of the same passes over the same files (bench/sampler-files.ts finds them with
 *     the sampler's own readers) at the same interval, in both modes, and the sampler's ratio to it:
 *     the sampler's share of a core differs from machine to machine, its ratio to the kernel's own
 *     cost of the reads much less. The sampler and the floor run one after the other, BENCH_ROUNDS
 *     times (default 3), and the medians are given;
 *   - median and p99 of a /metrics scrape (30 scrapes one after the other, fetch() reading the text:
 *     identity, and gzip as Prometheus asks for it, decompressed by the client), of the first scrape
 *     after a tick (10, one interval apart: the daemon renders the text then, which is what a
 *     Prometheus scraping every 15 s always gets), of GET /containers/stats (20) and of a
 *     `corral stats --no-stream` (20 runs).
 * Targets: sampling at most 2% of one core, and at most 1.25x the floor for quiet containers, 1.5x
 * reading every file every tick; a scrape at most 50 ms median. Prints the figures and, last, one JSON
 * line. Every container is removed at the end, and the daemons stopped, also on failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ensureBusyboxRootfs } from '../test/helpers/busybox.js';
import { createCgroupDriver } from '../src/cgroups/index.js';
import { freePort } from '../test/helpers/ports.js';
import { formatFloorList, samplerFiles } from './sampler-files.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url)); // dist/bench/ -> checkout
const CORRAL = path.join(REPO, 'bin', 'corral');
const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PARENT = `corral-bench-${process.pid}`;
const CLK_TCK = 100;
const JSON_MARKER = 'CORRAL_BENCH_JSON ';
/** the sampler's quiet-mode idle interval (the daemon's default), and the one that reads every file every tick */
const IDLE_MS = 10_000;
const EVERY_TICK_MS = 1000;
const FLOOR_SOURCE = path.join(REPO, 'bench', 'floor', 'sample-floor.c');
const FLOOR_BIN = path.join(REPO, 'bench', '.cache', 'sample-floor');
const TARGET_QUIET_RATIO = 1.25;
const TARGET_EVERY_FILE_RATIO = 1.5;
/**
 * BENCH_WARM_UP_SECONDS (default 2): how long the sampler alone runs before its CPU time is counted.
 * V8 compiles the sampler's code with TurboFan on threads of its own as it gets hot, which on the
 * build machine goes on for 30 s and more (the full readings are a tenth of a tick's containers, so
 * they get hot slowly) and is counted in the process's CPU time: 2 s counts much of that one-time
 * cost, 60 s measures what a daemon that has run for a while costs.
 */
const WARM_UP_SECONDS = Number(process.env.BENCH_WARM_UP_SECONDS ?? 2);
/** BENCH_CPU_PROF=DIR: the sampler-alone processes write V8 CPU profiles there (node --cpu-prof; it slows them) */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;

interface Daemon {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<unknown>;
}

function api(socket: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { socketPath: socket, method, path: p, agent: false, headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {} },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function startDaemon(root: string, socket: string, metricsPort: number, interval: string): Promise<Daemon> {
  const child = spawn(process.execPath, [CORRAL, '--root', root, '--host', `unix://${socket}`, 'daemon', '--metrics-addr', `127.0.0.1:${metricsPort}`, '--sample-interval', interval], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-50_000)));
  const exited = new Promise((resolve) => child.once('close', resolve));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the daemon exited:\n${stderr}`);
    if (
      await api(socket, 'GET', '/_ping').then(
        (r) => r.body === 'OK',
        () => false,
      )
    )
      return { child, stderr: () => stderr, exited };
    if (Date.now() > deadline) throw new Error(`the daemon does not answer:\n${stderr}`);
    await sleep(100);
  }
}

async function stopDaemon(d: Daemon | undefined): Promise<void> {
  if (!d || d.child.exitCode !== null) return;
  d.child.kill('SIGTERM');
  await d.exited;
}

/** utime + stime of a process, seconds. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** The size of the gzipped exposition, as sent. */
function gzipLength(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics', headers: { 'accept-encoding': 'gzip' }, agent: false }, (res) => {
        let n = 0;
        res.on('data', (d: Buffer) => (n += d.length));
        res.on('end', () => resolve(res.headers['content-encoding'] === 'gzip' ? n : NaN));
      })
      .on('error', reject);
  });
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} in the scrape`);
  return Number(m[1]);
}

/** Run `n` tasks with at most `width` at a time. */
async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Median and p99 of `n` runs of `fn`, each timed whole, or by the ms it returns itself. */
async function timed(n: number, fn: (() => Promise<void>) | (() => Promise<number>)): Promise<{ median: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const own = await fn();
    times.push(typeof own === 'number' ? own : performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { median: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

function median(values: readonly number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/**
 * The floor's binary, built from bench/floor/sample-floor.c when missing or older than its source:
 * a bench tool, so not part of native/'s build (which ships what runs on the host and in the guest).
 */
function buildFloor(): string {
  const fresh = fs.existsSync(FLOOR_BIN) && fs.statSync(FLOOR_BIN).mtimeMs >= fs.statSync(FLOOR_SOURCE).mtimeMs;
  if (!fresh) {
    fs.mkdirSync(path.dirname(FLOOR_BIN), { recursive: true });
    const cc = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu11', '-D_GNU_SOURCE', '-static', '-o', FLOOR_BIN, FLOOR_SOURCE], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`cc ${FLOOR_SOURCE}: ${cc.error?.message ?? `exit ${String(cc.status)}`}\n${cc.stderr}`);
  }
  return FLOOR_BIN;
}

/** What sampler-alone.js prints. */
interface AloneResult {
  percent: number;
  insideTicksPercent: number;
  containers: number;
  full: number;
  quiet: number;
}

/** What sample-floor prints. */
interface FloorResult {
  percent: number;
  ticks: number;
  containers: number;
  files: number;
  preads: number;
  full: number;
  quiet: number;
  errors: number;
}

/** One JSON line of a child's stdout; a failure stops the bench. */
async function jsonOf<T>(what: string, command: string, args: string[]): Promise<T> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`${what} exited ${String(code)}`);
  return JSON.parse(out) as T;
}

/** Daemon CPU per second of wall time over SECONDS, and the sampler's own share, as % of one core. */
async function measureCpu(d: Daemon, port: number): Promise<{ daemon: number; sampler: number }> {
  const pid = d.child.pid!;
  const c0 = cpuSeconds(pid);
  const s0 = await metric(port, 'corral_sampler_cpu_seconds_total');
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const c1 = cpuSeconds(pid);
  const s1 = await metric(port, 'corral_sampler_cpu_seconds_total');
  const wall = (performance.now() - t0) / 1000;
  return { daemon: ((c1 - c0) / wall) * 100, sampler: ((s1 - s0) / wall) * 100 };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:sampling needs root (it starts containers)');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-bench-sampling-'));
  const root = path.join(tmp, 'root');
  const socket = path.join(tmp, 'corral.sock');
  const port = await freePort();
  const ids: string[] = [];
  let daemon: Daemon | undefined;
  try {
    const rootfs = await ensureBusyboxRootfs(path.join(tmp, 'busybox'));
    daemon = await startDaemon(root, socket, port, '1s');
    const t0 = performance.now();
    await pool(
      Array.from({ length: CONTAINERS }, (_, i) => i),
      4,
      async (i) => {
        const r = await api(socket, 'POST', `/containers/create?name=bench-${i}`, {
          Image: rootfs,
          Cmd: ['sleep', '100000'],
          HostConfig: { CgroupParent: PARENT, NetworkMode: 'none', Memory: 16 << 20, PidsLimit: 16 },
        });
        if (r.status !== 201) throw new Error(`create: ${r.status} ${r.body}`);
        const id = (JSON.parse(r.body) as { Id: string }).Id;
        ids.push(id);
        const s = await api(socket, 'POST', `/containers/${id}/start`);
        if (s.status !== 204) throw new Error(`start: ${s.status} ${s.body}`);
      },
    );
    console.log(`${CONTAINERS} containers started in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (;;) {
      if ((await metric(port, 'corral_sampler_containers')) === CONTAINERS) break;
      await sleep(500);
    }
    await sleep(3000); // let the start-up settle

    const withSampling = await measureCpu(daemon, port);
    const tick = await metric(port, 'corral_sampler_last_tick_seconds');
    const scrapeWith = (encoding: string) => async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { 'accept-encoding': encoding } });
      await res.text();
    };
    const scrape = await timed(30, scrapeWith('identity'));
    const scrapeGzip = await timed(30, scrapeWith('gzip'));
    // the first scrape after a tick: one interval's wait before each
    const firstAfterTick = await timed(10, async () => {
      await sleep(1000);
      const t = performance.now();
      await scrapeWith('identity')();
      return performance.now() - t;
    });
    const firstAfterTickGzip = await timed(10, async () => {
      await sleep(1000);
      const t = performance.now();
      await scrapeWith('gzip')();
      return performance.now() - t;
    });
    const scrapeBytes = (await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { 'accept-encoding': 'identity' } })).text()).length;
    const gzipBytes = await gzipLength(port);
    const allStats = await timed(20, async () => {
      const r = await api(socket, 'GET', '/containers/stats');
      if (r.status !== 200 || (JSON.parse(r.body) as unknown[]).length !== CONTAINERS) throw new Error(`GET /containers/stats: ${r.status}`);
    });
    const stats = await timed(20, async () => {
      const p = spawn(process.execPath, [CORRAL, '--host', `unix://${socket}`, 'stats', '--no-stream'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let lines = 0;
      p.stdout!.on('data', (d: Buffer) => (lines += d.toString().split('\n').length - 1));
      const code = await new Promise((resolve) => p.once('close', resolve));
      if (code !== 0 || lines !== CONTAINERS + 1) throw new Error(`corral stats --no-stream: exit ${String(code)}, ${lines} lines`);
    });

    // The sampler alone: the same code in a process of its own (bench/sampler-alone.ts), over the
    // same containers (the daemon's own figure also holds its supervisor's exit watching, and
    // process.cpuUsage counts the thread pool's work done during a tick as the tick's). Twice: as the
    // daemon runs it (quiet containers read in full every 10 s), and reading every file of every
    // container every second (--sample-idle-interval 1s: what 500 busy containers cost).
    const samplerAlone = (idleIntervalMs?: number) =>
      jsonOf<AloneResult>('sampler-alone', process.execPath, [
        ...(CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF_DIR, '--cpu-prof-name', `sampler-alone-${idleIntervalMs ?? IDLE_MS}-${Date.now()}.cpuprofile`] : []),
        path.join(REPO, 'dist', 'bench', 'sampler-alone.js'),
        root,
        String(SECONDS),
        idleIntervalMs ? String(idleIntervalMs) : '-',
        String(WARM_UP_SECONDS),
      ]);
    // The floor: the same preads in C, over the files the sampler's readers read (as of now: the
    // containers are the same all along), in the same modes.
    const floorBin = buildFloor();
    const listOf = async (idleMs: number) => {
      const file = path.join(tmp, `floor-${idleMs}.list`);
      fs.writeFileSync(file, formatFloorList(await samplerFiles(root, idleMs)));
      return file;
    };
    const floorLists = { quiet: await listOf(IDLE_MS), everyFile: await listOf(EVERY_TICK_MS) };
    const floor = (list: string, idleMs: number) => jsonOf<FloorResult>('sample-floor', floorBin, [list, '1000', String(idleMs), String(SECONDS)]);
    const rounds: { alone: AloneResult; floor: FloorResult; aloneEveryFile: AloneResult; floorEveryFile: FloorResult }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      rounds.push({
        alone: await samplerAlone(),
        floor: await floor(floorLists.quiet, IDLE_MS),
        aloneEveryFile: await samplerAlone(EVERY_TICK_MS),
        floorEveryFile: await floor(floorLists.everyFile, EVERY_TICK_MS),
      });
    }
    /** per field, the median over the rounds */
    const medians = <T extends object>(of: (r: (typeof rounds)[number]) => T): T => {
      const first = of(rounds[0]!);
      const out = {} as Record<string, number>;
      for (const key of Object.keys(first)) out[key] = median(rounds.map((r) => (of(r) as Record<string, number>)[key]!));
      return out as T;
    };
    const alone = medians((r) => r.alone);
    const aloneEveryFile = medians((r) => r.aloneEveryFile);
    const floorQuiet = medians((r) => r.floor);
    const floorEveryFile = medians((r) => r.floorEveryFile);
    // The ratio per container reading: sampler-alone's window is SECONDS of wall time, not whole ticks
    // (a tick in progress at either end is partly counted: ~10.9 ticks' readings in 10 s), the
    // floor's is whole ticks; CPU per reading compares the same work.
    const perReading = (r: { percent: number; full: number; quiet: number }) => r.percent / (r.full + r.quiet);
    const ratioQuiet = median(rounds.map((r) => perReading(r.alone))) / median(rounds.map((r) => perReading(r.floor)));
    const ratioEveryFile = median(rounds.map((r) => perReading(r.aloneEveryFile))) / median(rounds.map((r) => perReading(r.floorEveryFile)));
    const floorErrors = rounds.reduce((n, r) => n + r.floor.errors + r.floorEveryFile.errors, 0);

    const cores = os.cpus().length;
    console.log(`\nsampling ${CONTAINERS} containers every 1 s (${cores} CPUs, kernel ${os.release()}; the sampler alone counted from ${WARM_UP_SECONDS} s after its start):`);
    console.log(
      `  sampler alone (its own process):   ${alone.percent.toFixed(2)}% of one core for ${alone.containers} containers, ${alone.insideTicksPercent.toFixed(2)}% inside its ticks   target <= 2%   (medians of ${ROUNDS} rounds)`,
    );
    console.log(`    readings: ${alone.full} full, ${alone.quiet} quiet (CPU and memory counters unchanged; the rest read in full every 10 s)`);
    console.log(
      `  sampler alone, every file every 1 s: ${aloneEveryFile.percent.toFixed(2)}% of one core (--sample-idle-interval 1s: the cost when all ${aloneEveryFile.containers} are busy; ${aloneEveryFile.full} full readings)`,
    );
    const range = (of: (r: (typeof rounds)[number]) => number) => {
      const all = rounds.map(of);
      return `${Math.min(...all).toFixed(2)}-${Math.max(...all).toFixed(2)}`;
    };
    console.log(
      `  floor (C, the same preads: ${floorQuiet.files} files kept open), quiet: ${floorQuiet.percent.toFixed(2)}% of one core (${floorQuiet.full} full, ${floorQuiet.quiet} quiet readings; ${floorQuiet.preads} preads)`,
    );
    console.log(
      `    sampler / floor, quiet:             ${ratioQuiet.toFixed(2)}x per reading (rounds: sampler ${range((r) => r.alone.percent)}%, floor ${range((r) => r.floor.percent)}%)   target <= ${TARGET_QUIET_RATIO}x`,
    );
    console.log(`  floor, every file every 1 s:       ${floorEveryFile.percent.toFixed(2)}% of one core (${floorEveryFile.preads} preads)`);
    console.log(
      `    sampler / floor, every file:       ${ratioEveryFile.toFixed(2)}x per reading (rounds: sampler ${range((r) => r.aloneEveryFile.percent)}%, floor ${range((r) => r.floorEveryFile.percent)}%)   target <= ${TARGET_EVERY_FILE_RATIO}x`,
    );
    if (floorErrors > 0) console.log(`    (the floor's preads failed ${floorErrors} times: a container ended during the run)`);
    console.log(`  daemon, whole process:             ${withSampling.daemon.toFixed(2)}% of one core (sampling, scrapes of nobody, and the supervisor following ${CONTAINERS} containers' exits)`);
    console.log(`  daemon, inside its sampling ticks: ${withSampling.sampler.toFixed(2)}% of one core (corral_sampler_cpu_seconds_total; counts other threads' work during a tick too)`);
    console.log(`  one pass over ${CONTAINERS} containers:     ${(tick * 1000).toFixed(1)} ms wall`);
    console.log(`  /metrics scrape (${(scrapeBytes / 1e6).toFixed(1)} MB):      median ${scrape.median.toFixed(1)} ms, p99 ${scrape.p99.toFixed(1)} ms   target <= 50 ms median`);
    console.log(`    gzip (${(gzipBytes / 1e6).toFixed(2)} MB, fetch() inflates): median ${scrapeGzip.median.toFixed(1)} ms, p99 ${scrapeGzip.p99.toFixed(1)} ms`);
    console.log(
      `    first after a tick (renders): median ${firstAfterTick.median.toFixed(1)} ms, p99 ${firstAfterTick.p99.toFixed(1)} ms; gzip median ${firstAfterTickGzip.median.toFixed(1)} ms, p99 ${firstAfterTickGzip.p99.toFixed(1)} ms`,
    );
    console.log(`  GET /containers/stats (${CONTAINERS}):    median ${allStats.median.toFixed(1)} ms, p99 ${allStats.p99.toFixed(1)} ms`);
    console.log(`  corral stats --no-stream:        median ${stats.median.toFixed(1)} ms, p99 ${stats.p99.toFixed(1)} ms (a whole CLI run, Node's start-up included)`);
    console.log(
      JSON_MARKER +
        JSON.stringify({
          bench: 'sampling',
          containers: CONTAINERS,
          seconds: SECONDS,
          rounds: ROUNDS,
          warmUpSeconds: WARM_UP_SECONDS,
          cores,
          kernel: os.release(),
          samplerAlone: { quiet: alone, everyFile: aloneEveryFile },
          floor: { quiet: floorQuiet, everyFile: floorEveryFile },
          ratio: { quiet: ratioQuiet, everyFile: ratioEveryFile },
          targetRatio: { quiet: TARGET_QUIET_RATIO, everyFile: TARGET_EVERY_FILE_RATIO },
          perRound: rounds,
          daemon: { percent: withSampling.daemon, insideTicksPercent: withSampling.sampler },
          onePassMs: tick * 1000,
          scrape: { bytes: scrapeBytes, gzipBytes, identity: scrape, gzip: scrapeGzip, firstAfterTick, firstAfterTickGzip },
          containersStats: allStats,
          statsNoStream: stats,
        }),
    );
  } finally {
    if (daemon && daemon.child.exitCode === null) {
      await pool(ids, 4, async (id) => {
        await api(socket, 'DELETE', `/containers/${id}?force=1`).catch(() => undefined);
      });
    }
    await stopDaemon(daemon);
    // whatever is left (a daemon that died): kill the cgroups, which ends the workloads and their launchers
    const driver = await createCgroupDriver({ parent: PARENT });
    for (const name of await driver.list()) await driver.open(name).destroy();
    await driver.removeParentIfEmpty();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(`bench:sampling failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
