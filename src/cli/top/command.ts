/**
 * `corral top`: the live dashboard (screen.ts, on blessed), or with --batch plain text frames for
 * scripts and tests, as `systemd-cgtop -b -n N`. Loaded only when `corral top` runs; blessed and
 * systeminformation load only here (blessed only for the dashboard).
 */
import { CorralError } from '../../errors.js';
import { socketFromGlobal } from '../../client/host.js';
import { flagsCommand, parseCommand } from '../commands/parse.js';
import { stdout } from '../output.js';
import { SORT_KEYS, type SortKey, type View } from './model.js';
import { batchFrame } from './render.js';
import { Collector, socketSource, type TopSource } from './source.js';
import { systemHostReader, type HostReader } from './host.js';

export const TOP_USAGE = `Usage: corral top [OPTIONS]

A live dashboard of the daemon's containers: host, one row per container, events

Options:
  -a, --all              Show stopped containers too
  -f, --filter TEXT      Show only containers whose name or ID contains TEXT
  -s, --sort KEY         Sort by ${SORT_KEYS.join('|')} (default cpu)
  -d, --interval D       Refresh every D: 500ms, 2s, or seconds (default 1s)
  -b, --batch            Print plain text frames instead of the dashboard
  -n, --iterations N     With --batch: print N frames, then exit (default 1)

Keys: h or ? in the dashboard.

corral top CONTAINER [ps OPTIONS] lists a container's processes instead, as docker top does.
`;

export interface TopFlags {
  view: View;
  /** ms */
  interval: number;
  batch: boolean;
  iterations: number;
  help: boolean;
}

export function topCommand() {
  return flagsCommand('top').option('-a, --all').option('-f, --filter <text>').option('-s, --sort <key>').option('-d, --interval <duration>').option('-b, --batch').option('-n, --iterations <count>');
}

/** A duration flag: `500ms`, `2s`, `1m`, or plain seconds (`0.5`). */
export function parseInterval(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 100 || ms > 3_600_000) throw new CorralError('EUSAGE', `invalid --interval ${JSON.stringify(text)}: expected a duration from 100ms to 1h such as 500ms, 2s or 1.5`);
  return ms;
}

export function parseTopArgs(argv: readonly string[]): TopFlags {
  const { opts } = parseCommand<{ all?: boolean; filter?: string; sort?: string; interval?: string; batch?: boolean; iterations?: string; help?: boolean }>(topCommand(), argv);
  const sort = opts.sort ?? 'cpu';
  if (!(SORT_KEYS as readonly string[]).includes(sort)) throw new CorralError('EUSAGE', `invalid --sort ${JSON.stringify(sort)}: expected one of ${SORT_KEYS.join(', ')}`);
  let iterations = 1;
  if (opts.iterations !== undefined) {
    if (!/^[1-9]\d{0,5}$/.test(opts.iterations)) throw new CorralError('EUSAGE', `invalid --iterations ${JSON.stringify(opts.iterations)}: expected a whole number from 1 to 999999`);
    if (opts.batch !== true) throw new CorralError('EUSAGE', '--iterations needs --batch');
    iterations = Number(opts.iterations);
  }
  return {
    view: { sort: sort as SortKey, reverse: false, filter: opts.filter ?? '', all: opts.all === true },
    interval: opts.interval !== undefined ? parseInterval(opts.interval) : 1000,
    batch: opts.batch === true,
    iterations,
    help: opts.help === true,
  };
}

/** The width of --batch's table: the terminal's, else $COLUMNS, else wide enough for every column. */
export function batchWidth(env: NodeJS.ProcessEnv = process.env): number {
  if (process.stdout.isTTY && process.stdout.columns > 0) return process.stdout.columns;
  const cols = Number(env.COLUMNS);
  return Number.isInteger(cols) && cols > 0 ? cols : 200;
}

export interface BatchIo {
  write(text: string): void;
  sleep(ms: number): Promise<void>;
}

/**
 * --batch: `iterations` frames, `interval` apart, separated by a blank line. The first frame's rates
 * are `--` (a rate needs two samples); CPU % is there at once (the daemon keeps the previous sample).
 * Exits 1 when the daemon does not answer.
 */
export async function runBatch(source: TopSource, host: HostReader | undefined, flags: TopFlags, width: number, io: BatchIo): Promise<number> {
  const collector = new Collector(source);
  try {
    for (let i = 0; i < flags.iterations; i++) {
      if (i > 0) await io.sleep(flags.interval);
      const [frame, h] = await Promise.all([collector.tick(), host?.().catch(() => undefined)]);
      if (frame.error !== undefined) {
        throw new CorralError('ENODAEMON', frame.error);
      }
      io.write((i > 0 ? '\n' : '') + batchFrame(frame, h, flags.view, width));
    }
  } finally {
    collector.close();
  }
  return 0;
}

export async function runTop(global: { host?: string }, argv: readonly string[]): Promise<number> {
  const flags = parseTopArgs(argv);
  if (flags.help) {
    stdout.write(TOP_USAGE);
    return 0;
  }
  const socket = socketFromGlobal(global.host);
  const source = socketSource(socket);
  if (flags.batch) {
    const host = await systemHostReader();
    return runBatch(source, host, flags, batchWidth(), { write: (t) => stdout.write(t), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) });
  }
  if (!process.stdout.isTTY || !process.stdin.isTTY) throw new CorralError('EUSAGE', 'corral top needs a terminal on stdin and stdout (for scripts: corral top --batch)');
  // blessed and systeminformation load side by side
  const [{ runDashboard }, host] = await Promise.all([import('./screen.js'), systemHostReader()]);
  return runDashboard(source, host, flags);
}
