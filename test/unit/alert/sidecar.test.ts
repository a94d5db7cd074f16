/**
 * The sidecar wired, on a fake daemon (an AlertSource) and the JSON-lines log receiver: the daemon
 * rule fires while the source fails, the firing alert survives a restart (state file) and resolves
 * when the daemon answers; an oom event fires with the container's labels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonEvent } from '../../../src/client/events.js';
import type { ContainerView } from '../../../src/alert/engine.js';
import { Sidecar } from '../../../src/alert/sidecar.js';
import type { AlertSource } from '../../../src/alert/source.js';
import { createLogger } from '../../../src/log.js';

const RULES = `rules:
  - alert: Down
    type: daemon_unreachable
    for: 0s
    severity: critical
  - alert: Oom
    type: oom_killed
    severity: critical
    annotations: { memory: '{{ $details }}' }
`;

function fakeSource() {
  const state = { up: false, views: [] as ContainerView[], onEvent: undefined as ((e: DaemonEvent) => void) | undefined };
  const source: AlertSource = {
    address: 'unix:///fake.sock',
    tick: async () => {
      if (!state.up) throw new Error('ECONNREFUSED');
      return state.views;
    },
    describe: async () => undefined,
    changed: () => {},
    requests: () => new Map(),
    events: (_since, onEvent) => {
      state.onEvent = onEvent;
      return { close: () => (state.onEvent = undefined) };
    },
  };
  return { state, source };
}

async function lines(file: string, n: number): Promise<{ status: string; alertname: string; labels: Record<string, string>; annotations: Record<string, string> }[]> {
  for (let i = 0; i < 200; i++) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
    const got = text === '' ? [] : text.split('\n').map((l) => JSON.parse(l));
    if (got.length >= n) return got;
    await sleep(10);
  }
  assert.fail(`fewer than ${n} lines in ${file}`);
}

test('the sidecar: the daemon rule across a restart, an oom event', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-sidecar-'));
  const rules = path.join(dir, 'rules.yml');
  fs.writeFileSync(rules, RULES);
  const out = path.join(dir, 'alerts.jsonl');
  const logLines: string[] = [];
  const { state, source } = fakeSource();
  const options = {
    source,
    rulesFile: rules,
    alertmanagers: [],
    webhooks: [],
    logTarget: out,
    stateDir: path.join(dir, 'state'),
    metricsAddr: null,
    tickMs: 50,
    resendMs: 60_000,
    timeoutMs: 1000,
    minBackoffMs: 10,
    maxBackoffMs: 50,
    queueSize: 100,
    webhookSecret: undefined,
    generatorURL: '',
    log: createLogger({ level: 'debug', write: (l) => logLines.push(l) }),
  };
  let s = await Sidecar.start(options);
  try {
    let got = await lines(out, 1);
    assert.deepEqual([got[0]!.status, got[0]!.alertname, got[0]!.labels.instance], ['firing', 'Down', 'unix:///fake.sock']);
    await s.close();
    // restarted: the firing alert is restored (not fired again), and resolves at the daemon's first answer
    state.up = true;
    state.views = [{ id: 'c1', name: 'web', image: 'host', labels: { team: 'a' }, running: true }];
    s = await Sidecar.start(options);
    got = await lines(out, 2);
    assert.deepEqual(
      got.map((l) => `${l.status} ${l.alertname}`),
      ['firing Down', 'resolved Down'],
    );
    // an oom event: fired with the labels the tick saw
    for (let i = 0; i < 100 && !state.onEvent; i++) await sleep(10);
    state.onEvent!({
      Type: 'container',
      Action: 'oom',
      Actor: { ID: 'c1', Attributes: { name: 'web', oom_kill: '1', 'memory.anon': '1048576' } },
      time: Math.floor(Date.now() / 1000),
      timeNano: Date.now() * 1e6,
    });
    got = await lines(out, 3);
    assert.equal(got[2]!.alertname, 'Oom');
    assert.equal(got[2]!.labels.container_label_team, 'a');
    assert.equal(got[2]!.annotations.memory, 'top: anon 1.0MiB');
    // nothing is left in the queue
    assert.deepEqual(fs.readdirSync(path.join(dir, 'state', 'queue')), []);
  } finally {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
