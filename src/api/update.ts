/** `POST /containers/{id}/update`'s body: the field types of Docker's UpdateConfig (the merge is container/config/update.ts). */
import { UPDATE_CONFIG_FIELDS } from '../container/config/fields.js';
import type { ObjectSchema } from './validate.js';

/**
 * The fields of Docker's UpdateConfig (v1.41) that corral has no field for: the docker CLI sends
 * them all, and the merge takes them at their zero value only (mergeUpdate, splitListFields).
 */
const OTHER_UPDATE_FIELDS: ObjectSchema = {
  BlkioWeightDevice: 'object',
  CpuRealtimePeriod: 'integer',
  CpuRealtimeRuntime: 'integer',
  Devices: 'object',
  DeviceCgroupRules: 'string[]',
  DeviceRequests: 'object',
  KernelMemory: 'integer',
  KernelMemoryTCP: 'integer',
  MemorySwappiness: 'integer',
  OomKillDisable: 'boolean',
  Init: 'boolean',
  Ulimits: 'object',
  CpuCount: 'integer',
  CpuPercent: 'integer',
  IOMaximumIOps: 'integer',
  IOMaximumBandwidth: 'integer',
};

/** Docker's UpdateConfig (v1.41): container.Resources and RestartPolicy, the registry's fields typed by their readers. */
export const UPDATE_BODY_SCHEMA: ObjectSchema = {
  ...Object.fromEntries(UPDATE_CONFIG_FIELDS.map((f) => [f.key, f.parse!.type])),
  ...OTHER_UPDATE_FIELDS,
};
