/**
 * corral top's texts, pure: the host lines, the table, the event lines, the batch frame. The dashboard
 * (screen.ts) puts these into its widgets; --batch prints them.
 */
import { formatMemorySize } from '../../units.js';
import type { HostInfo } from './host.js';
import { bar, fit, formatUptime, layoutColumns, lineText, loadTone, tableLines, type Cell, type Line } from './layout.js';
import { stateCounts, viewRows, type TopRow, type View } from './model.js';
import type { Frame, TopEvent } from './source.js';

/** The one host line of --batch and the panel's first line: host, kernel, uptime, load, memory, containers. */
export function hostSummary(host: HostInfo | undefined, frame: Frame): string {
  const parts: string[] = [];
  if (host) {
    parts.push(`${host.hostname} ${host.kernel}`, `up ${formatUptime(host.uptime)}`, `load ${host.load.map((l) => l.toFixed(2)).join(' ')}`);
    parts.push(`mem ${formatMemorySize(host.memUsed)}/${formatMemorySize(host.memTotal)}`);
    if (host.swapTotal > 0) parts.push(`swap ${formatMemorySize(host.swapUsed)}/${formatMemorySize(host.swapTotal)}`);
  }
  parts.push(containerCounts(frame));
  if (frame.daemon) parts.push(`corral ${frame.daemon.version} cgroup v${frame.daemon.cgroupVersion} (${frame.daemon.controllers.join(',')})`);
  return parts.join(' | ');
}

/** Containers by state and the OOM kills of the last hour: `containers 4 running 1 exited 0 restarting | oom/1h 2`. */
export function containerCounts(frame: Frame): string {
  const c = stateCounts(frame.rows);
  return `containers ${c.running} running ${c.exited} exited ${c.restarting} restarting | oom/1h ${frame.oomLastHour}`;
}

/** Per-core CPU bars, as many to a line as `width` allows: `0[||   ]` each. */
export function coreLines(host: HostInfo, width: number, maxLines: number): Line[] {
  const cell = 10;
  const perLine = Math.max(1, Math.floor((width + 1) / (cell + 1)));
  const lines: Line[] = [];
  for (let i = 0; i < host.cores.length && lines.length < maxLines; i += perLine) {
    const line: Line = [];
    for (const [j, load] of host.cores.slice(i, i + perLine).entries()) {
      if (j > 0) line.push({ text: ' ', tone: 'normal' });
      const label = String(i + j).padStart(2);
      line.push({ text: label, tone: 'dim' }, { text: bar(load / 100, cell - 2), tone: loadTone(load / 100) });
    }
    lines.push(line);
  }
  return lines;
}

/** The table for a width: header and rows (the dashboard scrolls the rows; --batch prints them all). */
export function table(rows: readonly TopRow[], view: View, width: number): { header: Line; lines: Line[]; shown: TopRow[] } {
  const shown = viewRows(rows, view);
  return { ...tableLines(shown, layoutColumns(width)), shown };
}

function hhmmss(seconds: number | undefined): string {
  if (seconds === undefined) return '--:--:--';
  return new Date(seconds * 1000).toISOString().slice(11, 19);
}

/** The oom event's memory.stat snapshot keys that say what filled the memory (not usage, limit or peak; no double counting). */
const OOM_STAT_KEYS = new Set(['memory.anon', 'memory.file', 'memory.shmem', 'memory.kernel', 'memory.swapcached', 'memory.unevictable']);

/** One event as the pane shows it: time, action, container, the details that matter; OOM kills bad. */
export function eventLine(e: TopEvent, width: number): Line {
  const attrs = e.Actor?.Attributes ?? {};
  const name = attrs.name ?? (e.Actor?.ID ?? e.id ?? '').slice(0, 12);
  const action = e.Action ?? '?';
  const extra: string[] = [];
  if (attrs.exitCode !== undefined) extra.push(`exit ${attrs.exitCode}`);
  if (attrs.signal !== undefined) extra.push(`signal ${attrs.signal}`);
  if (action === 'oom') {
    // what filled the memory: the snapshot's three largest memory.stat keys (docs/monitoring.md)
    const filled = Object.entries(attrs)
      .filter(([k, v]) => OOM_STAT_KEYS.has(k) && /^\d+$/.test(v))
      .map(([k, v]) => [k.slice('memory.'.length), Number(v)] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3);
    if (filled.length > 0) extra.push(filled.map(([k, v]) => `${k} ${formatMemorySize(v)}`).join(', '));
  }
  let tone: Cell['tone'] = 'normal';
  if (action === 'oom') tone = 'bad';
  else if (action === 'die') tone = attrs.exitCode === '0' ? 'dim' : 'warn';
  else if (action === 'restart' || action === 'update') tone = 'warn';
  else if (action === 'start') tone = 'good';
  const text = `${hhmmss(e.time)} ${action === 'oom' ? 'OOM KILL' : action} ${e.Type === 'container' || e.Type === undefined ? name : `${e.Type} ${name}`}${extra.length ? ` (${extra.join(', ')})` : ''}`;
  return [{ text: fit(text, width, 'left'), tone }];
}

/** The event pane's lines, newest first. */
export function eventLines(events: readonly TopEvent[], width: number, count: number): Line[] {
  return events
    .slice(-count)
    .reverse()
    .map((e) => eventLine(e, width));
}

/** One --batch frame: the host line (whole: scripts read it) and the whole table, each table line within `width`. */
export function batchFrame(frame: Frame, host: HostInfo | undefined, view: View, width: number): string {
  if (frame.error !== undefined) return `corral top: ${frame.error}\n`;
  const t = table(frame.rows, view, width);
  return [hostSummary(host, frame), ...[t.header, ...t.lines].map((l) => lineText(l).trimEnd())].join('\n') + '\n';
}
