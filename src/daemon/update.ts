/**
 * Docker's update: the body's limits merged into the stored ones, validated as on create, applied
 * to the cgroup when it exists (a running or created container), then stored for inspect and the
 * next restart. Nothing changes when validation or the kernel refuses.
 */
import type { CgroupDriver, Resources } from '../cgroups/types.js';
import { inputFromBody } from '../container/config/body.js';
import { resourcesFrom, type RunConfig } from '../container/config/run-flags.js';
import { mergeUpdate } from '../container/config/update.js';
import { formatSizeRounded } from '../container/format.js';
import { NO_RESTART, restartPolicyFromJson } from '../container/restart-policy.js';
import { CgroupFileError, ConflictError, InvalidParameterError } from '../errors.js';
import type { DaemonContext } from './context.js';
import { fieldError } from './create.js';

export async function update(d: DaemonContext, id: string, body: Record<string, unknown>): Promise<string[]> {
  await d.record(id);
  const stored = await d.store.readConfig(id);
  const merged = mergeUpdate(stored.hostConfig, body);
  const input = inputFromBody({ HostConfig: merged.hostConfig }, undefined);
  let resources: Resources;
  let restartPolicy = stored.config.restartPolicy;
  try {
    resources = resourcesFrom(input, await d.hostFacts());
    if (merged.restartPolicy !== undefined) {
      restartPolicy = restartPolicyFromJson(merged.restartPolicy) ?? NO_RESTART;
      if (restartPolicy.name !== 'no' && stored.config.rm) {
        throw new InvalidParameterError('HostConfig.RestartPolicy: restart policy cannot be updated because AutoRemove is enabled for the container');
      }
    }
  } catch (err) {
    throw fieldError(err);
  }
  const driver = await d.driver(stored.config.cgroupParent);
  await driver.plan(resources).catch((err: unknown) => {
    throw fieldError(err);
  });
  if ((await driver.list()).includes(id)) {
    await applyLive(d, id, driver, resources, stored.config.resources);
    // v1: the OOM snapshot's usage threshold sits under the limit: move it with the limit
    if (resources.memory?.max !== stored.config.resources.memory?.max) await d.oom.limitChanged(id);
  }
  const config: RunConfig = { ...stored.config, resources };
  if (restartPolicy !== undefined) config.restartPolicy = restartPolicy;
  await d.store.writeConfig(id, config);
  const hostConfig: Record<string, unknown> = { ...merged.hostConfig, ...(merged.restartPolicy !== undefined ? { RestartPolicy: merged.restartPolicy } : {}) };
  await d.store.writeHostConfig(id, hostConfig);
  await d.emit('update', id, Object.fromEntries(merged.changed.map((f) => [f, JSON.stringify(hostConfig[f])])));
  return [];
}

/**
 * Apply new limits to a live cgroup. A memory limit below what the container uses is refused as
 * the kernel refuses it on v1 (EBUSY once reclaim fails); on v2 the kernel would OOM-kill instead,
 * so the working set (memory.current - inactive_file) is checked first. On any failure the old
 * limits are written back, so a half-applied update never stays.
 */
async function applyLive(d: DaemonContext, id: string, driver: CgroupDriver, resources: Resources, previous: Resources): Promise<void> {
  const cgroup = driver.open(id);
  const max = resources.memory?.max;
  if (cgroup.mode === 'v2' && typeof max === 'number') {
    const mem = (await cgroup.stats()).memory;
    const used = mem?.current === undefined ? undefined : mem.current - (mem.stat?.inactive_file ?? 0);
    if (used !== undefined && max < used) throw memoryBusy(id, max, used, `${cgroup.dir}/memory.max`);
  }
  try {
    await cgroup.apply(resources);
  } catch (err) {
    await cgroup.apply(previous).catch((e: Error) => d.log.warn('cannot restore the limits after a failed update', { id, error: e.message }));
    if (err instanceof CgroupFileError && err.errno === 'EBUSY' && typeof max === 'number') {
      const usage = (await cgroup.stats().catch(() => undefined))?.memory?.current;
      throw memoryBusy(id, max, usage, err.path);
    }
    throw err;
  }
}

function memoryBusy(id: string, max: number, used: number | undefined, file: string): ConflictError {
  const usage = used === undefined ? '' : ` (it uses ${formatSizeRounded(used)})`;
  return new ConflictError(
    `cannot update container ${id.slice(0, 12)}: the memory limit ${formatSizeRounded(max)} is below what the container uses now${usage} and the kernel could not reclaim enough (${file}: EBUSY)`,
  );
}
