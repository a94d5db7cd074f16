/**
 * A container's configuration once run's rules have checked it (run-flags.ts): what the launch,
 * the daemon's records and the create body the CLI sends are made from. Types only, so that the
 * field registry (fields.ts) can say how a field's checked value is written into the body.
 */
import type { Resources } from '../../cgroups/types.js';
import type { IsolationOptions } from '../../isolate/types.js';
import type { RestartPolicy } from '../restart-policy.js';

export interface RunConfig {
  /** --name */
  name?: string;
  /** --rm */
  rm: boolean;
  /** --restart; absent = no. Only the daemon restarts containers (a foreground run refuses other policies) */
  restartPolicy?: RestartPolicy;
  /** --cgroup-parent, normalised ("/a//b/" -> "/a/b"); relative or absolute as given */
  cgroupParent?: string;
  /** --label: Docker's Config.Labels */
  labels?: Record<string, string>;
  /**
   * --security-opt as Docker's HostConfig.SecurityOpt holds it: `seccomp=unconfined`, `seccomp=builtin`,
   * `seccomp=<the profile's JSON>` (the CLI reads a file and sends its content, as Docker's does),
   * `no-new-privileges`; what they mean is in isolation.seccomp
   */
  securityOpt?: string[];
  /** -t: a terminal of its own (Docker's Tty): its output is one stream, written as a terminal does */
  tty?: boolean;
  /** -i: its stdin stays open for attaches to write to (Docker's OpenStdin) */
  openStdin?: boolean;
  /** with openStdin: the end of the first attach's input closes the stdin (Docker's StdinOnce) */
  stdinOnce?: boolean;
  /**
   * --entrypoint: Docker's Config.Entrypoint, the first words of isolation.command (the rest is Cmd);
   * [] when cleared (`--entrypoint ''`), absent when not given
   */
  entrypoint?: string[];
  /** --stop-signal: Docker's Config.StopSignal as given (stop and restart send it instead of SIGTERM) */
  stopSignal?: string;
  /** --stop-timeout: Docker's Config.StopTimeout, seconds stop and restart wait before SIGKILL; -1 without limit */
  stopTimeout?: number;
  /** --tmpfs as Docker's HostConfig.Tmpfs holds it: path to options as given (inspect and the create body show it); what they mount is isolation.tmpfs */
  tmpfs?: Record<string, string>;
  /** --log-opt max-size / max-file: the json-file log's rotation (the daemon's containers log; a foreground run writes to the terminal) */
  log?: LogOptions;
  /** the image the root was stacked from: as the user named it (Docker's Config.Image), its ID and its layers' chain IDs (kept while the container exists) */
  image?: { name: string; id: string; chainIds: string[] };
  resources: Resources;
  isolation: IsolationOptions;
}

/**
 * What `run IMAGE` takes from an image (resolved by the caller, who has the store): its layers and
 * its config's defaults, which the flags override as Docker's create merges them.
 */
export interface ImageDefaults {
  /** as the user named it */
  name: string;
  id: string;
  /** lowest first */
  chainIds: string[];
  layers: { linkDir: string; links: string[] };
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  /** numeric uid[:gid], names resolved in the image's /etc/passwd by the caller */
  user?: string;
  labels?: Record<string, string>;
  stopSignal?: string;
}

/** Docker's json-file log options: rotate at `maxSize` bytes (0: never), keeping `maxFiles` files in all. */
export interface LogOptions {
  maxSize: number;
  maxFiles: number;
}
