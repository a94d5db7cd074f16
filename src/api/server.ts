/**
 * The daemon's API server: HTTP/1.1 on a unix socket (mode 0660, group `corral` when that group
 * exists), and on TCP only when asked for explicitly. A socket left by a daemon that died is
 * removed only when nothing answers on it; a live one makes this daemon refuse to start.
 */
import { systemDfRoute } from './system-df.js';
import { changesRoute, commitRoute, exportRoute, imageHistoryRoute, inspectImageRoute, listImagesRoute, pruneImagesRoute, pullRoute, removeImageRoute, tagImageRoute } from './image-routes.js';
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { CorralError } from '../errors.js';
import { listContainers, pruneContainers } from './containers.js';
import { Supervisor } from '../daemon/supervisor.js';
import { eventsRoute } from './events-route.js';
import { finishRoute, prepareRoute } from './client-run.js';
import { ExecInstances } from './exec-instances.js';
import { execCreateRoute, execInspectRoute, execResizeRoute, execParam, execStartRoute } from './exec-routes.js';
import { serveUpgrade } from './hijack.js';
import { loadSyscalls, type Syscalls } from '../sys/syscalls.js';
import { createRoute, deleteRoute, inspectRoute, killRoute, pauseRoute, renameRoute, restartRoute, startRoute, stopRoute, topRoute, unpauseRoute, updateRoute, waitRoute } from './lifecycle-routes.js';
import { attachRoute, logsRoute, resizeRoute } from './stream-routes.js';
import type { Logger } from '../log.js';
import { Router } from './router.js';
import { allStatsRoute, containerStatsRoute, type StatsDeps } from './stats-routes.js';
import { API_VERSION, MIN_API_VERSION, SERVER_HEADER, info, ping, version, type SystemFacts } from './system.js';
import { parseContainerRef } from './validate.js';

/** The group that may use the socket, if it exists. */
export const SOCKET_GROUP = 'corral';
export const SOCKET_MODE = 0o660;

export class DaemonStartError extends CorralError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EDAEMONSTART', message, options);
  }
}

/** The gid of `name` in an /etc/group file's contents (pure). */
export function groupId(groupFile: string, name: string): number | undefined {
  for (const line of groupFile.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/** Whether something accepts connections on the unix socket at `socketPath`. */
export function probeSocket(socketPath: string, timeoutMs = 2000): Promise<'answers' | 'refused'> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DaemonStartError(`${socketPath}: a process holds the socket but did not accept a connection within ${timeoutMs} ms; not removing it`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('answers');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ECONNREFUSED') resolve('refused');
      else reject(new DaemonStartError(`${socketPath}: cannot tell whether a daemon is listening (${err.code ?? err.message}); not removing it`, { cause: err }));
    });
  });
}

export interface RouterDeps {
  facts: SystemFacts;
  log: Logger;
  now: () => Date;
  /** the container lifecycle; a fresh one (that adopts nothing) by default */
  supervisor?: Supervisor;
  /** the sampler's cache for the stats routes; without it they are not served */
  stats?: StatsDeps;
}

export function buildRouter(deps: RouterDeps): Router {
  const router = new Router({ apiVersion: API_VERSION, minApiVersion: MIN_API_VERSION, server: SERVER_HEADER, log: deps.log });
  const stateRoot = deps.facts.stateRoot;
  const sup = deps.supervisor ?? new Supervisor({ stateRoot, log: deps.log });
  const containerParam = (text: string) => {
    parseContainerRef(text);
    return text;
  };
  // an image name or ID as typed; the lookup decides (a bad one is simply not found, as Docker's)
  const imageParam = (text: string) => text;
  router
    .add(['GET', 'HEAD'], '/_ping', ping)
    .add('GET', '/version', (ctx) => version(ctx, deps))
    .add('GET', '/info', (ctx) => info(ctx, deps))
    .add('GET', '/containers/json', (ctx) => listContainers(ctx, { stateRoot, now: deps.now, log: deps.log, images: sup.images }))
    .add('GET', '/system/df', (ctx) => systemDfRoute(sup.images, stateRoot, deps.now, ctx))
    .add('POST', '/containers/create', (ctx) => createRoute(sup, ctx))
    .add('POST', '/containers/prune', (ctx) => pruneContainers(ctx, sup))
    .add('GET', '/containers/{id}/json', (ctx) => inspectRoute(sup, ctx), { id: containerParam })
    .add('POST', '/containers/{id}/start', (ctx) => startRoute(sup, ctx), { id: containerParam })
    .add('POST', '/containers/{id}/kill', (ctx) => killRoute(sup, ctx), { id: containerParam })
    .add('POST', '/containers/{id}/stop', (ctx) => stopRoute(sup, ctx), { id: containerParam })
    .add('POST', '/containers/{id}/restart', (ctx) => restartRoute(sup, ctx), { id: containerParam })
    .add('POST', '/containers/{id}/pause', (ctx) => pauseRoute(sup, ctx), { id: containerParam })
    .add('POST', '/containers/{id}/unpause', (ctx) => unpauseRoute(sup, ctx), { id: containerParam })
    .add('POST', '/containers/{id}/update', (ctx) => updateRoute(sup, ctx), { id: containerParam })
    .add('POST', '/containers/{id}/rename', (ctx) => renameRoute(sup, ctx), { id: containerParam })
    .add('GET', '/containers/{id}/top', (ctx) => topRoute(sup, ctx), { id: containerParam })
    .add('POST', '/containers/{id}/wait', (ctx) => waitRoute(sup, ctx), { id: containerParam })
    .add('DELETE', '/containers/{id}', (ctx) => deleteRoute(sup, ctx), { id: containerParam })
    .add('GET', '/containers/{id}/logs', (ctx) => logsRoute(sup, ctx), { id: containerParam })
    .add('POST', '/containers/{id}/attach', (ctx) => attachRoute(sup, ctx), { id: containerParam })
    .add('POST', '/containers/{id}/resize', (ctx) => resizeRoute(sup, ctx), { id: containerParam })
    .add('GET', '/events', (ctx) => eventsRoute(sup.events, ctx))
    .add('GET', '/images/json', (ctx) => listImagesRoute(sup.images, ctx))
    .add('POST', '/images/create', (ctx) => pullRoute(sup.images, ctx))
    .add('POST', '/images/prune', (ctx) => pruneImagesRoute(sup.images, ctx))
    .add('GET', '/images/{name*}/json', (ctx) => inspectImageRoute(sup.images, ctx), { name: imageParam })
    .add('GET', '/images/{name*}/history', (ctx) => imageHistoryRoute(sup.images, ctx), { name: imageParam })
    .add('POST', '/images/{name*}/tag', (ctx) => tagImageRoute(sup.images, ctx), { name: imageParam })
    .add('DELETE', '/images/{name*}', (ctx) => removeImageRoute(sup.images, ctx), { name: imageParam })
    .add('GET', '/containers/{id}/changes', (ctx) => changesRoute(sup, ctx), { id: containerParam })
    .add('POST', '/commit', (ctx) => commitRoute(sup, ctx))
    .add('GET', '/containers/{id}/export', (ctx) => exportRoute(sup, ctx), { id: containerParam })
    .add('POST', '/corral/run/prepare', (ctx) => prepareRoute(sup, stateRoot, ctx))
    .add('POST', '/corral/run/{id}/finish', (ctx) => finishRoute(sup, ctx), { id: containerParam });
  let syscalls: Promise<Syscalls> | undefined;
  const execs = new ExecInstances({ supervisor: sup, stateRoot, log: deps.log, syscalls: () => (syscalls ??= loadSyscalls()) });
  router
    .add('POST', '/containers/{id}/exec', (ctx) => execCreateRoute(execs, sup, ctx), { id: containerParam })
    .add('POST', '/exec/{id}/start', (ctx) => execStartRoute(execs, ctx), { id: execParam })
    .add('GET', '/exec/{id}/json', (ctx) => execInspectRoute(execs, ctx), { id: execParam })
    .add('POST', '/exec/{id}/resize', (ctx) => execResizeRoute(execs, ctx), { id: execParam });
  const stats = deps.stats;
  if (stats) {
    router.add('GET', '/containers/{id}/stats', (ctx) => containerStatsRoute(sup, stats, ctx), { id: containerParam }).add('GET', '/containers/stats', (ctx) => allStatsRoute(stats, ctx));
  }
  return router;
}

export interface ApiServerOptions extends RouterDeps {
  socketPath: string;
  /** --api-listen: also serve on this TCP address */
  tcp?: { host: string; port: number };
  /** where the socket's group is looked up (default /etc/group) */
  groupFile?: string;
}

export interface ApiServer {
  readonly socketPath: string;
  /** the TCP address actually bound, with --api-listen */
  readonly tcpAddress: AddressInfo | undefined;
  /** stop accepting, let requests in flight finish (at most `graceMs`), remove the socket */
  close(graceMs?: number): Promise<void>;
}

/**
 * Make `socketPath` free to listen on: its directory made, a stale socket (nothing answers) removed; a
 * live daemon on it, or a file that is not a socket, is a DaemonStartError. The daemon calls it before
 * it adopts any container, so that a second daemon on the same socket fails before it touches them.
 */
export async function prepareSocketPath(socketPath: string, log: Logger): Promise<void> {
  const dir = path.dirname(socketPath);
  const made = await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  if (made !== undefined) await fs.chmod(dir, 0o755); // mkdir's mode is subject to the umask
  let st: Stats;
  try {
    st = await fs.lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw new DaemonStartError(`${socketPath} exists and is not a socket: remove it or choose another path with --host`);
  if ((await probeSocket(socketPath)) === 'answers') {
    throw new DaemonStartError(`another daemon is already listening on ${socketPath}: stop it first, or choose another socket with --host`);
  }
  await fs.unlink(socketPath);
  log.info('removed a stale socket (nothing answered on it)', { socket: socketPath });
}

function listen(server: http.Server, target: { path: string } | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = 'path' in target ? target.path : `${target.host}:${target.port}`;
      if (err.code === 'EADDRINUSE') reject(new DaemonStartError(`${where} is already in use by another process`, { cause: err }));
      else reject(new DaemonStartError(`listen on ${where}: ${err.code ?? err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(target, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * `upgraded` collects the connections handed over by an upgrade (exec's hijacked streams), which
 * node:http no longer tracks, so that closing the server can end them too.
 */
function createHttpServer(router: Router, log: Logger, upgraded: Set<Duplex>): http.Server {
  // keepAliveTimeout 0: an idle connection stays open until its client closes it, as dockerd's (Go's
  // server has no idle timeout). With a timeout, a client reusing a pooled connection just as the
  // server closes it writes into a closed socket (EPIPE): node's own agent idles out after 5 s too.
  const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 30_000, keepAliveTimeout: 0 }, (req, res) => {
    void router.handle(req, res);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    serveUpgrade((r, res) => router.handle(r, res), req, socket, head);
  });
  // Requests node:http cannot parse (bad syntax, headers too large, too slow) get the same error shape.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    log.debug('unparseable request', { code: err.code, error: err.message });
    if (!socket.writable) return socket.destroy();
    const [status, text, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'request headers too large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'request not received in time']
          : [400, 'Bad Request', `malformed HTTP request (${err.code ?? 'parse error'})`];
    const body = JSON.stringify({ message });
    socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  return server;
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { socketPath, log } = options;
  const router = buildRouter(options);
  await prepareSocketPath(socketPath, log);

  const upgraded = new Set<Duplex>();
  const unixServer = createHttpServer(router, log, upgraded);
  // bind(2) creates the socket file with the umask's mode: make it 0600 until chmod says 0660, so it is never wider.
  const umask = process.umask(0o177);
  let bound: Promise<void>;
  try {
    bound = listen(unixServer, { path: socketPath });
  } finally {
    process.umask(umask);
  }
  await bound;
  const inode = (await fs.stat(socketPath)).ino;
  await fs.chmod(socketPath, SOCKET_MODE);
  const gid = groupId(await fs.readFile(options.groupFile ?? '/etc/group', 'utf8').catch(() => ''), SOCKET_GROUP);
  if (gid !== undefined) {
    try {
      await fs.chown(socketPath, process.getuid?.() ?? 0, gid);
    } catch (err) {
      log.warn('cannot give the socket to its group', { socket: socketPath, group: SOCKET_GROUP, gid, error: (err as Error).message });
    }
  }
  log.info('API listening', { socket: socketPath, mode: '0660', group: gid !== undefined ? SOCKET_GROUP : undefined });

  const servers = [unixServer];
  let tcpAddress: AddressInfo | undefined;
  if (options.tcp) {
    const tcpServer = createHttpServer(router, log, upgraded);
    try {
      await listen(tcpServer, options.tcp);
    } catch (err) {
      await new Promise<void>((resolve) => unixServer.close(() => resolve()));
      throw err;
    }
    tcpAddress = tcpServer.address() as AddressInfo;
    servers.push(tcpServer);
    log.warn('API also listening on TCP, without authentication or TLS: anyone who can connect to it controls corral, and so root on this host', {
      address: `${tcpAddress.address}:${tcpAddress.port}`,
    });
  }

  let closing: Promise<void> | undefined;
  const close = (graceMs = 5_000) =>
    (closing ??= (async () => {
      const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const s of servers) s.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const s of servers) s.closeAllConnections();
          for (const socket of upgraded) socket.destroy();
          resolve();
        }, graceMs);
      });
      await Promise.race([Promise.all(closed), grace]);
      clearTimeout(timer);
      await Promise.all(closed);
      // libuv removes the socket file when the listener closes; make sure, but never remove a
      // socket that another daemon has put there since
      try {
        if ((await fs.lstat(socketPath)).ino === inode) await fs.unlink(socketPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    })());
  return { socketPath, tcpAddress, close };
}
