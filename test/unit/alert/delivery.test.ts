/**
 * The queue on a real directory, the payload shapes, the HTTP receivers against local servers
 * (answers 200, 400, 503, and one that never answers) and the delivery loops with back-off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoff, Delivery } from '../../../src/alert/delivery.js';
import type { Alert } from '../../../src/alert/engine.js';
import { fingerprint } from '../../../src/alert/fingerprint.js';
import { AlertMetrics } from '../../../src/alert/metrics.js';
import { alertmanagerBody, webhookPayload } from '../../../src/alert/payload.js';
import { DiskQueue } from '../../../src/alert/queue.js';
import { alertmanagerReceiver, logReceiver, SIGNATURE_HEADER, signature, webhookReceiver, type Receiver, type SendResult } from '../../../src/alert/receivers.js';
import { createLogger } from '../../../src/log.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'corral-alert-q-'));
const alert = (name: string, status: 'firing' | 'resolved' = 'firing', endsAt?: number): Alert => {
  const labels = { alertname: name, severity: 'critical', name: 'web' };
  return { status, labels, annotations: { summary: `${name} fired` }, startsAt: 1_000, ...(endsAt !== undefined ? { endsAt } : {}), fingerprint: fingerprint(labels), rule: name };
};
const metrics = () => new AlertMetrics({ firing: () => new Map(), queueDepth: () => new Map(), daemonUp: () => true, rules: () => 0, daemonRequests: () => new Map() });
const quiet = () => {
  const lines: string[] = [];
  return { log: createLogger({ level: 'debug', write: (l) => lines.push(l) }), lines };
};

test('the queue survives a restart in order, drops unknown receivers and temporaries, and is bounded (resolved dropped first)', async () => {
  const dir = tmp();
  const { queue } = await DiskQueue.open(dir, new Set(['am-1', 'wh-2']), 3);
  await queue.push('am-1', alert('A'), 1);
  await queue.push('wh-2', alert('B', 'resolved', 5), 2);
  await queue.push('am-1', alert('C'), 3);
  // a resend of A while A waits: not queued
  assert.equal((await queue.push('am-1', alert('A'), 4, true)).queued, false);
  // full: the resolved B goes first
  const full = await queue.push('am-1', alert('D'), 5);
  assert.deepEqual(
    full.dropped.map((d) => [d.entry.alert.rule, d.reason]),
    [['B', 'queue-full']],
  );
  fs.writeFileSync(path.join(dir, '.0000000000000009.am-1.json.123.tmp'), '{');
  // a restart (as after SIGKILL): the same entries, same order; a receiver no longer given is dropped
  const again = await DiskQueue.open(dir, new Set(['am-1']), 3);
  assert.equal(again.replayed, 3);
  assert.deepEqual(
    again.queue.peek('am-1', 10).map((e) => e.alert.rule),
    ['A', 'C', 'D'],
  );
  assert.ok(!fs.readdirSync(dir).some((n) => n.endsWith('.tmp')));
  again.queue.remove(again.queue.peek('am-1', 2));
  assert.deepEqual(fs.readdirSync(dir), ['0000000000000004.am-1.json']);
  // a firing and a resolution of one alert never go in one request
  await again.queue.push('am-1', alert('D', 'resolved', 6), 6);
  assert.deepEqual(
    again.queue.peek('am-1', 10).map((e) => `${e.alert.rule} ${e.alert.status}`),
    ['D firing'],
  );
  again.queue.remove(again.queue.peek('am-1', 1));
  assert.deepEqual(
    again.queue.peek('am-1', 10).map((e) => `${e.alert.rule} ${e.alert.status}`),
    ['D resolved'],
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

test("payloads in Alertmanager's shapes: API v2 with endsAt four resends ahead for firing alerts; webhook version 4 with fingerprints", () => {
  const body = alertmanagerBody([alert('A'), alert('B', 'resolved', 9_000)], 10_000, 60_000, 'http://host/');
  assert.deepEqual(body[0], {
    labels: { alertname: 'A', severity: 'critical', name: 'web' },
    annotations: { summary: 'A fired' },
    startsAt: '1970-01-01T00:00:01.000Z',
    endsAt: '1970-01-01T00:04:10.000Z',
    generatorURL: 'http://host/',
  });
  assert.equal(body[1]!.endsAt, '1970-01-01T00:00:09.000Z');
  const hook = webhookPayload([alert('A'), alert('B', 'resolved', 9_000)], 'corral-alert', 'http://host/', 'http://host/');
  assert.equal(hook.version, '4');
  assert.equal(hook.status, 'firing');
  assert.deepEqual(hook.commonLabels, { severity: 'critical', name: 'web' });
  assert.equal(hook.alerts[0]!.endsAt, '0001-01-01T00:00:00Z');
  assert.equal(hook.alerts[1]!.fingerprint, fingerprint({ alertname: 'B', severity: 'critical', name: 'web' }));
});

/** A local server answering with `status` (or never, for 'hang'); it records what it got. */
async function server(answer: () => number | 'hang') {
  const got: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const s = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      got.push({ url: req.url ?? '', headers: req.headers, body });
      const a = answer();
      if (a !== 'hang') res.writeHead(a, { 'Content-Type': 'text/plain' }).end(a >= 400 ? `bad alert: ${a}` : '');
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    got,
    close: () => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    },
  };
}

test('HTTP receivers: the outcome by status, the timeout, the HMAC signature', async () => {
  const options = { timeoutMs: 300, generatorURL: 'http://h/', resendMs: 60_000, secret: Buffer.from('s3cret') };
  let status: number | 'hang' = 200;
  const s = await server(() => status);
  try {
    const am = alertmanagerReceiver(`${s.url}/`, options);
    assert.deepEqual(await am.send([alert('A')], 0), { outcome: 'sent' });
    assert.equal(s.got[0]!.url, '/api/v2/alerts');
    status = 400;
    assert.deepEqual(await am.send([alert('A')], 0), { outcome: 'refused', status: 400, reason: 'bad alert: 400' });
    status = 503;
    assert.deepEqual(await am.send([alert('A')], 0), { outcome: 'retry', reason: '503 bad alert: 503' });
    status = 'hang';
    const t0 = Date.now();
    assert.deepEqual(await am.send([alert('A')], 0), { outcome: 'retry', reason: 'no answer within 300 ms' });
    assert.ok(Date.now() - t0 < 2000);
    status = 200;
    const hook = webhookReceiver(`${s.url}/hook`, options);
    assert.deepEqual(await hook.send([alert('A')], 0), { outcome: 'sent' });
    const last = s.got[s.got.length - 1]!;
    assert.equal(last.headers[SIGNATURE_HEADER.toLowerCase()], signature(Buffer.from('s3cret'), last.body));
    assert.equal(JSON.parse(last.body).version, '4');
  } finally {
    await s.close();
  }
  // nothing listens there any more
  const refused = await alertmanagerReceiver(s.url, options).send([alert('A')], 0);
  assert.deepEqual(refused, { outcome: 'retry', reason: 'ECONNREFUSED' });
});

test('the JSON-lines log receiver appends one line per notification', async () => {
  const dir = tmp();
  const file = path.join(dir, 'alerts.jsonl');
  const r = logReceiver(file);
  await r.send([alert('A'), alert('B', 'resolved', 2_000)], 3_000);
  const lines = fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => [l.status, l.alertname, l.endsAt]),
    [
      ['firing', 'A', undefined],
      ['resolved', 'B', '1970-01-01T00:00:02.000Z'],
    ],
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

test('back-off: doubling from the minimum, capped, with at most a tenth of jitter', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 10].map((n) => backoff(n, 500, 3000, () => 0)),
    [500, 1000, 2000, 3000, 3000],
  );
  assert.equal(
    backoff(1, 500, 3000, () => 1),
    550,
  );
});

test('delivery: a failing receiver is retried with back-off while another gets its alerts; a refused batch is split and only the bad one dropped', async () => {
  const dir = tmp();
  const calls: Record<string, string[][]> = { down: [], ok: [], picky: [] };
  const fake = (id: string, outcome: (names: string[]) => SendResult): Receiver => ({
    id,
    description: id,
    batch: 10,
    send: async (alerts) => {
      const names = alerts.map((a) => a.rule);
      calls[id]!.push(names);
      return outcome(names);
    },
  });
  let downUp = false;
  const receivers = [
    fake('down', () => (downUp ? { outcome: 'sent' } : { outcome: 'retry', reason: 'ECONNREFUSED' })),
    fake('ok', () => ({ outcome: 'sent' })),
    fake('picky', (names) => (names.includes('Bad') ? { outcome: 'refused', status: 400, reason: 'bad label' } : { outcome: 'sent' })),
  ];
  const { queue } = await DiskQueue.open(dir, new Set(receivers.map((r) => r.id)));
  const m = metrics();
  const { log, lines } = quiet();
  const d = new Delivery(queue, receivers, m, log, { minBackoffMs: 20, maxBackoffMs: 80 });
  d.start();
  for (const r of receivers) for (const name of ['A', 'Bad', 'C']) await queue.push(r.id, alert(name), 0);
  d.wake();
  await sleep(400);
  assert.deepEqual(calls.ok, [['A', 'Bad', 'C']]);
  assert.deepEqual(calls.picky, [['A', 'Bad', 'C'], ['A'], ['Bad'], ['C']]);
  assert.ok(calls.down!.length >= 4, `retried ${calls.down!.length} times`);
  assert.equal(queue.depth().get('down'), 3);
  downUp = true;
  await sleep(200);
  assert.equal(queue.size, 0);
  await d.close();
  const text = await m.registry.metrics();
  assert.match(text, /corral_alert_notifications_sent_total\{receiver="down"\} 3/);
  assert.match(text, /corral_alert_notifications_failed_total\{receiver="picky"\} 1/);
  assert.match(text, /corral_alert_notifications_retried_total\{receiver="down"\} \d+/);
  const refusal = lines.map((l) => JSON.parse(l)).find((l) => l.msg.startsWith('receiver refused'));
  assert.equal(refusal.answer, 'bad label');
  assert.equal(refusal.status, 400);
  fs.rmSync(dir, { recursive: true, force: true });
});
