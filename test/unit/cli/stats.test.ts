/** `corral stats`: its flags, and its output for each --format, from the pure pieces it is made of. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_STATS_FORMAT, parseStatsArgs, renderStats, type StatsLine } from '../../../src/cli/stats.js';
import { parseDaemonArgs, parseMetricsAddr, parseMetricsContainerLabels, parseSampleIdleInterval, parseSampleInterval } from '../../../src/cli/daemon.js';
import { renderStatsTable, statsRow } from '../../../src/cli/format/stats.js';
import type { StatsEntry } from '../../../src/metrics/derive.js';

const entry: StatsEntry = {
  id: 'fb8a59bd6942b32e57ece47de8430cf42e39b92c285a971b208838ab7156f0e1',
  name: 'limited',
  cpuPercent: 51.0123,
  memory: 471040,
  memoryLimit: 67108864,
  memoryPercent: 0.7019,
  networkRx: 1200,
  networkTx: 0,
  blockRead: 0,
  blockWrite: 0,
  pidsCurrent: 1,
};
const line: StatsLine = { entry, ref: 'limited' };
const stopped: StatsLine = {
  entry: { ...entry, id: 'a'.repeat(64), name: 'stopped', cpuPercent: undefined, memory: undefined, memoryLimit: undefined, memoryPercent: undefined, pidsCurrent: undefined, networkRx: 0 },
  ref: 'aaaaaaaaaaaa',
};

test('flags: Docker names, containers anywhere, clear usage errors', () => {
  assert.deepEqual(parseStatsArgs([]), { all: false, noStream: false, noTrunc: false, format: 'table', containers: [], help: false });
  assert.deepEqual(parseStatsArgs(['-a', '--no-stream', 'web', '--format=json', '--no-trunc', 'db']), {
    all: true,
    noStream: true,
    noTrunc: true,
    format: 'json',
    containers: ['web', 'db'],
    help: false,
  });
  assert.equal(parseStatsArgs(['--format', '{{.Name}}']).format, '{{.Name}}');
  assert.throws(() => parseStatsArgs(['--format']), { message: 'flag needs an argument: --format' });
  assert.throws(() => parseStatsArgs(['--stream']), { message: "unknown flag: --stream (see 'corral stats --help')" });
});

test("the default table is Docker's, as format.ts renders it", () => {
  const text = renderStats([line, stopped], 'table', false);
  assert.equal(text, renderStatsTable([statsRow(entry), statsRow(stopped.entry)]));
  assert.equal(
    text,
    'CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O      BLOCK I/O   PIDS\n' +
      'fb8a59bd6942   limited   51.01%    460KiB / 64MiB      0.70%     1.2kB / 0B   0B / 0B     1\n' +
      'aaaaaaaaaaaa   stopped   --        -- / --             --        0B / 0B      0B / 0B     --\n',
  );
  assert.equal(renderStats([line], DEFAULT_STATS_FORMAT, false), renderStats([line], 'table', false));
  assert.match(renderStats([line], 'table', true), /^fb8a59bd6942b32e57ece47de8430cf42e39b92c285a971b208838ab7156f0e1 {3}limited/m, '--no-trunc: the full id');
});

test('--format json and templates', () => {
  assert.equal(
    renderStats([line], 'json', false),
    '{"BlockIO":"0B / 0B","CPUPerc":"51.01%","Container":"limited","ID":"fb8a59bd6942","MemPerc":"0.70%","MemUsage":"460KiB / 64MiB","Name":"limited","NetIO":"1.2kB / 0B","PIDs":"1"}\n',
  );
  assert.equal(renderStats([line, stopped], '{{.Name}}: {{ .CPUPerc }}', false), 'limited: 51.01%\nstopped: --\n');
  assert.equal(renderStats([line], 'table {{.Container}}\\t{{.MemUsage}}', false), 'CONTAINER   MEM USAGE / LIMIT\nlimited     460KiB / 64MiB\n');
  assert.throws(() => renderStats([line], '{{.Bogus}}', false), {
    message: 'invalid --format template "{{.Bogus}}": unknown action {{.Bogus}} (fields: .Container .ID .Name .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO .PIDs, or json .)',
  });
});

test("--format is read by the CLI's one template engine, as Docker reads it", () => {
  // spaces at both ends trimmed, {{- -}} trims the text beside it
  assert.equal(renderStats([line], ' {{.Name}}  {{- .PIDs}} ', false), 'limited1\n');
  for (const bad of ['{{.Name.Sub}}', '{{.}}', '{{json .Name}}', '{{range .Name}}', '{{Name}}']) {
    assert.throws(() => renderStats([line], bad, false), { message: /^invalid --format template .*: unknown action \{\{/ }, bad);
  }
  assert.throws(() => renderStats([line], '{{.Name', false), { message: /^invalid --format template "\{\{\.Name": unclosed action/ });
});

test('daemon --sample-interval, --sample-idle-interval and --metrics-addr', () => {
  assert.equal(parseSampleInterval('1s'), 1000);
  assert.equal(parseSampleInterval('250ms'), 250);
  assert.equal(parseSampleInterval('1.5s'), 1500);
  assert.equal(parseSampleInterval('1m'), 60_000);
  for (const bad of ['0s', '50ms', '2m', '1', 'fast', '-1s']) {
    assert.throws(() => parseSampleInterval(bad), { message: `invalid value "${bad}" for --sample-interval: a duration from 100ms to 60s, such as 500ms, 1s or 2.5s` }, bad);
  }
  assert.equal(parseSampleIdleInterval('10s'), 10_000);
  assert.equal(parseSampleIdleInterval('10m'), 600_000);
  for (const bad of ['11m', '10', '0ms']) {
    assert.throws(() => parseSampleIdleInterval(bad), { message: `invalid value "${bad}" for --sample-idle-interval: a duration from 100ms to 10m, such as 10s or 1m` }, bad);
  }
  assert.equal(parseDaemonArgs(['--sample-idle-interval', '30s']).sampleIdleIntervalMs, 30_000);
  assert.equal(parseDaemonArgs([]).sampleIdleIntervalMs, undefined);
  assert.deepEqual(parseMetricsAddr('127.0.0.1:9338'), { host: '127.0.0.1', port: 9338 });
  assert.deepEqual(parseMetricsAddr('[::1]:0'), { host: '::1', port: 0 });
  assert.equal(parseMetricsAddr(''), null);
  assert.equal(parseMetricsAddr('none'), null);
  for (const none of [['--metrics-addr', 'none'], ['--metrics-addr='], ['--metrics-addr', '']]) assert.equal(parseDaemonArgs(none).metricsAddr, null, none.join(' '));
  assert.deepEqual(parseDaemonArgs(['--metrics-addr=127.0.0.1:0']).metricsAddr, { host: '127.0.0.1', port: 0 });
  assert.throws(() => parseMetricsAddr('9338'), { message: 'invalid value "9338" for --metrics-addr: HOST:PORT, e.g. 127.0.0.1:9338 (or none)' });
});

test('daemon --metrics-container-labels: * for all (the default), keys, or none', () => {
  assert.equal(parseDaemonArgs([]).metricsContainerLabels, undefined);
  assert.equal(parseDaemonArgs(['--metrics-container-labels', '*']).metricsContainerLabels, 'all');
  assert.deepEqual(parseDaemonArgs(['--metrics-container-labels', 'com.example.team, env']).metricsContainerLabels, ['com.example.team', 'env']);
  assert.deepEqual(parseDaemonArgs(['--metrics-container-labels=']).metricsContainerLabels, []);
  for (const bad of ['a,,b', 'a b', 'team,*']) {
    assert.throws(() => parseMetricsContainerLabels(bad), {
      message: `invalid value "${bad}" for --metrics-container-labels: expected label keys separated by commas (such as com.example.team,env), * for all or '' for none`,
    });
  }
});
