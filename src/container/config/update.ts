/**
 * `POST /containers/{id}/update`: Docker's UpdateConfig body (container.Resources plus
 * RestartPolicy, v1.41) merged into the container's stored HostConfig, pure. Docker's rules: a
 * resource field that is 0 (or "", or absent) leaves the stored value alone; PidsLimit, a pointer in
 * Go, changes whenever it is given (0 and -1 mean unlimited); a RestartPolicy with an empty Name is
 * no change. The docker CLI sends every field of the struct, so the fields corral cannot change are
 * accepted at their zero value and refused (400, naming the field) at any other.
 */
import { InvalidParameterError, quoteInput } from '../../errors.js';
import { UPDATABLE_FIELDS } from './fields.js';

/** The HostConfig fields an update can change (the registry's, fields.ts). */
export { UPDATABLE_FIELDS } from './fields.js';

/** The list-valued fields of UpdateConfig: checkFields' 'object' type does not take arrays, so these are checked here. */
const LIST_FIELDS = ['BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps', 'Devices', 'DeviceRequests', 'Ulimits'];

/** Whether a value is Go's zero value for its field (what the docker CLI sends for "not given"). */
function isZero(v: unknown): boolean {
  return v === undefined || v === null || v === 0 || v === '' || v === false || (Array.isArray(v) && v.length === 0);
}

/**
 * Take the list fields out of the raw body before checkFields (which types them as objects): they
 * must be empty (or null), since corral changes none of them on update.
 */
export function splitListFields(body: Record<string, unknown>): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    const list = LIST_FIELDS.find((f) => f.toLowerCase() === k.toLowerCase());
    if (list === undefined) rest[k] = v;
    else if (!isZero(v)) throw new InvalidParameterError(`invalid value for field "${list}" in the update body: corral cannot change ${list} (send it empty or leave it out)`);
  }
  return rest;
}

export interface MergedUpdate {
  /** the stored HostConfig with the update applied */
  hostConfig: Record<string, unknown>;
  /** the fields the body changes */
  changed: string[];
  /** the new restart policy (as Docker's JSON), when the body changes it */
  restartPolicy?: unknown;
}

/**
 * Merge a checked update body (checkFields with UPDATE_BODY_SCHEMA) into the stored HostConfig.
 * Throws a 400 naming a field corral cannot update when it is not at its zero value.
 */
export function mergeUpdate(stored: Record<string, unknown>, body: Record<string, unknown>): MergedUpdate {
  const hostConfig = { ...stored };
  const changed: string[] = [];
  for (const [field, value] of Object.entries(body)) {
    if (field === 'RestartPolicy') continue;
    if (UPDATABLE_FIELDS.includes(field)) {
      if (field === 'PidsLimit' ? value === undefined || value === null : isZero(value)) continue;
      // PidsLimit 0 is "unlimited" in an update, as -1 (and as -1 it reaches --pids-limit's rule)
      hostConfig[field] = field === 'PidsLimit' && value === 0 ? -1 : value;
      changed.push(field);
    } else if (!isZero(value)) {
      throw new InvalidParameterError(
        `invalid value for field "${field}" in the update body: corral cannot update ${field} (supported: ${UPDATABLE_FIELDS.join(', ')}, RestartPolicy), got ${quoteInput(JSON.stringify(value))}`,
      );
    }
  }
  const rp = body.RestartPolicy as Record<string, unknown> | undefined;
  // an empty Name is the CLI's "not given" (UpdateConfig carries a zero RestartPolicy)
  const givesPolicy = rp !== undefined && !(rp.Name === undefined || rp.Name === '');
  if (givesPolicy) changed.push('RestartPolicy');
  return { hostConfig, changed, ...(givesPolicy ? { restartPolicy: rp } : {}) };
}
