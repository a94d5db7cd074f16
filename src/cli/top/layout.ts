/**
 * corral top's table layout: which columns fit a terminal's width, each cell's text cut to its
 * column, bars and units. Pure: rows in, lines of cells out (with a tone for the widget to colour);
 * the dashboard and --batch print the same lines.
 *
 * Columns are kept in a stated priority order (COLUMNS' `priority`, 0 first): a column is shown only
 * when it and every column before it in that order fit, so a narrower terminal loses the least
 * important columns first and never a column while keeping a less important one. NAME takes what is
 * left, up to NAME_MAX. Cells are padded and cut to their column's width: no line is ever wider than
 * the terminal, so nothing wraps or overlaps.
 */
import { formatIoSize } from '../../units.js';
import { NO_VALUE } from '../format/stats.js';
import { rowText, type TopRow } from './model.js';

/** How a cell should look; the widget maps tones to colours (none with NO_COLOR). */
export type Tone = 'normal' | 'good' | 'warn' | 'bad' | 'dim' | 'header';

export interface Cell {
  text: string;
  tone: Tone;
  /** part of the selected row (shown inverse) */
  selected?: boolean;
}

export type ColumnKey = 'name' | 'id' | 'state' | 'cpu' | 'cpuBar' | 'mem' | 'memPerc' | 'memBar' | 'net' | 'block' | 'pids' | 'throttled' | 'oom' | 'uptime';

interface Column {
  key: ColumnKey;
  header: string;
  /** characters (NAME: its least width) */
  width: number;
  /** 0 is kept longest */
  priority: number;
  align: 'left' | 'right';
  cell: (r: TopRow, width: number) => Cell;
}

/** NAME's widest: longer names are cut (the detail view shows them whole). */
export const NAME_MAX = 28;
/** Between two columns. */
const GAP = 1;

/** A bar of `width` characters: `[|||||     ]`. Over 100% it is full and ends in `+]`; an unknown value is blank. */
export function bar(fraction: number | undefined, width: number): string {
  const inner = Math.max(0, width - 2);
  if (fraction === undefined || !Number.isFinite(fraction)) return `[${' '.repeat(inner)}]`;
  if (fraction > 1) return `[${'|'.repeat(Math.max(0, inner - 1))}+]`.slice(0, Math.max(width, 0));
  const filled = Math.round(Math.max(0, fraction) * inner);
  return `[${'|'.repeat(filled)}${' '.repeat(inner - filled)}]`;
}

/** The tone of a use against its limit: warn from 80%, bad from 95%. */
export function loadTone(fraction: number | undefined): Tone {
  if (fraction === undefined) return 'dim';
  if (fraction >= 0.95) return 'bad';
  if (fraction >= 0.8) return 'warn';
  return 'good';
}

/** A rate in Docker's I/O units (decimal, 3 significant digits), per second: `1.2kB`, `0B`. */
export function formatRate(bytesPerSecond: number | undefined): string {
  return bytesPerSecond === undefined ? NO_VALUE : formatIoSize(bytesPerSecond);
}

/** A duration as its two largest units: `45s`, `12m3s`, `3h12m`, `2d4h`. */
export function formatUptime(seconds: number | undefined): string {
  if (seconds === undefined) return NO_VALUE;
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

/** A percentage with one decimal: `12.3%`. */
export function formatPercent1(p: number | undefined): string {
  return p === undefined ? NO_VALUE : `${p.toFixed(1)}%`;
}

/** The fraction of its CPU scale (limit, else the host) a row uses: Docker's CPU % is per core. */
export function cpuFraction(r: TopRow): number | undefined {
  if (r.entry?.cpuPercent === undefined || r.cpuScale === undefined) return undefined;
  return r.entry.cpuPercent / 100 / r.cpuScale;
}

/** The fraction of its memory limit (the host's memory when unlimited) a row uses. */
export function memFraction(r: TopRow): number | undefined {
  return r.entry?.memoryPercent === undefined ? undefined : r.entry.memoryPercent / 100;
}

function stateText(r: TopRow): string {
  let text = r.state;
  if (r.state === 'exited') text = `exited(${r.exitCode})`;
  return r.restarts > 0 ? `${text} ↻${r.restarts}` : text;
}

const plain = (text: string, tone: Tone = 'normal'): Cell => ({ text, tone });

/** Every column, in the order they are shown; `priority` says which stay when the terminal is narrow. */
export const COLUMNS: readonly Column[] = [
  { key: 'name', header: 'NAME', width: 12, priority: 0, align: 'left', cell: (r) => plain(r.name) },
  { key: 'id', header: 'ID', width: 12, priority: 10, align: 'left', cell: (r) => plain(r.id.slice(0, 12), 'dim') },
  {
    key: 'state',
    header: 'STATE',
    width: 13,
    priority: 3,
    align: 'left',
    cell: (r) => plain(stateText(r), r.state === 'running' ? (r.restarts > 0 ? 'warn' : 'good') : r.state === 'restarting' || (r.state === 'exited' && r.exitCode !== 0) ? 'bad' : 'dim'),
  },
  { key: 'cpu', header: 'CPU %', width: 8, priority: 1, align: 'right', cell: (r) => plain(rowText(r)?.cpu ?? NO_VALUE) },
  { key: 'cpuBar', header: 'CPU/LIMIT', width: 12, priority: 4, align: 'left', cell: (r, w) => plain(bar(cpuFraction(r), w), loadTone(cpuFraction(r))) },
  { key: 'mem', header: 'MEM USAGE / LIMIT', width: 19, priority: 2, align: 'right', cell: (r) => plain(rowText(r)?.mem ?? NO_VALUE) },
  { key: 'memPerc', header: 'MEM %', width: 7, priority: 5, align: 'right', cell: (r) => plain(rowText(r)?.memPerc ?? NO_VALUE) },
  { key: 'memBar', header: 'MEM/LIMIT', width: 12, priority: 9, align: 'left', cell: (r, w) => plain(bar(memFraction(r), w), r.memoryLimited ? loadTone(memFraction(r)) : 'dim') },
  {
    key: 'net',
    header: 'NET RX / TX /s',
    width: 15,
    priority: 7,
    align: 'right',
    cell: (r) => plain(r.entry ? `${formatRate(r.rates?.netRx)} / ${formatRate(r.rates?.netTx)}` : NO_VALUE),
  },
  {
    key: 'block',
    header: 'BLOCK R / W /s',
    width: 15,
    priority: 8,
    align: 'right',
    cell: (r) => plain(r.entry ? `${formatRate(r.rates?.blockRead)} / ${formatRate(r.rates?.blockWrite)}` : NO_VALUE),
  },
  {
    key: 'pids',
    header: 'PIDS',
    width: 9,
    priority: 6,
    align: 'right',
    cell: (r) => {
      const cur = r.entry?.pidsCurrent;
      if (cur === undefined) return plain(NO_VALUE);
      return plain(r.pidsLimit !== undefined ? `${cur}/${r.pidsLimit}` : String(cur), r.pidsLimit !== undefined ? loadTone(cur / r.pidsLimit) : 'normal');
    },
  },
  {
    key: 'throttled',
    header: 'THR %',
    width: 6,
    priority: 13,
    align: 'right',
    cell: (r) => plain(r.entry && r.cpuLimited ? formatPercent1(r.rates?.throttledPercent) : NO_VALUE, (r.rates?.throttledPercent ?? 0) >= 50 ? 'warn' : 'normal'),
  },
  { key: 'oom', header: 'OOM', width: 4, priority: 12, align: 'right', cell: (r) => plain(String(r.oomKills), r.oomKills > 0 ? 'bad' : 'normal') },
  { key: 'uptime', header: 'UP', width: 7, priority: 11, align: 'right', cell: (r) => plain(formatUptime(r.uptime)) },
];

/** A column as laid out for one width. */
export interface PlacedColumn {
  key: ColumnKey;
  header: string;
  width: number;
  align: 'left' | 'right';
}

/**
 * The columns that fit `width` characters, in display order: by priority, each while it and all
 * before it fit; NAME then takes the room left, up to NAME_MAX.
 */
export function layoutColumns(width: number): PlacedColumn[] {
  const byPriority = [...COLUMNS].sort((a, b) => a.priority - b.priority);
  const chosen = new Set<ColumnKey>();
  let used = 0;
  for (const c of byPriority) {
    const need = c.width + (chosen.size > 0 ? GAP : 0);
    if (used + need > width) break;
    chosen.add(c.key);
    used += need;
  }
  if (chosen.size === 0) chosen.add('name');
  const spare = Math.max(0, width - used);
  return COLUMNS.filter((c) => chosen.has(c.key)).map((c) => ({
    key: c.key,
    header: c.header,
    // NAME grows into what is left, up to NAME_MAX; when even NAME alone does not fit, it is cut to the width
    width: c.key === 'name' ? (used === 0 ? Math.max(0, width) : Math.min(c.width + spare, Math.max(NAME_MAX, c.width))) : c.width,
    align: c.align,
  }));
}

/** Cut or pad text to exactly `width` characters (a cut name ends in `…`). */
export function fit(text: string, width: number, align: 'left' | 'right'): string {
  const chars = [...text];
  if (chars.length > width) return width <= 1 ? chars.slice(0, width).join('') : chars.slice(0, width - 1).join('') + '…';
  const pad = ' '.repeat(width - chars.length);
  return align === 'left' ? text + pad : pad + text;
}

/** One line of the table: its cells, each exactly its column's width, and the gaps between. */
export type Line = Cell[];

const COLUMN_BY_KEY = new Map(COLUMNS.map((c) => [c.key, c]));

/** The header line and one line per row for `columns`; joined, each line is at most the width laid out for. */
export function tableLines(rows: readonly TopRow[], columns: readonly PlacedColumn[]): { header: Line; lines: Line[] } {
  const gap: Cell = { text: ' '.repeat(GAP), tone: 'normal' };
  const join = (cells: Cell[]): Line => cells.flatMap((c, i) => (i === 0 ? [c] : [gap, c]));
  const header = join(columns.map((c) => ({ text: fit(c.header, c.width, c.align), tone: 'normal' })));
  const lines = rows.map((r) =>
    join(
      columns.map((c) => {
        const cell = COLUMN_BY_KEY.get(c.key)!.cell(r, c.width);
        return { text: fit(cell.text, c.width, c.align), tone: cell.tone };
      }),
    ),
  );
  return { header, lines };
}

/** A line's text, without tones. */
export function lineText(line: Line): string {
  return line.map((c) => c.text).join('');
}
