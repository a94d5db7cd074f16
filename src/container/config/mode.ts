/**
 * What the host's cgroup mode cannot do that Docker discards with a warning instead of refusing it
 * (moby's verifyPlatformContainerResources): --oom-kill-disable on cgroup v2, which has no
 * memory.oom_control. The cgroup drivers refuse it (UnsupportedError: never a silent no-op); this
 * is the policy that drops it first and says so, in Docker's words.
 */
import type { CgroupMode } from '../../cgroups/types.js';
import type { RunConfig } from './run-config.js';

/** Docker's warning for an OomKillDisable the kernel cannot honour. */
export const OOM_KILL_DISABLE_DISCARDED = 'Your kernel does not support OomKillDisable. OomKillDisable discarded.';

/** The configuration this mode can apply, and the warnings for what was discarded. */
export function discardedOnMode(config: RunConfig, mode: CgroupMode): { config: RunConfig; warnings: string[] } {
  const memory = config.resources.memory;
  if (mode !== 'v2' || memory?.oomKillDisable !== true) return { config, warnings: [] };
  const { oomKillDisable: _discarded, ...rest } = memory;
  const resources = { ...config.resources };
  if (Object.keys(rest).length === 0) delete resources.memory;
  else resources.memory = rest;
  return { config: { ...config, resources }, warnings: [OOM_KILL_DISABLE_DISCARDED] };
}
