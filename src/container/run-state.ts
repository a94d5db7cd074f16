/**
 * `<root>/containers/<id>/state.json`: what the daemon knows about a container's runs, beside its
 * configuration (config.json) — whether a run is under way, waiting out its restart back-off or
 * over, whether its run is paused, how many times it was restarted, whether the user stopped it,
 * and how the last run ended.
 * Written atomically (state/atomic.ts) at each change; read back by records.ts for ps and inspect.
 * Containers of a foreground `corral run` have no state.json (their end is in config.json).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../state/atomic.js';
import { RecordError } from '../errors.js';
import { CONTAINER_FILES } from './layout.js';

export interface LastExit {
  /** Docker's exit code: 128+N for signal N, 137 for an OOM kill */
  exitCode: number;
  /** the signal that ended the workload, when one did */
  signal?: number;
  oomKilled: boolean;
  /** RFC 3339 */
  finishedAt: string;
}

export interface RunState {
  /**
   * running: a launcher was started and its end is not recorded yet (the pid/exit files tell more);
   * restarting: the last run ended and a restart waits out its back-off; exited: the end is recorded
   */
  status: 'running' | 'restarting' | 'exited';
  /** restarts by the restart policy since the last start by the user (Docker's RestartCount) */
  restartCount: number;
  /** the user stopped or killed it since its last start (moby's HasBeenManuallyStopped) */
  manuallyStopped: boolean;
  /**
   * the run is paused: its cgroup was frozen by a pause and not thawed since (only with status
   * running; absent otherwise). Set after the freeze and cleared before the thaw, so written only
   * while the cgroup is frozen, and checked against its freezer at adopt (daemon/pause.ts): it
   * survives a daemon restart
   */
  paused?: true;
  /** RFC 3339: when the current or last run started */
  startedAt?: string;
  lastExit?: LastExit;
}

function isTime(v: unknown): v is string {
  return typeof v === 'string' && !Number.isNaN(new Date(v).getTime());
}

/** Parse state.json, checking every field; a broken file is a RecordError naming the problem. */
export function parseRunState(text: string, file: string): RunState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RecordError(file, `not JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new RecordError(file, 'not a JSON object');
  const o = json as Record<string, unknown>;
  if (o.status !== 'running' && o.status !== 'restarting' && o.status !== 'exited') throw new RecordError(file, `bad status ${JSON.stringify(o.status)}`);
  if (typeof o.restartCount !== 'number' || !Number.isSafeInteger(o.restartCount) || o.restartCount < 0) throw new RecordError(file, 'restartCount is not a count');
  const state: RunState = { status: o.status, restartCount: o.restartCount, manuallyStopped: o.manuallyStopped === true };
  if (o.paused !== undefined && typeof o.paused !== 'boolean') throw new RecordError(file, 'paused is not a boolean');
  if (o.paused === true) {
    if (o.status !== 'running') throw new RecordError(file, `paused with status ${o.status}: only a running container can be paused`);
    state.paused = true;
  }
  if (o.startedAt !== undefined) {
    if (!isTime(o.startedAt)) throw new RecordError(file, 'startedAt is not a time');
    state.startedAt = o.startedAt;
  }
  if (o.lastExit !== undefined) {
    const e = o.lastExit as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || typeof e.exitCode !== 'number' || !isTime(e.finishedAt)) throw new RecordError(file, 'lastExit needs exitCode and finishedAt');
    state.lastExit = { exitCode: e.exitCode, oomKilled: e.oomKilled === true, finishedAt: e.finishedAt, ...(typeof e.signal === 'number' ? { signal: e.signal } : {}) };
  }
  if (state.status !== 'running' && !state.lastExit) throw new RecordError(file, `status ${state.status} without lastExit`);
  return state;
}

/** The container's state.json, or undefined when it has none (never started by the daemon). */
export async function readRunState(dir: string): Promise<RunState | undefined> {
  const file = path.join(dir, CONTAINER_FILES.runState);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseRunState(text, file);
}

export async function writeRunState(dir: string, state: RunState): Promise<void> {
  await writeFileAtomic(path.join(dir, CONTAINER_FILES.runState), JSON.stringify(state, null, 2) + '\n');
}
