/**
 * Start-to-exit latency of `/bin/true` under limits (64 MiB memory, 64 pids, 1 CPU), one busybox
 * rootfs for every tool:
 *
 *   corral-launch   runForeground() from an already running process (no Node start-up)
 *   corral-command  the whole `node bin/corral run --rm ...` command, spawn to exit, stand-alone
 *   corral-front    the whole `bin/corral run --rm ...` command as a user types it, with a daemon
 *                   running (bench-started, own socket and root): sh, native/corral-front, the
 *                   daemon's prepare and finish, the launcher
 *   runc            `runc run` of an OCI bundle made from `runc spec`
 *   crun            `crun run` of the same bundle (pure cgroup v2 only: crun refuses the hybrid host)
 *   node-startup    `node -e 0`, for reference: the part of corral-command that is Node's own start-up
 *
 * On the host (hybrid, cgroup v1) it measures corral and runc, then boots the pure cgroup v2 QEMU
 * guest and runs itself there with --inside-guest (corral, runc and crun), and collects the guest's
 * JSON line. Runs are interleaved: every round runs each tool once, in an order rotated per round;
 * warm-up rounds are not counted. Absolute guest times are meaningless (software emulation): compare
 * tools by the ratios measured in the same run.
 *
 * It also reads the resident memory of the per-container launcher (corral-launch) while a
 * `sleep 5` container runs.
 *
 * Usage: node dist/bench/start-latency.js [--rounds N] [--warmup N] [--guest-rounds N]
 *          [--no-guest] [--guest-timeout-min N] [--inside-guest]
 * Prints a table per environment and, last, one JSON line with everything.
 *
 * Cleanup: its temp dir (rootfs, bundle, runc/crun state, corral state), every runc/crun container
 * and cgroup it made (checked after each run), corral's default cgroup parent if it did not exist
 * before, and every process it started (by pid).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ensureBusyboxRootfs } from '../test/helpers/busybox.js';
import { runInGuest } from '../test/vm/guest.js';
import { runForeground, type RunPhase } from '../src/container/run.js';
import { parseRunArgs } from '../src/container/config/run-flags.js';
import { hostFacts } from '../src/container/config/host-facts.js';
import { createCgroupDriver } from '../src/cgroups/index.js';
import { smapsKiB, statusKiB } from './proc.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url)); // dist/bench/ -> checkout
const CORRAL_BIN = path.join(REPO, 'bin/corral');
const JSON_MARKER = 'CORRAL_BENCH_JSON ';
const MEMORY_BYTES = 64 * 1024 * 1024;
const PIDS_LIMIT = 64;
const CPU_QUOTA = 100_000;
const CPU_PERIOD = 100_000;
/** the corral flags matching the OCI limits above */
const LIMIT_FLAGS = ['-m', '64m', '--pids-limit', String(PIDS_LIMIT), '--cpus', '1'];

type Tool = 'corral-launch' | 'corral-command' | 'corral-front' | 'runc' | 'crun' | 'node-startup';

interface Options {
  rounds: number;
  warmup: number;
  guestRounds: number;
  guest: boolean;
  insideGuest: boolean;
  guestTimeoutMin: number;
}

interface Stats {
  n: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  meanMs: number;
}

interface RssReport {
  launcherPid: number;
  launcherVmRssKiB: number;
  launcherRssAnonKiB?: number;
  launcherRssFileKiB?: number;
  launcherPssKiB?: number;
  /** Rss from smaps_rollup (a page-table walk; VmRSS is from counters that may lag) */
  launcherSmapsRssKiB?: number;
  supervisorVmRssKiB?: number;
  error?: string;
}

interface EnvResult {
  environment: 'host-cgroup-v1' | 'guest-cgroup-v2';
  kernel: string;
  rounds: number;
  warmup: number;
  tools: Partial<Record<Tool, Stats>>;
  ratios: Record<string, number>;
  /** median ms of each phase of the launch path (runForeground's onPhase) */
  launchPhases?: Record<string, number>;
  rss?: RssReport;
  versions: Record<string, string>;
  cgroupLeftoversRemoved: number;
  elapsedS: number;
  /** 1-minute load average at the start and at the end (other work on the machine skews absolute times) */
  loadAvg: [number, number];
}

// ---------------------------------------------------------------------------------------------
// arguments

function parseOptions(argv: string[]): Options {
  const o: Options = { rounds: 30, warmup: 3, guestRounds: -1, guest: true, insideGuest: false, guestTimeoutMin: 40 };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--rounds':
        o.rounds = num(a, argv[++i], 1);
        break;
      case '--warmup':
        o.warmup = num(a, argv[++i], 0);
        break;
      case '--guest-rounds':
        o.guestRounds = num(a, argv[++i], 1);
        break;
      case '--guest-timeout-min':
        o.guestTimeoutMin = num(a, argv[++i], 1);
        break;
      case '--no-guest':
        o.guest = false;
        break;
      case '--inside-guest':
        o.insideGuest = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write('usage: start-latency [--rounds N=30] [--warmup N=3] [--guest-rounds N=rounds] [--no-guest]\n' + '                     [--guest-timeout-min N=40] [--inside-guest]\n');
        return process.exit(0);
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  if (o.guestRounds < 0) o.guestRounds = o.rounds;
  return o;
}

// ---------------------------------------------------------------------------------------------
// statistics

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  const p90 = s[Math.max(0, Math.ceil(0.9 * n) - 1)]!;
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n, medianMs: r(median), p90Ms: r(p90), minMs: r(s[0]!), meanMs: r(s.reduce((a, b) => a + b, 0) / n) };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

const ratio = (a: Stats | undefined, b: Stats | undefined): number | undefined => (a && b ? Math.round((a.medianMs / b.medianMs) * 1000) / 1000 : undefined);

// ---------------------------------------------------------------------------------------------
// processes: every child is tracked by pid and killed on an early exit

const children = new Set<ChildProcess>();
/** set by the first SIGINT/SIGTERM */
let interrupted: NodeJS.Signals | undefined;
let inGuestPhase = false;

function killChildren(): void {
  for (const c of children) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

interface Timed {
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Spawn with stdin/stdout ignored and stderr collected; time spawn() to 'exit'. */
function timedSpawn(file: string, args: string[], opts: { cwd?: string } = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const t0 = performance.now();
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    children.add(child);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 8192) stderr += d;
    });
    let ms = 0;
    child.once('exit', () => {
      ms = performance.now() - t0;
    });
    child.once('error', (err) => {
      children.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ ms, code, signal, stderr });
    });
  });
}

function checkOk(tool: string, r: Timed): void {
  if (r.code !== 0) {
    throw new Error(`${tool} failed (code ${r.code}, signal ${r.signal}): ${r.stderr.trim() || '(no stderr)'}`);
  }
}

function toolVersion(file: string, args: string[]): string {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 30_000 });
  return (r.stdout || r.stderr || '').split('\n')[0]?.trim() ?? '?';
}

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  for (const p of [`/usr/sbin/${name}`, `/usr/bin/${name}`, `/sbin/${name}`]) if (fs.existsSync(p)) return p;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// cgroups: our own cgroup per hierarchy, for the OCI runtimes' cgroupsPath and the leftover check

interface Hierarchy {
  /** "memory", "cpu", "name=systemd", "" for the cgroup2 hierarchy */
  controllers: string;
  mountPoint: string;
  /** own cgroup path in this hierarchy, as in /proc/self/cgroup */
  ownPath: string;
  /** directory of the own cgroup */
  ownDir: string;
}

function ownHierarchies(): Hierarchy[] {
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pre, post = ''] = line.split(' - ');
      const f = pre!.split(' ');
      const [fstype = '', , superOpts = ''] = post.split(' ');
      return { root: f[3]!, mountPoint: f[4]!, fstype, superOpts: superOpts.split(',') };
    })
    .filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2');
  const out: Hierarchy[] = [];
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean)) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    const controllers = line.slice(first + 1, second);
    const ownPath = line.slice(second + 1);
    const wanted = controllers === '' ? [] : controllers.split(',');
    const m = mounts.find((mt) => (controllers === '' ? mt.fstype === 'cgroup2' : mt.fstype === 'cgroup' && wanted.every((c) => mt.superOpts.includes(c))));
    if (!m) continue;
    if (ownPath !== m.root && !ownPath.startsWith(m.root === '/' ? '/' : `${m.root}/`)) continue; // not visible here
    const rel = m.root === '/' ? ownPath : ownPath.slice(m.root.length);
    out.push({ controllers, mountPoint: m.mountPoint, ownPath, ownDir: path.join(m.mountPoint, rel) });
  }
  return out;
}

function isCgroup2Root(): boolean {
  try {
    return fs.statfsSync('/sys/fs/cgroup').type === 0x63677270; // CGROUP2_SUPER_MAGIC
  } catch {
    return false;
  }
}

/** rmdir the given cgroup dirs (deepest first) if they exist; returns how many were removed. */
function removeCgroupDirs(dirs: string[]): number {
  let removed = 0;
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    try {
      fs.rmdirSync(d);
      removed++;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') process.stderr.write(`start-latency: cannot remove cgroup ${d}: ${code}\n`);
    }
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------
// /proc helpers for the launcher's resident memory

function procStat(pid: number): { comm: string; ppid: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const open = s.indexOf('(');
    const close = s.lastIndexOf(')');
    const rest = s.slice(close + 2).split(' ');
    return { comm: s.slice(open + 1, close), ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

function childrenOf(ppid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (st && st.ppid === ppid) out.push({ pid: Number(name), comm: st.comm });
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run one `corral run ... sleep 5` and read VmRSS of its corral-launch while the workload runs. */
async function measureLauncherRss(rootfs: string, stateRoot: string): Promise<RssReport> {
  let stderr = '';
  const child = spawn(process.execPath, [CORRAL_BIN, '--root', stateRoot, 'run', '--rm', '--rootfs', rootfs, ...LIMIT_FLAGS, '/bin/sleep', '5'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let report: RssReport = { launcherPid: -1, launcherVmRssKiB: -1, error: 'the launcher was not found' };
  try {
    const deadline = Date.now() + 120_000;
    let exited = false;
    void done.then(() => (exited = true));
    while (!exited && Date.now() < deadline) {
      const launcher = childrenOf(child.pid!).find((c) => c.comm === 'corral-launch');
      // the workload has exec'd once the launcher has a child that is no longer corral-launch
      if (launcher && childrenOf(launcher.pid).some((c) => c.comm !== 'corral-launch')) {
        await sleep(200); // let the launcher settle into its wait loop
        const rss = statusKiB(launcher.pid, 'VmRSS');
        if (rss !== undefined) {
          report = {
            launcherPid: launcher.pid,
            launcherVmRssKiB: rss,
            launcherRssAnonKiB: statusKiB(launcher.pid, 'RssAnon'),
            launcherRssFileKiB: statusKiB(launcher.pid, 'RssFile'),
            launcherPssKiB: smapsKiB(launcher.pid, 'Pss'),
            launcherSmapsRssKiB: smapsKiB(launcher.pid, 'Rss'),
            supervisorVmRssKiB: statusKiB(child.pid!, 'VmRSS'),
          };
        }
        break;
      }
      await sleep(10);
    }
    const code = await done;
    if (code !== 0) report.error = `corral run sleep 5 failed (code ${code}): ${stderr.trim()}`;
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
    await done;
    children.delete(child);
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// one environment

async function makeBundle(runc: string, bundle: string, rootfs: string): Promise<object> {
  await fsp.mkdir(bundle, { recursive: true });
  const r = spawnSync(runc, ['spec', '--bundle', bundle], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`runc spec failed: ${r.stderr}`);
  const file = path.join(bundle, 'config.json');
  const config = JSON.parse(await fsp.readFile(file, 'utf8'));
  config.root = { path: rootfs, readonly: false }; // corral's default rootfs (an overlay) is writable too
  config.process.args = ['/bin/true'];
  config.process.terminal = false;
  config.linux.resources = {
    ...config.linux.resources, // keeps runc's default device rule
    memory: { limit: MEMORY_BYTES },
    pids: { limit: PIDS_LIMIT },
    cpu: { quota: CPU_QUOTA, period: CPU_PERIOD },
  };
  return config;
}

async function measureEnvironment(opts: { rounds: number; warmup: number }): Promise<EnvResult> {
  const started = performance.now();
  const load0 = round2(os.loadavg()[0]!);
  const v2 = isCgroup2Root();
  const runc = which('runc');
  const crun = v2 ? which('crun') : undefined; // crun refuses the hybrid host
  if (!runc) throw new Error('runc is not installed');
  if (v2 && !crun) throw new Error('crun is not installed');

  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'corral-bench-'));
  const rootfs = path.join(tmp, 'rootfs');
  const bundle = path.join(tmp, 'bundle');
  const ociState: Partial<Record<Tool, string>> = { runc: path.join(tmp, 'runc-state'), crun: path.join(tmp, 'crun-state') };
  const corralCmdRoot = path.join(tmp, 'corral-command');
  const corralLaunchRoot = path.join(tmp, 'corral-launch');
  const hierarchies = ownHierarchies();
  const tag = `corral-bench-${process.pid}`;
  let leftovers = 0;
  // corral's default cgroup parent (<own>/corral, per hierarchy): at the end, removed if empty
  // in the hierarchies where it did not exist before this run (elsewhere it may be someone else's)
  const corralParentsMade = hierarchies.map((h) => path.join(h.ownDir, 'corral')).filter((d) => !fs.existsSync(d));
  try {
    await ensureBusyboxRootfs(rootfs);
    await fsp.mkdir(corralCmdRoot, { recursive: true });
    await fsp.mkdir(corralLaunchRoot, { recursive: true });
    const baseConfig = (await makeBundle(runc, bundle, rootfs)) as { linux: { cgroupsPath?: string } };

    // corral in-process: the driver and host facts are made once, as a long-running supervisor would
    const driver = await createCgroupDriver({});
    const facts = await hostFacts(driver);
    const runArgv = ['--rm', '--rootfs', rootfs, ...LIMIT_FLAGS, '/bin/true'];

    // cgroupsPath for the OCI runtimes, under our own cgroup in every hierarchy.
    // v1 (host): relative paths are resolved by runc against its own cgroup per hierarchy
    //   (memory: /process_api/<id>/<leaf>, the others: /<leaf>), so nothing is made outside
    //   our cgroups and no intermediate directories are left behind.
    // v2 (guest): absolute, <own>/corral-bench-<pid>/<tool>-<n>.
    const own2 = hierarchies.find((h) => h.controllers === '')?.ownPath ?? '/';
    const cgroupsPathFor = (tool: Tool, n: number): { cgroupsPath: string; dirs: string[] } => {
      if (v2) {
        const p = path.posix.join(own2, tag, `${tool}-${n}`);
        return { cgroupsPath: p, dirs: [path.join('/sys/fs/cgroup', p)] };
      }
      const leaf = `${tag}-${tool}-${n}`;
      return { cgroupsPath: leaf, dirs: hierarchies.map((h) => path.join(h.ownDir, leaf)) };
    };

    let seq = 0;
    const runOci = async (tool: 'runc' | 'crun'): Promise<number> => {
      const bin = tool === 'runc' ? runc : crun!;
      const n = ++seq;
      const { cgroupsPath, dirs } = cgroupsPathFor(tool, n);
      // one bundle dir per run would add file-system work; rewrite config.json between runs instead
      await fsp.writeFile(path.join(bundle, 'config.json'), JSON.stringify({ ...baseConfig, linux: { ...baseConfig.linux, cgroupsPath } }));
      const id = `${tag}-${tool}-${n}`;
      const state = ociState[tool]!;
      try {
        const r = await timedSpawn(bin, ['--root', state, 'run', '--bundle', bundle, id], { cwd: bundle });
        checkOk(tool, r);
        return r.ms;
      } finally {
        if (fs.existsSync(path.join(state, id))) {
          spawnSync(bin, ['--root', state, 'delete', '-f', id], { stdio: 'ignore' });
        }
        const removed = removeCgroupDirs(dirs.filter((d) => fs.existsSync(d)));
        if (removed > 0) {
          leftovers += removed;
          process.stderr.write(`start-latency: ${tool} left ${removed} cgroup dir(s) of ${id}; removed\n`);
        }
      }
    };
    const runCorralCommand = async (): Promise<number> => {
      const r = await timedSpawn(process.execPath, [CORRAL_BIN, '--root', corralCmdRoot, 'run', ...runArgv]);
      checkOk('corral run', r);
      return r.ms;
    };
    // the daemon the fast front talks to: started once, like a supervisor that is already running
    const frontRoot = path.join(tmp, 'corral-front');
    const frontSocket = path.join(tmp, 'corral.sock');
    const daemon = spawn(process.execPath, [CORRAL_BIN, '--root', frontRoot, '--host', `unix://${frontSocket}`, 'daemon', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.add(daemon);
    for (const deadline = Date.now() + 30_000; ; ) {
      if (daemon.exitCode !== null) throw new Error('the bench daemon exited');
      const up = await new Promise<boolean>((resolve) => {
        const c = net.connect(frontSocket, () => {
          c.destroy();
          resolve(true);
        });
        c.on('error', () => resolve(false));
      });
      if (up) break;
      if (Date.now() > deadline) throw new Error('the bench daemon did not listen within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const runCorralFront = async (): Promise<number> => {
      const r = await timedSpawn(CORRAL_BIN, ['--root', frontRoot, '--host', `unix://${frontSocket}`, 'run', ...runArgv]);
      checkOk('corral run (front)', r);
      return r.ms;
    };
    const phaseSamples: Record<string, number[]> = {};
    const runCorralLaunch = async (): Promise<number> => {
      const config = parseRunArgs(runArgv, facts);
      const t0 = performance.now();
      let last = t0;
      const onPhase = (phase: RunPhase) => {
        const now = performance.now();
        phaseSamples[phase] ??= [];
        phaseSamples[phase].push(now - last);
        last = now;
      };
      const code = await runForeground(config, { stateRoot: corralLaunchRoot, driver, stderr: process.stderr, onPhase });
      const ms = performance.now() - t0;
      if (code !== 0) throw new Error(`runForeground returned ${code}`);
      return ms;
    };

    const tools: Tool[] = ['corral-launch', 'corral-command', 'corral-front', 'runc', ...(v2 ? (['crun'] as Tool[]) : []), 'node-startup'];
    const runners: Record<Tool, () => Promise<number>> = {
      'corral-launch': runCorralLaunch,
      'corral-command': runCorralCommand,
      'corral-front': runCorralFront,
      runc: () => runOci('runc'),
      crun: () => runOci('crun'),
      'node-startup': async () => {
        const r = await timedSpawn(process.execPath, ['-e', '0']);
        checkOk('node -e 0', r);
        return r.ms;
      },
    };
    const samples: Partial<Record<Tool, number[]>> = {};
    const total = opts.warmup + opts.rounds;
    for (let round = 0; round < total; round++) {
      const order = tools.map((_, k) => tools[(k + round) % tools.length]!);
      const line: string[] = [];
      for (const tool of order) {
        if (interrupted) throw new Error(`interrupted (${interrupted})`);
        const ms = await runners[tool]();
        line.push(`${tool} ${ms.toFixed(1)}`);
        if (round >= opts.warmup) {
          samples[tool] ??= [];
          samples[tool].push(ms);
        }
      }
      const label = round < opts.warmup ? `warm-up ${round + 1}/${opts.warmup}` : `round ${round - opts.warmup + 1}/${opts.rounds}`;
      process.stderr.write(`${label}: ${line.join(', ')} ms\n`);
    }

    const result: Partial<Record<Tool, Stats>> = {};
    for (const t of tools) result[t] = stats(samples[t]!);
    const ratios: Record<string, number> = {};
    const put = (name: string, v: number | undefined) => {
      if (v !== undefined) ratios[name] = v;
    };
    put('corral-launch/runc', ratio(result['corral-launch'], result.runc));
    put('corral-command/runc', ratio(result['corral-command'], result.runc));
    put('corral-front/runc', ratio(result['corral-front'], result.runc));
    put('corral-front/crun', ratio(result['corral-front'], result.crun));
    put('corral-launch/crun', ratio(result['corral-launch'], result.crun));
    put('corral-command/crun', ratio(result['corral-command'], result.crun));
    put('runc/crun', ratio(result.runc, result.crun));

    const launchPhases: Record<string, number> = {};
    for (const [phase, ms] of Object.entries(phaseSamples)) launchPhases[phase] = Number(stats(ms.slice(opts.warmup)).medianMs.toFixed(2));

    if (interrupted) throw new Error(`interrupted (${interrupted})`);
    const rss = await measureLauncherRss(rootfs, corralCmdRoot);

    const versions: Record<string, string> = { node: process.version, runc: toolVersion(runc, ['--version']) };
    if (crun) versions.crun = toolVersion(crun, ['--version']);
    return {
      environment: v2 ? 'guest-cgroup-v2' : 'host-cgroup-v1',
      kernel: os.release(),
      rounds: opts.rounds,
      warmup: opts.warmup,
      tools: result,
      ratios,
      launchPhases,
      rss,
      versions,
      cgroupLeftoversRemoved: leftovers,
      elapsedS: Math.round((performance.now() - started) / 100) / 10,
      loadAvg: [load0, round2(os.loadavg()[0]!)],
    };
  } finally {
    killChildren();
    // OCI containers and cgroups still around after an error
    for (const tool of ['runc', 'crun'] as const) {
      const state = ociState[tool]!;
      const bin = tool === 'runc' ? runc : crun;
      if (!bin || !fs.existsSync(state)) continue;
      for (const id of fs.readdirSync(state)) spawnSync(bin, ['--root', state, 'delete', '-f', id], { stdio: 'ignore' });
    }
    if (v2) {
      const parent = path.join('/sys/fs/cgroup', hierarchies.find((h) => h.controllers === '')?.ownPath ?? '/', tag);
      if (fs.existsSync(parent)) {
        removeCgroupDirs(
          fs
            .readdirSync(parent, { withFileTypes: true })
            .filter((d) => d.isDirectory())
            .map((d) => path.join(parent, d.name)),
        );
        removeCgroupDirs([parent]);
      }
    } else {
      for (const h of hierarchies) {
        for (const name of fs.readdirSync(h.ownDir)) {
          if (name.startsWith(`${tag}-`)) removeCgroupDirs([path.join(h.ownDir, name)]);
        }
      }
    }
    for (const d of corralParentsMade) {
      try {
        fs.rmdirSync(d);
      } catch {
        /* absent, or in use */
      }
    }
    await fsp.rm(tmp, { recursive: true, force: true }).catch((err: Error) => {
      process.stderr.write(`start-latency: cannot remove ${tmp}: ${err.message}\n`);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// output

function table(r: EnvResult): string {
  const hasCrun = r.tools.crun !== undefined;
  const head = ['tool', 'median ms', 'p90 ms', 'min ms', 'vs runc', ...(hasCrun ? ['vs crun'] : [])];
  const rows: string[][] = [head];
  for (const t of ['corral-launch', 'corral-command', 'corral-front', 'runc', 'crun', 'node-startup'] as Tool[]) {
    const s = r.tools[t];
    if (!s) continue;
    const row = [t, s.medianMs.toFixed(2), s.p90Ms.toFixed(2), s.minMs.toFixed(2), (ratio(s, r.tools.runc) ?? NaN).toFixed(3)];
    if (hasCrun) row.push((ratio(s, r.tools.crun) ?? NaN).toFixed(3));
    rows.push(row);
  }
  const widths = head.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const lines = [
    `${r.environment} (kernel ${r.kernel}; ${r.rounds} interleaved rounds after ${r.warmup} warm-up; ${r.elapsedS} s; load ${r.loadAvg[0]} -> ${r.loadAvg[1]})`,
    fmt(rows[0]!),
    ...rows.slice(1).map(fmt),
  ];
  const targets: string[] = [];
  if (r.ratios['corral-launch/crun'] !== undefined) targets.push(`launch path / crun = ${r.ratios['corral-launch/crun']} (target <= 1)`);
  if (r.ratios['corral-front/runc'] !== undefined) targets.push(`corral run with a daemon / runc = ${r.ratios['corral-front/runc']} (target <= 1)`);
  if (r.ratios['corral-command/runc'] !== undefined) targets.push(`stand-alone corral run / runc = ${r.ratios['corral-command/runc']}`);
  if (!hasCrun && r.ratios['corral-launch/runc'] !== undefined) targets.push(`launch path / runc = ${r.ratios['corral-launch/runc']}`);
  lines.push(targets.join('; '));
  if (r.launchPhases) {
    const p = r.launchPhases;
    lines.push(`launch path phases, median ms: validate ${p.validated}, create (dirs + cgroup + spec) ${p.created}, ` + `launcher to exec ${p.started}, workload run ${p.exited}, remove ${p.removed}`);
  }
  if (r.rss) {
    lines.push(
      r.rss.error && r.rss.launcherVmRssKiB < 0
        ? `launcher RSS: not measured (${r.rss.error})`
        : `launcher RSS (corral-launch, sleep 5): VmRSS ${r.rss.launcherVmRssKiB} KiB` +
            ` (anon ${r.rss.launcherRssAnonKiB ?? '?'}, file ${r.rss.launcherRssFileKiB ?? '?'}; smaps Rss ${r.rss.launcherSmapsRssKiB ?? '?'}, Pss ${r.rss.launcherPssKiB ?? '?'} KiB;` +
            ` target <= 1024 KiB); the Node supervisor: ${r.rss.supervisorVmRssKiB ?? '?'} KiB` +
            (r.rss.error ? ` [${r.rss.error}]` : ''),
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// main

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  // First SIGINT/SIGTERM: let the current run end (each is short), then stop and clean up.
  // A second one, or one while the guest runs (its qemu dies with this process): exit at once.
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted === undefined && !inGuestPhase) {
      interrupted = sig;
      process.stderr.write(`start-latency: ${sig}: stopping after the current run and cleaning up\n`);
      return;
    }
    killChildren();
    process.stderr.write(`start-latency: ${sig}\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  if (opts.insideGuest || isCgroup2Root()) {
    const r = await measureEnvironment({ rounds: opts.rounds, warmup: opts.warmup });
    // started by the host run (which prints the table itself): only the JSON line
    if (process.env.CORRAL_BENCH_FROM_HOST !== '1') process.stdout.write(`${table(r)}\n`);
    process.stdout.write(`${JSON_MARKER}${JSON.stringify(r)}\n`);
    return 0;
  }

  const host = await measureEnvironment({ rounds: opts.rounds, warmup: opts.warmup });
  process.stdout.write(`\n${table(host)}\n\n`);

  let guest: EnvResult | undefined;
  let guestError: string | undefined;
  let guestBootMs: number | undefined;
  if (opts.guest && interrupted === undefined) {
    process.stderr.write(`booting the cgroup v2 guest for ${opts.guestRounds} rounds...\n`);
    const script = path.join(REPO, 'dist/bench/start-latency.js');
    const command = `${process.execPath} ${script} --inside-guest --rounds ${opts.guestRounds} --warmup ${opts.warmup}`;
    let pending = '';
    inGuestPhase = interrupted === undefined;
    try {
      const res = await runInGuest(command, {
        timeoutMs: opts.guestTimeoutMin * 60_000,
        env: { CORRAL_BENCH_FROM_HOST: '1' },
        onOutput: (chunk) => {
          pending += chunk;
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const l of lines) if (!l.startsWith(JSON_MARKER)) process.stderr.write(`[guest] ${l.replace(/\r$/, '')}\n`);
        },
      });
      guestBootMs = res.bootMs;
      const line = res.output
        .split('\n')
        .map((l) => l.replace(/\r$/, ''))
        .find((l) => l.startsWith(JSON_MARKER));
      if (res.exitCode !== 0 || !line) {
        guestError = `the guest run failed (exit ${res.exitCode}): ${res.output.slice(-2000)}`;
      } else {
        guest = JSON.parse(line.slice(JSON_MARKER.length)) as EnvResult;
      }
    } catch (err) {
      guestError = (err as Error).message;
    }
    if (guest) process.stdout.write(`${table(guest)}\n(guest boot ${guestBootMs} ms; TCG emulation: compare ratios only)\n\n`);
    else process.stdout.write(`guest: not measured: ${guestError}\n\n`);
  }

  process.stdout.write(
    `${JSON.stringify({ bench: 'start-latency', workload: '/bin/true', limits: { memory: '64m', pids: PIDS_LIMIT, cpus: 1 }, host, guest: guest ?? null, ...(guestError ? { guestError } : {}), ...(guestBootMs !== undefined ? { guestBootMs } : {}) })}\n`,
  );
  return guestError ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    killChildren();
    process.stderr.write(`start-latency: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
