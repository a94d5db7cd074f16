/**
 * corral top's own cost with 500 containers, on a fake daemon (test/helpers/fake-top-daemon.ts: the
 * five routes corral top reads, answered from generated stats), so that it needs no root and no 500
 * real containers, and measures the dashboard alone (what the daemon spends serving it is the stats
 * route's cost: bench:sampling and docs/api.md's figure for GET /containers/stats):
 *
 *   - first full frame: from the command's start (tmux new-session running it) until the pane shows
 *     the host panel's memory line and a full table (polled every 5 ms); beside it the floor, `node -e`
 *     printing a line, measured the same way;
 *   - CPU: utime + stime of the dashboard's processes over --seconds at the 1 s default refresh,
 *     as a share of one core (target <= 3%);
 *   - RSS of the dashboard at the end (its history rings, 600 points x 5 series a container, are
 *     allocated when a container first appears, so the figure holds the full 10-minute history's
 *     memory; target <= 100 MiB).
 *
 * Usage: node dist/bench/top.js [--containers N] [--seconds S]
 * Prints a table and, last, one JSON line. Runs its own tmux server (-L) and kills it at the end.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CORRAL_BIN } from '../test/helpers/corral.js';
import { startFakeDaemon, type FakeContainer } from '../test/helpers/fake-top-daemon.js';

const JSON_MARKER = 'CORRAL_BENCH_JSON ';
const TMUX = `corral-bench-top-${process.pid}`;

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const n = Number(process.argv[at + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`invalid value "${process.argv[at + 1]}" for ${name}: a positive number`);
  return n;
}

const tmux = (...args: string[]) => execFileSync('tmux', ['-L', TMUX, ...args], { encoding: 'utf8' });

/** Every process below `pid`, itself included. */
function tree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/** utime + stime of processes, seconds; and the largest RSS among them, bytes. */
function usage(pids: number[]): { cpu: number; rss: number } {
  const tick = 100; // USER_HZ
  let cpu = 0;
  let rss = 0;
  for (const p of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu += (Number(f[11]) + Number(f[12])) / tick;
      rss = Math.max(rss, Number(f[21]) * 4096);
    } catch {
      // gone
    }
  }
  return { cpu, rss };
}

async function main(): Promise<void> {
  const n = arg('--containers', 500);
  const seconds = arg('--seconds', 30);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-bench-top-'));
  const containers: FakeContainer[] = Array.from({ length: n }, (_, i) => ({
    id: i.toString(16).padStart(64, 'a'),
    name: `idle-${i}`,
    state: 'running',
    cpuPerSecond: 1e6,
    memory: 300 * 1024,
    pids: 1,
    netPerSecond: 0,
    blockPerSecond: 0,
  }));
  const fake = await startFakeDaemon(path.join(tmp, 'fake.sock'), containers);
  try {
    // the floor: tmux and node starting and printing a line, measured the same way
    let floor = performance.now();
    tmux('new-session', '-d', '-s', 'floor', '-x', '200', '-y', '50', `${process.execPath} -e "console.log('floor-ready'); setTimeout(() => {}, 60000)"`);
    while (!tmux('capture-pane', '-p', '-t', 'floor').includes('floor-ready')) await sleep(5);
    floor = performance.now() - floor;
    tmux('kill-session', '-t', 'floor');
    const started = performance.now();
    tmux('new-session', '-d', '-s', 'top', '-x', '200', '-y', '50', '-e', 'LANG=C.UTF-8', '-e', 'TERM=xterm-256color', `${CORRAL_BIN} -H unix://${fake.socket} top`);
    let firstFrame = Number.NaN;
    while (performance.now() - started < 10_000) {
      const pane = tmux('capture-pane', '-p', '-t', 'top');
      if (/^mem \[/m.test(pane) && /^idle-\d+ +[0-9a-f]{12} +running/m.test(pane)) {
        firstFrame = performance.now() - started;
        break;
      }
      await sleep(5);
    }
    const panePid = Number(tmux('display-message', '-p', '-t', 'top', '#{pane_pid}').trim());
    await sleep(2000); // past start-up
    const a = usage(tree(panePid));
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const b = usage(tree(panePid));
    const cpuShare = ((b.cpu - a.cpu) / ((performance.now() - t0) / 1000)) * 100;
    const ticks = fake.requests.get('GET /containers/stats') ?? 0;
    const result = {
      containers: n,
      seconds,
      firstFrameMs: Math.round(firstFrame),
      floorMs: Math.round(floor),
      cpuPercentOfOneCore: Number(cpuShare.toFixed(2)),
      rssMiB: Number((b.rss / 2 ** 20).toFixed(1)),
      statsRequests: ticks,
      listRequests: fake.requests.get('GET /containers/json') ?? 0,
    };
    console.log(`corral top, ${n} containers (fake daemon), 1 s refresh, ${seconds} s measured`);
    console.log(`  first full frame      ${result.firstFrameMs} ms   (target <= 300 ms; the floor, tmux + node -e printing a line: ${result.floorMs} ms)`);
    console.log(`  CPU                   ${result.cpuPercentOfOneCore}% of one core   (target <= 3%)`);
    console.log(`  RSS (10 min history)  ${result.rssMiB} MiB   (target <= 100 MiB)`);
    console.log(`  requests              ${result.statsRequests} stats, ${result.listRequests} list (one each a tick)`);
    console.log(JSON_MARKER + JSON.stringify(result));
  } finally {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    await fake.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
