/**
 * Stats and metrics end to end, as root on the real kernel: `corral daemon` as a child process (temp
 * socket, temp --root, a free loopback port for --metrics-addr) with one busybox container that holds
 * a known amount of memory and spins under a CPU quota. Checked: `GET /containers/{id}/stats` against
 * the cgroup files read around it, `GET /containers/stats`, one-shot and stream, `corral stats
 * --no-stream`, `promtool check metrics` on a live scrape, and a real Prometheus server (Debian's
 * `prometheus`) scraping the daemon and answering a PromQL query with the working set the cgroup files
 * hold. The same file runs on the host (cgroup v1) and in the QEMU guest (v2).
 */
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';
import { ensureBusyboxRootfs } from '../helpers/busybox.js';
import { CORRAL_BIN, TEST_CGROUP_PARENT, corral, startCorral, stopAllCorrals, testDriver } from '../helpers/corral.js';
import { request } from '../helpers/http.js';
import { apiRequest, startDaemonProcess, stopDaemonProcess, type ApiJson } from '../helpers/daemon.js';
import { promtool } from '../helpers/promtool.js';
import type { DockerStats } from '../../src/metrics/docker-stats-types.js';
import { freePort } from '../helpers/ports.js';
import Docker from 'dockerode';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const test = (name: string, fn: () => Promise<void> | void) => nodeTest(name, { timeout: 300_000 }, fn);

/** The sampling interval the daemon runs with in this test, ms. */
const INTERVAL_MS = 500;
/** What the workload holds in a shell variable: 8 MB of 'a'. */
const HELD_BYTES = 8_000_000;

let tmp: string;
let root: string;
let socket: string;
let rootfs: string;
let metricsPort: number;
let daemon: { child: ChildProcess; stderr: () => string; exited: Promise<unknown> };
let id: string;
/** the container's cgroup directory for memory, cpu and pids files (v1: per hierarchy) */
let dirs: { memory: string; cpu: string; pids: string; mode: 'v1' | 'v2' };

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${daemon ? `\ndaemon stderr:\n${daemon.stderr()}` : ''}`);
    await sleep(100);
  }
}

async function api(method: string, p: string, body?: unknown) {
  const r = await request(socket, { method, path: p, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }) });
  return { ...r, json: <T = ApiJson>() => JSON.parse(r.body) as T };
}

const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
const statKey = (text: string, key: string) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1]);

/** One reading of the files the checked values come from, straight from the cgroup. */
function readCgroup() {
  const v1 = dirs.mode === 'v1';
  const usage = Number(read(dirs.memory, v1 ? 'memory.usage_in_bytes' : 'memory.current'));
  const stat = read(dirs.memory, 'memory.stat');
  const inactive = statKey(stat, v1 ? 'total_inactive_file' : 'inactive_file');
  const cpuUsageNs = v1 ? Number(read(dirs.cpu, 'cpuacct.usage')) : statKey(read(dirs.cpu, 'cpu.stat'), 'usage_usec') * 1000;
  return { time: Date.now(), usage, workingSet: inactive < usage ? usage - inactive : usage, cpuUsageNs, pids: Number(read(dirs.pids, 'pids.current')) };
}

/** Read the cgroup every 10 ms while `during` runs, from `leadMs` before it; every reading. */
async function readAround<T>(leadMs: number, during: () => Promise<T>): Promise<{ result: T; readings: ReturnType<typeof readCgroup>[] }> {
  const readings = [readCgroup()];
  const timer = setInterval(() => readings.push(readCgroup()), 10);
  try {
    await sleep(leadMs);
    const result = await during();
    readings.push(readCgroup());
    return { result, readings };
  } finally {
    clearInterval(timer);
  }
}

/** `value` lies between the smallest and largest reading of `key` (a sample taken while they were read). */
function within(value: number | undefined, readings: ReturnType<typeof readCgroup>[], key: 'usage' | 'workingSet' | 'cpuUsageNs' | 'pids', what: string): void {
  const values = readings.map((r) => r[key]);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  assert.ok(value !== undefined && value >= lo && value <= hi, `${what}: ${value} is not within the cgroup's readings [${lo}, ${hi}] (${values.length} readings)`);
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-stats-'));
  root = path.join(tmp, 'root');
  socket = path.join(tmp, 'corral.sock');
  rootfs = await ensureBusyboxRootfs(path.join(tmp, 'busybox'));
  metricsPort = await freePort();
  const child = spawn(process.execPath, [CORRAL_BIN, '--root', root, '--host', `unix://${socket}`, 'daemon', '--metrics-addr', `127.0.0.1:${metricsPort}`, '--sample-interval', `${INTERVAL_MS}ms`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  daemon = { child, stderr: () => stderr, exited: new Promise((resolve) => child.once('close', resolve)) };
  await until(
    'the daemon',
    async () =>
      child.exitCode === null &&
      (await request(socket, { path: '/_ping' }).then(
        (r) => r.body === 'OK',
        () => false,
      )),
  );

  const created = await api('POST', '/containers/create?name=stats-load', {
    Image: rootfs,
    // 8 MB held in a shell variable, then a busy loop (a shell builtin: one process) under half a CPU
    Cmd: ['sh', '-c', `x=$(head -c ${HELD_BYTES} /dev/zero | tr '\\0' a); while :; do :; done`],
    HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none', Memory: 64 << 20, NanoCpus: 500_000_000, PidsLimit: 32 },
  });
  assert.equal(created.status, 201, created.body);
  id = created.json().Id as string;
  assert.equal((await api('POST', `/containers/${id}/start`)).status, 204);
  const driver = await testDriver();
  const paths = driver.open(id).paths;
  dirs = driver.mode === 'v2' ? { memory: paths.unified!, cpu: paths.unified!, pids: paths.unified!, mode: 'v2' } : { memory: paths.memory!, cpu: paths.cpuacct!, pids: paths.pids!, mode: 'v1' };
  // the workload holds its memory and is back in its loop with one process
  await until('the workload holding its memory', async () => {
    const r = readCgroup();
    return r.usage > HELD_BYTES && r.pids === 1;
  });
});

after(async () => {
  if (id !== undefined) await api('DELETE', `/containers/${id}?force=1`).catch(() => undefined);
  if (daemon && daemon.child.exitCode === null) {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
  await stopAllCorrals();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('GET /containers/{id}/stats?stream=0: the cgroup files, in Docker shape, with precpu_stats', async () => {
  // from before the sample the answer is built from (at most one interval old) until after the answer
  const { result: r, readings } = await readAround(INTERVAL_MS * 2, () => api('GET', `/containers/${id}/stats?stream=0`));
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['content-type'], 'application/json');
  const s = r.json<DockerStats>();
  assert.equal(s.id, id);
  assert.equal(s.name, '/stats-load');
  within(s.memory_stats?.usage, readings, 'usage', 'memory_stats.usage');
  within(s.cpu_stats?.cpu_usage?.total_usage, readings, 'cpuUsageNs', 'cpu_stats.cpu_usage.total_usage');
  assert.equal(s.pids_stats?.current, 1);
  assert.equal(s.pids_stats?.limit, 32);
  assert.equal(s.memory_stats?.limit, 64 << 20);
  assert.ok(s.memory_stats!.usage! > HELD_BYTES, 'the held memory is counted');
  assert.ok(s.memory_stats?.stats?.[dirs.mode === 'v1' ? 'total_inactive_file' : 'inactive_file'] !== undefined);
  assert.ok(s.cpu_stats!.online_cpus! >= 1);
  assert.ok(s.cpu_stats!.system_cpu_usage! > s.precpu_stats!.system_cpu_usage!, 'precpu_stats is the sample before');
  assert.ok(Date.parse(s.read!) > Date.parse(s.preread!));
  assert.ok(s.cpu_stats!.throttling_data!.periods! > 0, 'a CFS quota is in force');
  assert.ok(s.blkio_stats !== undefined && s.networks === undefined, '--network none: only the loopback, which is not reported');
  // half a CPU: Docker's CPU % between the two samples stays well below one full CPU (100%)
  const cpuDelta = s.cpu_stats!.cpu_usage!.total_usage! - s.precpu_stats!.cpu_usage!.total_usage!;
  const systemDelta = s.cpu_stats!.system_cpu_usage! - s.precpu_stats!.system_cpu_usage!;
  const percent = (cpuDelta / systemDelta) * s.cpu_stats!.online_cpus! * 100;
  assert.ok(percent > 0 && percent < 90, `CPU % ${percent}`);
});

test('one-shot, the stream, GET /containers/stats, and a bad combination', async () => {
  const one = (await api('GET', `/containers/stats-load/stats?stream=false&one-shot=true`)).json<DockerStats>();
  assert.equal(one.preread, '0001-01-01T00:00:00Z');
  assert.deepEqual(one.precpu_stats, { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } });
  const bad = await api('GET', `/containers/${id}/stats?stream=1&one-shot=1`);
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json(), { message: 'cannot have stream=true and one-shot=true' });
  assert.equal((await api('GET', '/containers/nosuch/stats?stream=0')).status, 404);

  const all = (await api('GET', '/containers/stats')).json<DockerStats[]>();
  assert.deepEqual(
    all.map((s) => s.id),
    [id],
  );
  assert.ok(all[0]!.memory_stats!.usage! > HELD_BYTES);

  // the stream: the first object at once, then one per tick, each with the one before as precpu
  const objects = await new Promise<DockerStats[]>((resolve, reject) => {
    import('node:http').then(({ default: http }) => {
      const got: DockerStats[] = [];
      let buffer = '';
      const req = http.get({ socketPath: socket, path: `/v1.41/containers/${id}/stats` }, (res) => {
        res.on('data', (d: Buffer) => {
          buffer += d.toString();
          for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
            got.push(JSON.parse(buffer.slice(0, nl)) as DockerStats);
            buffer = buffer.slice(nl + 1);
            if (got.length === 3) {
              req.destroy();
              resolve(got);
            }
          }
        });
      });
      req.on('error', (err) => (got.length === 3 ? undefined : reject(err)));
    }, reject);
  });
  assert.notEqual(objects[0]!.preread, '0001-01-01T00:00:00Z', 'the first object has a previous sample from the cache');
  assert.ok(Date.parse(objects[2]!.read!) > Date.parse(objects[1]!.read!));
  assert.equal(objects[2]!.preread, objects[1]!.read);
});

test('corral stats --no-stream prints the container row in Docker columns', async () => {
  const r = await corral(['--host', `unix://${socket}`, 'stats', '--no-stream']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^CONTAINER ID +NAME +CPU % +MEM USAGE \/ LIMIT +MEM % +NET I\/O +BLOCK I\/O +PIDS$/);
  assert.equal(lines.length, 2, r.stdout);
  assert.match(lines[1]!, new RegExp(`^${id.slice(0, 12)} +stats-load +\\d+\\.\\d\\d% +\\d+(\\.\\d+)?MiB / 64MiB +\\d+\\.\\d\\d% +0B / 0B +\\S+ / \\S+ +1$`));
  const json = await corral(['--host', `unix://${socket}`, 'stats', '--no-stream', '--format', 'json', 'stats-load']);
  assert.equal(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { Container: string; Name: string }).Container, 'stats-load');
  const missing = await corral(['--host', `unix://${socket}`, 'stats', '--no-stream', 'nosuch']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /No such container: nosuch/);
});

test('corral stats (streaming) redraws the table until SIGINT, then exits 0', async () => {
  const live = startCorral(['--host', `unix://${socket}`, 'stats']);
  const frames = () => live.stdout().split('\x1b[2J\x1b[H').slice(1);
  // a refresh a second: three frames within 15 s, the command still running after them
  const deadline = Date.now() + 15_000;
  while (frames().length < 3) {
    if (live.child.exitCode !== null || live.child.signalCode !== null) {
      const r = await live.result;
      assert.fail(`corral stats ended after ${frames().length} frame(s) with ${r.code ?? r.signal}: ${r.stderr}`);
    }
    assert.ok(Date.now() < deadline, `only ${frames().length} frame(s) in 15 s`);
    await sleep(100);
  }
  assert.equal(live.child.exitCode, null, 'still running after three frames');
  for (const frame of frames().slice(0, 3)) {
    const lines = frame.trimEnd().split('\n');
    assert.match(lines[0]!, /^CONTAINER ID +NAME +CPU % /);
    assert.match(lines[1]!, new RegExp(`^${id.slice(0, 12)} +stats-load `));
  }
  live.child.kill('SIGINT');
  const r = await live.result;
  assert.deepEqual([r.code, r.signal], [0, null], r.stderr);
});

test('GET /containers/{id}/stats?stream=false right after start, from a keep-alive client (dockerode): real figures every time', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const docker = new Docker({ socketPath: socket, agent } as Docker.DockerOptions);
  const zero = '0001-01-01T00:00:00Z';
  try {
    for (let i = 0; i < 8; i++) {
      const c = await docker.createContainer({ Image: rootfs, Cmd: ['sleep', '3600'], HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none' } });
      try {
        await c.start();
        const s = (await c.stats({ stream: false })) as unknown as DockerStats;
        assert.notEqual(s.read, zero, `round ${i}: the first sample was taken`);
        assert.ok((s.memory_stats?.usage ?? 0) > 0, `round ${i}: memory_stats.usage ${s.memory_stats?.usage}`);
        assert.ok((s.pids_stats?.current ?? 0) >= 1, `round ${i}: pids_stats.current ${s.pids_stats?.current}`);
        assert.notEqual(s.preread, zero, `round ${i}: precpu_stats is the sample before`);
        const one = (await docker.getContainer(c.id).stats({ stream: false, 'one-shot': true } as { stream: false })) as unknown as DockerStats;
        assert.notEqual(one.read, zero, `round ${i}: one-shot`);
      } finally {
        await c.remove({ force: true });
      }
    }
  } finally {
    agent.destroy();
  }
  // the tests after this one count the containers a tick reads: stats-load alone again
  await until('a tick that reads stats-load alone', async () => /^corral_sampler_containers 1$/m.test(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()));
});

test('promtool check metrics passes on a live scrape; the container is in it', async () => {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.match(text, new RegExp(`^container_memory_working_set_bytes\\{id="/corral/${id}",name="stats-load",image="${rootfs.replace(/[/.]/g, '\\$&')}"\\} \\d+$`, 'm'));
  assert.match(text, /^process_cpu_seconds_total \d/m, "the daemon's own process metrics");
  assert.match(text, /^corral_sampler_containers 1$/m);
  const file = path.join(tmp, 'scrape.prom');
  fs.writeFileSync(file, text);
  const r = promtool(['check', 'metrics'], undefined, file);
  assert.equal(r.status, 0, r.output);
});

test('a real Prometheus server scrapes the daemon and answers PromQL with the working set the cgroup files hold', async () => {
  const promDir = fs.mkdtempSync(path.join(tmp, 'prometheus-'));
  const port = await freePort();
  fs.writeFileSync(
    path.join(promDir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: corral\n    static_configs:\n      - targets: ['127.0.0.1:${metricsPort}']\n`,
  );
  let promErr = '';
  const prom = spawn('prometheus', [`--config.file=${path.join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  prom.stderr!.on('data', (d: Buffer) => (promErr = (promErr + d.toString()).slice(-20_000)));
  const promExited = new Promise((resolve) => prom.once('close', resolve));
  prom.once('error', (err) => (promErr += `\nspawn: ${err.message} (install Debian's prometheus package)`));
  try {
    const query = async (q: string): Promise<[number, string] | undefined> => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => undefined);
      if (res?.status !== 200) return undefined;
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      return body.data.result[0]?.value;
    };
    const selector = `{id="/corral/${id}",name="stats-load"}`;
    await until(
      `Prometheus to have scraped the container (prometheus stderr:\n${promErr})`,
      async () => {
        if (prom.exitCode !== null) throw new Error(`prometheus exited ${prom.exitCode}:\n${promErr}`);
        return (await query(`container_memory_working_set_bytes${selector}`)) !== undefined;
      },
      180_000,
    );
    // The value Prometheus holds was sampled at container_last_seen (same scrape): read the cgroup from
    // before any sample it may hold (one scrape interval + one sampling interval back) until after the query.
    let checked = false;
    for (let attempt = 0; attempt < 5 && !checked; attempt++) {
      const { result, readings } = await readAround(1000 + INTERVAL_MS + 1000, async () => {
        const [ws, seen] = await Promise.all([query(`container_memory_working_set_bytes${selector}`), query(`container_last_seen${selector}`)]);
        return { ws: ws ? Number(ws[1]) : undefined, seen: seen ? Number(seen[1]) * 1000 : undefined };
      });
      // a scrape older than the readings (Prometheus slowed down) cannot be judged: look again
      if (result.seen === undefined || result.seen < readings[0]!.time) continue;
      const around = readings.filter((r) => Math.abs(r.time - result.seen!) <= 100);
      within(result.ws, around.length > 0 ? around : readings, 'workingSet', 'container_memory_working_set_bytes from PromQL');
      assert.ok(result.ws! > HELD_BYTES);
      checked = true;
    }
    assert.ok(checked, 'Prometheus never held a sample younger than the cgroup readings');
  } finally {
    if (prom.exitCode === null) {
      prom.kill('SIGTERM');
      await Promise.race([promExited, sleep(20_000)]);
      if (prom.exitCode === null) {
        prom.kill('SIGKILL');
        await promExited;
      }
    }
    fs.rmSync(promDir, { recursive: true, force: true });
  }
});

test('an update: the new limits are in the stats and the metrics within a tick (the sampler re-reads the limits then)', async () => {
  const r = await api('POST', `/containers/${id}/update`, { Memory: 96 << 20, PidsLimit: 48 });
  assert.equal(r.status, 200, r.body);
  // the kernel holds them: what the stats must show
  assert.equal(Number(read(dirs.pids, 'pids.max')), 48);
  assert.equal(Number(read(dirs.memory, dirs.mode === 'v1' ? 'memory.limit_in_bytes' : 'memory.max')), 96 << 20);
  const s = await until(
    'the new limits in the stats',
    async () => {
      const one = (await api('GET', `/containers/${id}/stats?stream=0&one-shot=1`)).json<DockerStats>();
      return one.pids_stats?.limit === 48 && one.memory_stats?.limit === 96 << 20 && one;
    },
    10 * INTERVAL_MS,
  );
  assert.equal(s.memory_stats?.limit, 96 << 20);
  const text = await until(
    'the new limits in the metrics',
    async () => {
      const t = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return t.includes(`corral_container_pids_limit{id="/corral/${id}",name="stats-load",image="${rootfs}"} 48\n`) && t;
    },
    10 * INTERVAL_MS,
  );
  assert.match(text, new RegExp(`container_spec_memory_limit_bytes\\{id="/corral/${id}"[^}]*\\} ${96 << 20}\n`));
});

test('a quiet container gets quiet readings, and a full one the tick after it moves: an exec shows in pids_stats at once', async () => {
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text())?.[1]);
  const created = await api('POST', '/containers/create?name=stats-quiet', {
    Image: rootfs,
    Cmd: ['sleep', '100000'],
    HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none', PidsLimit: 8 },
  });
  assert.equal(created.status, 201, created.body);
  const quietId = created.json().Id as string;
  try {
    assert.equal((await api('POST', `/containers/${quietId}/start`)).status, 204);
    const stats = async () => (await api('GET', `/containers/${quietId}/stats?stream=0&one-shot=1`)).json<DockerStats>();
    await until('the sleeper sampled', async () => (await stats()).pids_stats?.current === 1);
    // the busy container is read in full every tick; only the sleeper can be quiet
    const quiet0 = await metric('corral_sampler_quiet_reads_total');
    await until('quiet readings of the sleeper', async () => (await metric('corral_sampler_quiet_reads_total')) >= quiet0 + 3, 20 * INTERVAL_MS);

    // a process joins it: its CPU time moves, so the next tick reads every file, pids.current too
    const exec = await api('POST', `/containers/${quietId}/exec`, { Cmd: ['sleep', '30'] });
    assert.equal(exec.status, 201, exec.body);
    assert.equal((await api('POST', `/exec/${exec.json().Id as string}/start`, { Detach: true })).status, 200);
    // from when it runs in the container (a detached start answers then): the exec's own start-up,
    // slow under emulation, is not the sampler's reaction
    const started = Date.now();
    await until('the exec in pids_stats', async () => (await stats()).pids_stats?.current === 2);
    const seen = Date.now() - started;
    // well before the 10 s idle interval: within a few ticks
    assert.ok(seen < 6 * INTERVAL_MS, `the exec showed after ${seen} ms (interval ${INTERVAL_MS} ms)`);
  } finally {
    assert.equal((await api('DELETE', `/containers/${quietId}?force=1`)).status, 204);
  }
});

test('a scrape asking for gzip gets the same exposition gzipped; one without gets it plain', async () => {
  const get = (encoding: string) =>
    new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: metricsPort, path: '/metrics', headers: { 'accept-encoding': encoding }, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });
  const zipped = await get('gzip');
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.equal(zipped.headers.vary, 'Accept-Encoding');
  assert.equal(Number(zipped.headers['content-length']), zipped.body.length);
  assert.match(zlib.gunzipSync(zipped.body).toString('utf8'), new RegExp(`container_memory_working_set_bytes\\{id="/corral/${id}"`));
  const plain = await get('identity');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.match(plain.body.toString('utf8'), /^# HELP container_cpu_usage_seconds_total /);
});

test("the container's end: its stats go empty, its descriptors are given back, the state metric says exited", async () => {
  assert.equal((await api('POST', `/containers/${id}/kill`)).status, 204);
  assert.equal((await api('POST', `/containers/${id}/wait`)).status, 200);
  const s = await until('empty stats', async () => {
    const st = (await api('GET', `/containers/${id}/stats?stream=0`)).json<DockerStats>();
    return st.read === '0001-01-01T00:00:00Z' ? st : undefined;
  });
  assert.deepEqual(s.memory_stats, {});
  const text = await until('the exited state', async () => {
    const t = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return t.includes(`corral_container_state{id="/corral/${id}",name="stats-load",image="${rootfs}",state="exited"} 1`) ? t : undefined;
  });
  assert.match(text, new RegExp(`^corral_container_exit_code\\{id="/corral/${id}"[^}]*\\} 137$`, 'm'));
  // no restart policy: corral does not mean it to run, and ContainerDown stays quiet
  assert.match(text, new RegExp(`^corral_container_should_run\\{id="/corral/${id}"[^}]*\\} 0$`, 'm'));
  assert.doesNotMatch(text, new RegExp(`^container_memory_usage_bytes\\{id="/corral/${id}"`, 'm'));
  // the sampler's descriptors: none left into the removed cgroup or the workload's /proc entry
  const fds = fs.readdirSync(`/proc/${daemon.child.pid}/fd`).map((fd) => {
    try {
      return fs.readlinkSync(`/proc/${daemon.child.pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });
  assert.deepEqual(
    fds.filter((l) => l.includes(id) || l.includes(TEST_CGROUP_PARENT)),
    [],
  );
  assert.equal((await api('DELETE', `/containers/${id}`)).status, 204);
  const gone = await until('the container gone from the metrics', async () => {
    const t = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    // the next tick reads no container
    return t.includes(id) || !/^corral_sampler_containers 0$/m.test(t) ? undefined : t;
  });
  assert.match(gone, /^corral_sampler_interval_seconds 0.5$/m, '--sample-interval 500ms');
});

test('corral_container_should_run: 1 for an unless-stopped container while corral keeps it up, 0 once the user stops it', async () => {
  const created = await api('POST', '/containers/create?name=kept-up', {
    Image: rootfs,
    Cmd: ['sleep', '3600'],
    HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none', RestartPolicy: { Name: 'unless-stopped' } },
  });
  assert.equal(created.status, 201, created.body);
  const kept = created.json().Id as string;
  const shouldRun = async (value: 0 | 1) =>
    until(`corral_container_should_run ${value}`, async () => {
      const t = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return new RegExp(`^corral_container_should_run\\{id="/corral/${kept}",name="kept-up",[^}]*\\} ${value}$`, 'm').test(t);
    });
  try {
    assert.equal((await api('POST', `/containers/${kept}/start`)).status, 204);
    await shouldRun(1);
    assert.equal((await api('POST', `/containers/${kept}/stop?t=1`)).status, 204);
    await shouldRun(0);
  } finally {
    await api('DELETE', `/containers/${kept}?force=1`);
  }
});

test('a daemon with a low open-files limit (ulimit -n 100) keeps at most half of it for stats files and reads the rest afresh: the stats stay right', async () => {
  const lowPort = await freePort();
  const low = await startDaemonProcess(
    path.join(tmp, 'low-root'),
    path.join(tmp, 'low.sock'),
    ['--metrics-addr', `127.0.0.1:${lowPort}`, '--sample-interval', `${INTERVAL_MS}ms`, '--sample-idle-interval', `${INTERVAL_MS}ms`],
    undefined,
    100,
  );
  const call = (method: string, p: string, body?: unknown) => apiRequest(low.socket, method, p, body);
  const ids: string[] = [];
  try {
    assert.match(fs.readFileSync(`/proc/${low.pid}/limits`, 'utf8'), /^Max open files\s+100\s+100\s/m);
    for (let i = 0; i < 5; i++) {
      const c = await call('POST', '/containers/create', { Image: rootfs, Cmd: ['sleep', '3600'], HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none' } });
      assert.equal(c.status, 201, c.body);
      ids.push(c.json().Id as string);
      assert.equal((await call('POST', `/containers/${ids.at(-1)}/start`)).status, 204);
    }
    const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    const text = await until('reads past the budget', async () => {
      const t = await (await fetch(`http://127.0.0.1:${lowPort}/metrics`)).text();
      return metric(t, 'corral_sampler_containers') === 5 && metric(t, 'corral_sampler_unkept_reads_total') > 0 ? t : undefined;
    });
    assert.ok(metric(text, 'corral_sampler_open_files') <= 50, `corral_sampler_open_files ${metric(text, 'corral_sampler_open_files')}: at most half of 100`);
    assert.equal(
      metric(text, 'corral_sample_errors_total'),
      NaN,
      `no read failed (EMFILE): ${text
        .split('\n')
        .filter((l) => l.startsWith('corral_sample_errors_total'))
        .join('; ')}`,
    );
    // every container's stats, the unkept files included, from a reading of this tick
    const driver = await testDriver();
    for (const cid of ids) {
      const st = (await call('GET', `/containers/${cid}/stats?stream=0`)).json() as DockerStats;
      assert.equal(st.pids_stats?.current, 1, `${cid}: pids_stats`);
      const paths = driver.open(cid).paths;
      const memDir = driver.mode === 'v2' ? paths.unified! : paths.memory!;
      const usage = Number(fs.readFileSync(path.join(memDir, driver.mode === 'v2' ? 'memory.current' : 'memory.usage_in_bytes'), 'utf8'));
      const reported = st.memory_stats?.usage;
      assert.ok(reported !== undefined && Math.abs(reported - usage) < 1 << 20, `${cid}: memory usage ${reported} vs the cgroup's ${usage}`);
      assert.ok(Object.keys(st.memory_stats?.stats ?? {}).length > 5, `${cid}: memory.stat read`);
    }
    assert.ok(fs.readdirSync(`/proc/${low.pid}/fd`).length < 100, 'the daemon is under its limit');
  } finally {
    for (const cid of ids) await call('DELETE', `/containers/${cid}?force=1`).catch(() => undefined);
    await stopDaemonProcess(low);
  }
  assert.doesNotMatch(low.stderr(), /EMFILE/);
});
