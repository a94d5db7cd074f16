import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FIELD_LIST,
  FIELD_OF_FLAG,
  FIELDS,
  HELP_ORDER,
  HOST_CONFIG_FIELDS,
  RUN_FLAGS,
  SERVICE_KEYS,
  UPDATABLE_FIELDS,
  UPDATE_ORDER,
  WORKLOADS_ORDER,
  fieldOfFlag,
  unsupportedNamingFlag,
} from '../../../../src/container/config/fields.js';
import { InvalidLimitError, UnsupportedError } from '../../../../src/errors.js';
import { checkHonourable, dockerFieldOf, inputFromBody } from '../../../../src/container/config/body.js';
import { UPDATE_BODY_SCHEMA } from '../../../../src/api/update.js';

const sorted = (xs: readonly string[]) => [...xs].sort();

test('fields: each field is named once, by flag, option and body path', () => {
  for (const key of ['flag', 'option', 'path'] as const) {
    const values = FIELD_LIST.map((f) => f[key]).filter((v) => v !== undefined);
    assert.equal(new Set(values).size, values.length, `${key} given twice`);
  }
  for (const f of FIELD_LIST) {
    if (f.flags !== undefined) assert.ok(f.flags.includes(f.flag), `${f.name}: ${f.flags} declares ${f.flag}`);
    // a flag with a value says what the value may be; a boolean has no placeholder
    assert.equal(f.expected !== undefined, f.flags?.includes('<') === true, `${f.name}: expected wording`);
    if (f.stored || f.updatable) assert.ok(f.path?.startsWith('HostConfig.'), `${f.name}: stored fields are HostConfig's`);
    if (f.updatable) assert.ok(f.stored, `${f.name}: an updatable field is stored`);
    if (f.updatable) assert.ok(f.resource, `${f.name}: an updatable field is one of Docker's Resources (UpdateConfig)`);
  }
});

test('fields: the orders users see name every field of their kind once', () => {
  const withFlags = FIELD_LIST.filter((f) => f.flags !== undefined).map((f) => f.name);
  assert.deepEqual(sorted(HELP_ORDER), sorted(withFlags));
  assert.deepEqual(sorted(UPDATE_ORDER), sorted(FIELD_LIST.filter((f) => f.updatable).map((f) => f.name)));
  assert.deepEqual(sorted(WORKLOADS_ORDER), sorted(FIELD_LIST.filter((f) => f.workloads !== undefined).map((f) => f.name)));
  assert.deepEqual(
    RUN_FLAGS.map((f) => f.flag),
    HELP_ORDER.map((n) => FIELDS[n].flag),
  );
});

test('fields: the derived tables are the ones corral had written out', () => {
  // body.ts's FIELD_OF_FLAG, plus the two booleans (which no error names)
  assert.deepEqual(FIELD_OF_FLAG, {
    '--name': 'name',
    '--rm': 'HostConfig.AutoRemove',
    '--interactive': 'OpenStdin',
    '--tty': 'Tty',
    StdinOnce: 'StdinOnce',
    '--rootfs': 'Image',
    '--label': 'Labels',
    '--hostname': 'Hostname',
    '--env': 'Env',
    '--workdir': 'WorkingDir',
    '--user': 'User',
    '--memory': 'HostConfig.Memory',
    '--memory-swap': 'HostConfig.MemorySwap',
    '--memory-reservation': 'HostConfig.MemoryReservation',
    '--cpus': 'HostConfig.NanoCpus',
    '--cpu-period': 'HostConfig.CpuPeriod',
    '--cpu-quota': 'HostConfig.CpuQuota',
    '--cpu-shares': 'HostConfig.CpuShares',
    '--cpuset-cpus': 'HostConfig.CpusetCpus',
    '--cpuset-mems': 'HostConfig.CpusetMems',
    '--pids-limit': 'HostConfig.PidsLimit',
    '--blkio-weight': 'HostConfig.BlkioWeight',
    '--restart': 'HostConfig.RestartPolicy',
    '--log-opt': 'HostConfig.LogConfig',
    '--device-read-bps': 'HostConfig.BlkioDeviceReadBps',
    '--device-write-bps': 'HostConfig.BlkioDeviceWriteBps',
    '--device-read-iops': 'HostConfig.BlkioDeviceReadIOps',
    '--device-write-iops': 'HostConfig.BlkioDeviceWriteIOps',
    '--volume': 'HostConfig.Binds',
    '--read-only': 'HostConfig.ReadonlyRootfs',
    '--network': 'HostConfig.NetworkMode',
    '--cap-add': 'HostConfig.CapAdd',
    '--cap-drop': 'HostConfig.CapDrop',
    '--security-opt': 'HostConfig.SecurityOpt',
    '--cgroup-parent': 'HostConfig.CgroupParent',
    '--entrypoint': 'Entrypoint',
    '--stop-signal': 'StopSignal',
    '--stop-timeout': 'StopTimeout',
    '--ulimit': 'HostConfig.Ulimits',
    '--oom-score-adj': 'HostConfig.OomScoreAdj',
    '--shm-size': 'HostConfig.ShmSize',
    '--tmpfs': 'HostConfig.Tmpfs',
    '--oom-kill-disable': 'HostConfig.OomKillDisable',
    '--memory-swappiness': 'HostConfig.MemorySwappiness',
    '--init': 'HostConfig.Init',
    COMMAND: 'Cmd',
  });
  // the supervisor's HOST_CONFIG_FIELDS (kept in hostconfig.json; inspect reads them by name)
  assert.deepEqual(
    sorted(HOST_CONFIG_FIELDS),
    sorted([
      'Memory',
      'MemorySwap',
      'MemoryReservation',
      'NanoCpus',
      'CpuPeriod',
      'CpuQuota',
      'CpuShares',
      'CpusetCpus',
      'CpusetMems',
      'PidsLimit',
      'BlkioWeight',
      'BlkioDeviceReadBps',
      'BlkioDeviceWriteBps',
      'BlkioDeviceReadIOps',
      'BlkioDeviceWriteIOps',
      'Binds',
      'ReadonlyRootfs',
      'NetworkMode',
      'CapAdd',
      'CapDrop',
      'SecurityOpt',
      'AutoRemove',
      'CgroupParent',
      'RestartPolicy',
      'LogConfig',
    ]),
  );
  // update's list, in the order its 400 names them
  assert.deepEqual(UPDATABLE_FIELDS, ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'CpusetMems', 'PidsLimit', 'BlkioWeight']);
  for (const f of UPDATABLE_FIELDS) assert.ok(f in UPDATE_BODY_SCHEMA, `${f} is a field of Docker's UpdateConfig`);
  // workloads/parse.ts's SERVICE_FIELDS: each key and the body field it sets
  assert.deepEqual(
    SERVICE_KEYS.map((k) => `${k.key} -> ${k.path}`),
    [
      'command -> Cmd',
      'entrypoint -> Entrypoint',
      'rootfs -> Image',
      'environment -> Env',
      'volumes -> HostConfig.Binds',
      'hostname -> Hostname',
      'restart -> HostConfig.RestartPolicy',
      'mem_limit -> HostConfig.Memory',
      'memswap_limit -> HostConfig.MemorySwap',
      'mem_reservation -> HostConfig.MemoryReservation',
      'cpus -> HostConfig.NanoCpus',
      'cpu_shares -> HostConfig.CpuShares',
      'cpuset -> HostConfig.CpusetCpus',
      'pids_limit -> HostConfig.PidsLimit',
      'cgroup_parent -> HostConfig.CgroupParent',
      'stop_signal -> StopSignal',
      'stop_grace_period -> StopTimeout',
      'ulimits -> HostConfig.Ulimits',
      'oom_score_adj -> HostConfig.OomScoreAdj',
      'shm_size -> HostConfig.ShmSize',
      'tmpfs -> HostConfig.Tmpfs',
      'mem_swappiness -> HostConfig.MemorySwappiness',
      'oom_kill_disable -> HostConfig.OomKillDisable',
      'init -> HostConfig.Init',
      'deploy.resources.limits.cpus -> HostConfig.NanoCpus',
      'deploy.resources.limits.memory -> HostConfig.Memory',
      'deploy.resources.limits.pids -> HostConfig.PidsLimit',
      'deploy.resources.reservations.memory -> HostConfig.MemoryReservation',
    ],
  );
});

test('fields: fieldOfFlag finds a field by the flag errors name', () => {
  assert.equal(fieldOfFlag('--cpus')?.path, 'HostConfig.NanoCpus');
  assert.equal(fieldOfFlag('COMMAND')?.path, 'Cmd');
  assert.equal(fieldOfFlag('--nope'), undefined);
});

test('fields: each body field is read by its JSON parser', () => {
  const input = inputFromBody(
    {
      Image: 'host',
      Hostname: '',
      Env: ['A=1', 2],
      HostConfig: {
        Memory: 0,
        NanoCpus: 1_500_000_000,
        CpuShares: 512,
        NetworkMode: 'default',
        AutoRemove: true,
        ReadonlyRootfs: false,
        BlkioDeviceReadIOps: [{ Path: '/dev/sda', Rate: 5 }],
        RestartPolicy: { Name: 'no' },
      },
    },
    'web',
  );
  // Docker's zero values ("", 0, "host", "default", false, Name "no") leave the field unset
  assert.deepEqual(input, {
    name: 'web',
    rm: true,
    env: ['A=1'],
    cpus: { flag: '--cpus', text: '1.500000000', value: 1_500_000_000 },
    cpuShares: { flag: '--cpu-shares', text: '512', value: 512 },
    deviceReadIops: [{ flag: '--device-read-iops', text: '/dev/sda:5', value: { path: '/dev/sda', rate: 5 } }],
  });
  assert.deepEqual(inputFromBody({ HostConfig: { NanoCpus: 5 } }, undefined).cpus, { flag: '--cpus', text: '0.000000005', value: 5 });
  assert.throws(() => inputFromBody({ HostConfig: { PidsLimit: '5' } }, undefined), /^InvalidParameterError: invalid HostConfig\.PidsLimit: expected an integer$/);
});

test('a limit the host cannot apply is refused naming the flag (or the Docker field), the limit after it', () => {
  const weight = new UnsupportedError('io.weight is not supported here: neither blkio.weight nor blkio.bfq.weight exists in /sys/fs/cgroup/blkio');
  assert.equal((unsupportedNamingFlag(weight) as Error).message, '--blkio-weight (io.weight) is not supported here: neither blkio.weight nor blkio.bfq.weight exists in /sys/fs/cgroup/blkio');
  assert.equal(
    (unsupportedNamingFlag(weight, dockerFieldOf) as Error).message,
    'HostConfig.BlkioWeight (io.weight) is not supported here: neither blkio.weight nor blkio.bfq.weight exists in /sys/fs/cgroup/blkio',
  );
  assert.ok(unsupportedNamingFlag(weight) instanceof UnsupportedError);
  // memory.swap.max is not memory.max; what names no limit of a flag, and other errors, pass unchanged
  assert.match(
    (unsupportedNamingFlag(new UnsupportedError('memory.swap.max 1 without a memory.max is not supported on cgroup v1')) as Error).message,
    /^--memory-swap \(memory\.swap\.max\) 1 without/,
  );
  const other = new UnsupportedError('freezing is not supported here');
  assert.equal(unsupportedNamingFlag(other), other);
  const limit = new InvalidLimitError('invalid io.weight 0');
  assert.equal(unsupportedNamingFlag(limit), limit);
});

test('HostConfig fields corral cannot honour: accepted at their zero value, refused by name otherwise', () => {
  for (const hc of [{}, { VolumesFrom: null, Links: [], PortBindings: {}, PublishAllPorts: false, Privileged: false, Devices: [] }]) checkHonourable({ HostConfig: hc });
  assert.throws(() => checkHonourable({ HostConfig: { VolumesFrom: ['web'] } }), {
    message: /^HostConfig\.VolumesFrom: \["web"\] is not supported: corral has no volumes of other containers .*; expected it empty$/,
  });
  assert.throws(() => checkHonourable({ HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } } }), { message: /^HostConfig\.PortBindings: \{"80\/tcp":/ });
  assert.throws(() => checkHonourable({ HostConfig: { Privileged: true } }), /HostConfig\.Privileged: true is not supported/);
});
