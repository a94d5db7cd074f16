/**
 * `corral daemon --config FILE`: the daemon keeps the file's services running as the file says. It
 * reconciles once at start, then after every change of the file (file-watch.ts) and on SIGHUP.
 * Reconciles never overlap: a change during one makes exactly one more run after it.
 *
 * A file that cannot be used (unreadable, bad YAML, an unknown key, a value create would refuse)
 * changes nothing: the running set stays exactly as it was. It is reported as a warn log line
 * (`file:line:column: path: reason` for each problem) and as a daemon event on GET /events with
 * Action "config-error" and the attributes file, line, column and error. A file that was applied
 * gives a daemon event with Action "reload" (Docker's action for a daemon configuration reload)
 * and the attributes file, project and the counts of created, recreated, started, kept and removed
 * containers, plus failed when some action failed.
 */
import { CorralError } from '../errors.js';
import type { ContainerBackend } from './backend.js';
import type { Logger } from '../log.js';
import { watchFile, type FileWatch } from '../workloads/file-watch.js';
import { loadWorkloads, type LoadedWorkloads } from '../workloads/load.js';
import { WorkloadsFileError } from '../workloads/parse.js';
import { applyPlan, planDown, planReconcile, type Action } from '../workloads/reconcile.js';
import { supervisorTarget } from './workloads-target.js';

/** The daemon event actions this module emits. */
export const CONFIG_ERROR_ACTION = 'config-error';
export const RELOAD_ACTION = 'reload';

export interface DaemonConfigDeps {
  /** absolute path of the workloads file */
  file: string;
  /** --project; default: the file's name or directory, as `corral up` decides */
  project?: string;
  supervisor: ContainerBackend;
  stateRoot: string;
  log: Logger;
  /** the daemon's engine ID, the actor of its events */
  daemonId: string;
  /** seconds between SIGTERM and SIGKILL when a container is stopped (default 10) */
  stopSeconds?: number;
  debounceMs?: number;
}

export type ReconcileResult = 'applied' | 'rejected' | 'failed';

export class DaemonConfig {
  private watch: FileWatch | undefined;
  private running: Promise<ReconcileResult> | undefined;
  private again = false;
  private closed = false;
  /** the project last applied, so that renaming it (top-level `name`) removes the old one's containers */
  private lastProject: string | undefined;

  constructor(private readonly deps: DaemonConfigDeps) {}

  /**
   * Watch the file, then reconcile once. The watch comes first so that a change made while the
   * first reconcile runs (or just after it) is not lost: it makes one more reconcile.
   */
  async start(): Promise<ReconcileResult> {
    this.watch = await watchFile(this.deps.file, {
      onChange: () => void this.reconcile(),
      onError: (err) => this.deps.log.warn('workloads file watch error', { file: this.deps.file, err }),
      ...(this.deps.debounceMs !== undefined ? { debounceMs: this.deps.debounceMs } : {}),
    });
    return this.reconcile();
  }

  /** Reconcile now, or once more right after the one in progress. */
  reconcile(): Promise<ReconcileResult> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = async (): Promise<ReconcileResult> => {
      try {
        let result: ReconcileResult;
        do {
          this.again = false;
          result = await this.reconcileOnce().catch((err: Error) => {
            this.deps.log.error('workloads: reconcile failed', { file: this.deps.file, err });
            return 'failed' as const;
          });
        } while (this.again && !this.closed);
        return result;
      } finally {
        this.running = undefined;
      }
    };
    this.running = run();
    return this.running;
  }

  private async reconcileOnce(): Promise<ReconcileResult> {
    const { file, log, supervisor } = this.deps;
    let loaded: LoadedWorkloads;
    try {
      loaded = await loadWorkloads(file, {
        ...(this.deps.project !== undefined ? { project: this.deps.project } : {}),
        check: (body, name) => supervisor.checkCreate(body, name),
      });
    } catch (err) {
      if (!(err instanceof CorralError)) throw err;
      this.reject(err);
      return 'rejected';
    }
    const target = supervisorTarget(supervisor, this.deps.stateRoot);
    const actions: Action[] = [];
    if (this.lastProject !== undefined && this.lastProject !== loaded.project) actions.push(...planDown(await target.list(this.lastProject)));
    actions.push(...planReconcile(loaded.desired, await target.list(loaded.project)));
    const outcome = await applyPlan(actions, target, {
      stopSeconds: this.deps.stopSeconds ?? 10,
      report: (step) => {
        if (step.status === 'Error') log.error('workloads: action failed', { file, project: loaded.project, container: step.container, error: step.error });
        else log.info(`workloads: container ${step.status.toLowerCase()}`, { project: loaded.project, service: step.service, container: step.container, id: step.id });
      },
    });
    this.lastProject = loaded.project;
    const c = outcome.counts;
    supervisor.events.daemon(RELOAD_ACTION, this.deps.daemonId, {
      file,
      project: loaded.project,
      created: String(c.create),
      recreated: String(c.recreate),
      started: String(c.start),
      kept: String(c.keep),
      removed: String(c.remove),
      ...(outcome.failures.length > 0 ? { failed: String(outcome.failures.length) } : {}),
    });
    log.info('workloads file applied', { file, project: loaded.project, ...c, failed: outcome.failures.length });
    return outcome.failures.length > 0 ? 'failed' : 'applied';
  }

  /** A file that cannot be used: say where and why, change nothing. */
  private reject(err: CorralError): void {
    const first = err instanceof WorkloadsFileError ? err.problems[0] : undefined;
    this.deps.log.warn('workloads file rejected; nothing changed', {
      file: this.deps.file,
      ...(first ? { line: first.line, column: first.column } : {}),
      error: err.message,
    });
    this.deps.supervisor.events.daemon(CONFIG_ERROR_ACTION, this.deps.daemonId, {
      file: this.deps.file,
      ...(first ? { line: String(first.line), column: String(first.column) } : {}),
      error: err.message,
    });
  }

  /** Stop watching and wait for a reconcile in progress; idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.watch?.close();
    await this.running?.catch(() => undefined);
  }
}
