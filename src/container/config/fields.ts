/**
 * The one registry of a container's configuration fields, as docker/cli's opts and moby's container
 * types are one description: each field with its `corral run` flag, its place in Docker's create
 * body, its workloads-file key(s), how a JSON value of the body is read, and what a value may be
 * (the "expected" wording of errors and help). The tables the rest of corral used to write again
 * (commander's options, the body's field of a flag, the stored and updatable HostConfig fields, the
 * workloads file's keys) are derived from it below.
 *
 * The registry's order is the order the create body's fields are read in (so a body with two bad
 * fields is refused for the same one as before); lists shown to users keep their own order
 * (HELP_ORDER, UPDATE_ORDER, WORKLOADS_ORDER), each checked by a unit test to name every field once.
 */
import { InvalidParameterError } from '../../errors.js';
import { formatRestartPolicy, restartPolicyFromJson } from '../restart-policy.js';
import { SIZE_SYNTAX } from './units.js';

/** The raw option values, as commander collects them (and as a body's fields are read); validated by runConfigFromOptions. */
export interface RawRunOptions {
  rm?: boolean;
  restart?: string;
  /** -d: through the daemon, in the background (not part of RunConfig: the container is the same) */
  detach?: boolean;
  name?: string;
  rootfs?: string;
  cgroupParent?: string;
  memory?: string;
  memoryReservation?: string;
  memorySwap?: string;
  cpus?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: string;
  blkioWeight?: string;
  logOpt?: string[];
  deviceReadBps?: string[];
  deviceWriteBps?: string[];
  deviceReadIops?: string[];
  deviceWriteIops?: string[];
  hostname?: string;
  env?: string[];
  workdir?: string;
  user?: string;
  volume?: string[];
  readOnly?: boolean;
  network?: string;
  capAdd?: string[];
  capDrop?: string[];
}

/** What a value may be: the wording of "expected …" in errors, and of help. */
export const EXPECT = {
  name: 'a name matching [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 characters)',
  restart: 'no, always, unless-stopped or on-failure[:MAX]',
  rootfs: 'an absolute path to an existing directory',
  cgroupParent: 'a cgroup path such as corral or /corral/batch, without . or .. components',
  memory: `${SIZE_SYNTAX}, at least 6MB, or 0 for no limit`,
  memoryReservation: `${SIZE_SYNTAX}, at least 6MB and at most --memory, or 0 for none`,
  memorySwap: `the memory+swap total: ${SIZE_SYNTAX}, at least --memory, or -1 for unlimited swap`,
  cpus: 'a number of CPUs such as 0.5 or 2, from 0.01 to the number of CPUs available',
  cpuPeriod: 'microseconds from 1000 (1ms) to 1000000 (1s), or 0 for the default',
  cpuQuota: 'microseconds per period, at least 1000 (1ms), -1 for no limit, or 0 for the default',
  cpuShares: 'a relative weight from 2 to 262144 (the default is 1024), or 0 for the default',
  cpusetCpus: 'a list of CPUs such as 0-1,3',
  cpusetMems: 'a list of memory nodes such as 0-1,3',
  pidsLimit: 'a positive number of processes, or 0 or -1 for no limit',
  blkioWeight: 'a weight from 10 to 1000, or 0 for the default',
  logOpt: "max-size=SIZE (e.g. 10m) or max-file=N (N >= 1, with max-size), the json-file log driver's options",
  deviceBps: `DEVICE:RATE such as /dev/sda:10m, RATE in bytes per second: ${SIZE_SYNTAX}, above 0`,
  deviceIops: 'DEVICE:N such as /dev/sda:100, N a positive number of operations per second',
  hostname: 'a hostname of at most 64 characters: dot-separated labels of letters, digits and hyphens, not starting or ending with a hyphen',
  env: "KEY=VALUE, or KEY to copy the host's value (KEY not empty)",
  workdir: 'an absolute path inside the container',
  user: 'a numeric uid[:gid] from 0 to 4294967294, such as 1000 or 1000:1000',
  volume: 'HOST:CONTAINER[:ro|rw] with absolute paths, HOST existing',
  network: 'none or host',
  cap: 'a capability name such as NET_RAW or cap_net_raw, or ALL',
} as const;

/**
 * How the workloads file reads a key's YAML value (workloads/parse.ts has one reader per kind):
 * sizes with units, a decimal number of CPUs, an integer, a string (or number) as written, a
 * directory relative to the file, and the fields with their own syntax.
 */
export type WorkloadsRead = 'command' | 'environment' | 'volumes' | 'restart' | 'size' | 'cpus' | 'integer' | 'text' | 'directory';

/** A key of the workloads file (Compose's name), with how its value is read. */
export interface WorkloadsKey {
  /** the key's path under a service: `mem_limit`, `deploy.resources.limits.memory` */
  key: string;
  read: WorkloadsRead;
  /** for integer, text and directory: what the value may be, in "expected …" */
  what?: string;
}

/** A body value read into the raw option it stands for; undefined when it leaves the option unset. */
type FromJson = (value: unknown, path: string) => string | string[] | boolean | undefined;

export interface FieldSpec {
  /** what errors name: the long flag (`--memory`), or COMMAND for the command */
  flag: string;
  /** commander's flags (`-m, --memory <bytes>`; no placeholder for a boolean); absent for the command */
  flags?: string;
  /** the RawRunOptions key commander stores the value under; absent for the command */
  option?: keyof RawRunOptions;
  /** the flag's help */
  description?: string;
  /** what the value may be (errors and help); absent for booleans */
  expected?: string;
  /** the flag may be given more than once (a list) */
  repeatable?: boolean;
  /** the field of Docker's create body (`HostConfig.NanoCpus`, `Image`), or `name` (the query parameter); absent for client-only flags */
  path?: string;
  /** the body's JSON value as the raw option (absent: the field is not read from the body's fields) */
  fromJson?: FromJson;
  /** kept in hostconfig.json (for inspect, restarts and updates) */
  stored?: boolean;
  /** POST /containers/{id}/update can change it */
  updatable?: boolean;
  /** its keys in the workloads file */
  workloads?: readonly WorkloadsKey[];
}

// --- reading a body's JSON values (the route checked the top level's types; HostConfig's are checked here) ---

/** A JSON value as an object, or an empty one when it is not an object. */
export function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** The strings of a string or a list (other items are ignored); undefined when there are none. */
const jsonStrings: FromJson = (v) => {
  const out = typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  return out.length ? out : undefined;
};

/** A string that is not empty (Docker's "not set" is ""). */
const jsonText: FromJson = (v) => (typeof v === 'string' && v !== '' ? v : undefined);

/** true, or unset. */
const jsonTrue: FromJson = (v) => (v === true ? true : undefined);

/** A number field as the flag's text; 0 (Docker's "unset") and absence give undefined. */
const jsonInteger: FromJson = (v, path) => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidParameterError(`invalid ${path}: expected an integer`);
  return v === 0 ? undefined : String(v);
};

/** NanoCpus as --cpus's decimal text, exactly (no floating point): 1500000000 -> "1.500000000". */
const jsonNanoCpus: FromJson = (v, path) => {
  const nano = jsonInteger(v, path) as string | undefined;
  if (nano === undefined) return undefined;
  return nano.startsWith('-') ? nano : `${nano.slice(0, -9) || '0'}.${nano.slice(-9).padStart(9, '0')}`;
};

/** Docker's ThrottleDevice list (`[{"Path": "/dev/sda", "Rate": 1048576}]`) as the flag's DEVICE:RATE values. */
const jsonThrottleDevices: FromJson = (v, path) => {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new InvalidParameterError(`invalid ${path}: expected a list of {"Path", "Rate"}`);
  const out = v.map((d: unknown) => {
    const { Path: p, Rate: rate } = obj(d);
    if (typeof p !== 'string' || typeof rate !== 'number' || !Number.isInteger(rate)) throw new InvalidParameterError(`invalid ${path}: expected a list of {"Path": string, "Rate": integer}`);
    return `${p}:${rate}`;
  });
  return out.length ? out : undefined;
};

/**
 * HostConfig.LogConfig as --log-opt values: json-file (or no Type) only, its Config a map of
 * strings (`{"max-size": "10m", "max-file": "3"}`), which run's flag parsing then validates.
 */
export function logOptsFromJson(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const lc = obj(value);
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidParameterError('HostConfig.LogConfig: expected an object {"Type": "json-file", "Config": {...}}');
  if (lc.Type !== undefined && lc.Type !== null && lc.Type !== '' && lc.Type !== 'json-file') {
    throw new InvalidParameterError(`HostConfig.LogConfig.Type: logging driver ${JSON.stringify(lc.Type)} is not supported: corral writes json-file logs`);
  }
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj(lc.Config))) {
    if (typeof v !== 'string') throw new InvalidParameterError(`HostConfig.LogConfig.Config.${k}: expected a string`);
    out.push(`${k}=${v}`);
  }
  return out;
}

// --- the registry ------------------------------------------------------------------------------

const size = (key: string): WorkloadsKey => ({ key, read: 'size' });

/** Every field, in the order a create body is read. */
export const FIELDS = {
  name: { flag: '--name', flags: '--name <name>', option: 'name', description: 'name the container', expected: EXPECT.name, path: 'name' },
  rm: {
    flag: '--rm',
    flags: '--rm',
    option: 'rm',
    description: "remove the container's state when it exits",
    path: 'HostConfig.AutoRemove',
    fromJson: jsonTrue,
    stored: true,
  },
  detach: { flag: '--detach', flags: '-d, --detach', option: 'detach', description: "run in the background through the daemon and print the container's id" },
  rootfs: {
    flag: '--rootfs',
    flags: '--rootfs <dir>',
    option: 'rootfs',
    description: "lower layer of the root file system (default: the host's system directories)",
    expected: EXPECT.rootfs,
    path: 'Image',
    // "host" (or nothing) is the host's own directories
    fromJson: (v) => (typeof v === 'string' && v !== '' && v !== 'host' ? v : undefined),
    workloads: [{ key: 'rootfs', read: 'directory', what: 'a directory' }],
  },
  hostname: {
    flag: '--hostname',
    flags: '-h, --hostname <name>',
    option: 'hostname',
    description: 'container host name (default: the first 12 characters of the id)',
    expected: EXPECT.hostname,
    path: 'Hostname',
    fromJson: jsonText,
    workloads: [{ key: 'hostname', read: 'text', what: 'a hostname' }],
  },
  env: {
    flag: '--env',
    flags: '-e, --env <KEY=VALUE>',
    option: 'env',
    description: "set an environment variable; KEY alone copies the host's value",
    expected: EXPECT.env,
    repeatable: true,
    path: 'Env',
    fromJson: jsonStrings,
    workloads: [{ key: 'environment', read: 'environment' }],
  },
  workdir: {
    flag: '--workdir',
    flags: '-w, --workdir <dir>',
    option: 'workdir',
    description: 'working directory inside the container (default: /)',
    expected: EXPECT.workdir,
    path: 'WorkingDir',
    fromJson: jsonText,
  },
  user: {
    flag: '--user',
    flags: '-u, --user <uid[:gid]>',
    option: 'user',
    description: 'numeric user and group (default: 0:0)',
    expected: EXPECT.user,
    path: 'User',
    fromJson: jsonText,
  },
  memory: {
    flag: '--memory',
    flags: '-m, --memory <bytes>',
    option: 'memory',
    description: 'memory limit (memory.max)',
    expected: EXPECT.memory,
    path: 'HostConfig.Memory',
    fromJson: jsonInteger,
    stored: true,
    updatable: true,
    workloads: [size('mem_limit'), size('deploy.resources.limits.memory')],
  },
  memorySwap: {
    flag: '--memory-swap',
    flags: '--memory-swap <bytes>',
    option: 'memorySwap',
    description: 'memory plus swap limit; -1 for unlimited swap (default: as much swap as --memory)',
    expected: EXPECT.memorySwap,
    path: 'HostConfig.MemorySwap',
    fromJson: jsonInteger,
    stored: true,
    updatable: true,
    workloads: [size('memswap_limit')],
  },
  memoryReservation: {
    flag: '--memory-reservation',
    flags: '--memory-reservation <bytes>',
    option: 'memoryReservation',
    description: 'memory soft limit (memory.low)',
    expected: EXPECT.memoryReservation,
    path: 'HostConfig.MemoryReservation',
    fromJson: jsonInteger,
    stored: true,
    updatable: true,
    workloads: [size('mem_reservation'), size('deploy.resources.reservations.memory')],
  },
  cpus: {
    flag: '--cpus',
    flags: '--cpus <number>',
    option: 'cpus',
    description: 'number of CPUs (cpu.max quota per 100ms period)',
    expected: EXPECT.cpus,
    path: 'HostConfig.NanoCpus',
    fromJson: jsonNanoCpus,
    stored: true,
    updatable: true,
    workloads: [
      { key: 'cpus', read: 'cpus' },
      { key: 'deploy.resources.limits.cpus', read: 'cpus' },
    ],
  },
  cpuPeriod: {
    flag: '--cpu-period',
    flags: '--cpu-period <usec>',
    option: 'cpuPeriod',
    description: 'CPU CFS period (cpu.max)',
    expected: EXPECT.cpuPeriod,
    path: 'HostConfig.CpuPeriod',
    fromJson: jsonInteger,
    stored: true,
    updatable: true,
  },
  cpuQuota: {
    flag: '--cpu-quota',
    flags: '--cpu-quota <usec>',
    option: 'cpuQuota',
    description: 'CPU CFS quota (cpu.max)',
    expected: EXPECT.cpuQuota,
    path: 'HostConfig.CpuQuota',
    fromJson: jsonInteger,
    stored: true,
    updatable: true,
  },
  cpuShares: {
    flag: '--cpu-shares',
    flags: '--cpu-shares <shares>',
    option: 'cpuShares',
    description: 'CPU shares, relative weight (cpu.weight)',
    expected: EXPECT.cpuShares,
    path: 'HostConfig.CpuShares',
    fromJson: jsonInteger,
    stored: true,
    updatable: true,
    workloads: [{ key: 'cpu_shares', read: 'integer', what: 'a relative weight such as 512 (the default is 1024)' }],
  },
  cpusetCpus: {
    flag: '--cpuset-cpus',
    flags: '--cpuset-cpus <list>',
    option: 'cpusetCpus',
    description: 'CPUs in which to allow execution',
    expected: EXPECT.cpusetCpus,
    path: 'HostConfig.CpusetCpus',
    fromJson: jsonText,
    stored: true,
    updatable: true,
    workloads: [{ key: 'cpuset', read: 'text', what: 'a list of CPUs such as 0-1,3' }],
  },
  cpusetMems: {
    flag: '--cpuset-mems',
    flags: '--cpuset-mems <list>',
    option: 'cpusetMems',
    description: 'memory nodes in which to allow execution',
    expected: EXPECT.cpusetMems,
    path: 'HostConfig.CpusetMems',
    fromJson: jsonText,
    stored: true,
    updatable: true,
  },
  pidsLimit: {
    flag: '--pids-limit',
    flags: '--pids-limit <n>',
    option: 'pidsLimit',
    description: 'process limit (pids.max); -1 for unlimited',
    expected: EXPECT.pidsLimit,
    path: 'HostConfig.PidsLimit',
    fromJson: jsonInteger,
    stored: true,
    updatable: true,
    workloads: [
      { key: 'pids_limit', read: 'integer', what: 'a number of processes, or -1 for no limit' },
      { key: 'deploy.resources.limits.pids', read: 'integer', what: 'a number of processes, or -1 for no limit' },
    ],
  },
  blkioWeight: {
    flag: '--blkio-weight',
    flags: '--blkio-weight <weight>',
    option: 'blkioWeight',
    description: 'block IO relative weight, 10 to 1000 (io.weight)',
    expected: EXPECT.blkioWeight,
    path: 'HostConfig.BlkioWeight',
    fromJson: jsonInteger,
    stored: true,
    updatable: true,
  },
  restart: {
    flag: '--restart',
    flags: '--restart <policy>',
    option: 'restart',
    description: 'restart policy when the container exits (through the daemon only): no, always, unless-stopped, on-failure[:MAX]',
    expected: EXPECT.restart,
    path: 'HostConfig.RestartPolicy',
    fromJson: (v) => {
      const policy = restartPolicyFromJson(v);
      return policy !== undefined && policy.name !== 'no' ? formatRestartPolicy(policy) : undefined;
    },
    stored: true,
    workloads: [{ key: 'restart', read: 'restart' }],
  },
  logOpt: {
    flag: '--log-opt',
    flags: '--log-opt <key=value>',
    option: 'logOpt',
    description: 'json-file log rotation: max-size=SIZE, max-file=N',
    expected: EXPECT.logOpt,
    repeatable: true,
    path: 'HostConfig.LogConfig',
    fromJson: (v) => {
      const opts = logOptsFromJson(v);
      return opts.length ? opts : undefined;
    },
    stored: true,
  },
  deviceReadBps: {
    flag: '--device-read-bps',
    flags: '--device-read-bps <device:rate>',
    option: 'deviceReadBps',
    description: 'limit read rate from a device (io.max rbps)',
    expected: EXPECT.deviceBps,
    repeatable: true,
    path: 'HostConfig.BlkioDeviceReadBps',
    fromJson: jsonThrottleDevices,
    stored: true,
  },
  deviceWriteBps: {
    flag: '--device-write-bps',
    flags: '--device-write-bps <device:rate>',
    option: 'deviceWriteBps',
    description: 'limit write rate to a device (io.max wbps)',
    expected: EXPECT.deviceBps,
    repeatable: true,
    path: 'HostConfig.BlkioDeviceWriteBps',
    fromJson: jsonThrottleDevices,
    stored: true,
  },
  deviceReadIops: {
    flag: '--device-read-iops',
    flags: '--device-read-iops <device:n>',
    option: 'deviceReadIops',
    description: 'limit read operations per second from a device (io.max riops)',
    expected: EXPECT.deviceIops,
    repeatable: true,
    path: 'HostConfig.BlkioDeviceReadIOps',
    fromJson: jsonThrottleDevices,
    stored: true,
  },
  deviceWriteIops: {
    flag: '--device-write-iops',
    flags: '--device-write-iops <device:n>',
    option: 'deviceWriteIops',
    description: 'limit write operations per second to a device (io.max wiops)',
    expected: EXPECT.deviceIops,
    repeatable: true,
    path: 'HostConfig.BlkioDeviceWriteIOps',
    fromJson: jsonThrottleDevices,
    stored: true,
  },
  volume: {
    flag: '--volume',
    flags: '-v, --volume <host:container[:ro|rw]>',
    option: 'volume',
    description: 'bind mount a host path',
    expected: EXPECT.volume,
    repeatable: true,
    path: 'HostConfig.Binds',
    fromJson: jsonStrings,
    stored: true,
    workloads: [{ key: 'volumes', read: 'volumes' }],
  },
  readOnly: {
    flag: '--read-only',
    flags: '--read-only',
    option: 'readOnly',
    description: "mount the container's root file system read-only",
    path: 'HostConfig.ReadonlyRootfs',
    fromJson: jsonTrue,
    stored: true,
  },
  network: {
    flag: '--network',
    flags: '--network <mode>',
    option: 'network',
    description: 'network: none (default) or host',
    expected: EXPECT.network,
    path: 'HostConfig.NetworkMode',
    // "default" is Docker's name for the daemon's default (none, here)
    fromJson: (v) => (typeof v === 'string' && v !== '' && v !== 'default' ? v : undefined),
    stored: true,
  },
  capAdd: {
    flag: '--cap-add',
    flags: '--cap-add <cap>',
    option: 'capAdd',
    description: 'add a Linux capability',
    expected: EXPECT.cap,
    repeatable: true,
    path: 'HostConfig.CapAdd',
    fromJson: jsonStrings,
    stored: true,
  },
  capDrop: {
    flag: '--cap-drop',
    flags: '--cap-drop <cap>',
    option: 'capDrop',
    description: 'drop a Linux capability',
    expected: EXPECT.cap,
    repeatable: true,
    path: 'HostConfig.CapDrop',
    fromJson: jsonStrings,
    stored: true,
  },
  cgroupParent: {
    flag: '--cgroup-parent',
    flags: '--cgroup-parent <path>',
    option: 'cgroupParent',
    description: "parent cgroup of the container's cgroup",
    expected: EXPECT.cgroupParent,
    path: 'HostConfig.CgroupParent',
    fromJson: jsonText,
    stored: true,
    workloads: [{ key: 'cgroup_parent', read: 'text', what: 'a cgroup path' }],
  },
  // Entrypoint and Cmd together; read by commandFromBody, as the command is no flag
  command: { flag: 'COMMAND', path: 'Cmd', workloads: [{ key: 'command', read: 'command' }] },
} as const satisfies Record<string, FieldSpec>;

export type FieldName = keyof typeof FIELDS;

/** A field by name, as the general FieldSpec (the registry's literal types are narrower). */
export function field(name: FieldName): FieldSpec {
  return FIELDS[name];
}

/** Every field, in the registry's order. */
export const FIELD_LIST: readonly (FieldSpec & { name: FieldName })[] = (Object.keys(FIELDS) as FieldName[]).map((name) => ({ name, ...field(name) }));

// --- the orders users see ----------------------------------------------------------------------

/** `corral run --help`'s order of the flags. */
export const HELP_ORDER: readonly FieldName[] = [
  'rm',
  'detach',
  'name',
  'restart',
  'logOpt',
  'rootfs',
  'cgroupParent',
  'memory',
  'memoryReservation',
  'memorySwap',
  'cpus',
  'cpuPeriod',
  'cpuQuota',
  'cpuShares',
  'cpusetCpus',
  'cpusetMems',
  'pidsLimit',
  'blkioWeight',
  'deviceReadBps',
  'deviceWriteBps',
  'deviceReadIops',
  'deviceWriteIops',
  'hostname',
  'env',
  'workdir',
  'user',
  'volume',
  'readOnly',
  'network',
  'capAdd',
  'capDrop',
];

/** The order of an update's "supported: …" list. */
export const UPDATE_ORDER: readonly FieldName[] = ['memory', 'memorySwap', 'memoryReservation', 'cpus', 'cpuShares', 'cpuPeriod', 'cpuQuota', 'cpusetCpus', 'cpusetMems', 'pidsLimit', 'blkioWeight'];

/** The order of a service's keys in the workloads file ("expected one of …"); nested keys come in alphabetical order. */
export const WORKLOADS_ORDER: readonly FieldName[] = [
  'command',
  'rootfs',
  'env',
  'volume',
  'hostname',
  'restart',
  'memory',
  'memorySwap',
  'memoryReservation',
  'cpus',
  'cpuShares',
  'cpusetCpus',
  'pidsLimit',
  'cgroupParent',
];

// --- derived tables ----------------------------------------------------------------------------

/** The name of a HostConfig field (`HostConfig.Memory` -> `Memory`). */
function hostConfigName(path: string): string {
  return path.slice('HostConfig.'.length);
}

/** commander's options of `corral run`, in help order. */
export const RUN_FLAGS: readonly (FieldSpec & { flags: string })[] = HELP_ORDER.map((n) => field(n) as FieldSpec & { flags: string });

/** The Docker field each `corral run` flag (and COMMAND) comes from, so that a 400 names the field the client sent. */
export const FIELD_OF_FLAG: Readonly<Record<string, string>> = Object.fromEntries(FIELD_LIST.filter((f) => f.path !== undefined).map((f) => [f.flag, f.path!]));

/** The HostConfig fields kept (hostconfig.json) for inspect, restarts and updates. */
export const HOST_CONFIG_FIELDS: readonly string[] = FIELD_LIST.filter((f) => f.stored).map((f) => hostConfigName(f.path!));

/** The HostConfig fields an update can change, in the order errors list them. */
export const UPDATABLE_FIELDS: readonly string[] = UPDATE_ORDER.map((n) => hostConfigName(field(n).path!));

/** The workloads file's (first) key for each `corral run` flag with one, for reasons that mention the flag. */
export const KEY_OF_FLAG: Readonly<Record<string, string>> = Object.fromEntries(
  FIELD_LIST.filter((f) => f.workloads !== undefined && f.flag.startsWith('--')).map((f) => [f.flag, f.workloads![0]!.key]),
);

/** One key of a service in the workloads file: the body field it sets and how its value is read. */
export interface ServiceKey extends WorkloadsKey {
  field: FieldName;
  /** the body's field: `HostConfig.Memory` */
  path: string;
}

/** Every key of a service in the workloads file (top-level keys in WORKLOADS_ORDER, then the nested ones alphabetically). */
export const SERVICE_KEYS: readonly ServiceKey[] = [
  ...WORKLOADS_ORDER.map((n) => ({ field: n, path: field(n).path!, ...field(n).workloads![0]! })),
  ...FIELD_LIST.flatMap((f) => (f.workloads ?? []).slice(1).map((k) => ({ field: f.name, path: f.path!, ...k }))).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
];

/** The field a `corral run` flag (or COMMAND) names, if any. */
export function fieldOfFlag(flag: string): (FieldSpec & { name: FieldName }) | undefined {
  return FIELD_LIST.find((f) => f.flag === flag);
}
