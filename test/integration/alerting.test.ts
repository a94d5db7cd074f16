/**
 * The alerting path end to end, as root on the real kernel: `corral daemon` (temp socket and --root,
 * a free loopback port for --metrics-addr), a real Prometheus (Debian's `prometheus`) scraping it and
 * evaluating the repository's dashboards/alerts.yml, a real Alertmanager (Debian's
 * `prometheus-alertmanager`) that Prometheus sends its alerts to, and a webhook receiver in this
 * process standing in for the alerting sidecar. Everything listens on 127.0.0.1 only.
 *
 * Checked: a container whose child is OOM-killed makes ContainerOOMKilled fire; Alertmanager holds
 * it, and the sidecar receives it with the container's labels, the rule's severity and annotations.
 * The same file runs on the host (cgroup v1) and in the QEMU guest (v2).
 */
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBusyboxRootfs } from '../helpers/busybox.js';
import { TEST_CGROUP_PARENT, stopAllCorrals } from '../helpers/corral.js';
import { apiRequest, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/daemon.js';
import { freePort } from '../helpers/ports.js';
import { prometheusConfig } from '../helpers/prometheus.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const test = (name: string, fn: () => Promise<void>) => nodeTest(name, { timeout: 600_000 }, fn);

interface Server {
  name: string;
  child: ChildProcess;
  log: () => string;
  exited: Promise<unknown>;
}

interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

let tmp: string;
let rootfs: string;
let daemon: DaemonProcess | undefined;
const servers: Server[] = [];
let sidecar: http.Server | undefined;
/** every alert the sidecar received, in order */
const received: WebhookAlert[] = [];

/** Start a server binary; its output is kept (the last 20 kB) for the failure messages. */
function startServer(name: string, bin: string, args: string[]): Server {
  let log = '';
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.once('error', (err) => (log += `\nspawn ${bin}: ${err.message} (install Debian's ${name} package)`));
  const s: Server = { name, child, log: () => log, exited: new Promise((resolve) => child.once('close', resolve)) };
  servers.push(s);
  return s;
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    for (const s of servers) if (s.child.exitCode !== null) throw new Error(`${s.name} exited ${s.child.exitCode} while waiting for ${what}:\n${s.log()}`);
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${servers.map((s) => `--- ${s.name}:\n${s.log().slice(-3000)}`).join('\n')}`);
    await sleep(250);
  }
}

async function getJson<T>(url: string): Promise<T | undefined> {
  const res = await fetch(url).catch(() => undefined);
  if (res?.status !== 200) return undefined;
  return (await res.json()) as T;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-alerting-'));
  rootfs = await ensureBusyboxRootfs(path.join(tmp, 'busybox'));
});

after(async () => {
  for (const s of servers) {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGTERM');
      await Promise.race([s.exited, sleep(20_000)]);
      if (s.child.exitCode === null && s.child.signalCode === null) {
        s.child.kill('SIGKILL');
        await s.exited;
      }
    }
  }
  await new Promise((resolve) => (sidecar ? sidecar.close(resolve) : resolve(undefined)));
  if (daemon) await stopDaemonProcess(daemon);
  await stopAllCorrals();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("an OOM kill fires ContainerOOMKilled: Prometheus evaluates dashboards/alerts.yml, Alertmanager routes it, the sidecar webhook receives it with the container's labels", async () => {
  const [metricsPort, promPort, amPort, sidecarPort] = [await freePort(), await freePort(), await freePort(), await freePort()];

  sidecar = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/alerts') received.push(...(JSON.parse(body) as { alerts: WebhookAlert[] }).alerts);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => sidecar!.listen(sidecarPort, '127.0.0.1', resolve));

  const amDir = path.join(tmp, 'alertmanager');
  fs.mkdirSync(amDir);
  fs.writeFileSync(
    path.join(amDir, 'alertmanager.yml'),
    [
      'route:',
      '  receiver: sidecar',
      "  group_by: ['alertname', 'name']",
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: sidecar',
      '    webhook_configs:',
      `      - url: http://127.0.0.1:${sidecarPort}/alerts`,
      '',
    ].join('\n'),
  );
  // --cluster.listen-address= turns clustering off: no gossip port on 0.0.0.0
  startServer('prometheus-alertmanager', 'prometheus-alertmanager', [
    `--config.file=${path.join(amDir, 'alertmanager.yml')}`,
    `--storage.path=${path.join(amDir, 'data')}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    '--cluster.listen-address=',
  ]);

  daemon = await startDaemonProcess(path.join(tmp, 'root'), path.join(tmp, 'corral.sock'), ['--log-level', 'warn', '--metrics-addr', `127.0.0.1:${metricsPort}`, '--sample-interval', '500ms']);

  const promDir = path.join(tmp, 'prometheus');
  fs.mkdirSync(promDir);
  fs.writeFileSync(path.join(promDir, 'prometheus.yml'), prometheusConfig(amPort, metricsPort));
  startServer('prometheus', 'prometheus', [`--config.file=${path.join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`]);

  // the rules are loaded, and the daemon is scraped
  const rules = await until('Prometheus to load dashboards/alerts.yml', () =>
    getJson<{ data: { groups: { rules: { name: string }[] }[] } }>(`http://127.0.0.1:${promPort}/api/v1/rules`).then((r) => (r && r.data.groups.length > 0 ? r : undefined)),
  );
  assert.ok(rules.data.groups.flatMap((g) => g.rules.map((x) => x.name)).includes('ContainerOOMKilled'));
  await until('Alertmanager ready', () =>
    fetch(`http://127.0.0.1:${amPort}/-/ready`).then(
      (r) => r.status === 200,
      () => false,
    ),
  );

  // a container whose child is OOM-killed once the trigger file appears; the container survives
  const trigger = path.join(tmp, 'trigger');
  fs.mkdirSync(trigger);
  const created = await apiRequest(daemon.socket, 'POST', '/containers/create?name=alert-oom', {
    Image: rootfs,
    Cmd: ['sh', '-c', 'while [ ! -e /trigger/go ]; do sleep 0.05; done; tail /dev/zero & wait; exec sleep 3600'],
    HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none', Memory: 32 << 20, Binds: [`${trigger}:/trigger`] },
  });
  assert.equal(created.status, 201, created.body);
  const id = JSON.parse(created.body).Id as string;
  try {
    assert.equal((await apiRequest(daemon.socket, 'POST', `/containers/${id}/start`)).status, 204);
    // Prometheus holds the counter at 0 before the kill, so increase() sees it move
    const series = `corral_container_oom_kills_total{name="alert-oom"}`;
    const query = (q: string) =>
      getJson<{ data: { result: { value: [number, string] }[] } }>(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`).then((r) => r?.data.result[0]?.value[1]);
    await until('Prometheus to scrape the oom-kill counter at 0', async () => (await query(series)) === '0');
    fs.writeFileSync(path.join(trigger, 'go'), '');
    await until('the kill in Prometheus', async () => (await query(series)) === '1');

    const alert = await until('the sidecar to receive ContainerOOMKilled', async () => received.find((a) => a.labels.alertname === 'ContainerOOMKilled' && a.labels.name === 'alert-oom'));
    assert.equal(alert.status, 'firing');
    assert.equal(alert.labels.id, `/corral/${id}`);
    assert.equal(alert.labels.image, rootfs);
    assert.equal(alert.labels.severity, 'critical');
    assert.match(alert.annotations.summary ?? '', /alert-oom/);
    assert.ok((alert.annotations.description ?? '').length > 0, 'a description');

    // Alertmanager itself holds it as active
    const active = await getJson<{ labels: Record<string, string>; status: { state: string } }[]>(`http://127.0.0.1:${amPort}/api/v2/alerts`);
    assert.ok(
      active?.some((a) => a.labels.alertname === 'ContainerOOMKilled' && a.labels.name === 'alert-oom' && a.status.state === 'active'),
      JSON.stringify(active),
    );
    // nothing else fired for a healthy, running container
    assert.deepEqual([...new Set(received.map((a) => a.labels.alertname))], ['ContainerOOMKilled']);
  } finally {
    await apiRequest(daemon.socket, 'DELETE', `/containers/${id}?force=1`);
  }
});
