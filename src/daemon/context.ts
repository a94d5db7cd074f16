/**
 * What every step of the container lifecycle (create.ts, start.ts, monitor.ts, restart.ts,
 * kill-stop.ts, update.ts, remove.ts, adopt.ts, client-run.ts) works with: the store, the cgroup
 * drivers, the event bus, the OOM watcher, the exit poller and the containers' runtimes. The
 * operations one step needs from another (launch, watch, kill, discard) come through here too,
 * wired by supervisor.ts, so that the steps never import each other in a circle.
 */
import type { CgroupDriver } from '../cgroups/types.js';
import type { HostFacts } from '../container/config/run-flags.js';
import type { ContainerRecord } from '../container/records.js';
import type { ContainerStore, StoredContainer } from '../container/store.js';
import type { ContainerActor, EventBus } from '../events.js';
import type { Logger } from '../log.js';
import type { OomWatcher } from '../metrics/oom-watch.js';
import type { Syscalls } from '../sys/syscalls.js';
import type { ExitPoller } from './exit-poller.js';
import type { ImageService } from './images.js';
import type { RuntimeTable } from './runtime.js';

/** Why a launcher is started: a start by the user, a restart by the policy, or a restart at daemon start. */
export type LaunchReason = 'user' | 'policy' | 'daemon';

export interface DaemonContext {
  readonly store: ContainerStore;
  readonly log: Logger;
  readonly events: EventBus;
  readonly oom: OomWatcher;
  /** one poll loop for every container's end */
  readonly exits: ExitPoller;
  readonly runtimes: RuntimeTable;
  /** the image store's service: create resolves an Image through it */
  readonly images: ImageService;
  /** the daemon is shutting down: nothing is restarted or followed any more */
  readonly closed: boolean;
  /** the cgroup driver for a parent (undefined: the default parent), made once per parent */
  driver(parent: string | undefined): Promise<CgroupDriver>;
  /** the host facts flag validation needs (CPUs, parent's cpuset, ...), read once */
  hostFacts(): Promise<HostFacts>;
  sys(): Promise<Syscalls>;
  /** the container's record, as ps and inspect show it */
  record(id: string): Promise<ContainerRecord>;
  /** publish a container event with its name and image */
  emit(action: string, id: string, attributes?: Record<string, string | number | boolean | undefined>): Promise<void>;

  // the steps that call each other (supervisor.ts wires them)
  launch(id: string, why: LaunchReason): Promise<void>;
  watch(id: string): Promise<number>;
  kill(id: string, signal: number): Promise<void>;
  discard(id: string, name: string | undefined, known?: { stored?: StoredContainer; cgroupGone?: boolean }): Promise<void>;
}

/** The event actor of a stored container: its id, name and image (the rootfs, or "host"). */
export function actorOf(id: string, stored: Pick<StoredContainer, 'config' | 'name'> | undefined): ContainerActor {
  return { id, image: stored?.config.image?.name ?? stored?.config.isolation.rootfs ?? 'host', ...(stored?.name !== undefined ? { name: stored.name } : {}) };
}
