/**
 * A fake daemon for corral top's tests without root: an HTTP server on a unix socket answering the
 * five routes corral top reads (containers/json, containers/stats, containers/{id}/json, info,
 * events) from a list of fake containers whose counters grow by a fixed amount a second. Requests are
 * counted per route, so that tests can check corral top's cost (two requests a tick).
 */
import http from 'node:http';
import type { DockerStats } from '../../src/metrics/docker-stats-types.js';

export interface FakeContainer {
  id: string;
  name: string;
  state: 'running' | 'exited' | 'restarting';
  /** CPU ns used per second of wall time (5e8: half a core) */
  cpuPerSecond: number;
  /** bytes (memory_stats.usage); inactive_file is 1/8 of it */
  memory: number;
  /** bytes; undefined: the host's memory is reported, as the daemon does */
  memoryLimit?: number;
  nanoCpus?: number;
  pidsLimit?: number;
  pids: number;
  netPerSecond: number;
  blockPerSecond: number;
  restartCount?: number;
}

export const HOST_MEMORY = 16 * 1024 ** 3;
export const ONLINE_CPUS = 4;

export interface FakeDaemon {
  socket: string;
  containers: FakeContainer[];
  /** requests per route, e.g. 'GET /containers/stats' */
  requests: Map<string, number>;
  /** send an event to every open /events stream */
  emit(event: Record<string, unknown>): void;
  close(): Promise<void>;
}

/** Docker's stats of one fake container at `t` ms (its counters since time 0). */
export function fakeStats(c: FakeContainer, t: number): DockerStats {
  const at = (ms: number) => {
    const s = ms / 1000;
    return { total: Math.round(c.cpuPerSecond * s), system: Math.round(ONLINE_CPUS * 1e9 * s) };
  };
  const cur = at(t);
  const prev = at(t - 1000);
  const s = t / 1000;
  return {
    read: new Date(t).toISOString(),
    preread: new Date(t - 1000).toISOString(),
    id: c.id,
    name: `/${c.name}`,
    pids_stats: { current: c.pids, ...(c.pidsLimit !== undefined ? { limit: c.pidsLimit } : {}) },
    cpu_stats: {
      cpu_usage: { total_usage: cur.total },
      system_cpu_usage: cur.system,
      online_cpus: ONLINE_CPUS,
      throttling_data: { periods: Math.floor(s * 10), throttled_periods: Math.floor(s * 5), throttled_time: 0 },
    },
    precpu_stats: { cpu_usage: { total_usage: prev.total }, system_cpu_usage: prev.system, online_cpus: ONLINE_CPUS },
    memory_stats: { usage: c.memory, limit: c.memoryLimit ?? HOST_MEMORY, stats: { inactive_file: c.memory / 8, anon: c.memory / 2, file: c.memory / 4 } },
    blkio_stats: {
      io_service_bytes_recursive: [
        { major: 8, minor: 0, op: 'read', value: Math.round(c.blockPerSecond * s) },
        { major: 8, minor: 0, op: 'write', value: Math.round(c.blockPerSecond * s) },
      ],
    },
    networks: { eth0: { rx_bytes: Math.round(c.netPerSecond * s), tx_bytes: Math.round((c.netPerSecond * s) / 2) } },
  };
}

export function startFakeDaemon(socket: string, containers: FakeContainer[], now: () => number = Date.now): Promise<FakeDaemon> {
  const requests = new Map<string, number>();
  const streams = new Set<http.ServerResponse>();
  /** logs followed: held open until the end */
  const followers = new Set<http.ServerResponse>();
  const json = (res: http.ServerResponse, body: unknown, status = 200) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname.replace(/^\/v[0-9.]+/, '');
    const route = `${req.method} ${path.replace(/^\/containers\/(?!json$|stats$)[^/]+/, '/containers/{id}')}`;
    requests.set(route, (requests.get(route) ?? 0) + 1);
    const byRef = (ref: string) => containers.find((c) => c.id === ref || c.name === ref);
    if (path === '/containers/json') {
      return json(
        res,
        containers.map((c) => ({ Id: c.id, Names: [`/${c.name}`], State: c.state, Status: c.state, Created: 0, Labels: {} })),
      );
    }
    if (path === '/containers/stats') {
      const t = Math.floor(now() / 1000) * 1000;
      return json(
        res,
        containers.map((c) => (c.state === 'running' ? fakeStats(c, t) : { id: c.id, name: `/${c.name}`, read: new Date(t).toISOString(), memory_stats: {}, cpu_stats: {}, precpu_stats: {} })),
      );
    }
    if (path === '/info') return json(res, { ServerVersion: '0.1.0-fake', CgroupVersion: '2', NCPU: ONLINE_CPUS, CpuCfsQuota: true, MemoryLimit: true, PidsLimit: true, CPUSet: true });
    if (path === '/events') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    const logs = /^\/containers\/([^/]+)\/logs$/.exec(path);
    if (logs) {
      // Docker's multiplexed framing: stream 1 (stdout), the length, the line
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
      for (let i = 1; i <= 30; i++) {
        const line = Buffer.from(`${url.searchParams.get('timestamps') === '1' ? '2026-12-07T05:00:00.000000000Z ' : ''}log line ${i} of ${decodeURIComponent(logs[1]!).slice(0, 12)}\n`);
        const head = Buffer.alloc(8);
        head[0] = 1;
        head.writeUInt32BE(line.length, 4);
        res.write(Buffer.concat([head, line]));
      }
      if (url.searchParams.get('follow') !== '1') res.end();
      else {
        followers.add(res);
        res.on('close', () => followers.delete(res));
      }
      return;
    }
    const m = /^\/containers\/([^/]+)\/json$/.exec(path);
    if (m) {
      const c = byRef(decodeURIComponent(m[1]!));
      if (!c) return json(res, { message: `No such container: ${m[1]}` }, 404);
      return json(res, {
        Id: c.id,
        RestartCount: c.restartCount ?? 0,
        State: { Status: c.state, StartedAt: new Date(now() - 90_000).toISOString(), ExitCode: 0 },
        HostConfig: { NanoCpus: c.nanoCpus ?? 0, Memory: c.memoryLimit ?? 0, PidsLimit: c.pidsLimit ?? null, CpuQuota: 0, CpuPeriod: 0, CpusetCpus: '' },
      });
    }
    json(res, { message: 'page not found' }, 404);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(socket, () =>
      resolve({
        socket,
        containers,
        requests,
        emit: (event) => {
          for (const s of streams) s.write(`${JSON.stringify(event)}\n`);
        },
        close: () =>
          new Promise<void>((r) => {
            for (const s of [...streams, ...followers]) s.destroy();
            server.close(() => r());
            server.closeAllConnections();
          }),
      }),
    );
  });
}

/** A few containers: busy at half a core under --cpus 0.5, a web server, an idle one, one stopped. */
export function demoContainers(): FakeContainer[] {
  const id = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
  return [
    { id: id(1), name: 'busy', state: 'running', cpuPerSecond: 5e8, memory: 512 * 1024, memoryLimit: 64 * 1024 ** 2, nanoCpus: 5e8, pidsLimit: 64, pids: 1, netPerSecond: 0, blockPerSecond: 0 },
    { id: id(2), name: 'web', state: 'running', cpuPerSecond: 2e7, memory: 8 * 1024 ** 2, pids: 3, netPerSecond: 12_000, blockPerSecond: 4096, restartCount: 2 },
    { id: id(3), name: 'idle', state: 'running', cpuPerSecond: 0, memory: 256 * 1024, pids: 1, netPerSecond: 0, blockPerSecond: 0 },
    { id: id(4), name: 'stopped', state: 'exited', cpuPerSecond: 0, memory: 0, pids: 0, netPerSecond: 0, blockPerSecond: 0 },
  ];
}

/** Run as a program: a fake daemon on argv[2] until killed (for trying corral top by hand). */
if (process.argv[1]?.endsWith('fake-top-daemon.js') && process.argv[2]) {
  void startFakeDaemon(process.argv[2], demoContainers());
}
