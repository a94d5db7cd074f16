import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerViews } from '../../../src/alert/source.js';
import { parseAlertArgs } from '../../../src/cli/commands/alert.js';

const HOST = 8 * 2 ** 30;

test("a tick's views: the working set as docker stats, a limit only when set (the host's memory means none), PSI, pids, throttling, restarts", () => {
  const [limited, unlimited, stopped] = containerViews(
    [
      { Id: 'a', Names: ['/web'], Image: 'host', Labels: { tier: 'front' }, State: 'running' },
      { Id: 'b', Names: ['/db'], Image: '/srv/rootfs', Labels: null, State: 'running' },
      { Id: 'c', Names: ['/job'], State: 'exited' },
    ],
    [
      {
        id: 'a',
        memory_stats: { usage: 100, limit: 200, stats: { inactive_file: 10 } },
        pids_stats: { current: 9, limit: 10 },
        cpu_stats: { throttling_data: { periods: 50, throttled_periods: 5 } },
        pressure: { memory: { some: { avg10: 12.5, avg60: 1, avg300: 0, total: 9 } } },
      },
      { id: 'b', memory_stats: { usage: 100, limit: HOST, stats: {} }, pids_stats: { current: 3, limit: 2 ** 64 } },
    ],
    new Map([['a', 4]]),
    HOST,
  );
  assert.deepEqual(limited, {
    id: 'a',
    name: 'web',
    image: 'host',
    labels: { tier: 'front' },
    running: true,
    memoryWorkingSet: 90,
    memoryLimit: 200,
    memoryPressureSome10: 12.5,
    pidsCurrent: 9,
    pidsLimit: 10,
    cpuPeriods: 50,
    cpuThrottledPeriods: 5,
    restartCount: 4,
  });
  assert.deepEqual(unlimited, { id: 'b', name: 'db', image: '/srv/rootfs', labels: {}, running: true, memoryWorkingSet: 100, pidsCurrent: 3 });
  assert.deepEqual(stopped, { id: 'c', name: 'job', image: '', labels: {}, running: false });
});

test('corral alert flags: repeatable receivers, durations, errors naming the flag', () => {
  const f = parseAlertArgs(['--alertmanager', 'http://a:9093', '--alertmanager', 'http://b:9093', '--webhook', 'https://h/x', '--timeout', '2s', '--interval', '500ms', '--queue-size', '100']);
  assert.deepEqual(f.alertmanager, ['http://a:9093', 'http://b:9093']);
  assert.deepEqual(f.webhook, ['https://h/x']);
  assert.equal(f.timeout, 2000);
  assert.equal(f.interval, 500);
  assert.equal(f.queueSize, 100);
  assert.throws(() => parseAlertArgs(['--alertmanager', 'ftp://x']), { message: 'invalid value "ftp://x" for --alertmanager: an http:// or https:// URL' });
  assert.throws(() => parseAlertArgs(['--resend-interval', '10']), { message: 'invalid value "10" for --resend-interval: a duration of at least 1000ms, such as 500ms, 30s or 5m' });
  assert.throws(() => parseAlertArgs(['--metrics-addr', 'nohost']), { message: 'invalid value "nohost" for --metrics-addr: HOST:PORT, e.g. 127.0.0.1:9339' });
});

test('a tick asks the list again only when an event or the stats say it changed', async () => {
  const { socketSource } = await import('../../../src/alert/source.js');
  const http = await import('node:http');
  const os = await import('node:os');
  const path = await import('node:path');
  const fs = await import('node:fs');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-alert-src-'));
  const socket = path.join(dir, 'd.sock');
  const asked: string[] = [];
  let containers = ['a'];
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '').replace(/^\/v[\d.]+/, '');
    asked.push(url.split('?')[0]!);
    const json = (body: unknown) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    if (url === '/info') json({ MemTotal: HOST });
    else if (url.startsWith('/containers/stats')) json(containers.map((id) => ({ id, memory_stats: { usage: 1, limit: HOST } })));
    else if (url.startsWith('/containers/json')) json(containers.map((id) => ({ Id: id, Names: [`/${id}`], State: 'running' })));
    else json({ RestartCount: 2 });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  try {
    const src = socketSource(socket);
    const views = await src.tick();
    assert.equal(views[0]!.restartCount, 2);
    assert.deepEqual(asked, ['/info', '/containers/stats', '/containers/json', '/containers/a/json']);
    asked.length = 0;
    await src.tick();
    assert.deepEqual(asked, ['/containers/stats']);
    asked.length = 0;
    src.changed('start', 'a');
    await src.tick();
    assert.deepEqual(asked, ['/containers/stats', '/containers/json', '/containers/a/json']);
    asked.length = 0;
    // a container the stats name and the list does not: the list again, and the new one inspected
    containers = ['a', 'b'];
    assert.equal((await src.tick()).length, 2);
    assert.deepEqual(asked, ['/containers/stats', '/containers/json', '/containers/b/json']);
    assert.deepEqual(Object.fromEntries(src.requests()), { '/info': 1, '/containers/stats': 4, '/containers/json': 3, '/containers/{id}/json': 3 });
  } finally {
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
