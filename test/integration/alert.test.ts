/**
 * corral alert end to end, as root on the real kernel, everything on 127.0.0.1: `corral daemon`
 * (temp socket and --root), a real Alertmanager (Debian's `prometheus-alertmanager`, group_wait 0s,
 * no gossip) whose own webhook goes to a capture server here, the sidecar as its own process
 * (`corral alert`), and three webhook receivers here: one that checks the HMAC and takes everything,
 * one that answers 400, one that never answers.
 *
 * Checked, in order (one daemon, one Alertmanager, the sidecar restarted where said):
 * - an OOM kill in a real container is in Alertmanager's GET /api/v2/alerts within 1 s of the kill's
 *   event, with the container's labels and the memory.stat annotation, and resolves later; the
 *   webhook payload has the shape of Alertmanager's own (captured here), with a valid signature; the
 *   400 receiver is logged and counted, not retried forever; the hanging one does not hold up the rest;
 * - Alertmanager stopped while an alert fires: back, it holds it (none lost);
 * - the sidecar SIGKILLed in the middle of a delivery: restarted, every alert arrives, and
 *   Alertmanager holds one alert per container, no duplicate;
 * - a hog climbing towards its limit: ContainerMemoryNearLimit (ContainerMemoryPressure where the
 *   kernel has PSI) reaches the webhook before the OOM kill;
 * - the daemon stopped: CorralDaemonUnreachable fires, and resolves when it is back.
 */
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { signature, SIGNATURE_HEADER } from '../../src/alert/receivers.js';
import { ensureBusyboxRootfs } from '../helpers/busybox.js';
import { CORRAL_BIN, TEST_CGROUP_PARENT, stopAllCorrals } from '../helpers/corral.js';
import { apiRequest, forceRemoveContainers, startDaemonProcess, stopDaemonProcess, subscribeEvents, type DaemonProcess } from '../helpers/daemon.js';
import { freePort } from '../helpers/ports.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const test = (name: string, fn: () => Promise<void>) => nodeTest(name, { timeout: 300_000 }, fn);

interface Proc {
  name: string;
  child: ChildProcess;
  log: () => string;
  exited: Promise<unknown>;
}

interface HookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  fingerprint: string;
  startsAt: string;
  endsAt: string;
}
interface HookPayload {
  status: string;
  alerts: HookAlert[];
  [k: string]: unknown;
}
interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  fingerprint: string;
  status: { state: string };
}

let tmp: string;
let rootfs: string;
let daemon: DaemonProcess | undefined;
const procs: Proc[] = [];
const servers: http.Server[] = [];
let amPort: number;
let amArgs: string[];
let sidecarArgs: string[];
let sidecar: Proc | undefined;
let sidecarMetrics: string;
const SECRET = 'hunter2-but-longer';
/** what Alertmanager's own webhook sent (the reference payload shape) */
const fromAm: HookPayload[] = [];
/** what the sidecar sent to each of its webhooks */
const good: { payload: HookPayload; signatureOk: boolean; at: number }[] = [];
let badRequests = 0;
let hangRequests = 0;
/** ms the good receiver waits before answering (the SIGKILL-mid-delivery case) */
let goodDelayMs = 0;
let goodSeen: ((p: HookPayload) => void) | undefined;

function start(name: string, bin: string, args: string[]): Proc {
  let log = '';
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-200_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.once('error', (err) => (log += `\nspawn ${bin}: ${err.message}`));
  const p: Proc = { name, child, log: () => log, exited: new Promise((resolve) => child.once('close', resolve)) };
  procs.push(p);
  return p;
}

/** End a process by PID: SIGTERM (or `signal`), SIGKILL after 10 s. */
async function stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await p.exited;
  clearTimeout(timer);
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${procs.map((p) => `--- ${p.name}:\n${p.log().slice(-4000)}`).join('\n')}`);
    await sleep(everyMs);
  }
}

async function amAlerts(): Promise<AmAlert[] | undefined> {
  const res = await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`).catch(() => undefined);
  if (res?.status !== 200) return undefined;
  return (await res.json()) as AmAlert[];
}

async function listen(handler: http.RequestListener): Promise<number> {
  const port = await freePort();
  const s = http.createServer(handler);
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve));
  return port;
}

function body(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => resolve(b));
  });
}

function startSidecar(): Proc {
  sidecar = start('corral alert', process.execPath, sidecarArgs);
  return sidecar;
}

async function metricsText(): Promise<string> {
  return (await fetch(`http://${sidecarMetrics}/metrics`)).text();
}

/** A running container whose child is OOM-killed when `go()` is called (it survives); its id. */
async function oomContainer(name: string): Promise<{ id: string; go: () => void }> {
  const trigger = path.join(tmp, `trigger-${name}`);
  fs.mkdirSync(trigger);
  const created = await apiRequest(daemon!.socket, 'POST', `/containers/create?name=${name}`, {
    Image: rootfs,
    Labels: { team: 'alerts', 'com.example.tier': 'test' },
    Cmd: ['sh', '-c', 'while [ ! -e /trigger/go ]; do sleep 0.05; done; tail /dev/zero & wait; exec sleep 3600'],
    HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none', Memory: 32 << 20, Binds: [`${trigger}:/trigger`] },
  });
  assert.equal(created.status, 201, created.body);
  const id = created.json().Id as string;
  assert.equal((await apiRequest(daemon!.socket, 'POST', `/containers/${id}/start`)).status, 204);
  return { id, go: () => fs.writeFileSync(path.join(trigger, 'go'), '') };
}

const oomOf = (alerts: AmAlert[] | undefined, name: string) => alerts?.filter((a) => a.labels.alertname === 'ContainerOOMKilled' && a.labels.name === name) ?? [];

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-alert-'));
  rootfs = await ensureBusyboxRootfs(path.join(tmp, 'busybox'));
  daemon = await startDaemonProcess(path.join(tmp, 'root'), path.join(tmp, 'corral.sock'), ['--log-level', 'warn', '--metrics-addr', 'none', '--sample-interval', '250ms']);

  const capturePort = await listen(async (req, res) => {
    fromAm.push(JSON.parse(await body(req)) as HookPayload);
    res.writeHead(200).end();
  });
  const goodPort = await listen(async (req, res) => {
    const text = await body(req);
    const payload = JSON.parse(text) as HookPayload;
    good.push({ payload, signatureOk: req.headers[SIGNATURE_HEADER.toLowerCase()] === signature(Buffer.from(SECRET), text), at: Date.now() });
    goodSeen?.(payload);
    if (goodDelayMs > 0) await sleep(goodDelayMs);
    if (!res.destroyed) res.writeHead(200).end();
  });
  const badPort = await listen(async (req, res) => {
    await body(req);
    badRequests++;
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end('invalid payload: the test receiver refuses everything');
  });
  const hangPort = await listen(async (req) => {
    await body(req);
    hangRequests++;
    // never answers
  });

  amPort = await freePort();
  const amDir = path.join(tmp, 'alertmanager');
  fs.mkdirSync(amDir);
  fs.writeFileSync(
    path.join(amDir, 'alertmanager.yml'),
    [
      'route:',
      '  receiver: capture',
      "  group_by: ['alertname', 'name']",
      '  group_wait: 0s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: capture',
      '    webhook_configs:',
      `      - url: http://127.0.0.1:${capturePort}/am`,
      '        send_resolved: true',
      '',
    ].join('\n'),
  );
  // --cluster.listen-address= turns clustering off: no gossip port on 0.0.0.0
  amArgs = [`--config.file=${path.join(amDir, 'alertmanager.yml')}`, `--storage.path=${path.join(amDir, 'data')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='];
  const am = start('alertmanager', '/usr/bin/prometheus-alertmanager', amArgs);
  await until('Alertmanager ready', async () => {
    if (am.child.exitCode !== null) throw new Error(`alertmanager exited:\n${am.log()}`);
    return fetch(`http://127.0.0.1:${amPort}/-/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
  });

  const rules = path.join(tmp, 'rules.yml');
  fs.writeFileSync(
    rules,
    [
      'rules:',
      '  - alert: ContainerOOMKilled',
      '    type: oom_killed',
      '    resolve_after: 8s',
      '    severity: critical',
      '    annotations:',
      "      summary: 'Container {{ $labels.name }} had a process killed by the OOM killer'",
      "      memory: '{{ $details }}'",
      '  - alert: ContainerMemoryNearLimit',
      '    type: memory_near_limit',
      '    threshold: 0.9',
      '    resolve_below: 0.8',
      '    for: 500ms',
      '    severity: warning',
      "    selector: { name: 'alert-hog*' }",
      '  - alert: ContainerMemoryPressure',
      '    type: memory_pressure',
      '    threshold: 10',
      '    for: 500ms',
      '    severity: warning',
      "    selector: { name: 'alert-hog*' }",
      '  - alert: CorralDaemonUnreachable',
      '    type: daemon_unreachable',
      '    for: 1s',
      '    severity: critical',
      '    annotations:',
      "      summary: 'the daemon at {{ $labels.instance }} is unreachable'",
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(tmp, 'secret'), `${SECRET}\n`);
  sidecarMetrics = `127.0.0.1:${await freePort()}`;
  sidecarArgs = [
    CORRAL_BIN,
    '--host',
    `unix://${daemon.socket}`,
    'alert',
    '--rules',
    rules,
    '--alertmanager',
    `http://127.0.0.1:${amPort}`,
    '--webhook',
    `http://127.0.0.1:${goodPort}/good`,
    '--webhook',
    `http://127.0.0.1:${badPort}/bad`,
    '--webhook',
    `http://127.0.0.1:${hangPort}/hang`,
    '--webhook-secret-file',
    path.join(tmp, 'secret'),
    '--state',
    path.join(tmp, 'alert-state'),
    '--metrics-addr',
    sidecarMetrics,
    '--interval',
    '250ms',
    '--timeout',
    '1s',
    '--retry-max',
    '1s',
    '--resend-interval',
    '2s',
    '--log-level',
    'debug',
  ];
  startSidecar();
  await until('the sidecar to sample the daemon', async () => /corral_alert_daemon_up 1/.test(await metricsText().catch(() => '')));
});

after(async () => {
  if (daemon) await forceRemoveContainers(daemon.socket).catch(() => []);
  for (const p of procs) await stop(p);
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  if (daemon) await stopDaemonProcess(daemon);
  await stopAllCorrals();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('an OOM kill is in Alertmanager within 1 s with the container labels and the memory.stat annotation, and resolves; webhooks: the payload of Alertmanager, signed; a 400 is counted, not retried; a hanging receiver holds up nothing', async () => {
  const events = await subscribeEvents(daemon!.socket, { event: ['oom'] });
  try {
    const c = await oomContainer('alert-oom');
    // a tick has seen it (its labels come from there)
    await sleep(600);
    c.go();
    const oom = await events.waitFor((e) => e.Actor.ID === c.id, 'the oom event');
    const alert = await until('ContainerOOMKilled in Alertmanager', async () => oomOf(await amAlerts(), 'alert-oom')[0], 10_000, 20);
    const latencyMs = Date.now() - oom.timeNano / 1e6;
    console.log(`# OOM kill event -> alert listed by Alertmanager: ${latencyMs.toFixed(0)} ms`);
    // 1 s on a real machine; the v2 guest runs under software emulation (TCG: every process about
    // ten times slower), where the bound is the emulator's, not corral's (bench/alert measures it)
    const bound = process.env.CORRAL_VM_GUEST === '1' ? 5000 : 1000;
    assert.ok(latencyMs < bound, `${latencyMs} ms (bound ${bound} ms)`);
    assert.equal(alert!.status.state, 'active');
    assert.equal(alert!.labels.id, `/corral/${c.id}`);
    assert.equal(alert!.labels.image, rootfs);
    assert.equal(alert!.labels.severity, 'critical');
    assert.equal(alert!.labels.container_label_team, 'alerts');
    assert.equal(alert!.labels.container_label_com_example_tier, 'test');
    assert.equal(alert!.annotations.summary, 'Container alert-oom had a process killed by the OOM killer');
    // the snapshot read before the kill shows the hog's anon first; one read after it (the guest's
    // emulation can be that late, and the annotation says so) shows what was left
    const memory = alert!.annotations.memory ?? '';
    assert.match(memory, /read after-kill$/.test(memory) ? /^top: \w+ [\d.]+\w*iB/ : /^top: anon \d/);

    // the good webhook has it, signed, in the shape of Alertmanager's own webhook payload
    const mine = await until('the webhook to get it', () => good.find((g) => g.payload.alerts.some((a) => a.labels.name === 'alert-oom')));
    assert.ok(mine.signatureOk, 'HMAC-SHA256 signature');
    const theirs = await until("Alertmanager's own webhook", () => fromAm.find((p) => p.alerts.some((a) => a.labels.name === 'alert-oom')));
    assert.deepEqual(Object.keys(mine.payload).sort(), Object.keys(theirs).sort());
    assert.deepEqual(Object.keys(mine.payload.alerts[0]!).sort(), Object.keys(theirs.alerts[0]!).sort());
    assert.equal(mine.payload.version, theirs.version);
    const amSide = theirs.alerts.find((a) => a.labels.name === 'alert-oom')!;
    const ourSide = mine.payload.alerts.find((a) => a.labels.name === 'alert-oom')!;
    // the same alert: same labels, and the same fingerprint as Alertmanager computes it
    assert.deepEqual(ourSide.labels, amSide.labels);
    assert.equal(ourSide.fingerprint, amSide.fingerprint);
    assert.equal(ourSide.fingerprint, alert!.fingerprint);

    // resolved after its quiet time: gone from Alertmanager's active alerts, a resolved notification everywhere
    await until('the alert to resolve in Alertmanager', async () => {
      const list = await amAlerts();
      return list !== undefined && oomOf(list, 'alert-oom').length === 0;
    });
    await until('the resolved webhook', () => good.some((g) => g.payload.alerts.some((a) => a.labels.name === 'alert-oom' && a.status === 'resolved')));
    await until("Alertmanager's resolved webhook", () => fromAm.some((p) => p.status === 'resolved' && p.alerts.some((a) => a.labels.name === 'alert-oom')));

    // the 400 receiver: each notification tried (alone), refused, logged with its text and counted, then left alone
    const text = await metricsText();
    assert.match(text, /corral_alert_notifications_failed_total\{receiver="webhook http:\/\/127\.0\.0\.1:\d+\/bad"\} [1-9]/);
    assert.match(sidecar!.log(), /receiver refused a notification: dropped, not retried.*invalid payload: the test receiver refuses everything/);
    const bad = badRequests;
    await sleep(2500);
    assert.equal(badRequests, bad, 'no retry of a refused notification');
    assert.match(await metricsText(), /corral_alert_queue_depth\{receiver="webhook http:\/\/127\.0\.0\.1:\d+\/bad"\} 0/);
    // the hanging receiver was tried, timed out and is retried; the others did not wait for it
    assert.ok(hangRequests >= 2, `hang requests: ${hangRequests}`);
    assert.match(await metricsText(), /corral_alert_notifications_retried_total\{receiver="webhook http:\/\/127\.0\.0\.1:\d+\/hang"\} [1-9]/);
  } finally {
    events.close();
  }
});

test('Alertmanager stopped while an alert fires: when it is back it holds it, none lost', async () => {
  const c = await oomContainer('alert-am-down');
  await sleep(600);
  const am = procs.find((p) => p.name === 'alertmanager')!;
  await stop(am);
  c.go();
  // the kill happens and is queued while Alertmanager is away
  await until('the webhook to get the kill (the sidecar saw it)', () => good.some((g) => g.payload.alerts.some((a) => a.labels.name === 'alert-am-down')));
  // away long enough for retries, back before the alert resolves (resolve_after 8s): then it must be active there
  await sleep(2000);
  assert.match(await metricsText(), /corral_alert_notifications_retried_total\{receiver="alertmanager http:\/\/127\.0\.0\.1:\d+"\} [1-9]/);
  const back = start('alertmanager', '/usr/bin/prometheus-alertmanager', amArgs);
  await until('Alertmanager ready again', () =>
    fetch(`http://127.0.0.1:${amPort}/-/ready`).then(
      (r) => r.status === 200 || (back.child.exitCode !== null && Promise.reject(new Error(back.log()))),
      () => false,
    ),
  );
  const held = await until('Alertmanager to hold the alert fired while it was away', async () => oomOf(await amAlerts(), 'alert-am-down')[0], 15_000);
  assert.equal(held.status.state, 'active');
  await until('its resolution to reach Alertmanager too', () => fromAm.some((p) => p.status === 'resolved' && p.alerts.some((a) => a.labels.name === 'alert-am-down')));
});

test('the sidecar SIGKILLed in the middle of a delivery: restarted, every alert arrives, none twice in Alertmanager', async () => {
  const c = await oomContainer('alert-kill');
  await sleep(600);
  // the good receiver holds its answer: the sidecar is killed while that request is open
  goodDelayMs = 5000;
  const seen = new Promise<void>((resolve) => {
    goodSeen = (p) => {
      if (p.alerts.some((a) => a.labels.name === 'alert-kill')) resolve();
    };
  });
  c.go();
  await seen;
  goodSeen = undefined;
  await stop(sidecar!, 'SIGKILL');
  goodDelayMs = 0;
  const before = good.filter((g) => g.payload.alerts.some((a) => a.labels.name === 'alert-kill')).length;
  startSidecar();
  // replayed from the queue: the receiver gets it again (at least once), with the same fingerprint
  await until('the replay to the webhook', () => good.filter((g) => g.payload.alerts.some((a) => a.labels.name === 'alert-kill')).length > before);
  const fps = new Set(
    good.flatMap((g) => g.payload.alerts.filter((a) => a.labels.name === 'alert-kill' && a.labels.alertname === 'ContainerOOMKilled' && a.status === 'firing').map((a) => a.fingerprint)),
  );
  assert.equal(fps.size, 1, 'one alert, one fingerprint');
  assert.match(sidecar!.log(), /replaying the notifications queued before the restart|restored the alerts firing before the restart/);
  const listed = await until('Alertmanager to list it', async () => {
    const l = oomOf(await amAlerts(), 'alert-kill');
    return l.length > 0 ? l : undefined;
  });
  assert.equal(listed.length, 1, JSON.stringify(listed));
  // and after a resend interval or two, still exactly one
  await sleep(2500);
  assert.ok(oomOf(await amAlerts(), 'alert-kill').length <= 1);
  await until('the sidecar to sample the daemon again', async () => /corral_alert_daemon_up 1/.test(await metricsText().catch(() => '')));
});

test('a hog climbing towards its memory limit fires ContainerMemoryNearLimit (or, with PSI, ContainerMemoryPressure) before it is OOM-killed', async () => {
  // tmpfs pages are charged to the container's memory cgroup and cannot be reclaimed without swap:
  // the working set climbs with each file written, at about 2.5 MB/s past 50 MB, to the 64 MiB limit
  if (!fs.existsSync('/dev/shm')) assert.fail('this test needs a tmpfs at /dev/shm on the host, bound into the container');
  const shm = fs.mkdtempSync('/dev/shm/corral-alert-hog-');
  const events = await subscribeEvents(daemon!.socket, { event: ['oom'] });
  try {
    const created = await apiRequest(daemon!.socket, 'POST', '/containers/create?name=alert-hog', {
      Image: rootfs,
      Cmd: ['sh', '-c', 'sleep 1; head -c 50000000 /dev/zero > /shm/base; i=0; while :; do head -c 262144 /dev/zero > /shm/f$i; i=$((i+1)); sleep 0.1; done'],
      HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none', Memory: 64 << 20, MemorySwap: 64 << 20, Binds: [`${shm}:/shm`] },
    });
    assert.equal(created.status, 201, created.body);
    const id = created.json().Id as string;
    assert.equal((await apiRequest(daemon!.socket, 'POST', `/containers/${id}/start`)).status, 204);
    const oom = await events.waitFor((e) => e.Actor.ID === id, 'the hog to be OOM-killed', 120_000);
    const warned = good
      .filter((g) => g.payload.alerts.some((a) => a.labels.name === 'alert-hog' && a.status === 'firing' && ['ContainerMemoryNearLimit', 'ContainerMemoryPressure'].includes(a.labels.alertname ?? '')))
      .map((g) => g.at);
    assert.ok(warned.length > 0, 'no early warning reached the webhook before the kill');
    const leadMs = oom.timeNano / 1e6 - warned[0]!;
    console.log(`# early warning -> OOM kill: ${leadMs.toFixed(0)} ms ahead`);
    assert.ok(leadMs > 0, `the warning came ${-leadMs} ms after the kill`);
  } finally {
    events.close();
    await forceRemoveContainers(daemon!.socket).catch(() => []);
    fs.rmSync(shm, { recursive: true, force: true });
  }
});

test('the daemon stopped: CorralDaemonUnreachable fires, and resolves when it is back', async () => {
  const unreachable = (l: AmAlert[] | undefined) => l?.find((a) => a.labels.alertname === 'CorralDaemonUnreachable');
  const root = path.join(tmp, 'root');
  const socket = daemon!.socket;
  await stopDaemonProcess(daemon!);
  const fired = await until('CorralDaemonUnreachable in Alertmanager', async () => unreachable(await amAlerts()), 15_000);
  assert.equal(fired.labels.instance, `unix://${socket}`);
  assert.match(await metricsText(), /corral_alert_daemon_up 0/);
  daemon = await startDaemonProcess(root, socket, ['--log-level', 'warn', '--metrics-addr', 'none', '--sample-interval', '250ms']);
  await until('CorralDaemonUnreachable to resolve', async () => {
    const l = await amAlerts();
    return l !== undefined && unreachable(l) === undefined;
  });
  assert.match(await metricsText(), /corral_alert_daemon_up 1/);
});
