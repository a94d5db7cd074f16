/**
 * corral alert's speed, on the host, everything on 127.0.0.1:
 *
 * 1. OOM kill -> alert accepted by Alertmanager, over N kills (default 10), for both paths in the
 *    same run: the sidecar (`corral alert --alertmanager`, 250 ms ticks; a kill is an event, not a
 *    tick) and the Prometheus path (a real Prometheus scraping the daemon every 1 s and evaluating
 *    dashboards/alerts.yml every 1 s, sending to the same real Alertmanager). The kill's moment is
 *    the daemon's `oom` event (its timeNano: bench/oom-latency measures the event within
 *    milliseconds of the kernel's kill); "accepted" is the first poll of Alertmanager's GET
 *    /api/v2/alerts (every 5 ms) that lists the alert. The two are told apart by the `job` label
 *    Prometheus adds. Target: the sidecar's median <= 50 ms.
 * 2. Load: M busybox `sleep` containers (default 500), the sidecar with 1 s ticks and every built-in
 *    rule, its CPU (utime + stime from /proc) over S seconds (default 60) after a 10 s warm-up, and
 *    its VmRSS. Targets: <= 1% of one core, <= 80 MiB.
 *
 * Usage: node dist/bench/alert.js [--kills N] [--containers M] [--load-seconds S] [--no-latency] [--no-load]
 * Prints a table and, last, one JSON line. Everything it starts is ended by PID, every container
 * removed, the temp dir deleted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCgroupDriver } from '../src/cgroups/index.js';
import { CORRAL_BIN } from '../test/helpers/corral.js';
import { apiRequest, daemonScratch, forceRemoveContainers, startDaemonProcess, stopDaemonProcess, subscribeEvents, type DaemonProcess } from '../test/helpers/daemon.js';
import { freePort } from '../test/helpers/ports.js';
import { cpuTicks, statusKiB } from './proc.js';
import { prometheusConfig } from '../test/helpers/prometheus.js';

const JSON_MARKER = 'CORRAL_BENCH_JSON ';
const CGROUP_PARENT = `corral-bench-alert-${process.pid}`;
const TICKS_PER_SECOND = 100;
const TARGET_MEDIAN_MS = 50;
const TARGET_CPU_PERCENT = 1;
const TARGET_RSS_MIB = 80;

interface Options {
  kills: number;
  containers: number;
  loadSeconds: number;
  latency: boolean;
  load: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { kills: 10, containers: 500, loadSeconds: 60, latency: true, load: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--no-latency') o.latency = false;
    else if (flag === '--no-load') o.load = false;
    else {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} needs a whole number of at least 1`);
      if (flag === '--kills') o.kills = v;
      else if (flag === '--containers') o.containers = v;
      else if (flag === '--load-seconds') o.loadSeconds = v;
      else throw new Error(`unknown flag ${flag}: --kills N, --containers M, --load-seconds S, --no-latency, --no-load`);
    }
  }
  return o;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Proc {
  name: string;
  child: ChildProcess;
  log: () => string;
  exited: Promise<unknown>;
}
const procs: Proc[] = [];

function start(name: string, bin: string, args: string[]): Proc {
  let log = '';
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const p: Proc = { name, child, log: () => log, exited: new Promise((resolve) => child.once('close', resolve)) };
  procs.push(p);
  return p;
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await p.exited;
  clearTimeout(timer);
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${procs.map((p) => `--- ${p.name}:\n${p.log().slice(-3000)}`).join('\n')}`);
    await sleep(everyMs);
  }
}

async function getJson<T>(url: string): Promise<T | undefined> {
  const res = await fetch(url).catch(() => undefined);
  if (res?.status !== 200) return undefined;
  return (await res.json()) as T;
}

interface AmAlert {
  labels: Record<string, string>;
}

async function latency(o: Options, tmp: string, rootfs: string, daemon: DaemonProcess, metricsPort: number): Promise<{ sidecar: number[]; prometheus: number[] }> {
  const [amPort, promPort] = [await freePort(), await freePort()];
  fs.writeFileSync(path.join(tmp, 'am.yml'), 'route:\n  receiver: none\n  group_wait: 0s\nreceivers:\n  - name: none\n');
  start('alertmanager', '/usr/bin/prometheus-alertmanager', [
    `--config.file=${path.join(tmp, 'am.yml')}`,
    `--storage.path=${path.join(tmp, 'am')}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    '--cluster.listen-address=',
  ]);
  fs.writeFileSync(path.join(tmp, 'prometheus.yml'), prometheusConfig(amPort, metricsPort));
  start('prometheus', 'prometheus', [`--config.file=${path.join(tmp, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(tmp, 'prom')}`, `--web.listen-address=127.0.0.1:${promPort}`]);
  start('corral alert', process.execPath, [
    CORRAL_BIN,
    '--host',
    `unix://${daemon.socket}`,
    'alert',
    '--alertmanager',
    `http://127.0.0.1:${amPort}`,
    '--state',
    path.join(tmp, 'alert-state'),
    '--metrics-addr',
    'none',
    '--interval',
    '250ms',
  ]);
  await until('Alertmanager ready', () =>
    fetch(`http://127.0.0.1:${amPort}/-/ready`).then(
      (r) => r.status === 200,
      () => false,
    ),
  );
  await until('Prometheus to load the rules', async () => ((await getJson<{ data: { groups: unknown[] } }>(`http://127.0.0.1:${promPort}/api/v1/rules`))?.data.groups.length ?? 0) > 0);
  const query = (q: string) =>
    getJson<{ data: { result: { value: [number, string] }[] } }>(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`).then((r) => r?.data.result[0]?.value[1]);
  const out = { sidecar: [] as number[], prometheus: [] as number[] };
  const events = await subscribeEvents(daemon.socket, { event: ['oom'] });
  try {
    for (let k = 0; k < o.kills; k++) {
      const name = `bench-oom-${k}`;
      const trigger = path.join(tmp, `trigger-${k}`);
      fs.mkdirSync(trigger);
      const created = await apiRequest(daemon.socket, 'POST', `/containers/create?name=${name}`, {
        Image: rootfs,
        Cmd: ['sh', '-c', 'while [ ! -e /trigger/go ]; do sleep 0.05; done; tail /dev/zero & wait; exec sleep 3600'],
        HostConfig: { CgroupParent: CGROUP_PARENT, NetworkMode: 'none', Memory: 32 << 20, Binds: [`${trigger}:/trigger`] },
      });
      if (created.status !== 201) throw new Error(`create: ${created.status} ${created.body}`);
      const id = created.json().Id as string;
      await apiRequest(daemon.socket, 'POST', `/containers/${id}/start`);
      // Prometheus holds the counter at 0 before the kill (increase() needs it), and the sidecar has seen the container
      await until('Prometheus to scrape the counter at 0', async () => (await query(`corral_container_oom_kills_total{name="${name}"}`)) === '0');
      fs.writeFileSync(path.join(trigger, 'go'), '');
      const oom = await events.waitFor((e) => e.Actor.ID === id, 'the oom event');
      const killedAt = oom.timeNano / 1e6;
      let sidecarAt: number | undefined;
      let promAt: number | undefined;
      await until(
        'both paths to deliver the alert',
        async () => {
          const list = await getJson<AmAlert[]>(`http://127.0.0.1:${amPort}/api/v2/alerts`);
          const now = Date.now();
          for (const a of list ?? []) {
            if (a.labels.alertname !== 'ContainerOOMKilled' || a.labels.name !== name) continue;
            if (a.labels.job === undefined) sidecarAt ??= now;
            else promAt ??= now;
          }
          return sidecarAt !== undefined && promAt !== undefined;
        },
        60_000,
        5,
      );
      out.sidecar.push(sidecarAt! - killedAt);
      out.prometheus.push(promAt! - killedAt);
      console.log(`  kill ${k + 1}: sidecar ${(sidecarAt! - killedAt).toFixed(0)} ms, Prometheus ${(promAt! - killedAt).toFixed(0)} ms`);
      await apiRequest(daemon.socket, 'DELETE', `/containers/${id}?force=1`);
    }
  } finally {
    events.close();
  }
  return out;
}

async function load(o: Options, tmp: string, rootfs: string, daemon: DaemonProcess): Promise<{ cpuPercent: number; rssMiB: number; requests: Record<string, number> }> {
  const ids: string[] = [];
  for (let i = 0; i < o.containers; i++) {
    const r = await apiRequest(daemon.socket, 'POST', '/containers/create', {
      Image: rootfs,
      Cmd: ['sleep', '3600'],
      HostConfig: { CgroupParent: CGROUP_PARENT, NetworkMode: 'none', Memory: 64 << 20, PidsLimit: 64 },
    });
    if (r.status !== 201) throw new Error(`create #${i}: ${r.status} ${r.body}`);
    ids.push(r.json().Id as string);
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const r = await apiRequest(daemon.socket, 'POST', `/containers/${id}/start`);
        if (r.status !== 204) throw new Error(`start: ${r.status} ${r.body}`);
      }
    }),
  );
  const metricsPort = await freePort();
  const sidecar = start('corral alert (load)', process.execPath, [
    CORRAL_BIN,
    '--host',
    `unix://${daemon.socket}`,
    'alert',
    '--log',
    '/dev/null',
    '--state',
    path.join(tmp, 'alert-load-state'),
    '--metrics-addr',
    `127.0.0.1:${metricsPort}`,
    '--interval',
    '1s',
  ]);
  const pid = sidecar.child.pid!;
  await sleep(10_000);
  const t0 = cpuTicks(pid)!;
  const w0 = performance.now();
  await sleep(o.loadSeconds * 1000);
  const t1 = cpuTicks(pid)!;
  const cpuPercent = ((t1 - t0) / TICKS_PER_SECOND / ((performance.now() - w0) / 1000)) * 100;
  const rssMiB = statusKiB(pid, 'VmRSS')! / 1024;
  // what the ticks asked the daemon (the list and inspects only when something changed)
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const requests = Object.fromEntries([...text.matchAll(/^corral_alert_daemon_requests_total\{route="([^"]+)"\} (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  await stop(sidecar);
  return { cpuPercent, rssMiB, requests };
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('the bench needs root (it creates cgroups and namespaces)');
  const scratch = await daemonScratch('corral-bench-alert-');
  let daemon: DaemonProcess | undefined;
  try {
    const metricsPort = await freePort();
    daemon = await startDaemonProcess(scratch.root, scratch.socket, ['--log-level', 'warn', '--metrics-addr', `127.0.0.1:${metricsPort}`, '--sample-interval', '1s']);
    const lines = ['corral alert'];
    const result: Record<string, unknown> = { bench: 'alert' };
    if (o.latency) {
      const l = await latency(o, scratch.tmp, scratch.rootfs, daemon, metricsPort);
      const sm = median(l.sidecar);
      const pm = median(l.prometheus);
      lines.push(
        `  OOM kill -> accepted by Alertmanager, ${o.kills} kills`,
        `    sidecar              median ${sm.toFixed(0)} ms, max ${Math.max(...l.sidecar).toFixed(0)} ms (target <= ${TARGET_MEDIAN_MS}: ${sm <= TARGET_MEDIAN_MS ? 'met' : 'NOT met'})`,
        `    Prometheus path      median ${pm.toFixed(0)} ms, max ${Math.max(...l.prometheus).toFixed(0)} ms (scrape 1s, evaluation 1s)`,
      );
      Object.assign(result, { kills: o.kills, sidecarMedianMs: sm, prometheusMedianMs: pm, sidecarMs: l.sidecar, prometheusMs: l.prometheus });
      for (const p of [...procs]) await stop(p);
      await forceRemoveContainers(daemon.socket);
    }
    if (o.load) {
      const l = await load(o, scratch.tmp, scratch.rootfs, daemon);
      lines.push(
        `  ${o.containers} containers, 1 s ticks, the built-in rules, over ${o.loadSeconds} s`,
        `    sidecar CPU          ${l.cpuPercent.toFixed(2)}% of one core (target <= ${TARGET_CPU_PERCENT}: ${l.cpuPercent <= TARGET_CPU_PERCENT ? 'met' : 'NOT met'})`,
        `    sidecar VmRSS        ${l.rssMiB.toFixed(1)} MiB (target <= ${TARGET_RSS_MIB}: ${l.rssMiB <= TARGET_RSS_MIB ? 'met' : 'NOT met'})`,
        `    requests to the daemon ${Object.entries(l.requests)
          .map(([route, n]) => `${route} ${n}`)
          .join(', ')}`,
      );
      Object.assign(result, { containers: o.containers, cpuPercent: l.cpuPercent, rssMiB: l.rssMiB, requests: l.requests });
    }
    console.log(lines.join('\n'));
    console.log(JSON_MARKER + JSON.stringify(result));
    return 0;
  } finally {
    for (const p of procs) await stop(p);
    if (daemon) {
      await forceRemoveContainers(daemon.socket).catch(() => []);
      await stopDaemonProcess(daemon);
    }
    // the containers' cgroups went with them; their parent goes too
    const driver = await createCgroupDriver({ parent: CGROUP_PARENT });
    for (const name of await driver.list()) await driver.open(name).destroy();
    await driver.removeParentIfEmpty();
    fs.rmSync(scratch.tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
