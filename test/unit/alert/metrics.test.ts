import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALERT_METRIC_NAMES, AlertMetrics } from '../../../src/alert/metrics.js';

test("the sidecar's metrics: the listed names are those exposed, gauges read at scrape time", async () => {
  let up = false;
  const m = new AlertMetrics({
    firing: () => new Map([['ContainerOOMKilled', 2]]),
    queueDepth: () => new Map([['alertmanager http://am:9093', 5]]),
    daemonUp: () => up,
    rules: () => 8,
    daemonRequests: () => new Map([['/containers/stats', 3]]),
  });
  m.sent.inc({ receiver: 'r' });
  m.failed.inc({ receiver: 'r' });
  m.retried.inc({ receiver: 'r' });
  m.dropped.inc({ receiver: 'r', reason: 'queue-full' });
  m.reloads.inc({ result: 'failure' });
  m.daemonErrors.inc();
  m.evaluation.observe(0.001);
  let text = await m.registry.metrics();
  const names = new Set([...text.matchAll(/^(corral_alert_[a-z_]+)[{ ]/gm)].map((x) => x[1]!));
  assert.deepEqual([...names].sort(), [...ALERT_METRIC_NAMES].sort());
  assert.match(text, /^corral_alert_firing\{alertname="ContainerOOMKilled"\} 2$/m);
  assert.match(text, /^corral_alert_queue_depth\{receiver="alertmanager http:\/\/am:9093"\} 5$/m);
  assert.match(text, /^corral_alert_daemon_up 0$/m);
  up = true;
  text = await m.registry.metrics();
  assert.match(text, /^corral_alert_daemon_up 1$/m);
  assert.match(text, /^corral_alert_rules 8$/m);
  assert.match(text, /^corral_alert_daemon_requests_total\{route="\/containers\/stats"\} 3$/m);
});
