/**
 * Reconciling a workloads file with the containers that carry its project's label: a pure plan
 * (desired services vs existing containers → actions), and one function that carries a plan out
 * through a ReconcileTarget (the daemon's API for `corral up`, the Supervisor itself for
 * `corral daemon --config`).
 *
 * The plan, per service:
 *   no container                                  → create (and start)
 *   a container with another hash (or name)       → recreate: stop, remove, create, start
 *   same hash, created but never started          → start
 *   same hash, dead (its launcher died unrecorded) → recreate
 *   same hash, running                            → keep
 *   same hash, exited                             → keep: a finished container stays finished; a
 *     file save must not re-run a batch job. Restarting by policy is the supervisor's business,
 *     and `corral up --force-recreate` runs it again.
 * Containers of the project whose service is no longer in the file, and extra containers of one
 * service, are stopped and removed. Removals come first (they free resources), then the rest in
 * the file's order.
 */
import type { DesiredService, ExistingContainer } from './service.js';

export type Action =
  | { kind: 'create'; want: DesiredService }
  | { kind: 'recreate'; want: DesiredService; old: ExistingContainer; why: 'changed' | 'dead' | 'forced' }
  | { kind: 'start'; want: DesiredService; old: ExistingContainer }
  | { kind: 'keep'; want: DesiredService; old: ExistingContainer }
  | { kind: 'remove'; old: ExistingContainer; why: 'not in the file' | 'duplicate' | 'down' };

export interface PlanOptions {
  /** recreate every existing container (`up --force-recreate`) */
  forceRecreate?: boolean;
}

/** The actions that make `existing` what `desired` says (pure). */
export function planReconcile(desired: readonly DesiredService[], existing: readonly ExistingContainer[], options: PlanOptions = {}): Action[] {
  const removals: Action[] = [];
  const rest: Action[] = [];
  const wanted = new Set(desired.map((d) => d.service));
  for (const old of existing) if (old.service === undefined || !wanted.has(old.service)) removals.push({ kind: 'remove', old, why: 'not in the file' });
  for (const want of desired) {
    const mine = existing.filter((c) => c.service === want.service);
    // the one with the expected name is the service's container; any other is a leftover
    const old = mine.find((c) => c.name === want.name) ?? mine[0];
    for (const extra of mine) if (extra !== old) removals.push({ kind: 'remove', old: extra, why: 'duplicate' });
    if (!old) rest.push({ kind: 'create', want });
    else if (old.hash !== want.hash || old.name !== want.name) rest.push({ kind: 'recreate', want, old, why: 'changed' });
    else if (options.forceRecreate) rest.push({ kind: 'recreate', want, old, why: 'forced' });
    else if (old.status === 'dead') rest.push({ kind: 'recreate', want, old, why: 'dead' });
    else if (old.status === 'created') rest.push({ kind: 'start', want, old });
    else rest.push({ kind: 'keep', want, old });
  }
  return [...removals, ...rest];
}

/** `down`: every container of the project goes (pure). */
export function planDown(existing: readonly ExistingContainer[]): Action[] {
  return existing.map((old) => ({ kind: 'remove', old, why: 'down' }));
}

/** What a reconcile acts through. Every method throws on failure with a message for people. */
export interface ReconcileTarget {
  /** the containers labelled with this project, in any state */
  list(project: string): Promise<ExistingContainer[]>;
  create(name: string, body: Record<string, unknown>): Promise<string>;
  start(id: string): Promise<void>;
  /** SIGTERM, SIGKILL after `seconds`; nothing when it does not run */
  stop(id: string, seconds: number): Promise<void>;
  remove(id: string): Promise<void>;
}

/** One step done, in Compose's words: "Container shop-web-1  Started". */
export interface StepReport {
  container: string;
  status: 'Created' | 'Started' | 'Recreated' | 'Stopped' | 'Removed' | 'Running' | 'Exited' | 'Error';
  id?: string;
  service?: string;
  error?: string;
}

export interface ApplyOptions {
  /** seconds between SIGTERM and SIGKILL when stopping (Compose's default 10) */
  stopSeconds: number;
  report: (step: StepReport) => void;
}

export interface ApplyOutcome {
  counts: Record<Action['kind'], number>;
  failures: { container: string; error: string }[];
}

function label(c: ExistingContainer): string {
  return c.name ?? c.id.slice(0, 12);
}

/**
 * Carry out a plan, action by action. A failed action is reported and the others still run (one
 * service that cannot start must not keep the others down); the outcome lists the failures.
 */
export async function applyPlan(actions: readonly Action[], target: ReconcileTarget, options: ApplyOptions): Promise<ApplyOutcome> {
  const counts: ApplyOutcome['counts'] = { create: 0, recreate: 0, start: 0, keep: 0, remove: 0 };
  const failures: ApplyOutcome['failures'] = [];
  const { report, stopSeconds } = options;
  const takeDown = async (old: ExistingContainer, service?: string) => {
    if (old.status === 'running') {
      await target.stop(old.id, stopSeconds);
      report({ container: label(old), status: 'Stopped', id: old.id, ...(service ? { service } : {}) });
    }
    await target.remove(old.id);
  };
  const createAndStart = async (want: DesiredService, created: 'Created' | 'Recreated') => {
    const id = await target.create(want.name, want.body);
    report({ container: want.name, status: created, id, service: want.service });
    await target.start(id);
    report({ container: want.name, status: 'Started', id, service: want.service });
  };
  for (const action of actions) {
    const container = action.kind === 'remove' ? label(action.old) : action.want.name;
    try {
      switch (action.kind) {
        case 'create':
          await createAndStart(action.want, 'Created');
          break;
        case 'recreate':
          await takeDown(action.old, action.want.service);
          await createAndStart(action.want, 'Recreated');
          break;
        case 'start':
          await target.start(action.old.id);
          report({ container, status: 'Started', id: action.old.id, service: action.want.service });
          break;
        case 'keep':
          report({ container, status: action.old.status === 'running' ? 'Running' : 'Exited', id: action.old.id, service: action.want.service });
          break;
        case 'remove':
          await takeDown(action.old, action.old.service);
          report({ container, status: 'Removed', id: action.old.id, ...(action.old.service ? { service: action.old.service } : {}) });
          break;
      }
      counts[action.kind]++;
    } catch (err) {
      const error = (err as Error).message;
      failures.push({ container, error });
      report({ container, status: 'Error', error });
    }
  }
  return { counts, failures };
}
