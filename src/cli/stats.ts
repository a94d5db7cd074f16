/**
 * `corral stats`: `docker stats` against the daemon. Every refresh is one `GET /containers/stats`
 * (all containers' stats from the daemon's sampling cache, previous sample included), so the first
 * table has figures at once and containers that start or go away are followed. The numbers come from
 * src/metrics/derive.ts and their text from src/cli/format/stats.ts, as Docker's CLI prints them.
 */
import { CorralError } from '../errors.js';
import { call } from '../client/client.js';
import { socketFromGlobal } from '../client/host.js';
import { deriveStats, type StatsEntry } from '../metrics/derive.js';
import type { DockerStats } from '../metrics/docker-stats-types.js';
import { STATS_HEADER, statsRow, type StatsRow } from './format/stats.js';
import { stdout } from './output.js';
import { tabwrite } from './format/table.js';
import { flagsCommand, parseCommand } from './commands/parse.js';
import { parseTemplate, RAW_JSON, readDockerFormat, renderTemplate, TemplateError, type Template } from './format/template.js';

export const STATS_USAGE = `Usage: corral stats [OPTIONS] [CONTAINER...]

Display a live stream of container(s) resource usage statistics

Options:
  -a, --all             Show all containers (default shows just running)
      --format string   Format output using a custom template:
                        'table':            Print output in table format with column headers (default)
                        'table TEMPLATE':   Print output in table format using the given Go template
                        'json':             Print in JSON format
                        'TEMPLATE':         Print output using the given Go template
                        (fields: .Container .ID .Name .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO .PIDs)
      --no-stream       Disable streaming stats and only pull the first result
      --no-trunc        Do not truncate output
`;

/** Docker's default table (formatter_stats.go defaultStatsTableFormat). */
export const DEFAULT_STATS_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

/** How often the live table is redrawn, ms (the daemon samples once a second by default). */
export const REFRESH_MS = 1000;

export interface StatsFlags {
  all: boolean;
  noStream: boolean;
  noTrunc: boolean;
  /** 'table', 'json', or a template */
  format: string;
  containers: string[];
  help: boolean;
}

/** corral stats' flags, as commander reads them (`--no-stream`: stream false). */
export function statsCommand() {
  return flagsCommand('stats').option('-a, --all').option('--no-stream').option('--no-trunc').option('--format <string>').argument('[containers...]');
}

export function parseStatsArgs(argv: readonly string[]): StatsFlags {
  const { opts, args } = parseCommand<{ all?: boolean; stream: boolean; trunc: boolean; format?: string; help?: boolean }>(statsCommand(), argv);
  return { all: opts.all === true, noStream: !opts.stream, noTrunc: !opts.trunc, format: opts.format ?? 'table', containers: args, help: opts.help === true };
}

/** The fields a template may name, with Docker's column headers (formatter_stats.go). */
const FIELDS: Record<string, { header: string; value: (r: StatsRow, e: StatsEntry, ref: string) => string }> = {
  Container: { header: 'CONTAINER', value: (_r, _e, ref) => ref },
  ID: { header: STATS_HEADER.container, value: (r) => r.container },
  Name: { header: STATS_HEADER.name, value: (r) => r.name },
  CPUPerc: { header: STATS_HEADER.cpu, value: (r) => r.cpu },
  MemUsage: { header: STATS_HEADER.mem, value: (r) => r.mem },
  MemPerc: { header: STATS_HEADER.memPerc, value: (r) => r.memPerc },
  NetIO: { header: STATS_HEADER.netIO, value: (r) => r.netIO },
  BlockIO: { header: STATS_HEADER.blockIO, value: (r) => r.blockIO },
  PIDs: { header: STATS_HEADER.pids, value: (r) => r.pids },
};

const FIELD_LIST = Object.keys(FIELDS)
  .map((f) => `.${f}`)
  .join(' ');

/** A stats template may name the fields above and `json .`, nothing else (checked before anything is printed, as Docker does). */
function checkStatsTemplate(written: string, source: string): Template {
  const refuse = (what: string) => new CorralError('EUSAGE', `invalid --format template ${JSON.stringify(written)}: ${what} (fields: ${FIELD_LIST}, or json .)`);
  let template: Template;
  try {
    template = parseTemplate(source);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    throw refuse(err.action !== undefined ? `unknown action ${err.action}` : err.message);
  }
  for (const part of template.parts) {
    if (part.kind !== 'value') continue;
    const field = part.path.length === 1 && !part.json && Object.hasOwn(FIELDS, part.path[0]!);
    if (!field && !(part.json && part.path.length === 0)) throw refuse(`unknown action ${part.action}`);
  }
  return template;
}

/** One row's template data: the fields in alphabetical order, so that `{{json .}}` is Docker's JSON (Go marshals a map sorted). */
function rowData(r: StatsRow, e: StatsEntry, ref: string): Record<string, string> {
  return Object.fromEntries(
    Object.keys(FIELDS)
      .sort()
      .map((k) => [k, FIELDS[k]!.value(r, e, ref)]),
  );
}

/** The header row's data: each field's column header; `{{json .}}` heads its column with nothing. */
const HEADER_DATA = { ...Object.fromEntries(Object.entries(FIELDS).map(([k, f]) => [k, f.header])), [RAW_JSON]: '' };

/** One container's printed line(s) input: its derived numbers and the reference the user gave. */
export interface StatsLine {
  entry: StatsEntry;
  /** the CONTAINER argument that named it, else its (short) ID */
  ref: string;
}

/** The whole output for one refresh, as Docker's CLI prints it for `format`. */
export function renderStats(lines: readonly StatsLine[], format: string, noTrunc: boolean): string {
  const { table, source } = readDockerFormat(format, DEFAULT_STATS_FORMAT.slice('table '.length));
  // the template as the user wrote it, for messages
  const written = format.startsWith('table') ? format.slice('table'.length).trimStart() : format;
  const template = checkStatsTemplate(written, source);
  const rows = lines.map(({ entry, ref }) => {
    const row = statsRow(entry);
    if (noTrunc) row.container = entry.id;
    return renderTemplate(template, rowData(row, entry, ref));
  });
  if (!table) return rows.map((r) => r + '\n').join('');
  const header = renderTemplate(template, HEADER_DATA);
  return tabwrite([header, ...rows].map((l) => l.split('\t')));
}

/** Every container's stats (with named ones, stopped ones too: they are shown). */
async function fetchStats(socket: string, flags: StatsFlags, named: boolean): Promise<DockerStats[]> {
  return (await call<DockerStats[]>(socket, { method: 'GET', path: `/containers/stats${flags.all || named ? '?all=1' : ''}` })).body;
}

/** Ask the daemon for every container's stats; keep the named ones, or the running (all: every) one. */
async function fetchLines(socket: string, flags: StatsFlags, named: Map<string, string>): Promise<StatsLine[]> {
  return statsLines(await fetchStats(socket, flags, named.size > 0), flags, named);
}

/** The lines of the named containers, or of every one in the answer. */
function statsLines(body: DockerStats[], flags: StatsFlags, named: Map<string, string>): StatsLine[] {
  const byId = new Map(body.map((s) => [s.id ?? '', s]));
  const shortId = (id: string) => (flags.noTrunc ? id : id.slice(0, 12));
  if (named.size > 0) {
    return [...named].flatMap(([id, ref]) => {
      const s = byId.get(id);
      return s ? [{ entry: deriveStats(s), ref }] : [];
    });
  }
  return body.map((s) => ({ entry: deriveStats(s), ref: shortId(s.id ?? '') }));
}

export interface StatsIo {
  write(text: string): void;
  /** resolves when the user interrupts (SIGINT) */
  interrupted: Promise<void>;
  sleep(ms: number): Promise<void>;
}

function defaultIo(): StatsIo {
  // the pause between frames is what keeps the command alive until Ctrl-C, so its timer is ref'd;
  // SIGINT clears it, so the command ends at once rather than after the pause
  let pause: NodeJS.Timeout | undefined;
  return {
    write: (t) => stdout.write(t),
    interrupted: new Promise((resolve) =>
      process.once('SIGINT', () => {
        clearTimeout(pause);
        resolve();
      }),
    ),
    sleep: (ms) => new Promise((resolve) => (pause = setTimeout(resolve, ms))),
  };
}

/** Clear the screen and home the cursor before each live table, as Docker's CLI does. */
const CLEAR = '\x1b[2J\x1b[H';

export async function runStats(global: { host?: string }, argv: readonly string[], io: StatsIo = defaultIo()): Promise<number> {
  const flags = parseStatsArgs(argv);
  if (flags.help) {
    io.write(STATS_USAGE);
    return 0;
  }
  renderStats([], flags.format, flags.noTrunc); // a bad template fails before anything else
  const socket = socketFromGlobal(global.host);
  // each named container must exist (Docker: "No such container"), and is shown even when stopped;
  // asked all at once (and, with --no-stream, the stats too), the answers taken in order
  const inspecting = flags.containers.map((ref) => call<{ Id: string }>(socket, { method: 'GET', path: `/containers/${encodeURIComponent(ref)}/json` }));
  const sampling = flags.noStream ? fetchStats(socket, flags, flags.containers.length > 0) : undefined;
  for (const p of [...inspecting, ...(sampling ? [sampling] : [])]) p.catch(() => undefined); // the first failure in order is the one reported
  const named = new Map<string, string>();
  for (const [i, p] of inspecting.entries()) named.set((await p).body.Id, flags.containers[i]!);
  if (sampling) {
    io.write(renderStats(statsLines(await sampling, flags, named), flags.format, flags.noTrunc));
    return 0;
  }
  let stop = false;
  void io.interrupted.then(() => (stop = true));
  while (!stop) {
    const text = renderStats(await fetchLines(socket, flags, named), flags.format, flags.noTrunc);
    io.write(CLEAR + text);
    await Promise.race([io.sleep(REFRESH_MS), io.interrupted]);
  }
  return 0;
}
