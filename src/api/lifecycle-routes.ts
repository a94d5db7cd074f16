/**
 * The container lifecycle routes (create, start, kill, stop, restart, pause, unpause, update, rename,
 * top, wait, delete, inspect; logs and attach are stream-routes.ts's) on top of the daemon's
 * ContainerBackend (src/daemon/backend.ts).
 */
import { dockerState, imageNameOf } from '../container/records.js';
import { readJsonObject } from './body.js';
import { ApiError } from './errors.js';
import { quoteInput } from '../errors.js';
import { parseSignal } from '../container/signals.js';
import type { ContainerBackend } from '../daemon/backend.js';
import type { RouteContext } from './router.js';
import { sendJson } from './router.js';
import { checkFields, checkNewContainerName, dropUnknownFields, parseContainerRef, queryBool, queryInt, rejectNulBytes } from './validate.js';
import { CREATE_BODY_SCHEMA, QUIET_CREATE_FIELDS } from './containers.js';
import { splitListFields } from '../container/config/update.js';
import { UPDATE_BODY_SCHEMA } from './update.js';
import { restartPolicyJson } from '../container/restart-policy.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

async function idOf(sup: ContainerBackend, ctx: RouteContext): Promise<string> {
  return sup.resolve(parseContainerRef(ctx.params.id!));
}

function noContent(ctx: RouteContext, status: 204 | 304): void {
  ctx.res.statusCode = status;
  ctx.res.end();
}

export async function createRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const name = ctx.query.get('name');
  if (name !== null && name !== '') checkNewContainerName(name);
  // Docker ignores the fields it does not know; corral too, and says so in Warnings (the Docker CLI prints them)
  const { known, unknown } = dropUnknownFields(await readJsonObject(ctx.req), CREATE_BODY_SCHEMA, QUIET_CREATE_FIELDS);
  const body = checkFields(known, CREATE_BODY_SCHEMA);
  rejectNulBytes(body, '');
  const { id, warnings } = await sup.create(body, name === null || name === '' ? undefined : name);
  sendJson(ctx.res, 201, { Id: id, Warnings: [...unknown.map((f) => `unknown field ${quoteInput(f)} in the request body: ignored`), ...warnings] });
}

export async function startRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await idOf(sup, ctx);
  noContent(ctx, (await sup.start(id)) === 'running' ? 304 : 204);
}

export async function killRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await idOf(sup, ctx);
  const text = ctx.query.get('signal');
  await sup.kill(id, parseSignal(text === null || text === '' ? 'SIGKILL' : text));
  noContent(ctx, 204);
}

export async function stopRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await idOf(sup, ctx);
  // no t: the container's StopTimeout, else Docker's 10 (the backend's choice)
  const t = queryInt(ctx.query, 't', -1, 86_400);
  noContent(ctx, (await sup.stop(id, t === undefined ? undefined : t < 0 ? 86_400 : t)) ? 204 : 304);
}

/** Docker's restart: stop (`t` seconds before SIGKILL, default the container's StopTimeout or 10), then start; 204. */
/** Docker's LogConfig.Config for inspect: the options given, as Docker echoes them (strings). */
function logConfigJson(log: { maxSize: number; maxFiles: number } | undefined): Record<string, string> {
  if (!log) return {};
  return { ...(log.maxSize > 0 ? { 'max-size': String(log.maxSize) } : {}), ...(log.maxFiles > 1 ? { 'max-file': String(log.maxFiles) } : {}) };
}

export async function restartRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await idOf(sup, ctx);
  const t = queryInt(ctx.query, 't', -1, 86_400);
  await sup.restart(id, t === undefined ? undefined : t < 0 ? 86_400 : t);
  noContent(ctx, 204);
}

/** Docker's pause: every task of the container frozen; 204 (409 unless it runs unpaused). */
export async function pauseRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  await sup.pause(await idOf(sup, ctx));
  noContent(ctx, 204);
}

/** Docker's unpause: thawed again; 204 (409 unless it is paused). */
export async function unpauseRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  await sup.unpause(await idOf(sup, ctx));
  noContent(ctx, 204);
}

/** Docker's update: new limits (applied live) and restart policy; `{"Warnings": []}`. */
export async function updateRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await idOf(sup, ctx);
  const body = checkFields(splitListFields(await readJsonObject(ctx.req)), UPDATE_BODY_SCHEMA, 'the update body');
  const warnings = await sup.update(id, body);
  sendJson(ctx.res, 200, { Warnings: warnings });
}

/** Docker's `wait?condition=`: not-running (the default), next-exit or removed. */
export function parseWaitCondition(text: string | null): 'not-running' | 'next-exit' | 'removed' {
  if (text === null || text === '' || text === 'not-running') return 'not-running';
  if (text === 'next-exit' || text === 'removed') return text;
  throw new ApiError(400, `invalid condition: ${quoteInput(text)}: expected not-running, next-exit or removed`);
}

export async function waitRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await idOf(sup, ctx);
  const condition = parseWaitCondition(ctx.query.get('condition'));
  // As Docker: a container that was never started already is "not running", with exit code 0;
  // only next-exit waits for it to start and end.
  if (condition === 'not-running' && (await sup.record(id)).status === 'created') {
    sendJson(ctx.res, 200, { StatusCode: 0, Error: null });
    return;
  }
  // As Docker: the status line and headers at once, the body at the exit. The Docker CLI waits for
  // the headers of its wait (sent before start, with next-exit) before it starts the container.
  ctx.res.statusCode = 200;
  ctx.res.setHeader('Content-Type', 'application/json');
  ctx.res.flushHeaders();
  const waiting = condition === 'removed' ? sup.waitRemoved(id) : condition === 'next-exit' ? sup.nextExit(id) : sup.wait(id);
  const answer = await waiting.then(
    (code) => ({ StatusCode: code, Error: null }),
    // the status is sent: the failure goes in the body, as Docker's WaitExitError
    (err: unknown) => ({ StatusCode: -1, Error: { Message: err instanceof Error ? err.message : String(err) } }),
  );
  // a client that went away meanwhile (the Docker CLI's `run -d` does, once the container started) gets nothing
  if (!ctx.res.destroyed) ctx.res.end(JSON.stringify(answer) + '\n');
}

/**
 * Docker's rename: `name` is the new name; 204. moby's checks in moby's order and words: an empty
 * name (400), the container (404), the name rule (400), the current name (400), a name in use
 * (409); the last three after moby's "Error when allocating new name: " where moby has it.
 */
export async function renameRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const newName = (ctx.query.get('name') ?? '').trim();
  const bare = newName.startsWith('/') ? newName.slice(1) : newName;
  if (bare === '') throw new ApiError(400, 'Neither old nor new names may be empty');
  const id = await idOf(sup, ctx);
  try {
    // moby checks the name with its "/" put in front
    checkNewContainerName(`/${bare}`);
  } catch (err) {
    if (err instanceof ApiError) throw new ApiError(err.status, `Error when allocating new name: ${err.message}`);
    throw err;
  }
  await sup.rename(id, bare);
  noContent(ctx, 204);
}

/** Docker's top: `ps_args` (default -ef) for the host's ps; `{"Processes": [[...]], "Titles": [...]}`. */
export async function topRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await idOf(sup, ctx);
  sendJson(ctx.res, 200, await sup.top(id, ctx.query.get('ps_args')));
}

export async function deleteRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await idOf(sup, ctx);
  await sup.remove(id, queryBool(ctx.query, 'force'));
  noContent(ctx, 204);
}

export async function inspectRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await idOf(sup, ctx);
  const r = await sup.record(id);
  const { stored } = await sup.hostConfigOf(id);
  const iso = stored.config.isolation;
  const hc = stored.hostConfig;
  // a paused container is running too (State.Running and State.Paused, as in Docker)
  const running = r.status === 'running';
  // Docker keeps State.Running true while a container waits out its restart back-off
  const restarting = r.status === 'restarting';
  sendJson(ctx.res, 200, {
    Id: id,
    Created: r.created.toISOString(),
    Path: r.command[0] ?? '',
    Args: r.command.slice(1),
    State: {
      Status: dockerState(r),
      Running: running || restarting,
      Paused: r.paused === true,
      Restarting: restarting,
      OOMKilled: r.oomKilled,
      Dead: r.status === 'dead',
      Pid: running ? (r.pid ?? 0) : 0,
      ExitCode: r.exitCode ?? 0,
      Error: '',
      StartedAt: r.startedAt?.toISOString() ?? ZERO_TIME,
      FinishedAt: r.finishedAt?.toISOString() ?? ZERO_TIME,
    },
    // Docker's top-level Image is the image's ID (Config.Image its name as given)
    Image: r.image?.id ?? imageNameOf(r),
    ResolvConfPath: '',
    HostnamePath: '',
    HostsPath: '',
    LogPath: sup.logPath(id),
    Name: r.name !== undefined ? `/${r.name}` : '',
    RestartCount: r.restartCount ?? 0,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      Binds: hc.Binds ?? null,
      NetworkMode: r.network,
      AutoRemove: stored.config.rm,
      CapAdd: hc.CapAdd ?? null,
      CapDrop: hc.CapDrop ?? null,
      // as the client sent it (a profile as its JSON), Docker's null for none
      SecurityOpt: stored.config.securityOpt ?? null,
      ReadonlyRootfs: hc.ReadonlyRootfs === true,
      CgroupParent: stored.config.cgroupParent ?? '',
      Memory: hc.Memory ?? 0,
      MemoryReservation: hc.MemoryReservation ?? 0,
      MemorySwap: hc.MemorySwap ?? 0,
      NanoCpus: hc.NanoCpus ?? 0,
      CpuShares: hc.CpuShares ?? 0,
      CpuPeriod: hc.CpuPeriod ?? 0,
      CpuQuota: hc.CpuQuota ?? 0,
      CpusetCpus: hc.CpusetCpus ?? '',
      CpusetMems: hc.CpusetMems ?? '',
      PidsLimit: hc.PidsLimit ?? null,
      BlkioWeight: hc.BlkioWeight ?? 0,
      BlkioDeviceReadBps: hc.BlkioDeviceReadBps ?? null,
      BlkioDeviceWriteBps: hc.BlkioDeviceWriteBps ?? null,
      BlkioDeviceReadIOps: hc.BlkioDeviceReadIOps ?? null,
      BlkioDeviceWriteIOps: hc.BlkioDeviceWriteIOps ?? null,
      Ulimits: iso.ulimits?.map((u) => ({ Name: u.name, Hard: u.hard === 'unlimited' ? -1 : u.hard, Soft: u.soft === 'unlimited' ? -1 : u.soft })) ?? null,
      OomScoreAdj: iso.oomScoreAdj ?? 0,
      // as applied: false where the host discarded it (cgroup v2)
      OomKillDisable: stored.config.resources.memory?.oomKillDisable === true,
      MemorySwappiness: stored.config.resources.memory?.swappiness ?? null,
      // Docker's default /dev/shm, 64MiB, when none was given
      ShmSize: iso.shmSize ?? 64 * 1024 * 1024,
      ...(stored.config.tmpfs === undefined ? {} : { Tmpfs: stored.config.tmpfs }),
      // Docker's *bool, left out when not set
      ...(iso.init === true ? { Init: true } : {}),
      LogConfig: { Type: 'json-file', Config: logConfigJson(stored.config.log) },
      RestartPolicy: restartPolicyJson(stored.config.restartPolicy),
    },
    GraphDriver: { Data: null, Name: 'overlay2' },
    Mounts: r.volumes.map((v) => ({ Type: 'bind', Source: v.source, Destination: v.target, Mode: v.readOnly ? 'ro' : '', RW: !v.readOnly, Propagation: 'rprivate' })),
    Config: {
      Hostname: iso.hostname,
      Domainname: '',
      User: `${iso.user.uid}:${iso.user.gid}`,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: stored.config.tty === true,
      OpenStdin: stored.config.openStdin === true,
      StdinOnce: stored.config.stdinOnce === true,
      Env: iso.env,
      // Docker's Path and Args are the whole command; Entrypoint and Cmd its two parts
      Cmd: r.command.slice(stored.config.entrypoint?.length ?? 0),
      Image: imageNameOf(r),
      Volumes: null,
      WorkingDir: iso.workdir,
      // a cleared one ([""] in the body) is none, as moby resets it
      Entrypoint: stored.config.entrypoint?.length ? stored.config.entrypoint : null,
      OnBuild: null,
      Labels: r.labels ?? {},
      // omitted when not set, as Docker's omitempty does
      ...(stored.config.stopSignal === undefined ? {} : { StopSignal: stored.config.stopSignal }),
      ...(stored.config.stopTimeout === undefined ? {} : { StopTimeout: stored.config.stopTimeout }),
    },
    // no ports are published (the network is none or host): Docker's empty map, so `docker port` prints nothing
    NetworkSettings: { Ports: {}, Networks: { [r.network]: {} } },
  });
}
