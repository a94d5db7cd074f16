/**
 * The one registry of a container's configuration fields, as docker/cli's opts and moby's container
 * types are one description: each field with its `corral run` flag, its place in Docker's create
 * body, its workloads-file key(s), its readers (the flag's text and the body's JSON value read into
 * the same typed value, readers.ts, with the flag's syntax as the formatter for messages), and what a
 * value may be (the "expected" wording of errors and help). The tables the rest of corral used to write again
 * (commander's options of `corral run` and `corral update`, the body's field of a flag, the stored and
 * updatable HostConfig fields, the fields of Docker's UpdateConfig, the workloads file's keys) are
 * derived from it below, and the CLI writes its create and update bodies with each field's writer
 * (its readers' `body`, or `checked`).
 *
 * The registry's order is the order the create body's fields are read in (so a body with two bad
 * fields is refused for the same one as before); lists shown to users keep their own order
 * (HELP_ORDER, UPDATE_ORDER, WORKLOADS_ORDER), each checked by a unit test to name every field once.
 */
import {
  CPU_LIST,
  deviceRates,
  ENTRYPOINT,
  FLAG,
  INTEGER,
  INTEGER_ZERO,
  LABELS,
  LOG_OPTS,
  NANO_CPUS,
  type Readers,
  RESTART,
  SIZE,
  STRING,
  STRINGS,
  stringOr,
  SWAP,
  TMPFS,
  ULIMITS,
} from './readers.js';
import type { RunConfig } from './run-config.js';
import { SIZE_SYNTAX } from './units.js';
import { UnsupportedError } from '../../errors.js';

/** The raw option values, as commander collects them; read into a RunInput (inputFromOptions) and checked by runConfigFromInput. */
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
  securityOpt?: string[];
  interactive?: boolean;
  tty?: boolean;
  label?: string[];
  labelFile?: string[];
  entrypoint?: string;
  envFile?: string[];
  stopSignal?: string;
  stopTimeout?: string;
  ulimit?: string[];
  oomScoreAdj?: string;
  shmSize?: string;
  tmpfs?: string[];
  oomKillDisable?: boolean;
  memorySwappiness?: string;
  init?: boolean;
}

/** How a reason names the flags it mentions (errors.ts's Reason). */
type NameOf = (flag: string) => string;

/** What a value may be, where the wording mentions another flag: named by the caller (the workloads file names keys). */
export const EXPECT_NAMING = {
  memoryReservation: (n: NameOf) => `${SIZE_SYNTAX}, at least 6MB and at most ${n('--memory')}, or 0 for none`,
  memorySwap: (n: NameOf) => `the memory+swap total: ${SIZE_SYNTAX}, at least ${n('--memory')}, or -1 for unlimited swap`,
} as const;

const byFlag: NameOf = (flag) => flag;

/** What a value may be: the wording of "expected …" in errors, and of help. */
export const EXPECT = {
  name: 'a name matching [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 characters)',
  label: 'KEY=VALUE (or KEY alone, for an empty value) with a KEY that is not empty',
  restart: 'no, always, unless-stopped or on-failure[:MAX]',
  rootfs: 'an absolute path to an existing directory',
  cgroupParent: 'a cgroup path such as corral or /corral/batch, without . or .. components',
  memory: `${SIZE_SYNTAX}, at least 6MB, or 0 for no limit`,
  memoryReservation: EXPECT_NAMING.memoryReservation(byFlag),
  memorySwap: EXPECT_NAMING.memorySwap(byFlag),
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
  securityOpt: "seccomp=unconfined, seccomp=builtin or seccomp=PROFILE.json (a file in Docker's seccomp profile format)",
  entrypoint: 'a command (one word, not split), or "" for none',
  envFile: 'a readable file of KEY=VALUE lines (KEY alone takes the value from the environment; # starts a comment)',
  stopSignal: 'a signal name such as SIGTERM or USR1, or a number from 1 to 64',
  stopTimeout: 'whole seconds from 0 to 86400, or -1 to wait without limit',
  ulimit:
    'NAME=SOFT[:HARD] such as nofile=1024:2048, NAME one of core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack, the limits whole numbers or -1 for unlimited, SOFT at most HARD',
  oomScoreAdj: 'a whole number from -1000 to 1000',
  shmSize: `${SIZE_SYNTAX}, above 0 (the default is 64m)`,
  memorySwappiness: 'a whole number from 0 to 100, or -1 for the default',
  tmpfs: 'PATH[:OPTIONS] with an absolute PATH inside the container and tmpfs mount options such as size=64m,mode=1777,noexec',
} as const;

/**
 * How the workloads file reads a key's YAML value (workloads/parse.ts has one reader per kind):
 * sizes with units, a decimal number of CPUs, an integer, a string (or number) as written, a
 * directory relative to the file, and the fields with their own syntax.
 */
export type WorkloadsRead = 'command' | 'environment' | 'volumes' | 'restart' | 'size' | 'cpus' | 'integer' | 'text' | 'directory' | 'duration' | 'ulimits' | 'tmpfs' | 'boolean';

/** A key of the workloads file (Compose's name), with how its value is read. */
export interface WorkloadsKey {
  /** the key's path under a service: `mem_limit`, `deploy.resources.limits.memory` */
  key: string;
  read: WorkloadsRead;
  /** for integer, text and directory: what the value may be, in "expected …" */
  what?: string;
}

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
  /** `expected` when it mentions other flags, for the reasons of refusals (named by the caller) */
  expectedNaming?: (nameOf: NameOf) => string;
  /** the flag may be given more than once (a list) */
  repeatable?: boolean;
  /** the field of Docker's create body (`HostConfig.NanoCpus`, `Image`), or `name` (the query parameter); absent for client-only flags */
  path?: string;
  /** the cgroup limit it sets, as the cgroup drivers name it in refusals (`io.weight`) */
  limit?: string;
  /** how its value is read from the flag's text and from the body's JSON, and written back as JSON (readers.ts) */
  parse?: Readers<unknown>;
  /**
   * The create body's value from run's checked configuration, where the body carries the value as
   * the rules made it (a path normalised, a default filled in) rather than as read (`parse.body`).
   * `given`: whether the flag was given. undefined leaves the field out of the body.
   */
  checked?: (config: RunConfig, given: boolean) => unknown;
  /** kept in hostconfig.json (for inspect, restarts and updates) */
  stored?: boolean;
  /** a field of Docker's container.Resources, which an update body (UpdateConfig) carries too */
  resource?: boolean;
  /** POST /containers/{id}/update can change it (a resource), and `corral update` has its flag */
  updatable?: boolean;
  /** `corral update`'s commander flags, where they are not `flags` (docker update's short -c) */
  updateFlags?: string;
  /** `corral update`'s help for the flag, where it is not `description` */
  updateHelp?: string;
  /** its keys in the workloads file */
  workloads?: readonly WorkloadsKey[];
}

// --- the registry ------------------------------------------------------------------------------

const size = (key: string): WorkloadsKey => ({ key, read: 'size' });
const nonEmpty = (list: readonly string[]) => (list.length ? list : undefined);

/** Every field, in the order a create body is read. */
export const FIELDS = {
  name: { flag: '--name', flags: '--name <name>', option: 'name', description: 'name the container', expected: EXPECT.name, path: 'name', parse: STRING },
  rm: {
    flag: '--rm',
    flags: '--rm',
    option: 'rm',
    description: "remove the container's state when it exits",
    path: 'HostConfig.AutoRemove',
    parse: FLAG,
    stored: true,
  },
  detach: { flag: '--detach', flags: '-d, --detach', option: 'detach', description: "run in the background through the daemon and print the container's id", parse: FLAG },
  interactive: {
    flag: '--interactive',
    flags: '-i, --interactive',
    option: 'interactive',
    description: "keep the container's stdin open (Docker's OpenStdin): run and attach send theirs",
    path: 'OpenStdin',
    parse: FLAG,
  },
  tty: { flag: '--tty', flags: '-t, --tty', option: 'tty', description: "give the container a terminal of its own (Docker's Tty)", path: 'Tty', parse: FLAG },
  // set by clients that attach stdin (docker run -i): no flag of its own
  stdinOnce: { flag: 'StdinOnce', path: 'StdinOnce', parse: FLAG },
  rootfs: {
    flag: '--rootfs',
    flags: '--rootfs <dir>',
    option: 'rootfs',
    description: "lower layer of the root file system (default: the host's system directories)",
    expected: EXPECT.rootfs,
    path: 'Image',
    // "host" (or nothing) is the host's own directories
    parse: stringOr('host'),
    checked: (c) => c.image?.name ?? c.isolation.rootfs ?? 'host',
    workloads: [{ key: 'rootfs', read: 'directory', what: 'a directory' }],
  },
  labels: {
    flag: '--label',
    flags: '-l, --label <KEY=VALUE>',
    option: 'label',
    description: "set a label (Docker's Config.Labels: ps and prune filter by them, and the metrics carry them as container_label_KEY)",
    expected: EXPECT.label,
    repeatable: true,
    path: 'Labels',
    parse: LABELS,
    checked: (c) => c.labels,
  },
  // read by the client into --label's items (run-flags.ts, labelFileItems): no body field of its own
  labelFile: {
    flag: '--label-file',
    flags: '--label-file <file>',
    option: 'labelFile',
    description: 'read labels from a file of KEY=VALUE lines (# starts a comment)',
    expected: 'a readable file of KEY=VALUE lines',
    repeatable: true,
  },
  hostname: {
    flag: '--hostname',
    flags: '-h, --hostname <name>',
    option: 'hostname',
    description: 'container host name (default: the first 12 characters of the id)',
    expected: EXPECT.hostname,
    path: 'Hostname',
    parse: STRING,
    checked: (c, given) => (given ? c.isolation.hostname : undefined),
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
    parse: STRINGS,
    // PATH and the -e values in order, KEY alone already resolved; the daemon adds HOSTNAME
    checked: (c) => c.isolation.env,
    workloads: [{ key: 'environment', read: 'environment' }],
  },
  workdir: {
    flag: '--workdir',
    flags: '-w, --workdir <dir>',
    option: 'workdir',
    description: 'working directory inside the container (default: /)',
    expected: EXPECT.workdir,
    path: 'WorkingDir',
    parse: STRING,
    checked: (c) => c.isolation.workdir,
  },
  user: {
    flag: '--user',
    flags: '-u, --user <uid[:gid]>',
    option: 'user',
    description: 'numeric user and group (default: 0:0)',
    expected: EXPECT.user,
    path: 'User',
    parse: STRING,
    checked: (c, given) => (given ? `${c.isolation.user.uid}:${c.isolation.user.gid}` : undefined),
  },
  memory: {
    flag: '--memory',
    flags: '-m, --memory <bytes>',
    option: 'memory',
    description: 'memory limit (memory.max)',
    expected: EXPECT.memory,
    path: 'HostConfig.Memory',
    limit: 'memory.max',
    parse: SIZE,
    stored: true,
    resource: true,
    updatable: true,
    updateHelp: 'memory limit',
    workloads: [size('mem_limit'), size('deploy.resources.limits.memory')],
  },
  memorySwap: {
    flag: '--memory-swap',
    flags: '--memory-swap <bytes>',
    option: 'memorySwap',
    description: 'memory plus swap limit; -1 for unlimited swap (default: as much swap as --memory)',
    expected: EXPECT.memorySwap,
    expectedNaming: EXPECT_NAMING.memorySwap,
    path: 'HostConfig.MemorySwap',
    limit: 'memory.swap.max',
    parse: SWAP,
    stored: true,
    resource: true,
    updatable: true,
    updateHelp: 'memory plus swap limit; -1 for unlimited swap',
    workloads: [size('memswap_limit')],
  },
  memoryReservation: {
    flag: '--memory-reservation',
    flags: '--memory-reservation <bytes>',
    option: 'memoryReservation',
    description: 'memory soft limit (memory.low)',
    expected: EXPECT.memoryReservation,
    expectedNaming: EXPECT_NAMING.memoryReservation,
    path: 'HostConfig.MemoryReservation',
    parse: SIZE,
    stored: true,
    resource: true,
    updatable: true,
    updateHelp: 'memory soft limit',
    workloads: [size('mem_reservation'), size('deploy.resources.reservations.memory')],
  },
  cpus: {
    flag: '--cpus',
    flags: '--cpus <number>',
    option: 'cpus',
    description: 'number of CPUs (cpu.max quota per 100ms period)',
    expected: EXPECT.cpus,
    path: 'HostConfig.NanoCpus',
    parse: NANO_CPUS,
    stored: true,
    resource: true,
    updatable: true,
    updateHelp: 'number of CPUs',
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
    parse: INTEGER,
    stored: true,
    resource: true,
    updatable: true,
    updateHelp: 'CPU CFS period',
  },
  cpuQuota: {
    flag: '--cpu-quota',
    flags: '--cpu-quota <usec>',
    option: 'cpuQuota',
    description: 'CPU CFS quota (cpu.max)',
    expected: EXPECT.cpuQuota,
    path: 'HostConfig.CpuQuota',
    parse: INTEGER,
    stored: true,
    resource: true,
    updatable: true,
    updateHelp: 'CPU CFS quota',
  },
  cpuShares: {
    flag: '--cpu-shares',
    flags: '--cpu-shares <shares>',
    option: 'cpuShares',
    description: 'CPU shares, relative weight (cpu.weight)',
    expected: EXPECT.cpuShares,
    path: 'HostConfig.CpuShares',
    parse: INTEGER,
    stored: true,
    resource: true,
    updatable: true,
    updateFlags: '-c, --cpu-shares <shares>',
    updateHelp: 'CPU shares (relative weight)',
    workloads: [{ key: 'cpu_shares', read: 'integer', what: 'a relative weight such as 512 (the default is 1024)' }],
  },
  cpusetCpus: {
    flag: '--cpuset-cpus',
    flags: '--cpuset-cpus <list>',
    option: 'cpusetCpus',
    description: 'CPUs in which to allow execution',
    expected: EXPECT.cpusetCpus,
    path: 'HostConfig.CpusetCpus',
    parse: CPU_LIST,
    checked: (c) => c.resources.cpuset?.cpus,
    stored: true,
    resource: true,
    updatable: true,
    updateHelp: 'CPUs in which to allow execution (0-1,3)',
    workloads: [{ key: 'cpuset', read: 'text', what: 'a list of CPUs such as 0-1,3' }],
  },
  cpusetMems: {
    flag: '--cpuset-mems',
    flags: '--cpuset-mems <list>',
    option: 'cpusetMems',
    description: 'memory nodes in which to allow execution',
    expected: EXPECT.cpusetMems,
    path: 'HostConfig.CpusetMems',
    parse: CPU_LIST,
    checked: (c) => c.resources.cpuset?.mems,
    stored: true,
    resource: true,
    updatable: true,
  },
  pidsLimit: {
    flag: '--pids-limit',
    flags: '--pids-limit <n>',
    option: 'pidsLimit',
    description: 'process limit (pids.max); -1 for unlimited',
    expected: EXPECT.pidsLimit,
    path: 'HostConfig.PidsLimit',
    parse: INTEGER,
    stored: true,
    resource: true,
    updatable: true,
    updateHelp: 'process limit; -1 for unlimited',
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
    limit: 'io.weight',
    parse: INTEGER,
    stored: true,
    resource: true,
    updatable: true,
  },
  restart: {
    flag: '--restart',
    flags: '--restart <policy>',
    option: 'restart',
    description: 'restart policy when the container exits (through the daemon only): no, always, unless-stopped, on-failure[:MAX]',
    expected: EXPECT.restart,
    path: 'HostConfig.RestartPolicy',
    parse: RESTART,
    stored: true,
    updateHelp: 'restart policy: no, always, unless-stopped, on-failure[:max-retries]',
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
    parse: LOG_OPTS,
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
    parse: deviceRates(true),
    stored: true,
    resource: true,
  },
  deviceWriteBps: {
    flag: '--device-write-bps',
    flags: '--device-write-bps <device:rate>',
    option: 'deviceWriteBps',
    description: 'limit write rate to a device (io.max wbps)',
    expected: EXPECT.deviceBps,
    repeatable: true,
    path: 'HostConfig.BlkioDeviceWriteBps',
    parse: deviceRates(true),
    stored: true,
    resource: true,
  },
  deviceReadIops: {
    flag: '--device-read-iops',
    flags: '--device-read-iops <device:n>',
    option: 'deviceReadIops',
    description: 'limit read operations per second from a device (io.max riops)',
    expected: EXPECT.deviceIops,
    repeatable: true,
    path: 'HostConfig.BlkioDeviceReadIOps',
    parse: deviceRates(false),
    stored: true,
    resource: true,
  },
  deviceWriteIops: {
    flag: '--device-write-iops',
    flags: '--device-write-iops <device:n>',
    option: 'deviceWriteIops',
    description: 'limit write operations per second to a device (io.max wiops)',
    expected: EXPECT.deviceIops,
    repeatable: true,
    path: 'HostConfig.BlkioDeviceWriteIOps',
    parse: deviceRates(false),
    stored: true,
    resource: true,
  },
  volume: {
    flag: '--volume',
    flags: '-v, --volume <host:container[:ro|rw]>',
    option: 'volume',
    description: 'bind mount a host path',
    expected: EXPECT.volume,
    repeatable: true,
    path: 'HostConfig.Binds',
    parse: STRINGS,
    stored: true,
    workloads: [{ key: 'volumes', read: 'volumes' }],
  },
  readOnly: {
    flag: '--read-only',
    flags: '--read-only',
    option: 'readOnly',
    description: "mount the container's root file system read-only",
    path: 'HostConfig.ReadonlyRootfs',
    parse: FLAG,
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
    parse: stringOr('default'),
    checked: (c) => c.isolation.network,
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
    parse: STRINGS,
    // upper case without CAP_, once each
    checked: (c) => nonEmpty(c.isolation.capAdd),
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
    parse: STRINGS,
    checked: (c) => nonEmpty(c.isolation.capDrop),
    stored: true,
  },
  securityOpt: {
    flag: '--security-opt',
    flags: '--security-opt <option>',
    option: 'securityOpt',
    description: "seccomp: seccomp=unconfined (no filter), seccomp=PROFILE.json (Docker's profile format) or seccomp=builtin (Docker's default profile, the default)",
    expected: EXPECT.securityOpt,
    repeatable: true,
    path: 'HostConfig.SecurityOpt',
    parse: STRINGS,
    // a profile file's path replaced by its JSON, as Docker's CLI sends it
    checked: (c) => c.securityOpt,
    stored: true,
  },
  cgroupParent: {
    flag: '--cgroup-parent',
    flags: '--cgroup-parent <path>',
    option: 'cgroupParent',
    description: "parent cgroup of the container's cgroup",
    expected: EXPECT.cgroupParent,
    path: 'HostConfig.CgroupParent',
    parse: STRING,
    checked: (c) => c.cgroupParent,
    stored: true,
    resource: true,
    workloads: [{ key: 'cgroup_parent', read: 'text', what: 'a cgroup path' }],
  },
  entrypoint: {
    flag: '--entrypoint',
    flags: '--entrypoint <command>',
    option: 'entrypoint',
    description: 'the program to run, with COMMAND as its arguments ("" for none: COMMAND alone)',
    expected: EXPECT.entrypoint,
    path: 'Entrypoint',
    parse: ENTRYPOINT,
    checked: (c) => (c.entrypoint === undefined ? undefined : c.entrypoint.length === 0 ? [''] : c.entrypoint),
    workloads: [{ key: 'entrypoint', read: 'command' }],
  },
  // read by the client into --env's items (run-flags.ts, envFileItems): no body field of its own
  envFile: {
    flag: '--env-file',
    flags: '--env-file <file>',
    option: 'envFile',
    description: "read environment variables from a file of KEY=VALUE lines (KEY alone copies the host's value; # starts a comment)",
    expected: EXPECT.envFile,
    repeatable: true,
  },
  stopSignal: {
    flag: '--stop-signal',
    flags: '--stop-signal <signal>',
    option: 'stopSignal',
    description: 'the signal stop and restart send first (default: SIGTERM)',
    expected: EXPECT.stopSignal,
    path: 'StopSignal',
    parse: STRING,
    checked: (c) => c.stopSignal,
    workloads: [{ key: 'stop_signal', read: 'text', what: 'a signal name such as SIGTERM' }],
  },
  stopTimeout: {
    flag: '--stop-timeout',
    flags: '--stop-timeout <seconds>',
    option: 'stopTimeout',
    description: 'seconds stop and restart wait for the container to end before SIGKILL (default: 10)',
    expected: EXPECT.stopTimeout,
    path: 'StopTimeout',
    parse: INTEGER_ZERO,
    checked: (c) => c.stopTimeout,
    workloads: [{ key: 'stop_grace_period', read: 'duration', what: 'a duration such as 30s or 1m30s' }],
  },
  oomKillDisable: {
    flag: '--oom-kill-disable',
    flags: '--oom-kill-disable',
    option: 'oomKillDisable',
    description: 'disable the OOM killer for the container (cgroup v1 memory.oom_control; cgroup v2 has none: discarded with a warning, as Docker does)',
    path: 'HostConfig.OomKillDisable',
    limit: 'memory.oom_control',
    parse: FLAG,
    workloads: [{ key: 'oom_kill_disable', read: 'boolean' }],
  },
  memorySwappiness: {
    flag: '--memory-swappiness',
    flags: '--memory-swappiness <n>',
    option: 'memorySwappiness',
    description: "how readily the container's pages are swapped, 0 to 100 (cgroup v1 memory.swappiness; cgroup v2 has none: refused)",
    expected: EXPECT.memorySwappiness,
    path: 'HostConfig.MemorySwappiness',
    limit: 'memory.swappiness',
    // 0 is a swappiness (never swap), not Docker's "unset"; -1 is unset
    parse: INTEGER_ZERO,
    checked: (c) => c.resources.memory?.swappiness,
    workloads: [{ key: 'mem_swappiness', read: 'integer', what: 'a whole number from 0 to 100' }],
  },
  init: {
    flag: '--init',
    flags: '--init',
    option: 'init',
    description: 'run an init as PID 1 that reaps orphaned processes and passes signals on to the command (the launcher plays tini)',
    path: 'HostConfig.Init',
    parse: FLAG,
    checked: (c) => (c.isolation.init === true ? true : undefined),
    workloads: [{ key: 'init', read: 'boolean' }],
  },
  ulimits: {
    flag: '--ulimit',
    flags: '--ulimit <name=soft[:hard]>',
    option: 'ulimit',
    description: 'set a process limit (setrlimit) for the workload, such as nofile=1024:2048; -1 for unlimited',
    expected: EXPECT.ulimit,
    repeatable: true,
    path: 'HostConfig.Ulimits',
    parse: ULIMITS,
    // one per name, a later one winning, as Docker's CLI keeps them
    checked: (c) => c.isolation.ulimits?.map((u) => ({ Name: u.name, Soft: u.soft === 'unlimited' ? -1 : u.soft, Hard: u.hard === 'unlimited' ? -1 : u.hard })),
    workloads: [{ key: 'ulimits', read: 'ulimits' }],
  },
  oomScoreAdj: {
    flag: '--oom-score-adj',
    flags: '--oom-score-adj <n>',
    option: 'oomScoreAdj',
    description: "the workload's OOM score adjustment, -1000 to 1000 (/proc/PID/oom_score_adj)",
    expected: EXPECT.oomScoreAdj,
    path: 'HostConfig.OomScoreAdj',
    parse: INTEGER,
    checked: (c) => c.isolation.oomScoreAdj,
    workloads: [{ key: 'oom_score_adj', read: 'integer', what: 'a whole number from -1000 to 1000' }],
  },
  shmSize: {
    flag: '--shm-size',
    flags: '--shm-size <bytes>',
    option: 'shmSize',
    description: 'size of /dev/shm (default: 64m)',
    expected: EXPECT.shmSize,
    path: 'HostConfig.ShmSize',
    parse: SIZE,
    checked: (c) => c.isolation.shmSize,
    workloads: [size('shm_size')],
  },
  tmpfs: {
    flag: '--tmpfs',
    flags: '--tmpfs <path[:options]>',
    option: 'tmpfs',
    description: 'mount a tmpfs inside the container (default options: noexec,nosuid,nodev)',
    expected: EXPECT.tmpfs,
    repeatable: true,
    path: 'HostConfig.Tmpfs',
    parse: TMPFS,
    checked: (c) => c.tmpfs,
    workloads: [{ key: 'tmpfs', read: 'tmpfs' }],
  },
  // Cmd; Entrypoint is its own field (entrypoint), read before it
  command: { flag: 'COMMAND', path: 'Cmd', checked: (c) => nonEmpty(c.isolation.command.slice(c.entrypoint?.length ?? 0)), workloads: [{ key: 'command', read: 'command' }] },
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
  'interactive',
  'tty',
  'name',
  'restart',
  'logOpt',
  'labels',
  'labelFile',
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
  'securityOpt',
  'entrypoint',
  'envFile',
  'stopSignal',
  'stopTimeout',
  'ulimits',
  'oomScoreAdj',
  'shmSize',
  'tmpfs',
  'oomKillDisable',
  'memorySwappiness',
  'init',
];

/** The order of an update's "supported: …" list. */
export const UPDATE_ORDER: readonly FieldName[] = ['memory', 'memorySwap', 'memoryReservation', 'cpus', 'cpuShares', 'cpuPeriod', 'cpuQuota', 'cpusetCpus', 'cpusetMems', 'pidsLimit', 'blkioWeight'];

/** The order of a service's keys in the workloads file ("expected one of …"); nested keys come in alphabetical order. */
export const WORKLOADS_ORDER: readonly FieldName[] = [
  'command',
  'entrypoint',
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
  'stopSignal',
  'stopTimeout',
  'ulimits',
  'oomScoreAdj',
  'shmSize',
  'tmpfs',
  'memorySwappiness',
  'oomKillDisable',
  'init',
];

// --- derived tables ----------------------------------------------------------------------------

/** The name of a HostConfig field (`HostConfig.Memory` -> `Memory`). */
export function hostConfigName(path: string): string {
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

/** The field Docker's UpdateConfig carries beside the Resources: the restart policy. */
const UPDATE_POLICY: FieldName = 'restart';

/** The registry's fields of Docker's UpdateConfig (its Resources, then RestartPolicy), with their field names there. */
export const UPDATE_CONFIG_FIELDS: readonly (FieldSpec & { name: FieldName; key: string })[] = [...FIELD_LIST.filter((f) => f.resource), { name: UPDATE_POLICY, ...field(UPDATE_POLICY) }].map((f) => ({
  ...f,
  key: hostConfigName(f.path!),
}));

/** A flag of `corral update`: the field it sets (`key`, in UpdateConfig), commander's flags and help. */
export type UpdateFlag = FieldSpec & { name: FieldName; key: string; flags: string; description: string; option: keyof RawRunOptions; parse: Readers<unknown> };

/** `corral update`'s flags: the updatable fields in UPDATE_ORDER, then --restart. */
export const UPDATE_FLAGS: readonly UpdateFlag[] = [...UPDATE_ORDER, UPDATE_POLICY].map((n) => {
  const f = field(n) as FieldSpec & { flags: string; description: string; option: keyof RawRunOptions; parse: Readers<unknown>; path: string };
  return { ...f, name: n, key: hostConfigName(f.path), flags: f.updateFlags ?? f.flags, description: f.updateHelp ?? f.description };
});

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

/**
 * A cgroup driver's refusal of a limit this host cannot apply names the kernel's limit ("io.weight is
 * not supported here: …"); the user gave a flag (or a Docker field, `nameOf`). The refusal again,
 * naming that first, the limit after it: "--blkio-weight (io.weight) is not supported here: …".
 */
export function unsupportedNamingFlag(err: unknown, nameOf: (flag: string) => string = (flag) => flag): unknown {
  if (!(err instanceof UnsupportedError)) return err;
  const f = FIELD_LIST.find((f) => f.limit !== undefined && err.message.startsWith(`${f.limit} `));
  return f?.limit === undefined ? err : new UnsupportedError(`${nameOf(f.flag)} (${f.limit})${err.message.slice(f.limit.length)}`);
}

/** The field a `corral run` flag (or COMMAND) names, if any. */
export function fieldOfFlag(flag: string): (FieldSpec & { name: FieldName }) | undefined {
  return FIELD_LIST.find((f) => f.flag === flag);
}

// --- a configuration as read -------------------------------------------------------------------

type ValueOf<F> = F extends { parse: Readers<infer T> } ? T : never;

/**
 * A container's configuration as read from flags or from a create body, before run's rules check it
 * (run-flags.ts, runConfigFromInput): each field's value as its readers give it (readers.ts).
 */
export type RunInput = { -readonly [K in Exclude<FieldName, 'command' | 'detach' | 'labelFile' | 'envFile'>]?: ValueOf<(typeof FIELDS)[K]> };

/** commander's values as a RunInput. */
export function inputFromOptions(options: RawRunOptions): RunInput {
  const input: Record<string, unknown> = {};
  for (const f of FIELD_LIST) {
    const raw = f.option === undefined || f.name === 'detach' ? undefined : options[f.option];
    if (raw !== undefined && f.parse !== undefined) input[f.name] = f.parse.text(raw, f);
  }
  return input as RunInput;
}
