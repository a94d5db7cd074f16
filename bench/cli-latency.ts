/**
 * How fast corral's client commands start and answer, against their floor and their peer, all in
 * one run on one daemon:
 *
 *   - the floor: `node -e 0` (Node's own start-up, which no Node CLI can beat);
 *   - corral: `corral version`, `corral ps`, `corral inspect NAME`, `corral stats --no-stream NAME`,
 *     as a user types them (bin/corral, through the fast front, which hands them to Node);
 *   - the peer: the Docker CLI (`docker ps`, `docker inspect NAME`) against corral's own daemon.
 *
 * Each command runs ROUNDS times, interleaved (one of each per round, so that a noisy moment costs
 * every command alike); the table gives the median and p90 wall time and each median's ratio to
 * `node -e 0`'s (target: at most 1.2x for every corral command). The daemon runs one busybox
 * container (`sleep 3600`) so that ps, inspect and stats have something to show.
 *
 * Usage: node dist/bench/cli-latency.js [--rounds N]
 * Prints a table and, last, one JSON line. Everything it makes (state root, socket, the container's
 * cgroup under `corral-bench-<pid>` inside this process's cgroup) is removed at the end, also on
 * failure.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createCgroupDriver } from '../src/cgroups/index.js';
import { CORRAL_BIN } from '../test/helpers/corral.js';
import { apiRequest, daemonScratch, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../test/helpers/daemon.js';

const JSON_MARKER = 'CORRAL_BENCH_JSON ';
const CGROUP_PARENT = `corral-bench-${process.pid}`;
const TARGET_RATIO = 1.2;
const DOCKER = '/usr/local/bin/docker';

function parseRounds(argv: string[]): number {
  const at = argv.indexOf('--rounds');
  if (at < 0) return 30;
  const n = Number(argv[at + 1]);
  if (!Number.isInteger(n) || n < 3) throw new Error(`invalid value "${argv[at + 1]}" for --rounds: an integer of at least 3`);
  return n;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** One run of a command, its wall time in ms; a failure stops the bench (a fast error is no result). */
function timeOnce(argv: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

async function main(): Promise<number> {
  const rounds = parseRounds(process.argv.slice(2));
  const scratch = await daemonScratch('corral-bench-cli-');
  const driver = await createCgroupDriver({ parent: CGROUP_PARENT });
  let daemon: DaemonProcess | undefined;
  try {
    daemon = await startDaemonProcess(scratch.root, scratch.socket, ['--log-level', 'warn', '--metrics-addr', 'none']);
    const created = await apiRequest(scratch.socket, 'POST', '/containers/create?name=bench', { Image: scratch.rootfs, Cmd: ['sleep', '3600'], HostConfig: { CgroupParent: CGROUP_PARENT } });
    if (created.status !== 201) throw new Error(`create: ${created.status} ${created.body}`);
    const started = await apiRequest(scratch.socket, 'POST', '/containers/bench/start');
    if (started.status !== 204) throw new Error(`start: ${started.status} ${started.body}`);

    const env = { ...process.env, CORRAL_HOST: `unix://${scratch.socket}`, CORRAL_ROOT: scratch.root, DOCKER_HOST: `unix://${scratch.socket}` };
    const commands: [string, string[]][] = [
      ['node -e 0', [process.execPath, '-e', '0']],
      ['corral version', [CORRAL_BIN, 'version']],
      ['corral ps', [CORRAL_BIN, 'ps']],
      ['corral inspect', [CORRAL_BIN, 'inspect', 'bench']],
      ['corral stats --no-stream', [CORRAL_BIN, 'stats', '--no-stream', 'bench']],
    ];
    if (fs.existsSync(DOCKER)) commands.push(['docker ps', [DOCKER, 'ps']], ['docker inspect', [DOCKER, 'inspect', 'bench']]);
    else process.stderr.write(`no Docker CLI at ${DOCKER}: the peer's rows are left out\n`);
    const times = new Map(commands.map(([name]) => [name, [] as number[]]));
    for (const [, argv] of commands) timeOnce(argv, env); // warm the page cache
    for (let r = 0; r < rounds; r++) for (const [name, argv] of commands) times.get(name)!.push(timeOnce(argv, env));

    const rows = commands.map(([name]) => {
      const sorted = times.get(name)!.sort((a, b) => a - b);
      return { name, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) };
    });
    const floor = rows[0]!.median;
    console.log(`CLI latency: ${rounds} rounds, interleaved; ratio = median / median of node -e 0`);
    console.log(`${'command'.padEnd(26)}${'median ms'.padStart(11)}${'p90 ms'.padStart(9)}${'ratio'.padStart(8)}`);
    for (const r of rows) console.log(`${r.name.padEnd(26)}${r.median.toFixed(1).padStart(11)}${r.p90.toFixed(1).padStart(9)}${(r.median / floor).toFixed(2).padStart(7)}x`);
    const over = rows.filter((r) => r.name.startsWith('corral') && r.median / floor > TARGET_RATIO).map((r) => r.name);
    console.log(over.length ? `over the ${TARGET_RATIO}x target: ${over.join(', ')}` : `every corral command within ${TARGET_RATIO}x of node -e 0`);
    console.log(JSON_MARKER + JSON.stringify({ rounds, rows: rows.map((r) => ({ ...r, ratio: r.median / floor })) }));
    return 0;
  } finally {
    if (daemon) {
      await apiRequest(scratch.socket, 'DELETE', '/containers/bench?force=1').catch(() => undefined);
      await stopDaemonProcess(daemon);
    }
    for (const name of await driver.list()) await driver.open(name).destroy();
    await driver.removeParentIfEmpty();
    fs.rmSync(scratch.tmp, { recursive: true, force: true });
  }
}

process.exitCode = await main();
