/**
 * corral top's layout, model and dashboard on a fake data source: column priority at 60, 80, 120 and
 * 200 columns, units, bars at 0%, 100% and over 100%, a container without limits, the numbers equal
 * to `corral stats`' for the same sample, rates, sorting and filtering, the keys, and the whole screen
 * at 80x24 (24 lines, none wider than 80).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bar, COLUMNS, fit, formatRate, formatUptime, layoutColumns, lineText, NAME_MAX, tableLines } from '../../../../src/cli/top/layout.js';
import { buildRows, cpusetSize, rowText, detailFromInspect, ratesBetween, viewRows, type ContainerDetail, type TickInput, type View } from '../../../../src/cli/top/model.js';
import { initialState, press, screenLines, screenText, type DashState } from '../../../../src/cli/top/dashboard.js';
import { batchFrame } from '../../../../src/cli/top/render.js';
import { Collector, type TopSource } from '../../../../src/cli/top/source.js';
import { coreLoads, type HostInfo } from '../../../../src/cli/top/host.js';
import { tagged } from '../../../../src/cli/top/screen.js';
import { History, sparkline } from '../../../../src/cli/top/history.js';
import { renderStats } from '../../../../src/cli/stats.js';
import { deriveStats } from '../../../../src/metrics/derive.js';
import { demoContainers, fakeStats, HOST_MEMORY, type FakeContainer } from '../../../helpers/fake-top-daemon.js';

const T0 = Date.parse('2026-12-07T05:00:00Z');
const VIEW: View = { sort: 'cpu', reverse: false, filter: '', all: false };
const HOST: HostInfo = { hostname: 'box', kernel: '6.1.0', uptime: 3700, load: [0.5, 0.25, 0.1], cores: [10, 100, 50, 0], memTotal: 8 * 1024 ** 3, memUsed: 2 * 1024 ** 3, swapTotal: 0, swapUsed: 0 };

function detailOf(c: FakeContainer): ContainerDetail {
  return {
    restartCount: c.restartCount ?? 0,
    startedAt: T0 - 90_000,
    cpuLimit: c.nanoCpus !== undefined ? c.nanoCpus / 1e9 : undefined,
    memoryLimit: c.memoryLimit,
    pidsLimit: c.pidsLimit,
    exitCode: 0,
  };
}

function input(containers: FakeContainer[], t: number): TickInput {
  return {
    now: t,
    containers: containers.map((c) => ({ Id: c.id, Names: [`/${c.name}`], State: c.state })),
    stats: containers.filter((c) => c.state === 'running').map((c) => fakeStats(c, t)),
    details: new Map(containers.map((c) => [c.id, detailOf(c)])),
    oomKills: new Map(),
  };
}

/** Two ticks a second apart: the second has rates. */
function rowsAt(containers = demoContainers()) {
  const first = buildRows(input(containers, T0));
  return buildRows(input(containers, T0 + 1000), first.counters).rows;
}

test('columns: dropped in the stated priority order at 60, 80, 120 and 200 columns; NAME takes the rest', () => {
  const keys = (w: number) => layoutColumns(w).map((c) => c.key);
  assert.deepEqual(keys(60), ['name', 'state', 'cpu', 'mem']);
  assert.deepEqual(keys(80), ['name', 'state', 'cpu', 'cpuBar', 'mem', 'memPerc']);
  assert.deepEqual(keys(120), ['name', 'state', 'cpu', 'cpuBar', 'mem', 'memPerc', 'net', 'block', 'pids']);
  assert.deepEqual(
    keys(200),
    COLUMNS.map((c) => c.key),
  );
  for (const w of [20, 40, 60, 80, 100, 120, 160, 200, 300]) {
    const cols = layoutColumns(w);
    const total = cols.reduce((n, c) => n + c.width, 0) + cols.length - 1;
    assert.ok(total <= w, `width ${w}: the columns take ${total}`);
    // a column is kept only with every column of a higher priority
    const kept = new Set(cols.map((c) => c.key));
    const byPriority = [...COLUMNS].sort((a, b) => a.priority - b.priority).map((c) => c.key);
    const firstDropped = byPriority.findIndex((k) => !kept.has(k));
    if (firstDropped >= 0)
      assert.deepEqual(
        byPriority.slice(firstDropped).filter((k) => kept.has(k)),
        [],
        `width ${w}`,
      );
    const name = cols.find((c) => c.key === 'name')!;
    assert.ok(name.width <= Math.max(NAME_MAX, 12) || w < 12, `width ${w}: NAME ${name.width}`);
  }
  assert.equal(layoutColumns(80).find((c) => c.key === 'name')!.width, 16);
  assert.equal(layoutColumns(200).find((c) => c.key === 'name')!.width, NAME_MAX);
  assert.equal(layoutColumns(8)[0]!.width, 8, 'a terminal narrower than NAME cuts NAME');
});

test('table lines: every line exactly as wide as the columns, long names cut with …', () => {
  const containers = demoContainers();
  containers[0]!.name = 'a-container-with-a-very-long-name-indeed';
  const rows = rowsAt(containers);
  for (const w of [60, 80, 120, 200]) {
    const cols = layoutColumns(w);
    const width = cols.reduce((n, c) => n + c.width, 0) + cols.length - 1;
    const { header, lines } = tableLines(rows, cols);
    for (const l of [header, ...lines]) assert.equal([...lineText(l)].length, width, `width ${w}: ${lineText(l)}`);
  }
  const { lines } = tableLines(rows, layoutColumns(80));
  assert.match(lineText(lines[0]!), /^a-container-wit…/);
});

test('bars: 0%, 100%, over 100% and unknown', () => {
  assert.equal(bar(0, 12), '[          ]');
  assert.equal(bar(1, 12), '[||||||||||]');
  assert.equal(bar(0.5, 12), '[|||||     ]');
  assert.equal(bar(1.7, 12), '[|||||||||+]');
  assert.equal(bar(undefined, 12), '[          ]');
  assert.equal(bar(-0.2, 6), '[    ]');
});

test('units: Docker I/O units for rates, uptimes in two units, fit pads and cuts', () => {
  assert.equal(formatRate(0), '0B');
  assert.equal(formatRate(12_000), '12kB');
  assert.equal(formatRate(1_234_567), '1.23MB');
  assert.equal(formatRate(undefined), '--');
  assert.equal(formatUptime(59.9), '59s');
  assert.equal(formatUptime(61), '1m1s');
  assert.equal(formatUptime(3 * 3600 + 12 * 60), '3h12m');
  assert.equal(formatUptime(2 * 86_400 + 4 * 3600), '2d4h');
  assert.equal(fit('abc', 5, 'right'), '  abc');
  assert.equal(fit('abcdef', 4, 'left'), 'abc…');
});

test('numbers: CPU %, MEM USAGE / LIMIT and MEM % are the text `corral stats` prints for the same sample', () => {
  const containers = demoContainers();
  const rows = rowsAt(containers);
  const stats = containers.filter((c) => c.state === 'running').map((c) => fakeStats(c, T0 + 1000));
  const printed = renderStats(
    stats.map((s) => ({ entry: deriveStats(s), ref: '' })),
    'table',
    false,
  );
  for (const r of rows.filter((x) => x.entry)) {
    const line = printed.split('\n').find((l) => l.includes(` ${r.name} `))!;
    assert.ok(line.includes(rowText(r)!.mem), `${r.name}: ${rowText(r)!.mem} in ${line}`);
    assert.ok(line.includes(rowText(r)!.cpu) && line.includes(rowText(r)!.memPerc));
  }
  const busy = rows.find((r) => r.name === 'busy')!;
  assert.equal(rowText(busy)!.cpu, '50.00%');
  assert.equal(rowText(busy)!.mem, '448KiB / 64MiB');
  // --cpus 0.5 at half a core: the bar (scaled to the limit) is full
  const line80 = lineText(tableLines([busy], layoutColumns(80)).lines[0]!);
  assert.match(line80, /50\.00% \[\|{10}\]/);
});

test('a container with no limit: CPU bar against the host, memory against the host, no pids limit', () => {
  const web = rowsAt().find((r) => r.name === 'web')!;
  assert.equal(web.cpuLimited, false);
  assert.equal(web.cpuScale, 4, "the host's online CPUs");
  assert.equal(web.memoryLimited, false);
  assert.equal(web.entry!.memoryLimit, HOST_MEMORY);
  assert.equal(web.pidsLimit, undefined);
  const line = lineText(tableLines([web], layoutColumns(200)).lines[0]!);
  assert.match(line, /7MiB \/ 16GiB/);
  assert.match(line, / 3 +-- /, 'PIDS without a limit, THR % without a quota');
  assert.match(line, /running ↻2/);
});

test('rates: between two samples by their read times; the same sample keeps its rates; a counter that went down gives none', () => {
  const web = rowsAt().find((r) => r.name === 'web')!;
  assert.deepEqual(web.rates, { netRx: 12_000, netTx: 6000, blockRead: 4096, blockWrite: 4096, throttledPercent: 50 });
  const c = demoContainers();
  const a = buildRows(input(c, T0));
  const b = buildRows(input(c, T0 + 1000), a.counters);
  const again = buildRows(input(c, T0 + 1000), b.counters);
  assert.deepEqual(again.rows[1]!.rates, b.rows[1]!.rates);
  assert.equal(buildRows(input(c, T0)).rows[1]!.rates, undefined, 'one sample: no rate');
  const base = { read: 0, netRx: 100, netTx: 0, blockRead: 0, blockWrite: 0, periods: undefined, throttledPeriods: undefined };
  assert.equal(ratesBetween(base, { ...base, read: 1000, netRx: 10 }), undefined);
});

test('limits from inspect: NanoCpus, quota/period, cpuset; 0 is no limit', () => {
  assert.equal(detailFromInspect({ HostConfig: { NanoCpus: 5e8 } }).cpuLimit, 0.5);
  assert.equal(detailFromInspect({ HostConfig: { CpuQuota: 150_000, CpuPeriod: 100_000 } }).cpuLimit, 1.5);
  assert.equal(detailFromInspect({ HostConfig: { CpuQuota: 50_000 } }).cpuLimit, 0.5);
  assert.equal(detailFromInspect({ HostConfig: { CpusetCpus: '0-1,3' } }).cpuLimit, 3);
  assert.deepEqual(detailFromInspect({ HostConfig: { Memory: 0, PidsLimit: 0 }, State: { StartedAt: '0001-01-01T00:00:00Z' } }), {
    restartCount: 0,
    startedAt: undefined,
    cpuLimit: undefined,
    memoryLimit: undefined,
    pidsLimit: undefined,
    exitCode: 0,
  });
  assert.equal(cpusetSize('x'), undefined);
});

test('view: sort keys, reverse, filter by name or id, stopped containers with a', () => {
  const rows = rowsAt();
  const names = (v: Partial<View>) => viewRows(rows, { ...VIEW, ...v }).map((r) => r.name);
  assert.deepEqual(names({}), ['busy', 'web', 'idle']);
  assert.deepEqual(names({ reverse: true }), ['idle', 'web', 'busy']);
  assert.deepEqual(names({ sort: 'name' }), ['busy', 'idle', 'web']);
  assert.deepEqual(names({ sort: 'mem' }), ['web', 'busy', 'idle']);
  assert.deepEqual(names({ sort: 'net' }), ['web', 'busy', 'idle']);
  assert.deepEqual(names({ sort: 'restarts' }), ['web', 'busy', 'idle']);
  assert.deepEqual(names({ filter: 'W' }), ['web']);
  assert.deepEqual(names({ filter: '0303' }), ['idle']);
  assert.deepEqual(names({ all: true, sort: 'name' }), ['busy', 'idle', 'stopped', 'web']);
});

function dash(): DashState {
  const c = demoContainers();
  const rows = rowsAt(c);
  return {
    ...initialState(VIEW, 'unix:///fake.sock', 1000),
    host: HOST,
    frame: { time: T0, rows, error: undefined, oomLastHour: 1, daemon: { version: '0.1.0', cgroupVersion: '1', ncpu: 4, controllers: ['cpu', 'memory'] } },
  };
}

test('the screen at 80x24 and 60x20 and 120x40: exactly the height, no line wider than the terminal', () => {
  let s = dash();
  s = { ...s, events: [{ Type: 'container', Action: 'oom', Actor: { ID: 'x', Attributes: { name: 'leaky' } }, time: T0 / 1000 }] };
  for (const [w, h] of [
    [80, 24],
    [60, 20],
    [120, 40],
    [40, 10],
  ] as const) {
    const lines = screenLines(s, w, h);
    assert.equal(lines.length, h);
    for (const l of lines) assert.ok([...lineText(l)].length <= w, `${w}x${h}: ${lineText(l)}`);
  }
  const text = screenText(s, 80, 24);
  assert.match(text, /^NAME +STATE +CPU % CPU\/LIMIT +MEM USAGE \/ LIMIT +MEM %$/m);
  const withSnapshot = {
    ...s,
    events: [
      {
        Type: 'container',
        Action: 'oom',
        Actor: {
          ID: 'x',
          Attributes: {
            name: 'leaky',
            'memory.usage': '67108864',
            'memory.peak': '67108864',
            'memory.anon': '62914560',
            'memory.file': '1048576',
            'memory.shmem': '0',
            'memory.kernel': '524288',
            'memory.stat_when': 'before-kill',
          },
        },
        time: T0 / 1000,
      },
    ],
  };
  assert.match(screenText(withSnapshot, 120, 24), /05:00:00 OOM KILL leaky \(anon 60MiB, file 1MiB, kernel 512KiB\)/);
  assert.match(text, /OOM KILL leaky/);
  const oom = screenLines(s, 80, 24)
    .flat()
    .find((c) => c.text.includes('OOM KILL'))!;
  assert.equal(oom.tone, 'bad', 'OOM kills are shown in red');
});

test('keys: select, sort menu, reverse, filter, all, help, detail, confirm, quit', () => {
  let s = dash();
  const key = (full: string, ch?: string) => {
    const r = press(s, { full, ch: ch ?? (full.length === 1 ? full : undefined) }, 10);
    s = r.state;
    return r.effect;
  };
  key('down');
  assert.equal(s.selectedId, s.frame!.rows.find((r) => r.name === 'web')!.id);
  key('k');
  assert.equal(s.selectedId, s.frame!.rows.find((r) => r.name === 'busy')!.id);
  key('s');
  assert.equal(s.mode, 'sort');
  key('n');
  assert.deepEqual([s.mode, s.view.sort], ['table', 'name']);
  key('r');
  assert.equal(s.view.reverse, true);
  key('/');
  for (const ch of 'id') key(ch);
  assert.match(lineText(screenLines(s, 80, 24).at(-1)!), /filter: id_/);
  key('enter');
  assert.equal(s.view.filter, 'id');
  assert.deepEqual(
    screenText(s, 80, 24)
      .split('\n')
      .filter((l) => /^\S+ +running/.test(l))
      .map((l) => l.split(' ')[0]),
    ['idle'],
  );
  assert.equal(key('escape'), undefined, 'Esc clears the filter first');
  assert.equal(s.view.filter, '');
  key('a');
  assert.equal(s.view.all, true);
  key('h');
  assert.match(screenText(s, 80, 24), /corral top: keys/);
  key('x');
  key('end');
  key('enter');
  assert.equal(s.mode, 'detail');
  key('escape');
  key('home');
  key('S');
  assert.equal(s.mode, 'confirm');
  assert.match(screenText(s, 80, 24), /stop \w+\? y\/N/);
  assert.equal(key('n'), undefined);
  key('R');
  assert.deepEqual(key('y'), { kind: 'act', action: 'restart', id: s.confirm?.id ?? s.frame!.rows.find((r) => r.name === 'web')!.id, name: 'web' });
  key('u');
  assert.equal(s.mode, 'update');
  for (const ch of '128m') key(ch);
  assert.match(lineText(screenLines(s, 120, 24).at(-1)!), /^update \w+: memory \[128m_\] cpus \[\]/);
  key('enter');
  for (const ch of '0.5') key(ch);
  assert.deepEqual(key('enter'), { kind: 'update', id: s.selectedId ?? s.frame!.rows.find((r) => r.name === 'web')!.id, name: 'web', memory: '128m', cpus: '0.5' });
  assert.equal(s.mode, 'table');
  // e: a shell in the selected (running) container
  assert.deepEqual(key('e'), { kind: 'exec', id: s.selectedId ?? s.frame!.rows.find((r) => r.name === 'web')!.id });
  assert.deepEqual(key('q'), { kind: 'quit' });
  assert.deepEqual(key('C-c'), { kind: 'quit' });
});

test('the daemon gone: the screen says so and that it reconnects', () => {
  const s = { ...dash(), frame: { time: T0, rows: [], error: 'cannot connect to the corral daemon', oomLastHour: 0, daemon: undefined } };
  assert.match(screenText(s, 80, 24), /^no answer from the daemon: reconnecting every 1s \(unix:\/\/\/fake\.sock\)$/m);
});

test('detail view: charts from the history, limits, memory.stat', () => {
  const c = demoContainers();
  const h = new History(5);
  let prev = buildRows(input(c, T0));
  for (let i = 1; i <= 7; i++) {
    prev = buildRows(input(c, T0 + i * 1000), prev.counters);
    h.push(prev.rows);
  }
  assert.equal(h.last(c[0]!.id, 'cpu', 100).length, 5, 'a ring of 5');
  const s = { ...dash(), frame: { ...dash().frame!, rows: prev.rows }, mode: 'detail' as const, focusId: c[0]!.id };
  const text = screenText(s, 80, 24, h);
  assert.match(text, /limits: cpu 0\.5 CPUs \| memory 64MiB \| pids 64/);
  assert.match(text, /CPU +50\.00% +█████$/m);
  assert.match(text, /memory\.stat: anon 256KiB/);
  assert.equal(sparkline([0, 0.5, 1, Number.NaN], 1), '▁▅█ ');
});

test('collector: two requests a tick (list and stats), inspects only new or changed containers, OOM events counted', async () => {
  const c = demoContainers();
  const calls: string[] = [];
  let now = T0;
  let emit: ((e: object) => void) | undefined;
  const source: TopSource = {
    address: 'fake',
    list: async () => {
      calls.push('list');
      return input(c, now).containers.slice();
    },
    stats: async () => {
      calls.push('stats');
      return input(c, now).stats.slice();
    },
    inspect: async (id) => {
      calls.push(`inspect ${id.slice(0, 2)}`);
      return detailOf(c.find((x) => x.id === id)!);
    },
    info: async () => {
      calls.push('info');
      return { version: 'x', cgroupVersion: '2', ncpu: 4, controllers: [] };
    },
    events: (_since, onEvent) => {
      calls.push('events');
      emit = onEvent;
      return { close: () => undefined };
    },
    act: async () => undefined,
    update: async () => undefined,
    logs: () => ({ close: () => undefined }),
  };
  const col = new Collector(source, () => now);
  await col.tick();
  assert.deepEqual(calls.sort(), ['events', 'info', 'inspect 01', 'inspect 02', 'inspect 03', 'inspect 04', 'list', 'stats']);
  calls.length = 0;
  now += 1000;
  emit!({ Type: 'container', Action: 'oom', Actor: { ID: c[0]!.id }, time: now / 1000 });
  const frame = await col.tick();
  assert.deepEqual(calls.sort(), ['inspect 01', 'list', 'stats'], 'the OOM event refreshes that container only');
  assert.equal(frame.rows[0]!.oomKills, 1);
  assert.equal(frame.oomLastHour, 1);
  const batch = batchFrame(frame, HOST, VIEW, 200).split('\n');
  assert.equal(batch[0], 'box 6.1.0 | up 1h1m | load 0.50 0.25 0.10 | mem 2GiB/8GiB | containers 3 running 1 exited 0 restarting | oom/1h 1 | corral x cgroup v2 ()');
  assert.match(batch[1]!, /^NAME +ID +STATE/);
  assert.equal(batch.length, 6, 'host line, header, three running containers, the final newline');
});

test('host: per-core busy % between two readings of the kernel counters', () => {
  const t = (busy: number, idle: number) => ({ user: busy, nice: 0, sys: 0, idle, irq: 0 });
  assert.deepEqual(coreLoads(undefined, [t(10, 10)]), [0]);
  assert.deepEqual(coreLoads([t(10, 10), t(0, 0)], [t(60, 60), t(100, 0)]), [50, 100]);
  assert.deepEqual(coreLoads([t(10, 10)], [t(10, 10)]), [0], 'no time passed');
});

test('colours: tones become blessed tags, none with NO_COLOR but the bold header and the inverse selection; braces escaped', () => {
  const line = [
    { text: 'OOM KILL {x}', tone: 'bad' as const },
    { text: 'web', tone: 'good' as const, selected: true },
    { text: 'NAME', tone: 'header' as const },
  ];
  assert.equal(tagged(line, true), '{red-fg}OOM KILL {open}x{close}{/red-fg}{inverse}{green-fg}web{/green-fg}{/inverse}{bold}NAME{/bold}');
  assert.equal(tagged(line, false), 'OOM KILL {open}x{close}{inverse}web{/inverse}{bold}NAME{/bold}');
});
