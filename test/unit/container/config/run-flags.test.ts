import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resources } from '../../../../src/cgroups/types.js';
import type { IsolationOptions } from '../../../../src/isolate/types.js';
import { InvalidArgumentError } from '../../../../src/errors.js';
import { DEFAULT_PATH, parseRunArgs, runHelp, RunHelpRequested, RunUsageError, type HostFacts, type RunConfig } from '../../../../src/container/config/run-flags.js';
import { SIZE_SYNTAX } from '../../../../src/container/config/units.js';

const EXPECT_SECURITY_OPT = "seccomp=unconfined, seccomp=builtin or seccomp=PROFILE.json (a file in Docker's seccomp profile format)";
const EXPECT_ULIMIT =
  'NAME=SOFT[:HARD] such as nofile=1024:2048, NAME one of core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack, the limits whole numbers or -1 for unlimited, SOFT at most HARD';
const EXPECT_TMPFS = 'PATH[:OPTIONS] with an absolute PATH inside the container and tmpfs mount options such as size=64m,mode=1777,noexec';
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const ID = '0123456789abcdef0123456789abcdef';
const HOST = '0123456789ab';

const DEVICES: Record<string, { major: number; minor: number }> = {
  '/dev/sda': { major: 8, minor: 0 },
  '/dev/sdb': { major: 8, minor: 16 },
  '/dev/disk/by-id/wwn-1': { major: 8, minor: 0 }, // a link to /dev/sda
};
const PATHS: Record<string, 'file' | 'dir'> = { '/srv/data': 'dir', '/srv/rootfs': 'dir', '/etc/hosts': 'file', '/': 'dir' };
const HOST_ENV: Record<string, string> = { HOME: '/root', EMPTY: '' };

const facts: HostFacts = {
  onlineCpus: 2,
  effectiveCpus: [0, 1],
  effectiveMems: [0],
  deviceNumber: (path) => DEVICES[path],
  pathKind: (path) => PATHS[path],
  getEnv: (name) => HOST_ENV[name],
};

function parse(argv: string[], hostFacts: HostFacts = facts): RunConfig {
  return parseRunArgs(argv, hostFacts, ID);
}

const DEFAULT_ISOLATION: IsolationOptions = {
  hostname: HOST,
  env: [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${HOST}`],
  workdir: '/',
  user: { uid: 0, gid: 0, additionalGids: [] },
  volumes: [],
  readOnly: false,
  network: 'none',
  capAdd: [],
  capDrop: [],
  command: ['sh'],
};

test("no flags: Docker's defaults, no limits", () => {
  assert.deepEqual(parse(['sh']), { rm: false, resources: {}, isolation: DEFAULT_ISOLATION });
});

test('parsing stops at the first positional: the command keeps its own flags', () => {
  const config = parse(['-m', '32m', 'sh', '-c', 'echo hi', '-m', '1', '--rm']);
  assert.deepEqual(config.isolation.command, ['sh', '-c', 'echo hi', '-m', '1', '--rm']);
  assert.equal(config.rm, false);
  assert.deepEqual(config.resources, { memory: { max: 32 * MiB, swapMax: 32 * MiB } });
  assert.deepEqual(parse(['--rm', '--', '--weird', '-x']).isolation.command, ['--weird', '-x']);
});

test('the four spellings of a value', () => {
  for (const argv of [['--memory', '32m'], ['--memory=32m'], ['-m32m'], ['-m', '32m']]) {
    assert.deepEqual(parse([...argv, 'sh']).resources.memory, { max: 32 * MiB, swapMax: 32 * MiB }, argv.join(' '));
  }
});

test('a later non-repeatable flag replaces an earlier one', () => {
  assert.deepEqual(parse(['-m', '1g', '-m', '64m', 'sh']).resources.memory, { max: 64 * MiB, swapMax: 64 * MiB });
});

// argv (before the command "sh") -> expected resources
const resourceCases: [string[], Resources][] = [
  // memory
  [['-m', '6m'], { memory: { max: 6 * MiB, swapMax: 6 * MiB } }],
  [['-m', '0'], {}], // Docker: 0 = no limit
  [['-m', '1g', '--memory-swap', '-1'], { memory: { max: GiB, swapMax: 'max' } }],
  [['-m', '1g', '--memory-swap', '1g'], { memory: { max: GiB, swapMax: 0 } }],
  [['-m', '1g', '--memory-swap', '3g'], { memory: { max: GiB, swapMax: 2 * GiB } }],
  [['-m', '1g', '--memory-swap', '0'], { memory: { max: GiB, swapMax: GiB } }], // Docker: 0 = unset
  [['--memory-swap', '-1'], { memory: { swapMax: 'max' } }],
  [['--memory-swap', '0'], {}],
  [['--memory-reservation', '512m'], { memory: { low: 512 * MiB } }],
  [['-m', '1g', '--memory-reservation', '1g'], { memory: { max: GiB, low: GiB, swapMax: GiB } }],
  [['--memory-reservation', '0'], {}],
  // cpu
  [['--cpus', '0.5'], { cpu: { quota: 50000, period: 100000 } }],
  [['--cpus', '2'], { cpu: { quota: 200000, period: 100000 } }],
  [['--cpus', '1.5'], { cpu: { quota: 150000, period: 100000 } }],
  [['--cpus', '.25'], { cpu: { quota: 25000, period: 100000 } }],
  [['--cpus', '0.01'], { cpu: { quota: 1000, period: 100000 } }],
  [['--cpus', '0.29'], { cpu: { quota: 29000, period: 100000 } }],
  [['--cpus', '0.123456789'], { cpu: { quota: 12346, period: 100000 } }], // rounded
  [['--cpus', '1.000000000000'], { cpu: { quota: 100000, period: 100000 } }], // trailing zeros are not precision
  [['--cpu-quota', '50000'], { cpu: { quota: 50000 } }],
  [['--cpu-quota', '-1'], { cpu: { quota: 'max' } }],
  [['--cpu-quota', '0'], {}],
  [['--cpu-period', '1000'], { cpu: { period: 1000 } }],
  [['--cpu-period', '1000000', '--cpu-quota', '1000'], { cpu: { quota: 1000, period: 1000000 } }],
  [['--cpu-period', '0'], {}],
  [['--cpus', '1', '--cpu-period', '0', '--cpu-quota', '0'], { cpu: { quota: 100000, period: 100000 } }],
  [['--cpu-shares', '1024'], { cpu: { weight: 100 } }],
  [['--cpu-shares', '2'], { cpu: { weight: 1 } }],
  [['--cpu-shares', '512'], { cpu: { weight: 59 } }],
  [['--cpu-shares', '262144'], { cpu: { weight: 10000 } }],
  [['--cpu-shares', '0'], {}],
  [['--cpus', '0.5', '--cpu-shares', '2048'], { cpu: { quota: 50000, period: 100000, weight: 174 } }],
  // cpuset, normalised to the kernel's canonical list
  [['--cpuset-cpus', '0-1'], { cpuset: { cpus: '0-1' } }],
  [['--cpuset-cpus', '1,0'], { cpuset: { cpus: '0-1' } }],
  [['--cpuset-cpus', '1'], { cpuset: { cpus: '1' } }],
  [['--cpuset-cpus', '0,0-1,1'], { cpuset: { cpus: '0-1' } }],
  [['--cpuset-mems', '0'], { cpuset: { mems: '0' } }],
  [['--cpuset-cpus', '0', '--cpuset-mems', '0'], { cpuset: { cpus: '0', mems: '0' } }],
  // pids
  [['--pids-limit', '100'], { pids: { max: 100 } }],
  [['--pids-limit', '1'], { pids: { max: 1 } }],
  [['--pids-limit', '0'], { pids: { max: 'max' } }],
  [['--pids-limit', '-1'], { pids: { max: 'max' } }],
  [['--pids-limit=-1'], { pids: { max: 'max' } }],
  // io
  [['--blkio-weight', '10'], { io: { weight: 1 } }],
  [['--blkio-weight', '500'], { io: { weight: 4950 } }],
  [['--blkio-weight', '1000'], { io: { weight: 10000 } }],
  [['--blkio-weight', '0'], {}],
  [['--device-read-bps', '/dev/sda:1mb'], { io: { max: [{ major: 8, minor: 0, rbps: MiB }] } }],
  [['--device-write-bps', '/dev/sda:10M'], { io: { max: [{ major: 8, minor: 0, wbps: 10 * MiB }] } }],
  [['--device-read-iops', '/dev/sda:100'], { io: { max: [{ major: 8, minor: 0, riops: 100 }] } }],
  [['--device-write-iops', '/dev/sdb:5'], { io: { max: [{ major: 8, minor: 16, wiops: 5 }] } }],
  [
    // merged per device (a link to the same device included); the later value of one field wins
    [
      '--device-read-bps',
      '/dev/sda:1m',
      '--device-write-bps',
      '/dev/sdb:2m',
      '--device-read-iops',
      '/dev/disk/by-id/wwn-1:100',
      '--device-write-iops=/dev/sda:200',
      '--device-read-bps',
      '/dev/sda:3m',
      '--blkio-weight',
      '500',
    ],
    {
      io: {
        weight: 4950,
        max: [
          { major: 8, minor: 0, rbps: 3 * MiB, riops: 100, wiops: 200 },
          { major: 8, minor: 16, wbps: 2 * MiB },
        ],
      },
    },
  ],
  // everything at once
  [
    [
      '-m',
      '256m',
      '--memory-swap',
      '512m',
      '--memory-reservation',
      '128m',
      '--cpus',
      '1.5',
      '--cpu-shares',
      '512',
      '--cpuset-cpus',
      '0-1',
      '--cpuset-mems',
      '0',
      '--pids-limit',
      '64',
      '--blkio-weight',
      '10',
      '--device-write-bps',
      '/dev/sda:1k',
    ],
    {
      cpu: { quota: 150000, period: 100000, weight: 59 },
      cpuset: { cpus: '0-1', mems: '0' },
      memory: { max: 256 * MiB, low: 128 * MiB, swapMax: 256 * MiB },
      pids: { max: 64 },
      io: { weight: 1, max: [{ major: 8, minor: 0, wbps: KiB }] },
    },
  ],
];

for (const [argv, resources] of resourceCases) {
  test(`resources: ${argv.join(' ')}`, () => {
    assert.deepEqual(parse([...argv, 'sh']).resources, resources);
  });
}

// argv (before the command "sh") -> expected isolation fields (the others keep their defaults)
const isolationCases: [string[], Partial<IsolationOptions>][] = [
  [['--hostname', 'web'], { hostname: 'web', env: [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=web'] }],
  [['-h', 'a-1.example.com'], { hostname: 'a-1.example.com', env: [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=a-1.example.com'] }],
  [['-h', 'x'.repeat(64)], { hostname: 'x'.repeat(64), env: [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${'x'.repeat(64)}`] }],
  [['-e', 'A=1', '--env', 'B=', '-e', 'C=x=y'], { env: [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${HOST}`, 'A=1', 'B=', 'C=x=y'] }],
  // later ones replace earlier ones in place, PATH and HOSTNAME included
  [['-e', 'A=1', '-e', 'PATH=/bin', '-e', 'A=2', '-e', 'HOSTNAME=h'], { env: ['PATH=/bin', 'HOSTNAME=h', 'A=2'] }],
  // -e KEY copies the host's value; a KEY the host lacks is removed (Docker's ReplaceOrAppendEnvValues)
  [['-e', 'HOME', '-e', 'EMPTY', '-e', 'MISSING'], { env: [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${HOST}`, 'HOME=/root', 'EMPTY='] }],
  [['-e', 'A=1', '-e', 'A', '-e', 'PATH'], { env: [`HOSTNAME=${HOST}`] }],
  [['-w', '/srv'], { workdir: '/srv' }],
  [['--workdir=/a/b/../c/'], { workdir: '/a/c' }],
  [['-u', '1000'], { user: { uid: 1000, gid: 0, additionalGids: [] } }],
  [['-u', '1000:100'], { user: { uid: 1000, gid: 100, additionalGids: [] } }],
  [['--user=0:0'], { user: { uid: 0, gid: 0, additionalGids: [] } }],
  [['-u', '4294967294:4294967294'], { user: { uid: 4294967294, gid: 4294967294, additionalGids: [] } }],
  [['-v', '/srv/data:/data'], { volumes: [{ source: '/srv/data', target: '/data', readOnly: false, kind: 'dir' }] }],
  [
    ['-v', '/srv/data:/data:ro', '--volume', '/etc/hosts:/etc/hosts:rw', '-v', '/srv/data/:/mnt/x/'],
    {
      volumes: [
        { source: '/srv/data', target: '/data', readOnly: true, kind: 'dir' },
        { source: '/etc/hosts', target: '/etc/hosts', readOnly: false, kind: 'file' },
        { source: '/srv/data', target: '/mnt/x', readOnly: false, kind: 'dir' },
      ],
    },
  ],
  [['--read-only'], { readOnly: true }],
  [['--network', 'host'], { network: 'host' }],
  [['--network=none'], { network: 'none' }],
  [['--rootfs', '/srv/rootfs'], { rootfs: '/srv/rootfs' }],
  [['--rootfs', '/srv/rootfs/'], { rootfs: '/srv/rootfs' }],
  [['--cap-add', 'net_raw', '--cap-add', 'CAP_SYS_ADMIN', '--cap-add', 'cap_net_raw', '--cap-drop', 'ALL', '--cap-drop', 'Cap_Chown'], { capAdd: ['NET_RAW', 'SYS_ADMIN'], capDrop: ['ALL', 'CHOWN'] }],
  [['--cap-add=all'], { capAdd: ['ALL'] }],
];

for (const [argv, fields] of isolationCases) {
  test(`isolation: ${argv.join(' ')}`, () => {
    assert.deepEqual(parse([...argv, 'sh']).isolation, { ...DEFAULT_ISOLATION, ...fields });
  });
}

test('container fields: --rm, --name, --cgroup-parent', () => {
  const cases: [string[], Partial<RunConfig>][] = [
    [['--rm'], { rm: true }],
    [['--name', 'web-1'], { name: 'web-1' }],
    [['--name', 'a.b_c-D9'], { name: 'a.b_c-D9' }],
    [['--name=ab'], { name: 'ab' }],
    [['--cgroup-parent', 'batch'], { cgroupParent: 'batch' }],
    [['--cgroup-parent', '/corral/batch/'], { cgroupParent: '/corral/batch' }],
    [['--cgroup-parent', 'a//b'], { cgroupParent: 'a/b' }],
    [['--cgroup-parent', '/'], { cgroupParent: '/' }],
    [['--rm', '--name', 'web', '--cgroup-parent', 'x'], { rm: true, name: 'web', cgroupParent: 'x' }],
  ];
  for (const [argv, fields] of cases) {
    assert.deepEqual(parse([...argv, 'sh']), { rm: false, resources: {}, isolation: DEFAULT_ISOLATION, ...fields }, argv.join(' '));
  }
});

test('without an id the hostname is left for the caller: "" and no HOSTNAME', () => {
  const config = parseRunArgs(['-e', 'A=1', 'sh'], facts);
  assert.equal(config.isolation.hostname, '');
  assert.deepEqual(config.isolation.env, [`PATH=${DEFAULT_PATH}`, 'A=1']);
  const named = parseRunArgs(['-h', 'web', 'sh'], facts);
  assert.equal(named.isolation.hostname, 'web');
  assert.deepEqual(named.isolation.env, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=web']);
});

test('--cpus is bounded by the CPUs available', () => {
  const eight: HostFacts = { ...facts, onlineCpus: 8 };
  assert.deepEqual(parse(['--cpus', '8', 'sh'], eight).resources.cpu, { quota: 800000, period: 100000 });
  const one: HostFacts = { ...facts, onlineCpus: 1 };
  assert.throws(() => parse(['--cpus', '1.5', 'sh'], one), {
    message: 'invalid value "1.5" for --cpus: the range of CPUs is from 0.01 to 1.00, as there is only 1 CPU available',
  });
});

test('an empty effective set refuses every cpuset', () => {
  assert.throws(() => parse(['--cpuset-mems', '0', 'sh'], { ...facts, effectiveMems: [] }), {
    message: 'invalid value "0" for --cpuset-mems: memory node 0 is outside the parent cgroup\'s effective set (empty)',
  });
});

const SIZE = SIZE_SYNTAX;
const MEMORY_EXPECTED = `${SIZE}, at least 6MB, or 0 for no limit`;
const SWAP_EXPECTED = `the memory+swap total: ${SIZE}, at least --memory, or -1 for unlimited swap`;
const RESERVATION_EXPECTED = `${SIZE}, at least 6MB and at most --memory, or 0 for none`;
const CPUS_EXPECTED = 'a number of CPUs such as 0.5 or 2, from 0.01 to 2';
const BPS_EXPECTED = `DEVICE:RATE such as /dev/sda:10m, RATE in bytes per second: ${SIZE}, above 0`;
const IOPS_EXPECTED = 'DEVICE:N such as /dev/sda:100, N a positive number of operations per second';
const USER_EXPECTED = 'a numeric uid[:gid] from 0 to 4294967294, such as 1000 or 1000:1000';
const VOLUME_EXPECTED = 'HOST:CONTAINER[:ro|rw] with absolute paths, HOST existing';
const CAP_EXPECTED = 'a capability name such as NET_RAW or cap_net_raw, or ALL';

// argv -> the exact message (all are InvalidArgumentError)
const badCases: [string[], string][] = [
  // command-line shape (RunUsageError)
  [[], 'corral run needs a command: corral run [flags] COMMAND [ARG...]'],
  [['--rm'], 'corral run needs a command: corral run [flags] COMMAND [ARG...]'],
  [['-m', '32m', '--'], 'corral run needs a command: corral run [flags] COMMAND [ARG...]'],
  [['--', ''], 'corral run needs a command: corral run [flags] COMMAND [ARG...]'],
  [['--memroy', '32m', 'sh'], 'unknown flag --memroy for corral run (did you mean --memory?)'],
  [['--frobnicate', 'sh'], 'unknown flag --frobnicate for corral run (see corral run --help)'],
  [['-z', 'sh'], 'unknown flag -z for corral run (see corral run --help)'],
  [['--rm=false', 'sh'], 'flag --rm takes no value: --rm=false'],
  [['--read-only=true', 'sh'], 'flag --read-only takes no value: --read-only=true'],
  [['-m'], `flag --memory needs a value: ${MEMORY_EXPECTED}`],
  [['--rm', '--cpus'], `flag --cpus needs a value: a number of CPUs such as 0.5 or 2, from 0.01 to the number of CPUs available`],
  [['-e'], "flag --env needs a value: KEY=VALUE, or KEY to copy the host's value (KEY not empty)"],
  [['--device-read-iops'], `flag --device-read-iops needs a value: ${IOPS_EXPECTED}`],
  // a value-taking flag takes the next word, as in Docker
  [['-m', '--rm', 'sh'], `invalid value "--rm" for --memory: not a size; expected ${MEMORY_EXPECTED}`],
  // --name
  [['--name', 'a', 'sh'], 'invalid value "a" for --name: expected a name matching [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 characters)'],
  [['--name', '-ab', 'sh'], 'invalid value "-ab" for --name: expected a name matching [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 characters)'],
  [['--name', 'a/b', 'sh'], 'invalid value "a/b" for --name: expected a name matching [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 characters)'],
  [['--name=', 'sh'], 'invalid value "" for --name: expected a name matching [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 characters)'],
  // --cgroup-parent
  [['--cgroup-parent', '', 'sh'], 'invalid value "" for --cgroup-parent: expected a cgroup path such as corral or /corral/batch, without . or .. components'],
  [['--cgroup-parent', '../x', 'sh'], 'invalid value "../x" for --cgroup-parent: expected a cgroup path such as corral or /corral/batch, without . or .. components'],
  [['--cgroup-parent', 'a/./b', 'sh'], 'invalid value "a/./b" for --cgroup-parent: expected a cgroup path such as corral or /corral/batch, without . or .. components'],
  // --rootfs
  [['--rootfs', 'rootfs', 'sh'], 'invalid value "rootfs" for --rootfs: expected an absolute path to an existing directory'],
  [['--rootfs', '/nope', 'sh'], 'invalid value "/nope" for --rootfs: /nope does not exist; expected an absolute path to an existing directory'],
  // memory
  [['-m', '', 'sh'], `invalid value "" for --memory: not a size; expected ${MEMORY_EXPECTED}`],
  [['-m', 'lots', 'sh'], `invalid value "lots" for --memory: not a size; expected ${MEMORY_EXPECTED}`],
  [['-m', '32x', 'sh'], `invalid value "32x" for --memory: unknown unit "x"; expected ${MEMORY_EXPECTED}`],
  [['-m', '-1', 'sh'], `invalid value "-1" for --memory: a size cannot be negative; expected ${MEMORY_EXPECTED}`],
  [['-m', '16p', 'sh'], `invalid value "16p" for --memory: too large: the largest size allowed is 9007199254740991 bytes; expected ${MEMORY_EXPECTED}`],
  [['-m', '4m', 'sh'], 'invalid value "4m" for --memory: the minimum memory limit allowed is 6MB (6291456 bytes)'],
  [['-m', '6291455', 'sh'], 'invalid value "6291455" for --memory: the minimum memory limit allowed is 6MB (6291456 bytes)'],
  [['--memory-swap', '1g', 'sh'], 'invalid value "1g" for --memory-swap: set --memory too: --memory-swap is the memory+swap total and needs the memory limit (or use -1 for unlimited swap)'],
  [['-m', '1g', '--memory-swap', '512m', 'sh'], 'invalid value "512m" for --memory-swap: the memory+swap total must be at least the memory limit --memory 1073741824 (1GiB), or -1 for unlimited swap'],
  [['-m', '1g', '--memory-swap', '-2', 'sh'], `invalid value "-2" for --memory-swap: a size cannot be negative; expected ${SWAP_EXPECTED}`],
  [['-m', '1g', '--memory-swap', 'max', 'sh'], `invalid value "max" for --memory-swap: not a size; expected ${SWAP_EXPECTED}`],
  [['--memory-reservation', '1m', 'sh'], 'invalid value "1m" for --memory-reservation: the minimum memory reservation allowed is 6MB (6291456 bytes)'],
  [['-m', '64m', '--memory-reservation', '65m', 'sh'], 'invalid value "65m" for --memory-reservation: the reservation cannot be above the memory limit --memory 67108864 (64MiB)'],
  [['--memory-reservation', 'x', 'sh'], `invalid value "x" for --memory-reservation: not a size; expected ${RESERVATION_EXPECTED}`],
  // --cpus
  [['--cpus', '0', 'sh'], 'invalid value "0" for --cpus: the range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available'],
  [['--cpus', '0.009', 'sh'], 'invalid value "0.009" for --cpus: the range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available'],
  [['--cpus', '2.001', 'sh'], 'invalid value "2.001" for --cpus: the range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available'],
  [['--cpus', '3', 'sh'], 'invalid value "3" for --cpus: the range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available'],
  [['--cpus', '-1', 'sh'], `invalid value "-1" for --cpus: expected ${CPUS_EXPECTED}`],
  [['--cpus', 'one', 'sh'], `invalid value "one" for --cpus: expected ${CPUS_EXPECTED}`],
  [['--cpus', '.', 'sh'], `invalid value "." for --cpus: expected ${CPUS_EXPECTED}`],
  [['--cpus', '1e0', 'sh'], `invalid value "1e0" for --cpus: expected ${CPUS_EXPECTED}`],
  [['--cpus', '0.0000000001', 'sh'], `invalid value "0.0000000001" for --cpus: expected ${CPUS_EXPECTED}`],
  [['--cpus', '1', '--cpu-period', '50000', 'sh'], 'invalid value "1" for --cpus: conflicting options: --cpus and --cpu-period cannot both be set'],
  [['--cpu-quota', '50000', '--cpus', '1', 'sh'], 'invalid value "1" for --cpus: conflicting options: --cpus and --cpu-quota cannot both be set'],
  [['--cpus', '1', '--cpu-quota', '-1', 'sh'], 'invalid value "1" for --cpus: conflicting options: --cpus and --cpu-quota cannot both be set'],
  [['--cpus', '5', '--cpu-quota', '-1', 'sh'], 'invalid value "5" for --cpus: conflicting options: --cpus and --cpu-quota cannot both be set'],
  // --cpu-period, --cpu-quota, --cpu-shares
  [['--cpu-period', '999', 'sh'], 'invalid value "999" for --cpu-period: expected microseconds from 1000 (1ms) to 1000000 (1s), or 0 for the default'],
  [['--cpu-period', '1000001', 'sh'], 'invalid value "1000001" for --cpu-period: expected microseconds from 1000 (1ms) to 1000000 (1s), or 0 for the default'],
  [['--cpu-period', '1ms', 'sh'], 'invalid value "1ms" for --cpu-period: expected microseconds from 1000 (1ms) to 1000000 (1s), or 0 for the default'],
  [['--cpu-quota', '999', 'sh'], 'invalid value "999" for --cpu-quota: expected microseconds per period, at least 1000 (1ms), -1 for no limit, or 0 for the default'],
  [['--cpu-quota', '-2', 'sh'], 'invalid value "-2" for --cpu-quota: expected microseconds per period, at least 1000 (1ms), -1 for no limit, or 0 for the default'],
  [['--cpu-quota', 'max', 'sh'], 'invalid value "max" for --cpu-quota: expected microseconds per period, at least 1000 (1ms), -1 for no limit, or 0 for the default'],
  [['--cpu-shares', '1', 'sh'], 'invalid value "1" for --cpu-shares: expected a relative weight from 2 to 262144 (the default is 1024), or 0 for the default'],
  [['--cpu-shares', '262145', 'sh'], 'invalid value "262145" for --cpu-shares: expected a relative weight from 2 to 262144 (the default is 1024), or 0 for the default'],
  [['--cpu-shares', '-5', 'sh'], 'invalid value "-5" for --cpu-shares: expected a relative weight from 2 to 262144 (the default is 1024), or 0 for the default'],
  [['--cpu-shares', '1.5', 'sh'], 'invalid value "1.5" for --cpu-shares: expected a relative weight from 2 to 262144 (the default is 1024), or 0 for the default'],
  // cpusets
  [['--cpuset-cpus', '0-7', 'sh'], 'invalid value "0-7" for --cpuset-cpus: CPUs 2-7 are outside the parent cgroup\'s effective set 0-1'],
  [['--cpuset-cpus', '0,3', 'sh'], 'invalid value "0,3" for --cpuset-cpus: CPU 3 is outside the parent cgroup\'s effective set 0-1'],
  [['--cpuset-cpus', '2,4-5', 'sh'], 'invalid value "2,4-5" for --cpuset-cpus: CPUs 2,4-5 are outside the parent cgroup\'s effective set 0-1'],
  [['--cpuset-mems', '1', 'sh'], 'invalid value "1" for --cpuset-mems: memory node 1 is outside the parent cgroup\'s effective set 0'],
  [['--cpuset-mems', '0-3', 'sh'], 'invalid value "0-3" for --cpuset-mems: memory nodes 1-3 are outside the parent cgroup\'s effective set 0'],
  [['--cpuset-cpus', '', 'sh'], 'invalid value "" for --cpuset-cpus: expected a list of CPUs such as 0-1,3'],
  [['--cpuset-cpus', '1-0', 'sh'], 'invalid value "1-0" for --cpuset-cpus: expected a list of CPUs such as 0-1,3'],
  [['--cpuset-cpus', '0,', 'sh'], 'invalid value "0," for --cpuset-cpus: expected a list of CPUs such as 0-1,3'],
  [['--cpuset-cpus', '0 1', 'sh'], 'invalid value "0 1" for --cpuset-cpus: expected a list of CPUs such as 0-1,3'],
  [['--cpuset-cpus', '0-7:2/4', 'sh'], 'invalid value "0-7:2/4" for --cpuset-cpus: expected a list of CPUs such as 0-1,3'],
  [['--cpuset-cpus', '0-4000000000', 'sh'], 'invalid value "0-4000000000" for --cpuset-cpus: numbers above 65535 are not allowed; expected a list of CPUs such as 0-1,3'],
  [['--cpuset-mems', 'all', 'sh'], 'invalid value "all" for --cpuset-mems: expected a list of memory nodes such as 0-1,3'],
  // --pids-limit
  [['--pids-limit', '-2', 'sh'], 'invalid value "-2" for --pids-limit: expected a positive number of processes, or 0 or -1 for no limit'],
  [['--pids-limit', 'max', 'sh'], 'invalid value "max" for --pids-limit: expected a positive number of processes, or 0 or -1 for no limit'],
  [['--pids-limit', '1.5', 'sh'], 'invalid value "1.5" for --pids-limit: expected a positive number of processes, or 0 or -1 for no limit'],
  [['--pids-limit', '99999999999999999999', 'sh'], 'invalid value "99999999999999999999" for --pids-limit: expected a positive number of processes, or 0 or -1 for no limit'],
  // --blkio-weight
  [['--blkio-weight', '9', 'sh'], 'invalid value "9" for --blkio-weight: expected a weight from 10 to 1000, or 0 for the default'],
  [['--blkio-weight', '1001', 'sh'], 'invalid value "1001" for --blkio-weight: expected a weight from 10 to 1000, or 0 for the default'],
  // device limits
  [['--device-read-bps', '/dev/sda', 'sh'], `invalid value "/dev/sda" for --device-read-bps: expected ${BPS_EXPECTED}`],
  [['--device-read-bps', '/dev/sda:', 'sh'], `invalid value "/dev/sda:" for --device-read-bps: expected ${BPS_EXPECTED}`],
  [['--device-read-bps', ':1m', 'sh'], `invalid value ":1m" for --device-read-bps: expected ${BPS_EXPECTED}`],
  [['--device-read-bps', '/dev/sda:1m:2', 'sh'], `invalid value "/dev/sda:1m:2" for --device-read-bps: expected ${BPS_EXPECTED}`],
  [['--device-read-bps', 'sda:1m', 'sh'], `invalid value "sda:1m" for --device-read-bps: the device must be an absolute path; expected ${BPS_EXPECTED}`],
  [['--device-write-bps', '/dev/sda:1x', 'sh'], `invalid value "/dev/sda:1x" for --device-write-bps: rate "1x": unknown unit "x"; expected ${BPS_EXPECTED}`],
  [['--device-write-bps', '/dev/sda:-1', 'sh'], `invalid value "/dev/sda:-1" for --device-write-bps: rate "-1": a size cannot be negative; expected ${BPS_EXPECTED}`],
  [['--device-write-bps', '/dev/sda:0', 'sh'], `invalid value "/dev/sda:0" for --device-write-bps: the rate must be above 0; expected ${BPS_EXPECTED}`],
  [['--device-read-bps', '/dev/null:1m', 'sh'], 'invalid value "/dev/null:1m" for --device-read-bps: /dev/null is not a block device (or does not exist)'],
  [['--device-read-iops', '/dev/sda:1k', 'sh'], `invalid value "/dev/sda:1k" for --device-read-iops: rate "1k": not a whole number; expected ${IOPS_EXPECTED}`],
  [['--device-write-iops', '/dev/sda:-5', 'sh'], `invalid value "/dev/sda:-5" for --device-write-iops: rate "-5": not a whole number; expected ${IOPS_EXPECTED}`],
  [['--device-write-iops', '/dev/sda:0', 'sh'], `invalid value "/dev/sda:0" for --device-write-iops: the rate must be above 0; expected ${IOPS_EXPECTED}`],
  [['--device-write-iops', '/dev/nope:10', 'sh'], 'invalid value "/dev/nope:10" for --device-write-iops: /dev/nope is not a block device (or does not exist)'],
  // --hostname
  [['-h', 'a_b', 'sh'], 'invalid value "a_b" for --hostname: expected a hostname of at most 64 characters: dot-separated labels of letters, digits and hyphens, not starting or ending with a hyphen'],
  [['-h', '-ab', 'sh'], 'invalid value "-ab" for --hostname: expected a hostname of at most 64 characters: dot-separated labels of letters, digits and hyphens, not starting or ending with a hyphen'],
  [
    ['-h', 'a..b', 'sh'],
    'invalid value "a..b" for --hostname: expected a hostname of at most 64 characters: dot-separated labels of letters, digits and hyphens, not starting or ending with a hyphen',
  ],
  [
    ['-h', 'x'.repeat(65), 'sh'],
    `invalid value "${'x'.repeat(65)}" for --hostname: expected a hostname of at most 64 characters: dot-separated labels of letters, digits and hyphens, not starting or ending with a hyphen`,
  ],
  [['-h', '', 'sh'], 'invalid value "" for --hostname: expected a hostname of at most 64 characters: dot-separated labels of letters, digits and hyphens, not starting or ending with a hyphen'],
  // --env
  [['-e', '=x', 'sh'], 'invalid value "=x" for --env: expected KEY=VALUE, or KEY to copy the host\'s value (KEY not empty)'],
  [['-e', '', 'sh'], 'invalid value "" for --env: expected KEY=VALUE, or KEY to copy the host\'s value (KEY not empty)'],
  // --workdir
  [['-w', 'srv', 'sh'], 'invalid value "srv" for --workdir: expected an absolute path inside the container'],
  [['-w', '', 'sh'], 'invalid value "" for --workdir: expected an absolute path inside the container'],
  // --user
  [['-u', 'root', 'sh'], `invalid value "root" for --user: user and group names are not supported; expected ${USER_EXPECTED}`],
  [['-u', '1000:staff', 'sh'], `invalid value "1000:staff" for --user: user and group names are not supported; expected ${USER_EXPECTED}`],
  [['-u', '', 'sh'], `invalid value "" for --user: expected ${USER_EXPECTED}`],
  [['-u', '1000:', 'sh'], `invalid value "1000:" for --user: expected ${USER_EXPECTED}`],
  [['-u', ':1000', 'sh'], `invalid value ":1000" for --user: expected ${USER_EXPECTED}`],
  [['-u', '-1', 'sh'], `invalid value "-1" for --user: expected ${USER_EXPECTED}`],
  [['-u', '4294967295', 'sh'], `invalid value "4294967295" for --user: expected ${USER_EXPECTED}`],
  [['-u', '1:2:3', 'sh'], `invalid value "1:2:3" for --user: expected ${USER_EXPECTED}`],
  // --volume
  [['-v', '/srv/data', 'sh'], `invalid value "/srv/data" for --volume: expected ${VOLUME_EXPECTED}`],
  [['-v', '/srv/data:', 'sh'], `invalid value "/srv/data:" for --volume: expected ${VOLUME_EXPECTED}`],
  [['-v', '/a:/b:ro:z', 'sh'], `invalid value "/a:/b:ro:z" for --volume: expected ${VOLUME_EXPECTED}`],
  [['-v', '/srv/data:/data:z', 'sh'], 'invalid value "/srv/data:/data:z" for --volume: unknown mode "z"; expected ro or rw'],
  [['-v', 'data:/data', 'sh'], `invalid value "data:/data" for --volume: the host path must be absolute (named volumes are not supported); expected ${VOLUME_EXPECTED}`],
  [['-v', '/srv/data:data', 'sh'], `invalid value "/srv/data:data" for --volume: the container path must be absolute; expected ${VOLUME_EXPECTED}`],
  [['-v', '/srv/data:/', 'sh'], 'invalid value "/srv/data:/" for --volume: the container path cannot be /'],
  [['-v', '/srv/data:/data/..', 'sh'], 'invalid value "/srv/data:/data/.." for --volume: the container path cannot be /'],
  [['-v', '/nope:/data', 'sh'], 'invalid value "/nope:/data" for --volume: the host path /nope does not exist'],
  [['-v', '/srv/data:/data', '-v', '/etc/hosts:/data/', 'sh'], 'invalid value "/etc/hosts:/data/" for --volume: duplicate mount point /data'],
  // --network
  [['--network', 'bridge', 'sh'], 'invalid value "bridge" for --network: expected none or host'],
  [['--network', 'NONE', 'sh'], 'invalid value "NONE" for --network: expected none or host'],
  // capabilities
  [['--cap-add', '', 'sh'], `invalid value "" for --cap-add: expected ${CAP_EXPECTED}`],
  [['--cap-add', 'CAP_', 'sh'], `invalid value "CAP_" for --cap-add: expected ${CAP_EXPECTED}`],
  [['--cap-drop', 'net raw', 'sh'], `invalid value "net raw" for --cap-drop: expected ${CAP_EXPECTED}`],
  [['--cap-drop', '-net', 'sh'], `invalid value "-net" for --cap-drop: expected ${CAP_EXPECTED}`],
];

for (const [argv, message] of badCases) {
  test(`refused: ${JSON.stringify(argv)}`, () => {
    assert.throws(
      () => parse(argv),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError, `not an InvalidArgumentError: ${String(error)}`);
        assert.equal(error.message, message);
        assert.equal(error.code, 'EINVALIDARG');
        return true;
      },
    );
  });
}

test('usage errors are RunUsageError and carry the flag', () => {
  const cases: [string[], string, string][] = [
    [['--memroy', 'sh'], '--memroy', '--memroy'],
    [['-m'], '--memory', ''],
    [['--rm=1', 'sh'], '--rm', '1'],
    [[], 'COMMAND', ''],
  ];
  for (const [argv, flag, value] of cases) {
    assert.throws(
      () => parse(argv),
      (error: unknown) => {
        assert.ok(error instanceof RunUsageError);
        assert.equal(error.name, 'RunUsageError');
        assert.equal(error.flag, flag);
        assert.equal(error.value, value);
        return true;
      },
    );
  }
});

test('value errors carry the flag and the value', () => {
  assert.throws(
    () => parse(['--memory=4m', 'sh']),
    (error: unknown) => error instanceof InvalidArgumentError && error.flag === '--memory' && error.value === '4m',
  );
});

test('--help is RunHelpRequested with the help text, not an error of input', () => {
  assert.throws(
    () => parse(['-m', '32m', '--help', 'sh']),
    (error: unknown) => {
      assert.ok(error instanceof RunHelpRequested);
      assert.ok(!(error instanceof InvalidArgumentError));
      assert.equal(error.text, runHelp());
      return true;
    },
  );
  // after the command, --help belongs to the command
  assert.deepEqual(parse(['sh', '--help']).isolation.command, ['sh', '--help']);
});

test("the help lists every flag with Docker's name", () => {
  const help = runHelp();
  assert.match(help, /^Usage: corral run \[flags\] COMMAND \[ARG\.\.\.\]/);
  for (const flag of [
    '--rm',
    '--name',
    '--rootfs',
    '--cgroup-parent',
    '-m, --memory',
    '--memory-reservation',
    '--memory-swap',
    '--cpus',
    '--cpu-period',
    '--cpu-quota',
    '--cpu-shares',
    '--cpuset-cpus',
    '--cpuset-mems',
    '--pids-limit',
    '--blkio-weight',
    '--device-read-bps',
    '--device-write-bps',
    '--device-read-iops',
    '--device-write-iops',
    '-h, --hostname',
    '-e, --env',
    '-w, --workdir',
    '-u, --user',
    '-v, --volume',
    '--read-only',
    '--network',
    '--cap-add',
    '--cap-drop',
  ]) {
    assert.ok(help.includes(`  ${flag} `), `help lacks ${flag}`);
  }
});

test('parsing is pure: the facts are only asked, and the same argv gives the same config', () => {
  const asked: string[] = [];
  const recording: HostFacts = {
    ...facts,
    deviceNumber: (path) => {
      asked.push(`device ${path}`);
      return facts.deviceNumber(path);
    },
    pathKind: (path) => {
      asked.push(`path ${path}`);
      return facts.pathKind(path);
    },
    getEnv: (name) => {
      asked.push(`env ${name}`);
      return HOST_ENV[name];
    },
  };
  const argv = ['-v', '/srv/data:/d', '--device-read-bps', '/dev/sda:1m', '-e', 'HOME', '--rootfs', '/srv/rootfs', 'sh'];
  const first = parse(argv, recording);
  assert.deepEqual(parse(argv, recording), first);
  assert.deepEqual(asked.slice(0, 4).sort(), ['device /dev/sda', 'env HOME', 'path /srv/data', 'path /srv/rootfs']);
});

test('--log-opt: max-size with binary units, max-file >= 1 only with max-size; other keys refused naming the flag', async () => {
  const { parseLogOpts } = await import('../../../../src/container/config/run-flags.js');
  assert.deepEqual(parseLogOpts(['max-size=10m', 'max-file=3']), { maxSize: 10 * 1024 * 1024, maxFiles: 3 });
  assert.deepEqual(parseLogOpts(['max-size=2k']), { maxSize: 2048, maxFiles: 1 });
  assert.deepEqual(parseLogOpts(['max-file=1']), { maxSize: 0, maxFiles: 1 });
  for (const [bad, why] of [
    [['max-fil=3'], /unknown log opt 'max-fil'/],
    [['max-size=12q'], /invalid value "max-size=12q" for --log-opt: unknown unit/],
    [['max-size=1m', 'max-file=0'], /max-file=N with N a whole number from 1/],
    [['max-file=3'], /max-file needs max-size/],
  ] as [string[], RegExp][]) {
    assert.throws(
      () => parseLogOpts(bad),
      (e: unknown) => e instanceof Error && (e as { flag?: string }).flag === '--log-opt' && why.test(e.message),
      bad.join(' '),
    );
  }
});

test('--label KEY=VALUE and KEY alone (empty), a later KEY winning; --label-file lines first, comments and blanks skipped', async () => {
  const { ClientSideFlagError } = await import('../../../../src/container/config/run-flags.js');
  assert.deepEqual(parse(['-l', 'team=web', '--label', 'tier', '-l', 'team=db', '-l', 'eq=a=b', 'sh']).labels, { team: 'db', tier: '', eq: 'a=b' });
  assert.equal(parse(['sh']).labels, undefined);
  const files: Record<string, string> = { '/srv/labels': '# who runs it\n  team=ops\r\n\nenv=prod\nkeyonly\n', '/srv/bad': 'ok=1\n=nokey\n' };
  const withFiles: HostFacts = {
    ...facts,
    readTextFile: (p) => {
      if (files[p] === undefined) throw new Error(`ENOENT: no such file or directory, open '${p}'`);
      return files[p]!;
    },
  };
  // the file's labels first, then --label's: --label team=web wins over the file's team=ops
  assert.deepEqual(parse(['--label-file', '/srv/labels', '-l', 'team=web', 'sh'], withFiles).labels, { team: 'web', env: 'prod', keyonly: '' });
  assert.throws(() => parse(['-l', '=x', 'sh']), { message: 'invalid value "=x" for --label: expected KEY=VALUE (or KEY alone, for an empty value) with a KEY that is not empty' });
  assert.throws(() => parse(['--label-file', '/srv/bad', 'sh'], withFiles), {
    message: 'invalid value "/srv/bad:2" for --label-file: "=nokey": expected KEY=VALUE (or KEY alone, for an empty value) with a KEY that is not empty',
  });
  assert.throws(() => parse(['--label-file', '/srv/none', 'sh'], withFiles), {
    message: `invalid value "/srv/none" for --label-file: cannot read it: ENOENT: no such file or directory, open '/srv/none'`,
  });
  // where the client's files are not the parser's to read (the daemon parsing a client's argv)
  assert.throws(() => parse(['--label-file', '/srv/labels', 'sh']), ClientSideFlagError);
});

test('--security-opt seccomp=unconfined, seccomp=builtin, a later one winning; no-new-privileges, apparmor=unconfined and label=disable hold already', () => {
  assert.deepEqual(parse(['--security-opt', 'seccomp=unconfined', 'sh']).isolation.seccomp, { kind: 'unconfined' });
  assert.deepEqual(parse(['--security-opt', 'seccomp=unconfined', '--security-opt', 'seccomp:builtin', 'sh']).isolation.seccomp, { kind: 'builtin' });
  assert.equal(parse(['sh']).isolation.seccomp, undefined, "nothing said: Docker's default profile");
  const relaxed = parse(['--security-opt', 'no-new-privileges', '--security-opt', 'no-new-privileges=true', '--security-opt', 'apparmor=unconfined', '--security-opt', 'label=disable', 'sh']);
  assert.equal(relaxed.isolation.seccomp, undefined);
  // kept as given, for the create body and inspect's HostConfig.SecurityOpt
  assert.deepEqual(relaxed.securityOpt, ['no-new-privileges', 'no-new-privileges=true', 'apparmor=unconfined', 'label=disable']);
  assert.equal(parse(['sh']).securityOpt, undefined);
});

test('--security-opt seccomp=PROFILE.json: the client reads the file and keeps its JSON, compacted, as docker/cli sends it', async () => {
  const { ClientSideFlagError } = await import('../../../../src/container/config/run-flags.js');
  const profile = '{\n  "defaultAction": "SCMP_ACT_ERRNO",\n  "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "a b"}]\n}\n';
  const files: Record<string, string> = {
    '/srv/p.json': profile,
    '/srv/not-json.json': '{"defaultAction": ',
    '/srv/bad-action.json': '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_PERMIT"}]}',
  };
  const withFiles: HostFacts = {
    ...facts,
    readTextFile: (p) => {
      if (files[p] === undefined) throw new Error(`ENOENT: no such file or directory, open '${p}'`);
      return files[p]!;
    },
  };
  const compact = '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW","comment":"a b"}]}';
  const config = parse(['--security-opt', 'seccomp=/srv/p.json', 'sh'], withFiles);
  assert.deepEqual(config.isolation.seccomp, { kind: 'custom', profile: compact });
  assert.deepEqual(config.securityOpt, [`seccomp=${compact}`]);
  const refused: [string, string][] = [
    ['seccomp=/srv/none.json', `invalid value "seccomp=/srv/none.json" for --security-opt: cannot read the seccomp profile: ENOENT: no such file or directory, open '/srv/none.json'`],
    [
      'seccomp=/srv/not-json.json',
      'invalid value "seccomp=/srv/not-json.json" for --security-opt: the seccomp profile /srv/not-json.json: not JSON: expected a value: unexpected end of the text at offset 18',
    ],
    [
      'seccomp=/srv/bad-action.json',
      'invalid value "seccomp=/srv/bad-action.json" for --security-opt: the seccomp profile /srv/bad-action.json: syscalls[0].action: unknown action "SCMP_ACT_PERMIT"; expected one of SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG',
    ],
  ];
  for (const [item, message] of refused) assert.throws(() => parse(['--security-opt', item, 'sh'], withFiles), { message }, item);
  // the daemon parsing a client's argv hands a profile file back to the client; unconfined it takes itself
  assert.throws(() => parse(['--security-opt', 'seccomp=/srv/p.json', 'sh']), ClientSideFlagError);
  assert.deepEqual(parse(['--security-opt', 'seccomp=unconfined', 'sh']).isolation.seccomp, { kind: 'unconfined' });
});

test('--security-opt: what corral cannot do is refused, naming the item', () => {
  const refused: [string, string][] = [
    ['seccomp', `invalid value "seccomp" for --security-opt: expected KEY=VALUE: ${EXPECT_SECURITY_OPT}`],
    ['seccomp=', 'invalid value "seccomp=" for --security-opt: expected unconfined, builtin or a seccomp profile\'s JSON (corral run reads PROFILE.json and sends its content, as docker run does)'],
    ['no-new-privileges=false', 'invalid value "no-new-privileges=false" for --security-opt: corral always sets no_new_privs: it cannot be turned off'],
    ['apparmor=docker-default', 'invalid value "apparmor=docker-default" for --security-opt: corral loads no AppArmor profile: only apparmor=unconfined is accepted'],
    ['label=type:svirt_apache_t', 'invalid value "label=type:svirt_apache_t" for --security-opt: corral sets no SELinux labels: only label=disable is accepted'],
    ['writable-cgroups=true', `invalid value "writable-cgroups=true" for --security-opt: unknown security option "writable-cgroups"; expected ${EXPECT_SECURITY_OPT}`],
  ];
  for (const [item, message] of refused) assert.throws(() => parse(['--security-opt', item, 'sh']), { message }, item);
});

test("--entrypoint: its word first, COMMAND its arguments (none needed); '' clears it; the body's Entrypoint read the same", async () => {
  const { runConfigFromBody } = await import('../../../../src/container/config/body.js');
  const set = parse(['--entrypoint', '/bin/echo', 'hi', 'there']);
  assert.deepEqual(set.entrypoint, ['/bin/echo']);
  assert.deepEqual(set.isolation.command, ['/bin/echo', 'hi', 'there']);
  // the word is not split: docker/cli sends it as a list of one
  assert.deepEqual(parse(['--entrypoint', 'sh -c', 'x']).isolation.command, ['sh -c', 'x']);
  // no COMMAND: the entrypoint alone
  assert.deepEqual(parse(['--entrypoint', 'true']).isolation.command, ['true']);
  // '' clears it (Docker's [""]): COMMAND alone, and the entrypoint is recorded as cleared
  const cleared = parse(['--entrypoint', '', 'sh']);
  assert.deepEqual(cleared.entrypoint, []);
  assert.deepEqual(cleared.isolation.command, ['sh']);
  assert.equal(parse(['sh']).entrypoint, undefined);
  // nothing to run at all is refused as before
  assert.throws(() => parse(['--entrypoint', '']), { message: 'corral run needs a command: corral run [flags] COMMAND [ARG...]' });
  // the body: Entrypoint then Cmd, [""] cleared, a string as a list of one
  assert.deepEqual(runConfigFromBody({ Entrypoint: ['sh', '-c'], Cmd: ['echo hi'] }, undefined, facts).isolation.command, ['sh', '-c', 'echo hi']);
  assert.deepEqual(runConfigFromBody({ Entrypoint: 'echo', Cmd: 'x' }, undefined, facts).isolation.command, ['echo', 'x']);
  assert.deepEqual(runConfigFromBody({ Entrypoint: [''], Cmd: ['sh'] }, undefined, facts).entrypoint, []);
  assert.equal(runConfigFromBody({ Entrypoint: null, Cmd: ['sh'] }, undefined, facts).entrypoint, undefined);
});

test("--env-file: KEY=VALUE lines as given, KEY alone from the client's environment (left out when unset), # comments; files first, then -e", async () => {
  const { ClientSideFlagError } = await import('../../../../src/container/config/run-flags.js');
  const files: Record<string, string> = {
    '/srv/app.env': '\uFEFF# the app\n  A=1\r\nB="quoted stays"\n\nHOME\nUNSET\nC=x=y\nD=\n',
    '/srv/blank-key.env': 'OK=1\nMY VAR=2\n',
    '/srv/no-key.env': '=2\n',
  };
  const withFiles: HostFacts = {
    ...facts,
    readTextFile: (p) => {
      if (files[p] === undefined) throw new Error(`ENOENT: no such file or directory, open '${p}'`);
      return files[p]!;
    },
  };
  const env = parse(['--env-file', '/srv/app.env', '-e', 'A=2', 'sh'], withFiles).isolation.env;
  // -e A=2 replaces the file's A in place (Docker's ReplaceOrAppendEnvValues)
  assert.deepEqual(env, [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${HOST}`, 'A=2', 'B="quoted stays"', 'HOME=/root', 'C=x=y', 'D=']);
  assert.throws(() => parse(['--env-file', '/srv/blank-key.env', 'sh'], withFiles), {
    message: 'invalid value "/srv/blank-key.env:2" for --env-file: variable "MY VAR" contains blanks; expected KEY=VALUE or KEY',
  });
  assert.throws(() => parse(['--env-file', '/srv/no-key.env', 'sh'], withFiles), { message: 'invalid value "/srv/no-key.env:1" for --env-file: "=2": no variable name; expected KEY=VALUE or KEY' });
  assert.throws(() => parse(['--env-file', '/srv/none', 'sh'], withFiles), {
    message: `invalid value "/srv/none" for --env-file: cannot read it: ENOENT: no such file or directory, open '/srv/none'`,
  });
  // the daemon parsing a client's argv hands it back: the file is the client's
  assert.throws(() => parse(['--env-file', '/srv/app.env', 'sh']), ClientSideFlagError);
});

test('--stop-signal: a signal name or number, kept as given; --stop-timeout: 0 to 86400 seconds or -1; bad values name the flag', async () => {
  const { runConfigFromBody } = await import('../../../../src/container/config/body.js');
  assert.equal(parse(['--stop-signal', 'SIGUSR1', 'sh']).stopSignal, 'SIGUSR1');
  assert.equal(parse(['--stop-signal', 'hup', 'sh']).stopSignal, 'hup');
  assert.equal(parse(['--stop-signal', '10', 'sh']).stopSignal, '10');
  assert.equal(parse(['sh']).stopSignal, undefined);
  for (const bad of ['NOPE', '0', '65', 'SIG']) {
    assert.throws(() => parse(['--stop-signal', bad, 'sh']), { message: `invalid value "${bad}" for --stop-signal: expected a signal name such as SIGTERM or USR1, or a number from 1 to 64` });
  }
  assert.equal(parse(['--stop-timeout', '0', 'sh']).stopTimeout, 0);
  assert.equal(parse(['--stop-timeout', '-1', 'sh']).stopTimeout, -1);
  assert.equal(parse(['--stop-timeout', '86400', 'sh']).stopTimeout, 86_400);
  for (const bad of ['-2', '86401', '1.5', 'ten']) {
    assert.throws(() => parse(['--stop-timeout', bad, 'sh']), { message: `invalid value "${bad}" for --stop-timeout: expected whole seconds from 0 to 86400, or -1 to wait without limit` });
  }
  // the body: StopTimeout 0 is a value (no grace), not Docker's "unset"; a bad one names the flag
  assert.equal(runConfigFromBody({ Cmd: ['sh'], StopTimeout: 0 }, undefined, facts).stopTimeout, 0);
  assert.equal(runConfigFromBody({ Cmd: ['sh'], StopSignal: 'SIGINT' }, undefined, facts).stopSignal, 'SIGINT');
  assert.throws(() => runConfigFromBody({ Cmd: ['sh'], StopSignal: 'SIGNOPE' }, undefined, facts), { flag: '--stop-signal' });
  assert.throws(() => runConfigFromBody({ Cmd: ['sh'], StopTimeout: 1.5 }, undefined, facts), { message: 'invalid StopTimeout: expected an integer' });
});

test("--ulimit NAME=SOFT[:HARD]: Docker's names, HARD defaulting to SOFT, -1 unlimited, one per name (a later one wins); bad ones name the flag", async () => {
  const { runConfigFromBody } = await import('../../../../src/container/config/body.js');
  assert.deepEqual(parse(['--ulimit', 'nofile=64:128', '--ulimit', 'core=-1', '--ulimit', 'nproc=5', '--ulimit', 'nofile=32:64', 'sh']).isolation.ulimits, [
    { name: 'core', soft: 'unlimited', hard: 'unlimited' },
    { name: 'nproc', soft: 5, hard: 5 },
    { name: 'nofile', soft: 32, hard: 64 },
  ]);
  assert.deepEqual(parse(['--ulimit', 'stack=8388608:-1', 'sh']).isolation.ulimits, [{ name: 'stack', soft: 8_388_608, hard: 'unlimited' }]);
  assert.equal(parse(['sh']).isolation.ulimits, undefined);
  const expected = EXPECT_ULIMIT;
  for (const [bad, why] of [
    ['nofile', `expected ${expected}`],
    ['=5', `expected ${expected}`],
    ['nofile=', `expected ${expected}`],
    ['nofile=1:2:3', `expected ${expected}`],
    ['nofile=ten', `expected ${expected}`],
    ['nofile=-2', `expected ${expected}`],
    ['files=5', `unknown ulimit name "files"; expected ${expected}`],
    ['nofile=128:64', `the soft limit 128 is above the hard limit 64; expected ${expected}`],
    ['nofile=-1:64', `the soft limit -1 is above the hard limit 64; expected ${expected}`],
  ]) {
    assert.throws(() => parse(['--ulimit', bad!, 'sh']), { message: `invalid value "${bad}" for --ulimit: ${why}` }, bad);
  }
  // the body's Ulimits: read as the flag's text would be
  assert.deepEqual(runConfigFromBody({ Cmd: ['sh'], HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 20 }] } }, undefined, facts).isolation.ulimits, [{ name: 'nofile', soft: 10, hard: 20 }]);
  assert.throws(() => runConfigFromBody({ Cmd: ['sh'], HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 30, Hard: 20 }] } }, undefined, facts), {
    message: `invalid value "nofile=30:20" for --ulimit: the soft limit 30 is above the hard limit 20; expected ${expected}`,
  });
  assert.throws(() => runConfigFromBody({ Cmd: ['sh'], HostConfig: { Ulimits: { nofile: 1 } } }, undefined, facts), {
    message: 'invalid HostConfig.Ulimits: expected a list of {"Name", "Soft", "Hard"}',
  });
});

test('--oom-score-adj -1000 to 1000; --shm-size a size above 0 (0 the default)', () => {
  assert.equal(parse(['--oom-score-adj', '-1000', 'sh']).isolation.oomScoreAdj, -1000);
  assert.equal(parse(['--oom-score-adj', '1000', 'sh']).isolation.oomScoreAdj, 1000);
  for (const bad of ['1001', '-1001', 'high', '1.5']) {
    assert.throws(() => parse(['--oom-score-adj', bad, 'sh']), { message: `invalid value "${bad}" for --oom-score-adj: expected a whole number from -1000 to 1000` });
  }
  assert.equal(parse(['--shm-size', '128m', 'sh']).isolation.shmSize, 128 * MiB);
  assert.equal(parse(['--shm-size', '0', 'sh']).isolation.shmSize, undefined);
  assert.throws(
    () => parse(['--shm-size', 'big', 'sh']),
    (e: Error) => e instanceof InvalidArgumentError && e.flag === '--shm-size' && /expected .*above 0 \(the default is 64m\)/.test(e.message),
  );
  assert.throws(
    () => parse(['--shm-size', '-1', 'sh']),
    (e: Error) => e instanceof InvalidArgumentError && e.flag === '--shm-size',
  );
});

test("--tmpfs PATH[:OPTIONS]: Docker's default noexec,nosuid,nodev, later options winning; tmpfs's own size=, mode=…; anything else refused naming the flag", () => {
  const c = parse(['--tmpfs', '/run', '--tmpfs', '/scratch/:size=1m,mode=700,exec,ro,uid=1000', 'sh']);
  assert.deepEqual(c.isolation.tmpfs, [
    { target: '/run', flags: ['noexec', 'nosuid', 'nodev'], data: '' },
    { target: '/scratch', flags: ['nosuid', 'nodev', 'ro'], data: 'size=1m,mode=700,uid=1000' },
  ]);
  // Docker's HostConfig.Tmpfs as given
  assert.deepEqual(c.tmpfs, { '/run': '', '/scratch/': 'size=1m,mode=700,exec,ro,uid=1000' });
  assert.equal(parse(['sh']).tmpfs, undefined);
  assert.throws(() => parse(['--tmpfs', 'run', 'sh']), { message: `invalid value "run" for --tmpfs: the path must be absolute; expected ${EXPECT_TMPFS}` });
  assert.throws(() => parse(['--tmpfs', '/run:size=big', 'sh']), { message: 'invalid value "/run:size=big" for --tmpfs: bad value for the tmpfs option size: "big"' });
  assert.throws(() => parse(['--tmpfs', '/run:dev', 'sh']), { message: 'invalid value "/run:dev" for --tmpfs: dev is not allowed: every mount the workload can write to is nodev in corral' });
  assert.throws(
    () => parse(['--tmpfs', '/run:bind', 'sh']),
    (e: Error) => e instanceof InvalidArgumentError && e.message.startsWith('invalid value "/run:bind" for --tmpfs: "bind" is not a tmpfs mount option; expected ro, rw,'),
  );
});

test("--oom-kill-disable and --memory-swappiness (0 to 100, -1 the default) are memory limits; cgroup v2 discards the first with Docker's warning", async () => {
  const { discardedOnMode, OOM_KILL_DISABLE_DISCARDED } = await import('../../../../src/container/config/mode.js');
  const { runConfigFromBody } = await import('../../../../src/container/config/body.js');
  const { unsupportedNamingFlag } = await import('../../../../src/container/config/fields.js');
  const { UnsupportedError } = await import('../../../../src/errors.js');
  const c = parse(['-m', '32m', '--oom-kill-disable', '--memory-swappiness', '0', 'sh']);
  assert.deepEqual(c.resources.memory, { oomKillDisable: true, swappiness: 0, max: 32 * MiB, swapMax: 32 * MiB });
  assert.equal(parse(['--memory-swappiness', '-1', 'sh']).resources.memory, undefined);
  for (const bad of ['101', '-2', 'some']) {
    assert.throws(() => parse(['--memory-swappiness', bad, 'sh']), { message: `invalid value "${bad}" for --memory-swappiness: expected a whole number from 0 to 100, or -1 for the default` });
  }
  // the body: MemorySwappiness 0 is a value, -1 (what Docker's CLI may send for none) is not
  assert.equal(runConfigFromBody({ Cmd: ['sh'], HostConfig: { MemorySwappiness: 0 } }, undefined, facts).resources.memory?.swappiness, 0);
  assert.equal(runConfigFromBody({ Cmd: ['sh'], HostConfig: { MemorySwappiness: -1, OomKillDisable: false } }, undefined, facts).resources.memory, undefined);
  // v1 keeps both; v2 drops OomKillDisable with Docker's warning and keeps the rest
  assert.deepEqual(discardedOnMode(c, 'v1'), { config: c, warnings: [] });
  const v2 = discardedOnMode(c, 'v2');
  assert.deepEqual(v2.warnings, [OOM_KILL_DISABLE_DISCARDED]);
  assert.deepEqual(v2.config.resources.memory, { swappiness: 0, max: 32 * MiB, swapMax: 32 * MiB });
  assert.equal(discardedOnMode(parse(['--oom-kill-disable', 'sh']), 'v2').config.resources.memory, undefined);
  // v2's refusal of a swappiness names the flag (or the Docker field) before the file
  const refusal = new UnsupportedError('memory.swappiness is not supported on cgroup v2: it has no per-cgroup swappiness (the kernel-wide vm.swappiness applies)');
  assert.equal(
    (unsupportedNamingFlag(refusal) as Error).message,
    '--memory-swappiness (memory.swappiness) is not supported on cgroup v2: it has no per-cgroup swappiness (the kernel-wide vm.swappiness applies)',
  );
});

test("--init: the isolation asks for an init as PID 1; the body's HostConfig.Init the same", async () => {
  const { runConfigFromBody } = await import('../../../../src/container/config/body.js');
  assert.equal(parse(['--init', 'sh']).isolation.init, true);
  assert.equal(parse(['sh']).isolation.init, undefined);
  assert.equal(runConfigFromBody({ Cmd: ['sh'], HostConfig: { Init: true } }, undefined, facts).isolation.init, true);
  assert.equal(runConfigFromBody({ Cmd: ['sh'], HostConfig: { Init: null } }, undefined, facts).isolation.init, undefined);
});
