import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeUpdate, splitListFields } from '../../../../src/container/config/update.js';
import { UPDATE_BODY_SCHEMA } from '../../../../src/api/update.js';
import { checkFields } from '../../../../src/api/validate.js';

/** What `docker update --memory 96m --pids-limit 50` sends: every field, most at their zero value. */
const CLI_BODY = {
  BlkioWeight: 0,
  BlkioWeightDevice: null,
  BlkioDeviceReadBps: null,
  BlkioDeviceWriteBps: null,
  BlkioDeviceReadIOps: null,
  BlkioDeviceWriteIOps: null,
  CgroupParent: '',
  CpuShares: 0,
  Memory: 100663296,
  CpuPeriod: 0,
  CpuQuota: 0,
  CpuRealtimePeriod: 0,
  CpuRealtimeRuntime: 0,
  CpusetCpus: '',
  CpusetMems: '',
  Devices: null,
  DeviceCgroupRules: null,
  DeviceRequests: null,
  KernelMemory: 0,
  KernelMemoryTCP: 0,
  MemoryReservation: 0,
  MemorySwap: 0,
  MemorySwappiness: null,
  NanoCpus: 0,
  OomKillDisable: null,
  PidsLimit: 50,
  Ulimits: null,
  CpuCount: 0,
  CpuPercent: 0,
  IOMaximumIOps: 0,
  IOMaximumBandwidth: 0,
  RestartPolicy: { Name: '', MaximumRetryCount: 0 },
};

test("the docker CLI's update body: zero fields change nothing, the given ones are merged", () => {
  const body = checkFields(splitListFields(CLI_BODY), UPDATE_BODY_SCHEMA);
  const merged = mergeUpdate({ Memory: 67108864, NanoCpus: 500000000, Binds: ['/a:/b'] }, body);
  assert.deepEqual(merged.hostConfig, { Memory: 100663296, NanoCpus: 500000000, Binds: ['/a:/b'], PidsLimit: 50 });
  assert.deepEqual(merged.changed, ['Memory', 'PidsLimit']);
  assert.equal(merged.restartPolicy, undefined);
});

test('PidsLimit 0 is unlimited (-1); a RestartPolicy with a name is a change', () => {
  const merged = mergeUpdate({ PidsLimit: 20 }, { PidsLimit: 0, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } });
  assert.equal(merged.hostConfig.PidsLimit, -1);
  assert.deepEqual(merged.changed, ['PidsLimit', 'RestartPolicy']);
  assert.deepEqual(merged.restartPolicy, { Name: 'always', MaximumRetryCount: 0 });
});

test('fields corral cannot update are refused when not zero, naming the field', () => {
  assert.throws(() => mergeUpdate({}, { KernelMemory: 1048576 }), { message: /invalid value for field "KernelMemory" in the update body: corral cannot update KernelMemory/ });
  assert.throws(() => mergeUpdate({}, { OomKillDisable: true }), /OomKillDisable/);
  assert.throws(() => splitListFields({ devices: [{ PathOnHost: '/dev/sda' }] }), {
    message: 'invalid value for field "Devices" in the update body: corral cannot change Devices (send it empty or leave it out)',
  });
  assert.deepEqual(splitListFields({ Ulimits: [], Memory: 1 }), { Memory: 1 });
});
