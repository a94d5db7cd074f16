/**
 * What the workload's world looks like: the isolation half of a container's configuration.
 * Produced by the CLI (src/cli/run-flags.ts) and turned into a launcher spec by src/isolate/plan.ts.
 */
import type { SeccompSetting } from './seccomp/filter.js';
import type { KernelVersion } from './seccomp/profile.js';
import type { MountFlag, RlimitValue, UlimitName } from './spec.js';

/** One --ulimit: setrlimit(2) of RLIMIT_<NAME> for the workload (unlimited: RLIM_INFINITY). */
export interface Ulimit {
  name: UlimitName;
  soft: RlimitValue;
  hard: RlimitValue;
}

/** One --tmpfs: a tmpfs mounted at `target` inside the container, with its mount flags and its data (size=, mode=, ...). */
export interface TmpfsMount {
  /** absolute path inside the container, normalised, not / */
  target: string;
  /** always with nodev (a writable mount); Docker's default noexec,nosuid,nodev unless the options said otherwise */
  flags: MountFlag[];
  /** the tmpfs's own options, comma-separated (size=64m,mode=1777), "" for none */
  data: string;
}

export interface VolumeMount {
  /** absolute host path (file or directory); must exist */
  source: string;
  /** absolute path inside the container */
  target: string;
  readOnly: boolean;
  /**
   * What `source` is, symlinks followed: 'dir' for a directory, 'file' for anything else (a regular
   * file, a socket, a device). The plan creates the mount point to match (mkdir or touch). Resolved
   * by the caller (see `volumeSourceKind` in rootfs.ts), so that planning stays pure.
   */
  kind: 'file' | 'dir';
}

export type NetworkMode = 'none' | 'host';

export interface IsolationOptions {
  /** lower layer of the root overlay; undefined = the host's system directories, read-only */
  rootfs?: string;
  /**
   * An image's layers as the root's lower layers (instead of `rootfs`): `links` are the layers'
   * short names under `linkDir` (the store's l/ directory), topmost first. The overlay is mounted
   * from inside linkDir with relative names, so that 125 layers fit in a page of mount options.
   */
  layers?: { linkDir: string; links: string[] };
  hostname: string;
  /** KEY=VALUE, in order; later ones override earlier ones */
  env: string[];
  /** absolute path inside the container; default "/" */
  workdir: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  volumes: VolumeMount[];
  readOnly: boolean;
  network: NetworkMode;
  /** capability names without the CAP_ prefix, upper case, e.g. "NET_RAW"; "ALL" allowed */
  capAdd: string[];
  capDrop: string[];
  /**
   * The seccomp filter loaded last before exec (--security-opt seccomp=...). Absent: Docker's default
   * profile, as for `builtin` (a container recorded before corral had seccomp gets it too).
   */
  seccomp?: SeccompSetting;
  /** the command and its arguments; command[0] is looked up in PATH if it has no slash */
  command: string[];
  /** --ulimit: the workload's rlimits, one per name; absent or empty: the launcher's own */
  ulimits?: Ulimit[];
  /** --oom-score-adj: -1000 to 1000; absent: inherited (the launcher's) */
  oomScoreAdj?: number;
  /** --shm-size: bytes of the /dev/shm tmpfs; absent: Docker's 64MiB */
  shmSize?: number;
  /** --tmpfs: tmpfs mounts inside the container */
  tmpfs?: TmpfsMount[];
  /** --init: the container's PID 1 is an init that reaps orphans and passes signals on (the launcher plays tini) */
  init?: boolean;
}

/** Where a container's files live in the state directory. */
export interface ContainerPaths {
  /** <root>/containers/<id> */
  dir: string;
  /** writable layer(s): <dir>/upper */
  upper: string;
  /** overlayfs work dir(s): <dir>/work */
  work: string;
  /** mount point of the merged root: <dir>/rootfs */
  merged: string;
  /** the launcher spec: <dir>/launch.spec */
  spec: string;
}

/** A top-level host directory that may be shared read-only with containers (see SYSTEM_DIR_NAMES). */
export interface HostSystemDir {
  /** the name under /, e.g. "usr", "bin" */
  name: string;
  /** a real directory (gets its own overlay), or a symlink such as bin -> usr/bin (merged /usr) */
  kind: 'dir' | 'symlink';
  /** the symlink's target exactly as readlink(2) returns it; only for kind 'symlink' */
  target?: string;
}

/** The host facts that planning needs, read by rootfs.ts. */
export interface HostLayout {
  /** the host's system directories that exist, in SYSTEM_DIR_NAMES order */
  systemDirs: HostSystemDir[];
  /** the skeleton root directory (ensureHostSkeleton): lower layer of the root without --rootfs */
  skeleton: string;
  /** the running kernel's version (os.release()): a seccomp profile's rules with minKernel */
  kernel: KernelVersion;
}

/** Where the workload's cgroups are, for the launcher's header. */
export interface CgroupPlacement {
  mode: 'v1' | 'v2';
  /** v2 only: the container's cgroup directory, joined with clone3(CLONE_INTO_CGROUP) */
  dir?: string;
  /** cgroup.procs files the child writes itself into (v1: one per hierarchy; v2: the clone3 fallback) */
  procsFiles: string[];
}
