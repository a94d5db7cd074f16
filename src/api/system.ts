/**
 * System routes in Docker's shapes: `/_ping`, `/version`, `/info` (compare ping.http,
 * v1.41-version.json, v1.41-info.json). What corral does not have (images, swarm, registries,
 * plugins) is reported empty or inactive; what it knows (kernel, cgroups, CPUs, memory,
 * containers) is read from the host.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CgroupDriver, CgroupMode } from '../cgroups/types.js';
import { listContainerRecords } from '../container/records.js';
import { writeFileAtomic } from '../state/atomic.js';
import { CORRAL_VERSION } from '../version.js';
import type { Logger } from '../log.js';
import type { RouteContext } from './router.js';
import { sendJson } from './router.js';

/** The Docker Engine API version corral's shapes follow, and the oldest it accepts. */
export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.24';
export const SERVER_HEADER = `corral/${CORRAL_VERSION} (linux)`;

/** What /version and /info report that does not change while the daemon runs (gathered once at start). */
export interface SystemFacts {
  engineId: string;
  stateRoot: string;
  cgroupMode: CgroupMode;
  /** cgroup controllers available to corral's containers */
  controllers: string[];
  /** whether the kernel accounts swap per cgroup (a swap limit can be set) */
  swapLimit: boolean;
  kernelVersion: string;
  operatingSystem: string;
  osVersion: string;
  /** uname -m, e.g. "x86_64" */
  machine: string;
  /** Go's name for the architecture, as Docker's /version says it, e.g. "amd64" */
  arch: string;
  ncpu: number;
  /** bytes */
  memTotal: number;
  hostname: string;
  launcherPath: string;
  debug: boolean;
}

/** Node's process.arch in Go's GOARCH spelling. */
export function goArch(arch: string): string {
  return ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch;
}

/** /etc/os-release as a key -> value map (quotes and backslash escapes removed). */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let value = m[2]!;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) value = value.slice(1, -1);
    out.set(m[1]!, value.replace(/\\(.)/g, '$1'));
  }
  return out;
}

async function readOptionalText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The daemon's engine ID, kept in `<root>/engine-id` like Docker's (created on first start). */
export async function engineId(stateRoot: string): Promise<string> {
  const file = path.join(stateRoot, 'engine-id');
  const existing = (await readOptionalText(file))?.trim();
  if (existing) return existing;
  const id = randomUUID();
  await writeFileAtomic(file, `${id}\n`, 0o600);
  return id;
}

/** Ask the driver (which plans without writing) whether a swap limit could be set. */
async function canLimitSwap(driver: CgroupDriver): Promise<boolean> {
  try {
    await driver.plan({ memory: { max: 64 << 20, swapMax: 0 } });
    return true;
  } catch {
    return false;
  }
}

export async function gatherSystemFacts(options: { stateRoot: string; driver: CgroupDriver; launcherPath: string; debug: boolean }): Promise<SystemFacts> {
  const osRelease = parseOsRelease((await readOptionalText('/etc/os-release')) ?? (await readOptionalText('/usr/lib/os-release')) ?? '');
  const parent = await options.driver.parentInfo();
  return {
    engineId: await engineId(options.stateRoot),
    stateRoot: options.stateRoot,
    cgroupMode: options.driver.mode,
    controllers: parent.controllers,
    swapLimit: await canLimitSwap(options.driver),
    kernelVersion: os.release(),
    operatingSystem: osRelease.get('PRETTY_NAME') ?? 'Linux',
    osVersion: osRelease.get('VERSION_ID') ?? '',
    machine: os.machine(),
    arch: goArch(process.arch),
    ncpu: os.availableParallelism(),
    memTotal: os.totalmem(),
    hostname: os.hostname(),
    launcherPath: options.launcherPath,
    debug: options.debug,
  };
}

/** GET /version's body (pure). */
export function versionBody(facts: SystemFacts): Record<string, unknown> {
  return {
    Platform: { Name: `corral ${CORRAL_VERSION}` },
    Components: [
      {
        Name: 'Engine',
        Version: CORRAL_VERSION,
        Details: {
          ApiVersion: API_VERSION,
          Arch: facts.arch,
          BuildTime: '',
          Experimental: 'false',
          GitCommit: '',
          GoVersion: '',
          KernelVersion: facts.kernelVersion,
          MinAPIVersion: MIN_API_VERSION,
          Os: 'linux',
        },
      },
      { Name: 'Node.js', Version: process.versions.node, Details: {} },
    ],
    Version: CORRAL_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: '',
    Os: 'linux',
    Arch: facts.arch,
    KernelVersion: facts.kernelVersion,
    BuildTime: '',
  };
}

/** What /info reads on each call. */
export interface InfoNow {
  containers: { total: number; running: number; paused: number; stopped: number };
  /** open file descriptors of the daemon */
  nfd: number;
  now: Date;
  ipv4Forwarding: boolean;
  env: NodeJS.ProcessEnv;
}

/** GET /info's body (pure). */
export function infoBody(facts: SystemFacts, now: InfoNow): Record<string, unknown> {
  const has = (c: string) => facts.controllers.includes(c);
  const warnings: string[] = [];
  if (!has('memory')) warnings.push('WARNING: No memory limit support');
  if (!facts.swapLimit) warnings.push('WARNING: No swap limit support');
  if (!has('cpu')) warnings.push('WARNING: No cpu cfs quota support', 'WARNING: No cpu cfs period support', 'WARNING: No cpu shares support');
  if (!has('cpuset')) warnings.push('WARNING: No cpuset support');
  if (!has('pids')) warnings.push('WARNING: No pids limit support');
  return {
    ID: facts.engineId,
    Containers: now.containers.total,
    ContainersRunning: now.containers.running,
    ContainersPaused: now.containers.paused,
    ContainersStopped: now.containers.stopped,
    Images: 0,
    Driver: 'overlay',
    DriverStatus: [],
    Plugins: { Volume: [], Network: ['host', 'none'], Authorization: null, Log: ['json-file'] },
    MemoryLimit: has('memory'),
    SwapLimit: facts.swapLimit,
    KernelMemory: false,
    KernelMemoryTCP: false,
    CpuCfsPeriod: has('cpu'),
    CpuCfsQuota: has('cpu'),
    CPUShares: has('cpu'),
    CPUSet: has('cpuset'),
    PidsLimit: has('pids'),
    IPv4Forwarding: now.ipv4Forwarding,
    BridgeNfIptables: false,
    BridgeNfIp6tables: false,
    Debug: facts.debug,
    NFd: now.nfd,
    OomKillDisable: false,
    NEventsListener: 0,
    SystemTime: now.now.toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: facts.cgroupMode === 'v2' ? '2' : '1',
    KernelVersion: facts.kernelVersion,
    OperatingSystem: facts.operatingSystem,
    OSVersion: facts.osVersion,
    OSType: 'linux',
    Architecture: facts.machine,
    IndexServerAddress: '',
    RegistryConfig: {
      AllowNondistributableArtifactsCIDRs: [],
      AllowNondistributableArtifactsHostnames: [],
      InsecureRegistryCIDRs: [],
      IndexConfigs: {},
      Mirrors: [],
    },
    NCPU: facts.ncpu,
    MemTotal: facts.memTotal,
    GenericResources: null,
    DockerRootDir: facts.stateRoot,
    HttpProxy: now.env.HTTP_PROXY ?? now.env.http_proxy ?? '',
    HttpsProxy: now.env.HTTPS_PROXY ?? now.env.https_proxy ?? '',
    NoProxy: now.env.NO_PROXY ?? now.env.no_proxy ?? '',
    Name: facts.hostname,
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: CORRAL_VERSION,
    Runtimes: { 'corral-launch': { path: facts.launcherPath } },
    DefaultRuntime: 'corral-launch',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: false,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: { ID: '', Expected: '' },
    RuncCommit: { ID: '', Expected: '' },
    InitCommit: { ID: '', Expected: '' },
    // Docker's words: every container gets Docker's default seccomp profile ("builtin") unless it asks otherwise
    SecurityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns', 'name=no-new-privileges'],
    Warnings: warnings,
  };
}

/** GET|HEAD /_ping: "OK", with Docker's headers (HEAD: no body, Content-Length 0). */
export function ping(ctx: RouteContext): void {
  const { res } = ctx;
  res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  if (ctx.method === 'HEAD') {
    res.setHeader('Content-Length', '0');
    res.end();
    return;
  }
  res.setHeader('Content-Length', '2');
  res.end('OK');
}

export interface SystemRoutesDeps {
  facts: SystemFacts;
  now: () => Date;
  log: Logger;
}

async function countOpenFds(): Promise<number> {
  return (await fs.readdir('/proc/self/fd')).length - 1; // the directory handle itself
}

export async function info(ctx: RouteContext, deps: SystemRoutesDeps): Promise<void> {
  const { records, errors } = await listContainerRecords(deps.facts.stateRoot);
  for (const e of errors) deps.log.warn('unreadable container record', { id: e.id, error: e.message });
  // Docker's counts: a paused container is counted as paused, not as running
  const paused = records.filter((r) => r.status === 'running' && r.paused).length;
  const running = records.filter((r) => r.status === 'running').length - paused;
  const forwarding = (await readOptionalText('/proc/sys/net/ipv4/ip_forward'))?.trim() === '1';
  sendJson(
    ctx.res,
    200,
    infoBody(deps.facts, {
      containers: { total: records.length, running, paused, stopped: records.length - running - paused },
      nfd: await countOpenFds(),
      now: deps.now(),
      ipv4Forwarding: forwarding,
      env: process.env,
    }),
  );
}

export function version(ctx: RouteContext, deps: SystemRoutesDeps): void {
  sendJson(ctx.res, 200, versionBody(deps.facts));
}
