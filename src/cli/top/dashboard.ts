/**
 * The dashboard as pure functions: its state, what a key does to it (`press`), and the screen's lines
 * for a width and height (`screenLines`: exactly `height` lines, none wider than `width`). screen.ts
 * only feeds frames and keys in and draws the lines with blessed, so everything the dashboard shows
 * is tested here without a terminal.
 */
import { formatMemorySize } from '../../units.js';
import type { HostInfo } from './host.js';
import { type History, sparkline } from './history.js';
import { bar, fit, formatRate, formatUptime, layoutColumns, lineText, loadTone, tableLines, type Line } from './layout.js';
import { rowText, type SortKey, type TopRow, type View, viewRows } from './model.js';
import { containerCounts, coreLines, eventLines, hostSummary } from './render.js';
import type { ContainerAction, Frame, TopEvent } from './source.js';

export type Mode = 'table' | 'help' | 'sort' | 'filter' | 'confirm' | 'detail' | 'logs' | 'update';

export interface DashState {
  frame: Frame | undefined;
  host: HostInfo | undefined;
  /** newest last */
  events: readonly TopEvent[];
  view: View;
  /** the selected container's id (kept across re-sorts) */
  selectedId: string | undefined;
  /** first row shown */
  scroll: number;
  mode: Mode;
  /** the filter being typed */
  draft: string;
  confirm: { action: ContainerAction; id: string; name: string } | undefined;
  /** the `u` form: new limits in corral update's syntax ('' keeps the limit) */
  form: { id: string; name: string; field: 'memory' | 'cpus'; memory: string; cpus: string } | undefined;
  /** a one-line message in the status line (an action's result) */
  message: string | undefined;
  /** the detail and logs views' container */
  focusId: string | undefined;
  logs: readonly string[];
  logScroll: number;
  timestamps: boolean;
  address: string;
  /** ms */
  interval: number;
}

export function initialState(view: View, address: string, interval: number): DashState {
  return {
    frame: undefined,
    host: undefined,
    events: [],
    view,
    selectedId: undefined,
    scroll: 0,
    mode: 'table',
    draft: '',
    confirm: undefined,
    form: undefined,
    message: undefined,
    focusId: undefined,
    logs: [],
    logScroll: 0,
    timestamps: false,
    address,
    interval,
  };
}

/** What a key asks of screen.ts besides a new state. */
export type Effect =
  | { kind: 'quit' }
  | { kind: 'act'; action: ContainerAction; id: string; name: string }
  | { kind: 'logs'; id: string }
  | { kind: 'update'; id: string; name: string; memory: string; cpus: string }
  | { kind: 'exec'; id: string }
  | undefined;

/** A key as blessed names it: key.full ('up', 'C-c', 'S', 'enter', ...) and the character typed. */
export interface Key {
  full: string;
  ch: string | undefined;
}

/** Keys of the `s` menu: the first letter of each key, but ne(t) and (i)o and re(s)tarts. */
export const SORT_MENU: Readonly<Record<string, SortKey>> = { c: 'cpu', m: 'mem', n: 'name', t: 'net', i: 'io', p: 'pids', o: 'oom', s: 'restarts' };

const ACTION_KEYS: Readonly<Record<string, ContainerAction>> = { S: 'stop', R: 'restart', K: 'kill', D: 'remove' };

/** The rows the table shows now. */
export function shownRows(s: DashState): TopRow[] {
  return s.frame ? viewRows(s.frame.rows, s.view) : [];
}

function selectedIndex(s: DashState, rows: readonly TopRow[]): number {
  const i = rows.findIndex((r) => r.id === s.selectedId);
  return Math.max(i, 0);
}

/** Rows of the table that fit `height` (for paging); screen.ts passes the terminal's height. */
export function tableHeight(height: number, host: HostInfo | undefined): number {
  return Math.max(1, height - hostHeight(height, host) - 1 - eventsHeight(height) - 1);
}

function moveSelection(s: DashState, delta: number | 'home' | 'end'): DashState {
  const rows = shownRows(s);
  if (rows.length === 0) return s;
  const i = selectedIndex(s, rows);
  const to = delta === 'home' ? 0 : delta === 'end' ? rows.length - 1 : Math.min(rows.length - 1, Math.max(0, i + delta));
  return { ...s, selectedId: rows[to]!.id };
}

/** What a key does. `page` is the number of table rows on screen (PgUp/PgDn). */
export function press(s: DashState, key: Key, page: number): { state: DashState; effect?: Effect } {
  const k = key.full;
  const quitKeys = k === 'q' || k === 'C-c';
  switch (s.mode) {
    case 'filter': {
      if (k === 'C-c') return { state: s, effect: { kind: 'quit' } };
      if (k === 'escape') return { state: { ...s, mode: 'table', draft: '' } };
      if (k === 'enter') return { state: { ...s, mode: 'table', view: { ...s.view, filter: s.draft }, scroll: 0 } };
      if (k === 'backspace') return { state: { ...s, draft: s.draft.slice(0, -1) } };
      if (key.ch !== undefined && key.ch.length === 1 && key.ch >= ' ' && key.ch !== '\x7f') return { state: { ...s, draft: s.draft + key.ch } };
      return { state: s };
    }
    case 'update': {
      const f = s.form;
      if (k === 'C-c') return { state: s, effect: { kind: 'quit' } };
      if (!f || k === 'escape') return { state: { ...s, mode: 'table', form: undefined, message: 'update cancelled' } };
      if (k === 'enter') {
        if (f.field === 'memory') return { state: { ...s, form: { ...f, field: 'cpus' } } };
        return { state: { ...s, mode: 'table', form: undefined }, effect: { kind: 'update', id: f.id, name: f.name, memory: f.memory.trim(), cpus: f.cpus.trim() } };
      }
      const value = f[f.field];
      if (k === 'backspace') return { state: { ...s, form: { ...f, [f.field]: value.slice(0, -1) } } };
      if (key.ch !== undefined && /^[0-9a-zA-Z.]$/.test(key.ch)) return { state: { ...s, form: { ...f, [f.field]: value + key.ch } } };
      return { state: s };
    }
    case 'sort': {
      if (k === 'C-c') return { state: s, effect: { kind: 'quit' } };
      const chosen = key.ch !== undefined ? SORT_MENU[key.ch] : undefined;
      if (chosen) return { state: { ...s, mode: 'table', view: { ...s.view, sort: chosen, reverse: false } } };
      return { state: { ...s, mode: 'table' } };
    }
    case 'confirm': {
      if (k === 'C-c') return { state: s, effect: { kind: 'quit' } };
      const c = s.confirm;
      if (c && (k === 'y' || k === 'Y')) return { state: { ...s, mode: 'table', confirm: undefined, message: `${c.action} ${c.name}...` }, effect: { kind: 'act', ...c } };
      return { state: { ...s, mode: 'table', confirm: undefined, message: 'cancelled' } };
    }
    case 'help':
    case 'detail':
      if (k === 'C-c' || k === 'q') return { state: s, effect: { kind: 'quit' } };
      if (s.mode === 'detail' && k === 'l' && s.focusId) return { state: { ...s, mode: 'logs', logs: [], logScroll: 0 }, effect: { kind: 'logs', id: s.focusId } };
      return { state: { ...s, mode: 'table' } };
    case 'logs':
      if (k === 'C-c' || k === 'q') return { state: s, effect: { kind: 'quit' } };
      if (k === 'escape' || k === 'l' || k === 'enter') return { state: { ...s, mode: 'table', focusId: undefined, logs: [] } };
      if (k === 't') return { state: { ...s, timestamps: !s.timestamps }, effect: { kind: 'logs', id: s.focusId ?? '' } };
      if (k === 'up' || k === 'k') return { state: { ...s, logScroll: s.logScroll + 1 } };
      if (k === 'down' || k === 'j') return { state: { ...s, logScroll: Math.max(0, s.logScroll - 1) } };
      if (k === 'pageup') return { state: { ...s, logScroll: s.logScroll + page } };
      if (k === 'pagedown') return { state: { ...s, logScroll: Math.max(0, s.logScroll - page) } };
      if (k === 'end') return { state: { ...s, logScroll: 0 } };
      return { state: s };
    case 'table':
      break;
  }
  if (quitKeys || k === 'escape') {
    // Esc first clears a filter, then quits
    if (k === 'escape' && s.view.filter !== '') return { state: { ...s, view: { ...s.view, filter: '' } } };
    return { state: s, effect: { kind: 'quit' } };
  }
  const rows = shownRows(s);
  const selected = rows[selectedIndex(s, rows)];
  const s2 = { ...s, message: undefined };
  switch (k) {
    case 'up':
    case 'k':
      return { state: moveSelection(s2, -1) };
    case 'down':
    case 'j':
      return { state: moveSelection(s2, 1) };
    case 'pageup':
      return { state: moveSelection(s2, -page) };
    case 'pagedown':
      return { state: moveSelection(s2, page) };
    case 'home':
    case 'g':
      return { state: moveSelection(s2, 'home') };
    case 'end':
    case 'G':
      return { state: moveSelection(s2, 'end') };
    case 's':
      return { state: { ...s2, mode: 'sort' } };
    case 'r':
      return { state: { ...s2, view: { ...s.view, reverse: !s.view.reverse } } };
    case '/':
    case 'f':
      return { state: { ...s2, mode: 'filter', draft: s.view.filter } };
    case 'a':
      return { state: { ...s2, view: { ...s.view, all: !s.view.all } } };
    case 'h':
    case '?':
      return { state: { ...s2, mode: 'help' } };
    case 'enter':
      return selected ? { state: { ...s2, mode: 'detail', focusId: selected.id } } : { state: s2 };
    case 'u':
      return selected ? { state: { ...s2, mode: 'update', form: { id: selected.id, name: selected.name, field: 'memory', memory: '', cpus: '' } } } : { state: s2 };
    case 'l':
      return selected ? { state: { ...s2, mode: 'logs', focusId: selected.id, logs: [], logScroll: 0 }, effect: { kind: 'logs', id: selected.id } } : { state: s2 };
    case 'e':
      if (!selected) return { state: s2 };
      if (selected.state !== 'running') return { state: { ...s2, message: `exec: ${selected.name} is not running` } };
      return { state: s2, effect: { kind: 'exec', id: selected.id } };
  }
  const action = ACTION_KEYS[k];
  if (action && selected) return { state: { ...s2, mode: 'confirm', confirm: { action, id: selected.id, name: selected.name } } };
  return { state: s };
}

/** The keys, as `h` shows them and the README lists them. */
export const KEYS_HELP: readonly [string, string][] = [
  ['up/down, j/k', 'select a container'],
  ['PgUp/PgDn, Home/End', 'select a page up or down, the first or last'],
  ['s', 'sort by: c cpu, m mem, n name, t net, i io, p pids, o oom, s restarts'],
  ['r', 'reverse the order'],
  ['/ or f', 'filter by a substring of the name or ID (Enter applies, Esc cancels)'],
  ['a', 'show stopped containers too'],
  ['Enter', 'the selected container in detail (charts since the dashboard started)'],
  ['l', 'its logs, following (up/down scroll, t timestamps, Esc back)'],
  ['e', 'a shell in it (corral exec -it ID sh; exiting the shell comes back here)'],
  ['S, R, K, D', 'stop, restart, kill, remove it (asks y/N first)'],
  ['u', "update its memory and CPU limits (as corral update's -m and --cpus; empty keeps)"],
  ['h or ?', 'this help'],
  ['q, Esc, Ctrl-C', 'quit (Esc clears a filter first)'],
];

function hostHeight(height: number, host: HostInfo | undefined): number {
  if (!host) return 1;
  const cores = host ? Math.min(2, Math.ceil(host.cores.length / 7)) : 0;
  return height >= 20 ? 2 + cores : 1;
}

function eventsHeight(height: number): number {
  return height >= 20 ? 5 : height >= 12 ? 3 : 0;
}

const text = (t: string, tone: Line[number]['tone'] = 'normal'): Line => [{ text: t, tone }];

/** A line cut to `width` (no tone is lost; a cell past the width is dropped or cut). */
export function clip(line: Line, width: number): Line {
  const out: Line = [];
  let left = width;
  for (const c of line) {
    if (left <= 0) break;
    const chars = [...c.text];
    out.push(chars.length <= left ? c : { ...c, text: chars.slice(0, left).join('') });
    left -= Math.min(chars.length, left);
  }
  return out;
}

function hostLines(s: DashState, width: number, height: number): Line[] {
  const frame = s.frame ?? { time: 0, rows: [], error: undefined, oomLastHour: 0, daemon: undefined };
  const n = hostHeight(height, s.host);
  if (n === 1 || !s.host) return [text(hostSummary(s.host, frame))];
  const h = s.host;
  const first = `${h.hostname} ${h.kernel} | up ${formatUptime(h.uptime)} | load ${h.load.map((l) => l.toFixed(2)).join(' ')}${frame.daemon ? ` | corral ${frame.daemon.version} cgroup v${frame.daemon.cgroupVersion} (${frame.daemon.controllers.join(',')})` : ''}`;
  const rowsByState = containerCounts(frame);
  const memF = h.memTotal > 0 ? h.memUsed / h.memTotal : undefined;
  const second: Line = [
    { text: 'mem ', tone: 'normal' },
    { text: bar(memF, 10), tone: loadTone(memF) },
    { text: ` ${formatMemorySize(h.memUsed)}/${formatMemorySize(h.memTotal)}`, tone: 'normal' },
    ...(h.swapTotal > 0 ? [{ text: ` swap ${formatMemorySize(h.swapUsed)}/${formatMemorySize(h.swapTotal)}`, tone: 'normal' as const }] : []),
    { text: ` | ${rowsByState}`, tone: frame.oomLastHour > 0 ? 'warn' : 'normal' },
  ];
  return [text(first), second, ...coreLines(h, width, n - 2)];
}

function statusLine(s: DashState): Line {
  switch (s.mode) {
    case 'filter':
      return text(`filter: ${s.draft}_   (Enter apply, Esc cancel)`, 'warn');
    case 'sort':
      return text(
        `sort by: ${Object.entries(SORT_MENU)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
        'warn',
      );
    case 'confirm':
      return text(`${s.confirm?.action} ${s.confirm?.name}? y/N`, 'bad');
    case 'update': {
      const f = s.form;
      const field = (name: 'memory' | 'cpus', label: string) => `${label} [${f?.[name] ?? ''}${f?.field === name ? '_' : ''}]`;
      return text(`update ${f?.name}: ${field('memory', 'memory')} ${field('cpus', 'cpus')} (Enter next/apply, Esc cancel)`, 'warn');
    }
    default: {
      const v = s.view;
      const state = `sort ${v.sort}${v.reverse ? ' (reversed)' : ''}${v.filter ? ` | filter "${v.filter}"` : ''}${v.all ? ' | all' : ''}`;
      return text(`${s.message ? `${s.message} | ` : ''}${state} | h help | q quit`, s.message ? 'warn' : 'dim');
    }
  }
}

function tableArea(s: DashState, width: number, rowsHeight: number): Line[] {
  if (!s.frame) return [text('waiting for the daemon...', 'dim')];
  if (s.frame.error !== undefined) {
    return [text(`no answer from the daemon: reconnecting every ${Math.round(s.interval / 100) / 10}s (${s.address})`, 'bad'), text(s.frame.error, 'dim')];
  }
  const shown = viewRows(s.frame.rows, s.view);
  const sel = selectedIndex(s, shown);
  // keep the selection in sight
  let scroll = Math.min(s.scroll, Math.max(0, shown.length - rowsHeight));
  if (sel < scroll) scroll = sel;
  if (sel >= scroll + rowsHeight) scroll = sel - rowsHeight + 1;
  // only the rows on screen are formatted (500 containers, 20 lines)
  const t = tableLines(shown.slice(scroll, scroll + rowsHeight), layoutColumns(width));
  const header: Line = t.header.map((c) => ({ ...c, tone: 'header' as const }));
  if (shown.length === 0) return [header, text(s.view.filter ? `no container matches "${s.view.filter}"` : 'no containers (a: show stopped ones)', 'dim')];
  const visible = t.lines.map((l, i) => (scroll + i === sel ? l.map((c) => ({ ...c, selected: true })) : l));
  return [header, ...visible];
}

function pad(lines: Line[], n: number): Line[] {
  const out = lines.slice(0, n);
  while (out.length < n) out.push([]);
  return out;
}

/** The screen for one state: exactly `height` lines, each at most `width` characters. */
export function screenLines(s: DashState, width: number, height: number, history?: History): Line[] {
  let lines: Line[];
  if (s.mode === 'help') lines = helpLines();
  else if (s.mode === 'detail') lines = detailLines(s, width, height, history);
  else if (s.mode === 'logs') lines = logLines(s, height);
  else {
    const host = hostLines(s, width, height);
    const evH = eventsHeight(height);
    const rowsH = Math.max(1, height - host.length - 1 - evH - 1);
    lines = [...host, ...pad(tableArea(s, width, rowsH), rowsH + 1)];
    if (evH > 0) lines.push(text(`EVENTS (newest first)`, 'header'), ...pad(eventLines(s.events, width, evH - 1), evH - 1));
    lines.push(statusLine(s));
  }
  return pad(lines, height).map((l) => clip(l, width));
}

function helpLines(): Line[] {
  const w = Math.max(...KEYS_HELP.map(([k]) => k.length));
  return [text('corral top: keys', 'header'), [], ...KEYS_HELP.map(([k, v]) => text(`  ${k.padEnd(w)}  ${v}`)), [], text('any key: back', 'dim')];
}

function detailLines(s: DashState, width: number, height: number, history: History | undefined): Line[] {
  const row = s.frame?.rows.find((r) => r.id === s.focusId);
  if (!row) return [text('the container is gone (any key: back)', 'dim')];
  const chartW = Math.max(10, width - 22);
  const hist = (series: Parameters<History['last']>[1]) => history?.last(row.id, series, chartW) ?? [];
  const maxOf = (v: number[]) => Math.max(1, ...v.filter(Number.isFinite));
  const cpu = hist('cpu');
  const mem = hist('mem');
  const net = hist('net');
  const blk = hist('block');
  const limit = row.entry?.memoryLimit;
  const memStat = row.memoryStat ?? {};
  const stat = (k: string) => (memStat[k] !== undefined ? formatMemorySize(memStat[k]!) : '--');
  const kernel = memStat.kernel ?? memStat.kernel_stack;
  const events = s.events.filter((e) => (e.Actor?.ID ?? e.id) === row.id);
  const out: Line[] = [
    text(`${row.name}  ${row.id.slice(0, 12)}  ${row.state}${row.restarts ? ` (restarts ${row.restarts})` : ''}  up ${formatUptime(row.uptime)}`, 'header'),
    text(
      `limits: cpu ${row.cpuLimited ? `${row.cpuScale} CPUs` : `none (host: ${row.cpuScale ?? '?'} CPUs)`} | memory ${row.memoryLimited && limit !== undefined ? formatMemorySize(limit) : 'none'} | pids ${row.pidsLimit ?? 'none'}`,
    ),
    text(`history: since the dashboard started, one point a tick (newest right)`, 'dim'),
    text(`CPU ${fit(rowText(row)?.cpu ?? '--', 8, 'right')}       ${sparkline(cpu, 1)}`, 'good'),
    text(`MEM ${fit(row.entry?.memory !== undefined ? formatMemorySize(row.entry.memory) : '--', 8, 'right')}       ${sparkline(mem, limit ?? maxOf(mem))}`, 'good'),
    text(`NET ${fit(row.rates ? formatRate(row.rates.netRx + row.rates.netTx) : '--', 8, 'right')}/s     ${sparkline(net, maxOf(net))}`),
    text(`BLK ${fit(row.rates ? formatRate(row.rates.blockRead + row.rates.blockWrite) : '--', 8, 'right')}/s     ${sparkline(blk, maxOf(blk))}`),
    text(`memory.stat: anon ${stat('anon')} | file ${stat('file')} | shmem ${stat('shmem')} | kernel ${kernel !== undefined ? formatMemorySize(kernel) : '--'} | slab ${stat('slab')}`),
    text(`CPU throttled ${row.rates?.throttledPercent !== undefined ? `${row.rates.throttledPercent.toFixed(1)}%` : '--'} of periods | OOM kills ${row.oomKills}`),
    text('EVENTS', 'header'),
    ...eventLines(events, width, Math.max(1, height - 12)),
  ];
  return [...pad(out, height - 1), text('l logs | any other key: back', 'dim')];
}

function logLines(s: DashState, height: number): Line[] {
  const row = s.frame?.rows.find((r) => r.id === s.focusId);
  const body = height - 2;
  const end = Math.max(0, s.logs.length - s.logScroll);
  const shown = s.logs.slice(Math.max(0, end - body), end);
  return [
    text(`logs of ${row?.name ?? s.focusId?.slice(0, 12) ?? '?'} (following${s.logScroll ? `, ${s.logScroll} lines up` : ''})`, 'header'),
    ...pad(
      shown.map((l) => text(l)),
      body,
    ),
    text('up/down PgUp/PgDn scroll | End newest | t timestamps | Esc back', 'dim'),
  ];
}

/** The screen as plain text (for tests and logs). */
export function screenText(s: DashState, width: number, height: number, history?: History): string {
  return screenLines(s, width, height, history)
    .map((l) => lineText(l))
    .join('\n');
}
