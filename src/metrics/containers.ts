/**
 * What the sampler needs to know about one container, read once from the state directory when it
 * appears or starts: its record (name, rootfs, network, status, pid) and the limits of its config.json.
 */
import type { Limit, Resources } from '../cgroups/types.js';
import { imageNameOf, readContainerRecord } from '../container/records.js';
import { RESTART_POLICY_NAMES, type RestartPolicy } from '../container/restart-policy.js';
import { ContainerStore } from '../container/store.js';
import type { ContainerSpec, TrackedContainer } from './sample.js';

function limit(v: unknown): Limit | undefined {
  return v === 'max' || (typeof v === 'number' && Number.isFinite(v)) ? (v as Limit) : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The spec metrics' limits from a stored config's `resources` (pure; anything malformed is left out). */
export function specOf(resources: Resources | undefined): ContainerSpec {
  const spec: ContainerSpec = {};
  const set = <K extends keyof ContainerSpec>(k: K, v: ContainerSpec[K] | undefined) => {
    if (v !== undefined) spec[k] = v;
  };
  set('memoryLimit', limit(resources?.memory?.max));
  set('memoryReservation', num(resources?.memory?.low));
  set('cpuQuota', limit(resources?.cpu?.quota));
  set('cpuPeriod', num(resources?.cpu?.period));
  set('cpuWeight', num(resources?.cpu?.weight));
  set('pidsLimit', limit(resources?.pids?.max));
  return spec;
}

/** A stored restart policy ({name, maximumRetryCount}); anything malformed is none. */
function policy(v: unknown): RestartPolicy | undefined {
  const p = v as Partial<RestartPolicy> | null | undefined;
  return typeof p?.name === 'string' && (RESTART_POLICY_NAMES as readonly string[]).includes(p.name) ? { name: p.name, maximumRetryCount: num(p.maximumRetryCount) ?? 0 } : undefined;
}

/** Whether the user stopped the container since its last start (state.json; none, or unreadable: no). */
export async function readManuallyStopped(stateRoot: string, id: string): Promise<boolean> {
  const run = await new ContainerStore(stateRoot).readRunState(id).catch(() => undefined);
  return run?.manuallyStopped === true;
}

/** A container as the sampler tracks it, or undefined when it has no record (gone, or still being created). */
export async function readTracked(stateRoot: string, id: string): Promise<TrackedContainer | undefined> {
  const record = await readContainerRecord(stateRoot, id);
  if (!record) return undefined;
  let config: { cgroupParent?: unknown; resources?: Resources; restartPolicy?: unknown } = {};
  try {
    config = (await new ContainerStore(stateRoot).readConfigFile(id)).config ?? {};
  } catch {
    // the record was just read: a failure here is its removal racing us; the record's facts suffice
  }
  const restartPolicy = policy(config.restartPolicy);
  return {
    id,
    ...(record.name !== undefined ? { name: record.name } : {}),
    image: imageNameOf(record),
    network: record.network,
    ...(record.labels !== undefined ? { labels: record.labels } : {}),
    ...(typeof config.cgroupParent === 'string' ? { cgroupParent: config.cgroupParent } : {}),
    spec: specOf(config.resources),
    ...(restartPolicy !== undefined ? { restartPolicy } : {}),
    manuallyStopped: await readManuallyStopped(stateRoot, id),
    status: record.status,
    ...(record.paused ? { paused: true } : {}),
    ...(record.exitCode !== undefined ? { exitCode: record.exitCode } : {}),
    ...(record.startedAt ? { startedAt: record.startedAt.getTime() } : {}),
    ...(record.pid !== undefined ? { pid: record.pid } : {}),
    restarts: 0,
    readErrors: new Map(),
  };
}
