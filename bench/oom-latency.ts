/**
 * OOM latency: from the kernel's kill of a memory hog to the `oom` event arriving on the daemon's
 * API stream (GET /events), over N kills (default 20).
 *
 * Each kill is its own busybox container with -m 32m whose PID 1 waits for a trigger file, then
 * execs `tail /dev/zero`. Before the trigger, the bench opens a pidfd of that PID and hands it to a
 * worker thread, which stamps two moments independently of the daemon:
 *   kill:  the cgroup's oom_kill counter moved (the worker re-reads memory.oom_control / memory.events
 *          every 100 µs; the kernel counts the kill as it sends SIGKILL);
 *   death: the pidfd became readable (poll(2)): the hog finished exiting, its memory freed.
 * The main thread stamps the moment the `oom` line arrives on its GET /events stream. All stamps are
 * process.hrtime (CLOCK_MONOTONIC, one clock for every thread). The figures are arrival - kill (the
 * one the target is about) and arrival - death (negative when the event came first: a 32 MiB hog
 * takes milliseconds to exit). The `die` event's arrival after the death is shown for context.
 *
 * On the host (cgroup v1: the eventfd notification) it measures, then boots the pure cgroup v2
 * QEMU guest and runs itself there with --inside-guest (memory.events through inotify). Guest
 * figures come from software emulation with one vCPU: an indication, not a latency.
 *
 * Usage: node dist/bench/oom-latency.js [--kills N] [--guest-kills N] [--no-guest] [--inside-guest]
 * Prints a table per environment and, last, one JSON line.
 *
 * Cleanup: every container (deleted through the API), the daemon (SIGTERM), its cgroup parent
 * `corral-bench-oom-<pid>` and the temp dir.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ensureBusyboxRootfs } from '../test/helpers/busybox.js';
import { api, startTestDaemon, subscribeEvents, type TestDaemon } from '../test/helpers/daemon.js';
import { runInGuest } from '../test/vm/guest.js';
import { createCgroupDriver } from '../src/cgroups/index.js';
import { loadSyscalls } from '../src/sys/syscalls.js';

const JSON_MARKER = 'CORRAL_BENCH_JSON ';
const LIMIT = 32 * 1024 * 1024;
const TARGET_MEDIAN_MS = 20;
const ROLE = 'death-watcher';

interface Options {
  kills: number;
  guestKills: number;
  guest: boolean;
  insideGuest: boolean;
}

interface Stats {
  n: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
}

interface EnvResult {
  environment: 'host-cgroup-v1' | 'guest-cgroup-v2';
  kernel: string;
  /** the kill (oom_kill counter moved) -> `oom` on the stream */
  oom: Stats;
  /** death of the hog -> `oom` on the stream */
  oomAfterDeath: Stats;
  /** death of the hog -> `die` on the stream */
  die: Stats;
  samplesMs: number[];
  /** kills whose `oom` event's memory.stat snapshot holds the hog's pages (memory.anon > half the limit) */
  snapshotsWithHog: number;
  /** memory.anon of every `oom` event, bytes */
  snapshotAnon: number[];
  /** where each snapshot was taken (the event's memory.stat_when) */
  snapshotWhen: string[];
}

function parseOptions(argv: string[]): Options {
  const o: Options = { kills: 20, guestKills: -1, guest: true, insideGuest: false };
  const num = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`invalid value "${v}" for ${flag}: a whole number of at least 1`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--kills') o.kills = num(a, argv[++i]);
    else if (a === '--guest-kills') o.guestKills = num(a, argv[++i]);
    else if (a === '--no-guest') o.guest = false;
    else if (a === '--inside-guest') o.insideGuest = true;
    else throw new Error(`unknown flag ${a}; usage: oom-latency [--kills N=20] [--guest-kills N=kills] [--no-guest] [--inside-guest]`);
  }
  if (o.guestKills < 0) o.guestKills = o.kills;
  return o;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n, medianMs: r(median), p90Ms: r(s[Math.max(0, Math.ceil(0.9 * n) - 1)]!), minMs: r(s[0]!), maxMs: r(s[n - 1]!) };
}

interface WatchRequest {
  pidfd: number;
  /** memory.oom_control (v1) or memory.events (v2) of the container's cgroup */
  counterFile: string;
}

interface WatchResult {
  killNs: bigint | undefined;
  deathNs: bigint | undefined;
}

/**
 * The worker: for each request, re-read the counter file every 100 µs until oom_kill leaves 0 (the
 * kill), then block in poll(2) on the pidfd until the hog is gone (the death); stamp both.
 */
async function killWatcher(): Promise<void> {
  const sys = await loadSyscalls();
  const pause = new Int32Array(new SharedArrayBuffer(4));
  parentPort!.on('message', (m: WatchRequest) => {
    const deadline = Date.now() + 120_000;
    let killNs: bigint | undefined;
    while (Date.now() < deadline) {
      let text = '';
      try {
        text = fs.readFileSync(m.counterFile, 'utf8');
      } catch {
        break; // the cgroup is gone: no kill seen
      }
      if (/^oom_kill [1-9]/m.test(text)) {
        killNs = process.hrtime.bigint();
        break;
      }
      Atomics.wait(pause, 0, 0, 0.1);
    }
    const deathNs = sys.pollReadable(m.pidfd, 120_000) ? process.hrtime.bigint() : undefined;
    parentPort!.postMessage({ killNs, deathNs } satisfies WatchResult);
  });
}

function isCgroup2Root(): boolean {
  try {
    return fs.statfsSync('/sys/fs/cgroup').type === 0x63677270;
  } catch {
    return false;
  }
}

async function measure(kills: number): Promise<EnvResult> {
  const v2 = isCgroup2Root();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-oom-bench-'));
  const parent = `corral-bench-oom-${process.pid}`;
  const sys = await loadSyscalls();
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { role: ROLE } });
  const driver = await createCgroupDriver({ parent });
  let daemon: TestDaemon | undefined;
  const ids: string[] = [];
  try {
    const rootfs = await ensureBusyboxRootfs(path.join(tmp, 'busybox'));
    daemon = await startTestDaemon(path.join(tmp, 'root'), path.join(tmp, 'corral.sock'), { logLevel: 'warn' });
    const socket = daemon.socket;
    const stream = await subscribeEvents(socket, { event: ['oom', 'die'] });
    const oomMs: number[] = [];
    const oomAfterDeathMs: number[] = [];
    const dieMs: number[] = [];
    const anon: number[] = [];
    const when: string[] = [];
    try {
      for (let i = 0; i < kills; i++) {
        const trigger = path.join(tmp, `trigger-${i}`);
        fs.mkdirSync(trigger);
        const created = await api(socket, 'POST', '/containers/create', {
          Image: rootfs,
          Cmd: ['sh', '-c', 'while [ ! -e /trigger/go ]; do sleep 0.01; done; exec tail /dev/zero'],
          HostConfig: { CgroupParent: parent, NetworkMode: 'none', Memory: LIMIT, Binds: [`${trigger}:/trigger`] },
        });
        if (created.status !== 201) throw new Error(`create: ${created.status} ${created.body}`);
        const id = created.json().Id as string;
        ids.push(id);
        const started = await api(socket, 'POST', `/containers/${id}/start`);
        if (started.status !== 204) throw new Error(`start: ${started.status} ${started.body}`);
        const pid = (await api(socket, 'GET', `/containers/${id}/json`)).json().State.Pid as number;
        const pidfd = sys.pidfdOpen(pid);
        try {
          const cgroup = driver.open(id);
          const counterFile = cgroup.mode === 'v2' ? path.join(cgroup.dir, 'memory.events') : path.join(cgroup.paths.memory!, 'memory.oom_control');
          const watched = new Promise<WatchResult>((resolve) => worker.once('message', resolve));
          worker.postMessage({ pidfd, counterFile } satisfies WatchRequest);
          const oom = stream.waitFor((e) => e.Action === 'oom' && e.Actor.ID === id, `the oom event of kill ${i + 1}`);
          const die = stream.waitFor((e) => e.Action === 'die' && e.Actor.ID === id, `the die event of kill ${i + 1}`);
          fs.writeFileSync(path.join(trigger, 'go'), '');
          const [w, o, e] = await Promise.all([watched, oom, die]);
          if (w.killNs === undefined) throw new Error(`kill ${i + 1}: the worker did not see oom_kill move in ${counterFile}`);
          if (w.deathNs === undefined) throw new Error(`kill ${i + 1}: the hog (pid ${pid}) did not die within 120 s`);
          oomMs.push(Number(o.arrivedNs - w.killNs) / 1e6);
          oomAfterDeathMs.push(Number(o.arrivedNs - w.deathNs) / 1e6);
          dieMs.push(Number(e.arrivedNs - w.deathNs) / 1e6);
          anon.push(Number(o.Actor.Attributes['memory.anon'] ?? NaN));
          when.push(o.Actor.Attributes['memory.stat_when'] ?? '?');
        } finally {
          sys.close(pidfd);
        }
        const removed = await api(socket, 'DELETE', `/containers/${id}?force=1`);
        if (removed.status !== 204) throw new Error(`delete: ${removed.status} ${removed.body}`);
        ids.pop();
        process.stderr.write(
          `kill ${i + 1}/${kills}: oom event ${oomMs.at(-1)!.toFixed(2)} ms after the kill, ${oomAfterDeathMs.at(-1)!.toFixed(2)} ms after the hog's death; die ${dieMs.at(-1)!.toFixed(2)} ms after the death; snapshot ${when.at(-1)}, anon ${(anon.at(-1)! / 1048576).toFixed(1)} MiB\n`,
        );
      }
    } finally {
      stream.close();
    }
    return {
      environment: v2 ? 'guest-cgroup-v2' : 'host-cgroup-v1',
      kernel: os.release(),
      oom: stats(oomMs),
      oomAfterDeath: stats(oomAfterDeathMs),
      die: stats(dieMs),
      samplesMs: oomMs.map((x) => Math.round(x * 100) / 100),
      snapshotsWithHog: anon.filter((a) => a > LIMIT / 2).length,
      snapshotAnon: anon,
      snapshotWhen: when,
    };
  } finally {
    for (const id of ids) if (daemon) await api(daemon.socket, 'DELETE', `/containers/${id}?force=1`).catch(() => {});
    await daemon?.stop();
    await worker.terminate();
    for (const name of await driver.list()) await driver.open(name).destroy();
    await driver.removeParentIfEmpty();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** "before-kill 18, after-kill 2" */
function summarize(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
}

function table(r: EnvResult): string {
  const row = (what: string, s: Stats) =>
    `${what.padEnd(24)} ${String(s.n).padStart(3)} ${s.medianMs.toFixed(2).padStart(9)} ${s.p90Ms.toFixed(2).padStart(9)} ${s.minMs.toFixed(2).padStart(9)} ${s.maxMs.toFixed(2).padStart(9)}`;
  return [
    `${r.environment} (kernel ${r.kernel}): to the event's arrival on GET /events, ms`,
    `${''.padEnd(24)} ${'n'.padStart(3)} ${'median'.padStart(9)} ${'p90'.padStart(9)} ${'min'.padStart(9)} ${'max'.padStart(9)}`,
    row('kill -> oom event', r.oom),
    row('death -> oom event', r.oomAfterDeath),
    row('death -> die event', r.die),
    `memory.stat snapshots holding the hog's pages (anon > ${LIMIT / 2 ** 21} MiB): ${r.snapshotsWithHog}/${r.oom.n} (taken ${summarize(r.snapshotWhen)})`,
  ].join('\n');
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.insideGuest || isCgroup2Root()) {
    const r = await measure(opts.kills);
    if (process.env.CORRAL_BENCH_FROM_HOST !== '1') process.stdout.write(`${table(r)}\n`);
    process.stdout.write(`${JSON_MARKER}${JSON.stringify(r)}\n`);
    return 0;
  }
  const host = await measure(opts.kills);
  process.stdout.write(`\n${table(host)}\ntarget: median at most ${TARGET_MEDIAN_MS} ms: ${host.oom.medianMs <= TARGET_MEDIAN_MS ? 'met' : 'NOT met'}\n\n`);
  let guest: EnvResult | undefined;
  let guestError: string | undefined;
  if (opts.guest) {
    process.stderr.write(`booting the cgroup v2 guest for ${opts.guestKills} kills...\n`);
    const command = `${process.execPath} ${path.join(fileURLToPath(new URL('../..', import.meta.url)), 'dist/bench/oom-latency.js')} --inside-guest --kills ${opts.guestKills}`;
    try {
      const res = await runInGuest(command, {
        timeoutMs: 40 * 60_000,
        env: { CORRAL_BENCH_FROM_HOST: '1' },
        onOutput: (c) =>
          process.stderr.write(
            c
              .split('\n')
              .filter((l) => l && !l.startsWith(JSON_MARKER))
              .map((l) => `[guest] ${l}\n`)
              .join(''),
          ),
      });
      const line = res.output
        .split('\n')
        .map((l) => l.replace(/\r$/, ''))
        .find((l) => l.startsWith(JSON_MARKER));
      if (res.exitCode !== 0 || !line) guestError = `the guest run failed (exit ${res.exitCode}): ${res.output.slice(-2000)}`;
      else guest = JSON.parse(line.slice(JSON_MARKER.length)) as EnvResult;
    } catch (err) {
      guestError = (err as Error).message;
    }
    if (guest) process.stdout.write(`${table(guest)}\n(TCG emulation, one vCPU: an indication only; guest/host median ratio ${(guest.oom.medianMs / host.oom.medianMs).toFixed(1)})\n\n`);
    else process.stdout.write(`guest: not measured: ${guestError}\n\n`);
  }
  process.stdout.write(`${JSON.stringify({ bench: 'oom-latency', limit: '32m', host, guest: guest ?? null, ...(guestError ? { guestError } : {}) })}\n`);
  return guestError ? 1 : 0;
}

if (!isMainThread && (workerData as { role?: string } | undefined)?.role === ROLE) {
  void killWatcher();
} else {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`oom-latency: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  );
}
