/**
 * What the HTTP routes (src/api) and the in-daemon reconcile ask of the daemon: Docker's container
 * operations by id. Errors are domain kinds (NoSuchContainerError, ConflictError,
 * InvalidParameterError, ...), which src/api/errors.ts maps to status codes.
 */
import type { Cgroup } from '../cgroups/types.js';
import type { HostFacts, RunConfig } from '../container/config/run-flags.js';
import type { ContainerLookup, ContainerRecord } from '../container/records.js';
import type { LauncherStatus } from '../container/status.js';
import type { StoredContainer } from '../container/store.js';
import type { TopResponse } from '../container/top.js';
import type { EventBus } from '../events.js';
import type { ImageService } from './images.js';
import type { Change } from '../images/changes.js';
import type { CommitOptions } from './changes.js';
import type { Readable } from 'node:stream';

export interface ContainerBackend {
  readonly events: EventBus;
  /** the image store's service (a run's image, the image routes) */
  readonly images: ImageService;
  /** the id a reference names: a full id, a name, then a unique prefix */
  resolve(ref: ContainerLookup): Promise<string>;
  hostFacts(): Promise<HostFacts>;
  /** what create would refuse, without making anything */
  checkCreate(body: Record<string, unknown>, name: string | undefined): Promise<RunConfig>;
  /** the new container's id, and Docker's Warnings: what this host discarded (--oom-kill-disable on cgroup v2) */
  create(body: Record<string, unknown>, name: string | undefined): Promise<{ id: string; warnings: string[] }>;
  /** 'running' when it already ran (Docker's 304) */
  start(id: string): Promise<'started' | 'running'>;
  kill(id: string, signal: number): Promise<void>;
  /** false when it was not running (Docker's 304) */
  /** `seconds` before SIGKILL; undefined: the container's StopTimeout, else 10 */
  stop(id: string, seconds?: number): Promise<boolean>;
  restart(id: string, seconds?: number): Promise<void>;
  /** freeze every task of a running container (Docker's pause); 409 unless it runs unpaused */
  pause(id: string): Promise<void>;
  /** thaw a paused container; 409 unless it is paused */
  unpause(id: string): Promise<void>;
  /** the update's warnings */
  update(id: string, body: Record<string, unknown>): Promise<string[]>;
  /** give it a new name (checked by Docker's rule); running or not */
  rename(id: string, newName: string): Promise<void>;
  /** its processes as the host's ps shows them with `psArgs` (Docker's ps_args; -ef by default) */
  top(id: string, psArgs: string | null): Promise<TopResponse>;
  /** what the container changed in its root (Docker's kinds: 0 changed, 1 added, 2 deleted) */
  changes(id: string): Promise<Change[]>;
  /** its root as a tar stream (a container of an image or a --rootfs) */
  exportRoot(id: string): Promise<Readable>;
  /** its writable layer as a new image on its own image; the new image's ID */
  commit(id: string, opts: CommitOptions): Promise<string>;
  /** the exit code, once it has exited */
  wait(id: string): Promise<number>;
  /** the exit code of the run under way, or of the next one (next-exit; what attach streams until) */
  nextExit(id: string): Promise<number>;
  /** the exit code of the last run, once the container is removed (condition removed) */
  waitRemoved(id: string): Promise<number>;
  remove(id: string, force: boolean): Promise<void>;
  /** remove every container that does not run and that `select` keeps: the ids and the bytes reclaimed */
  prune(select: (r: ContainerRecord) => boolean): Promise<{ deleted: string[]; reclaimed: number }>;
  record(id: string): Promise<ContainerRecord>;
  hostConfigOf(id: string): Promise<{ stored: StoredContainer }>;
  logPath(id: string): string;
  cgroupOf(id: string): Promise<Cgroup>;
  emit(action: string, id: string, attributes?: Record<string, string | number | boolean | undefined>): Promise<void>;
  prepareClientRun(config: RunConfig): Promise<{ id: string; spec: string }>;
  finishClientRun(id: string, statusLines: LauncherStatus[], launcherCode: number): Promise<{ exitCode: number; message: string }>;
}
