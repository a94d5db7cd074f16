/**
 * What the daemon keeps in memory about each container, beside what the state directory holds
 * (container/store.ts): one object per container, as moby keeps its container's in-memory state,
 * so that a container's pieces cannot drift apart across separate maps.
 */
import type { ContainerActor } from '../events.js';

/** A run whose launcher a client holds in its foreground (native/front.c, `corral run` through the daemon). */
export interface ClientRun {
  /** an `oom` event was seen for it */
  oom: boolean;
  /** its `start` event was emitted */
  started: boolean;
  /** ends the event subscription */
  stop: () => void;
}

export class ContainerRuntime {
  /**
   * the container as the events the daemon emits while following it name it (its `oom` events, a
   * client run's `start`): set when it is followed, changed by a rename
   */
  actor: ContainerActor | undefined;
  /** the follow of the current run, settled once its end is recorded (and, with AutoRemove, it is removed) */
  monitor: Promise<number> | undefined;
  /** gives the launcher's pidfd back (its epoll registration and the fd) */
  releaseLauncher: (() => void) | undefined;
  clientRun: ClientRun | undefined;
  /** the timer of a restart waiting out its back-off */
  pendingRestart: NodeJS.Timeout | undefined;
  /** the back-off in force, ms (moby's restart manager timeout; in memory, as moby's) */
  backoffMs = 0;
  /** a user stop or kill cancelled its restarts until its next start (moby's Cancel) */
  canceled = false;
  /** the launch in progress, so that two starts of one container never race */
  launching: Promise<void> | undefined;
  /** the pause, unpause or signal-and-thaw in progress (pause.ts): one at a time */
  freezer: Promise<unknown> | undefined;
  /** the current run was sent SIGKILL and is ending: pause.ts refuses to freeze it with the kill pending */
  sigkilled = false;
  /** wait callers of a container that has not started yet */
  waiters: ((code: number) => void)[] = [];
}

export class RuntimeTable {
  private readonly byId = new Map<string, ContainerRuntime>();

  /** The container's runtime, made on first use. */
  of(id: string): ContainerRuntime {
    let r = this.byId.get(id);
    if (!r) {
      r = new ContainerRuntime();
      this.byId.set(id, r);
    }
    return r;
  }

  /** The runtime if the daemon has one (without making one). */
  peek(id: string): ContainerRuntime | undefined {
    return this.byId.get(id);
  }

  /** Forget a removed container (keeping only what still settles: the caller's promises). */
  drop(id: string): void {
    this.byId.delete(id);
  }

  all(): IterableIterator<ContainerRuntime> {
    return this.byId.values();
  }

  ids(): IterableIterator<string> {
    return this.byId.keys();
  }
}
