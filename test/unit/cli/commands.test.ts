import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../../src/errors.js';
import { parseCommand, UsageError, HelpRequested } from '../../../src/cli/commands/parse.js';
import { psCommand } from '../../../src/cli/commands/ps.js';
import { logsCommand } from '../../../src/cli/commands/logs.js';
import { actionCommand, CONTAINER_ACTIONS } from '../../../src/cli/commands/actions.js';
import { filtersQuery, parseSeconds, parseSignalName, parseTail, parseTimeFlag } from '../../../src/cli/commands/values.js';
import { updateBody, updateCommand } from '../../../src/cli/commands/update.js';
import { parseTopArgs, renderTop } from '../../../src/cli/commands/top.js';
import { renameCommand } from '../../../src/cli/commands/rename.js';
import { startFailureExitCode } from '../../../src/cli/commands/run.js';
import { createRequestFromRun } from '../../../src/cli/create-body.js';
import { parseRunCommandLine, resourcesFrom, type HostFacts } from '../../../src/container/config/run-flags.js';
import { inputFromBody, obj, runConfigFromBody } from '../../../src/container/config/body.js';
import { FIELD_LIST, type FieldName, hostConfigName, inputFromOptions, type RawRunOptions, UPDATE_FLAGS } from '../../../src/container/config/fields.js';
import { mergeUpdate, splitListFields } from '../../../src/container/config/update.js';
import { UPDATE_BODY_SCHEMA } from '../../../src/api/update.js';
import { CREATE_BODY_SCHEMA } from '../../../src/api/containers.js';
import { checkFields } from '../../../src/api/validate.js';

const usage = (fn: () => unknown, message: RegExp) => assert.throws(fn, (e: Error) => e instanceof UsageError && message.test(e.message), String(message));
const invalid = (fn: () => unknown, flag: string, message?: RegExp) =>
  assert.throws(fn, (e: Error) => e instanceof InvalidArgumentError && e.flag === flag && (message === undefined || message.test(e.message)), flag);

test('command lines: an unknown flag, a flag without its value and a missing container are usage errors naming them', () => {
  usage(() => parseCommand(psCommand(), ['--bogus']), /^unknown flag --bogus for corral ps/);
  usage(() => parseCommand(psCommand(), ['--al']), /did you mean --all\?/);
  usage(() => parseCommand(logsCommand(), ['web', '--tail']), /^flag --tail needs a value/);
  usage(() => parseCommand(logsCommand(), []), /^missing CONTAINER: usage: corral logs \[OPTIONS\] CONTAINER/);
  usage(() => parseCommand(logsCommand(), ['a', 'b']), /^too many arguments: usage: corral logs/);
  usage(() => parseCommand(actionCommand('stop'), ['-t', '3']), /^missing CONTAINER \(at least one\)/);
  usage(() => parseCommand(actionCommand('pause'), []), /^missing CONTAINER \(at least one\)/);
  usage(() => parseCommand(actionCommand('unpause'), ['-t', '3', 'web']), /^unknown flag -t for corral unpause/);
  assert.deepEqual(parseCommand(actionCommand('pause'), ['web', 'db']).args, ['web', 'db']);
  assert.throws(
    () => parseCommand(actionCommand('pause'), ['--help']),
    (e: Error) => e instanceof HelpRequested && /Usage: corral pause CONTAINER \[CONTAINER\.\.\.\]/.test(e.text),
  );
  assert.throws(
    () => parseCommand(psCommand(), ['--help']),
    (e: Error) => e instanceof HelpRequested && /Usage: corral ps/.test(e.text),
  );
  const { opts, args } = parseCommand<{ all?: boolean; trunc: boolean; filter?: string[] }>(psCommand(), ['-a', '--no-trunc', '-f', 'name=a', '--filter', 'status=exited']);
  assert.deepEqual([opts.all, opts.trunc, opts.filter, args], [true, false, ['name=a', 'status=exited'], []]);
});

test("per-container requests: Docker's paths and query parameters; bad flag values name the flag", () => {
  assert.deepEqual(CONTAINER_ACTIONS.stop!.request('web', { time: '3' }), { method: 'POST', path: '/containers/web/stop?t=3' });
  assert.deepEqual(CONTAINER_ACTIONS.restart!.request('a/b', {}), { method: 'POST', path: '/containers/a%2Fb/restart' });
  assert.deepEqual(CONTAINER_ACTIONS.kill!.request('web', { signal: 'HUP' }), { method: 'POST', path: '/containers/web/kill?signal=HUP' });
  assert.deepEqual(CONTAINER_ACTIONS.rm!.request('web', { force: true }), { method: 'DELETE', path: '/containers/web?force=1' });
  assert.deepEqual(CONTAINER_ACTIONS.pause!.request('web', {}), { method: 'POST', path: '/containers/web/pause' });
  assert.deepEqual(CONTAINER_ACTIONS.unpause!.request('a/b', {}), { method: 'POST', path: '/containers/a%2Fb/unpause' });
  assert.equal(CONTAINER_ACTIONS.pause!.print, undefined, 'the container as given, as docker pause prints it');
  assert.equal(CONTAINER_ACTIONS.wait!.print!({ StatusCode: 3, Error: null }), '3');
  invalid(() => CONTAINER_ACTIONS.stop!.request('web', { time: 'soon' }), '--time', /whole seconds/);
  invalid(() => CONTAINER_ACTIONS.kill!.request('web', { signal: 'SIGNOPE' }), '--signal', /a signal name such as TERM/);
});

test('flag values: seconds, signals, --tail, --filter and times, each error naming the flag', () => {
  assert.equal(parseSeconds('--time', '-1'), -1);
  invalid(() => parseSeconds('--time', '-2'), '--time');
  assert.equal(parseSignalName('--signal', 'sigterm'), 'sigterm');
  assert.equal(parseSignalName('--signal', '9'), '9');
  assert.equal(parseTail('--tail', 'all'), 'all');
  assert.equal(parseTail('--tail', '007'), '7');
  invalid(() => parseTail('--tail', '-3'), '--tail', /a number of lines \(0 or more\) or all/);
  assert.equal(filtersQuery('--filter', ['event=die', 'event=start', 'container=web']), '{"event":["die","start"],"container":["web"]}');
  assert.equal(filtersQuery('--filter', []), undefined);
  invalid(() => filtersQuery('--filter', ['die']), '--filter', /KEY=VALUE/);
  const now = new Date('2026-11-23T10:00:00Z');
  assert.equal(parseTimeFlag('--since', '10m', now), String((now.getTime() - 600_000) / 1000) + '.000000000');
  assert.equal(parseTimeFlag('--since', '2026-11-23T09:00:00Z', now), '1795424400.000');
  invalid(() => parseTimeFlag('--until', 'yesterday', now), '--until');
});

test("update: Docker's UpdateConfig fields for the flags given, units as run reads them; --restart policies", () => {
  assert.deepEqual(updateBody({ memory: '64m', memorySwap: '-1', cpus: '1.5', pidsLimit: '-1', cpusetCpus: '0-1', restart: 'on-failure:3' }), {
    Memory: 64 * 1024 * 1024,
    MemorySwap: -1,
    NanoCpus: 1_500_000_000,
    CpusetCpus: '0-1',
    PidsLimit: -1,
    RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
  });
  assert.deepEqual(updateBody({}), {});
  assert.deepEqual(updateBody({ restart: 'unless-stopped' }), { RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 } });
  invalid(() => updateBody({ memory: '12x' }), '--memory', /unknown unit "x"/);
  invalid(() => updateBody({ cpus: 'two' }), '--cpus');
  invalid(() => updateBody({ cpuShares: '1.5' }), '--cpu-shares');
  invalid(() => updateBody({ cpusetMems: 'all' }), '--cpuset-mems');
  invalid(() => updateBody({ restart: 'sometimes' }), '--restart', /unknown policy "sometimes"/);
  invalid(() => updateBody({ restart: 'always:3' }), '--restart', /only be used with 'on-failure'/);
});

test('a start the daemon refused: 127 not found, 126 not executable, 125 anything else, as the stand-alone run', () => {
  assert.equal(startFailureExitCode('exec "nope": executable file not found in $PATH'), 127);
  assert.equal(startFailureExitCode('exec "/etc/passwd": cannot execute (EACCES)'), 126);
  assert.equal(startFailureExitCode('container setup failed at mount /x: ENOENT'), 125);
});

const facts: HostFacts = {
  onlineCpus: 2,
  effectiveCpus: [0, 1],
  effectiveMems: [0],
  deviceNumber: (p) => (p === '/dev/sda' ? { major: 8, minor: 0 } : undefined),
  pathKind: (p) => (p === '/srv/rootfs' || p === '/srv/data' ? 'dir' : undefined),
  getEnv: (name) => (name === 'HOME' ? '/root' : undefined),
};

test('run through the daemon: the create body the daemon turns back into the same container', () => {
  const argvs = [
    ['-d', '--rm', '--name', 'web', '--rootfs', '/srv/rootfs', 'sh', '-c', 'echo hi'],
    ['-m', '64m', '--memory-swap', '128m', '--memory-reservation', '32m', '--cpus', '0.5', '--cpu-shares', '512', '--pids-limit', '20', 'true'],
    ['--cpu-period', '50000', '--cpu-quota', '25000', '--cpuset-cpus', '1', '--cpuset-mems', '0', '--blkio-weight', '300', 'true'],
    ['--device-read-bps', '/dev/sda:1m', '--device-write-iops', '/dev/sda:50', 'true'],
    ['-e', 'A=1', '-e', 'HOME', '-e', 'UNSET', '-w', '/tmp', '-u', '1000:100', '-h', 'box', '-v', '/srv/data:/data:ro', '--read-only', 'env'],
    ['--network', 'host', '--cap-add', 'net_raw', '--cap-drop', 'ALL', '--cgroup-parent', 'batch/jobs', '--memory-swap', '-1', 'true'],
    ['-d', '--restart', 'on-failure:3', 'true'],
    ['--restart', 'unless-stopped', 'true'],
  ];
  for (const argv of argvs) {
    const { config, options, detach } = parseRunCommandLine(argv, facts);
    const { name, body } = createRequestFromRun(options, config, detach);
    assert.deepEqual(runConfigFromBody(body, name, facts), config, argv.join(' '));
  }
  const d = parseRunCommandLine(['-d', '--rm', 'true'], facts);
  assert.equal(d.detach, true);
  assert.equal((createRequestFromRun(d.options, d.config, d.detach).body.HostConfig as Record<string, unknown>).AutoRemove, true);
  const attached = parseRunCommandLine(['--rm', 'true'], facts);
  const body = createRequestFromRun(attached.options, attached.config, false).body;
  // attached, the client removes the container once it has the exit code
  assert.equal((body.HostConfig as Record<string, unknown>).AutoRemove, false);
  assert.equal(body.AttachStdout, true);
  assert.deepEqual(body.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
});

// --- every field of the registry reaches the bodies the CLI sends ------------------------------

/** A valid value of each field's flag (no value for a boolean); a field added to the registry needs one here. */
const SAMPLES: Partial<Record<FieldName, string | true>> = {
  name: 'web',
  rm: true,
  interactive: true,
  tty: true,
  detach: true,
  rootfs: '/srv/rootfs',
  hostname: 'box',
  env: 'A=1',
  workdir: '/tmp',
  user: '1000:100',
  memory: '96m',
  memorySwap: '192m',
  memoryReservation: '48m',
  cpus: '1.5',
  cpuPeriod: '50000',
  cpuQuota: '25000',
  cpuShares: '512',
  cpusetCpus: '0-1',
  cpusetMems: '0',
  pidsLimit: '50',
  blkioWeight: '300',
  restart: 'on-failure:3',
  logOpt: 'max-size=10m',
  deviceReadBps: '/dev/sda:1m',
  deviceWriteBps: '/dev/sda:2m',
  deviceReadIops: '/dev/sda:50',
  deviceWriteIops: '/dev/sda:60',
  volume: '/srv/data:/data:ro',
  readOnly: true,
  network: 'host',
  capAdd: 'NET_RAW',
  capDrop: 'ALL',
  securityOpt: 'seccomp=unconfined',
  cgroupParent: 'batch',
  labels: 'team=web',
  entrypoint: '/bin/echo',
  stopSignal: 'SIGUSR1',
  stopTimeout: '0',
  ulimits: 'nofile=64:128',
  oomScoreAdj: '500',
  shmSize: '128m',
  tmpfs: '/run:size=1m,exec',
  oomKillDisable: true,
  memorySwappiness: '60',
  init: true,
};

const sorted = (xs: readonly string[]) => [...xs].sort();

/** The command-line words that give a field its sample value. */
function sampleArgs(name: FieldName, flag: string): string[] {
  const sample = SAMPLES[name];
  assert.ok(sample !== undefined, `${name}: give the field a sample value in SAMPLES`);
  return sample === true ? [flag] : [flag, sample];
}

test('update: every updatable field round-trips flag -> update body -> merged HostConfig, read back as the flag gave it', () => {
  const updatable = FIELD_LIST.filter((f) => f.updatable);
  assert.deepEqual(sorted(UPDATE_FLAGS.map((f) => f.name)), sorted([...updatable.map((f) => f.name), 'restart']));
  const stored = { Memory: 128 * 1024 * 1024, Binds: ['/srv/data:/data'] };
  for (const f of updatable) {
    const key = hostConfigName(f.path!);
    // corral update has the flag, and writes the field of Docker's UpdateConfig
    const { opts, args } = parseCommand<RawRunOptions>(updateCommand(), [...sampleArgs(f.name, f.flag), 'web']);
    assert.deepEqual(args, ['web'], f.flag);
    const body = updateBody(opts);
    assert.deepEqual(Object.keys(body), [key], f.flag);
    // the daemon's route accepts it and the merge changes it
    const merged = mergeUpdate(stored, checkFields(splitListFields(body), UPDATE_BODY_SCHEMA, 'the update body'));
    assert.deepEqual(merged.changed, [key], f.flag);
    assert.deepEqual(merged.hostConfig.Binds, stored.Binds);
    // the merged HostConfig reads back as the flag's own value, and passes run's rules
    const input = inputFromBody({ HostConfig: merged.hostConfig }, undefined);
    const fromFlag = inputFromOptions({ [f.option!]: SAMPLES[f.name] } as RawRunOptions);
    const written = (i: typeof input) => f.parse!.body((i as Record<string, unknown>)[f.name], f);
    assert.deepEqual(written(input), written(fromFlag), f.flag);
    assert.doesNotThrow(() => resourcesFrom(input, facts), f.flag);
  }
  // --restart: UpdateConfig's RestartPolicy, beside the Resources
  const { opts } = parseCommand<RawRunOptions>(updateCommand(), ['--restart', 'on-failure:3', 'web']);
  const merged = mergeUpdate(stored, checkFields(splitListFields(updateBody(opts)), UPDATE_BODY_SCHEMA, 'the update body'));
  assert.deepEqual(merged.changed, ['RestartPolicy']);
  assert.deepEqual(merged.restartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
});

test("update: UPDATE_BODY_SCHEMA is Docker's UpdateConfig, as corral had written it out", () => {
  assert.deepEqual(
    Object.entries(UPDATE_BODY_SCHEMA).sort(([a], [b]) => (a < b ? -1 : 1)),
    Object.entries({
      CpuShares: 'integer',
      Memory: 'integer',
      CgroupParent: 'string',
      BlkioWeight: 'integer',
      BlkioWeightDevice: 'object',
      BlkioDeviceReadBps: 'object',
      BlkioDeviceWriteBps: 'object',
      BlkioDeviceReadIOps: 'object',
      BlkioDeviceWriteIOps: 'object',
      CpuPeriod: 'integer',
      CpuQuota: 'integer',
      CpuRealtimePeriod: 'integer',
      CpuRealtimeRuntime: 'integer',
      CpusetCpus: 'string',
      CpusetMems: 'string',
      Devices: 'object',
      DeviceCgroupRules: 'string[]',
      DeviceRequests: 'object',
      KernelMemory: 'integer',
      KernelMemoryTCP: 'integer',
      MemoryReservation: 'integer',
      MemorySwap: 'integer',
      MemorySwappiness: 'integer',
      NanoCpus: 'integer',
      OomKillDisable: 'boolean',
      Init: 'boolean',
      PidsLimit: 'integer',
      Ulimits: 'object',
      CpuCount: 'integer',
      CpuPercent: 'integer',
      IOMaximumIOps: 'integer',
      IOMaximumBandwidth: 'integer',
      RestartPolicy: 'object',
    }).sort(([a], [b]) => (a < b ? -1 : 1)),
  );
});

test('create: every flag of corral run writes a body field the API accepts and reads back into the same container', () => {
  for (const f of FIELD_LIST) {
    if (f.flags === undefined || f.path === undefined) continue;
    // beside a memory limit, which --memory-swap needs
    const argv = ['--memory', '128m', ...sampleArgs(f.name, f.flag), 'true'];
    const { config, options } = parseRunCommandLine(argv, facts);
    // detached, so that --rm is the daemon's AutoRemove
    const { name, body } = createRequestFromRun(options, config, true);
    const [top = '', sub] = f.path.split('.');
    if (f.path === 'name') assert.equal(name, SAMPLES.name);
    else {
      assert.ok(top in CREATE_BODY_SCHEMA, `${f.flag}: ${top} is a field of the create body`);
      assert.notEqual(sub === undefined ? body[top] : obj(body[top])[sub], undefined, `${f.flag} writes ${f.path}`);
    }
    const checked = checkFields(body, CREATE_BODY_SCHEMA);
    assert.notEqual((inputFromBody(checked, name) as Record<string, unknown>)[f.name], undefined, `${f.path} is read back as ${f.flag}`);
    assert.deepEqual(runConfigFromBody(checked, name, facts), config, argv.join(' '));
  }
});

test("top: the container first, everything after it ps's options joined as docker/cli joins them; only --help is corral's", () => {
  assert.deepEqual(parseTopArgs(['web']), { container: 'web', psArgs: undefined });
  assert.deepEqual(parseTopArgs(['web', '-o', 'pid,comm', '-L']), { container: 'web', psArgs: '-o pid,comm -L' });
  assert.deepEqual(parseTopArgs(['web', 'aux']), { container: 'web', psArgs: 'aux' });
  assert.deepEqual(parseTopArgs(['--', '-odd-name']), { container: '-odd-name', psArgs: undefined });
  usage(() => parseTopArgs([]), /^missing CONTAINER: usage: corral top CONTAINER \[ps OPTIONS\]$/);
  usage(() => parseTopArgs(['-ef', 'web']), /^unknown flag -ef for corral top \(the container comes first/);
  assert.throws(
    () => parseTopArgs(['--help']),
    (e: Error) => e instanceof HelpRequested && /Usage: corral top CONTAINER \[ps OPTIONS\]/.test(e.text),
  );
});

test("top's table is docker top's: Go's tabwriter with minwidth 20 and padding 3, the last cell unpadded", () => {
  // the captured Docker answer (test fixture v1.41-containers-id-top.json)
  const answer = { Processes: [['root', '2551', '2529', '0', '12:06', '?', '00:00:00', 'sleep 3600']], Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'] };
  const pad = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(20))).join('');
  assert.equal(renderTop(answer), `${pad(answer.Titles)}\n${pad(answer.Processes[0]!)}\n`);
  // a cell longer than 17 characters widens its column to its length + 3
  const wide = renderTop({ Processes: [['averyveryverylonguser', '1', 'x']], Titles: ['USER', 'PID', 'CMD'] });
  assert.equal(wide, `USER${' '.repeat(20)}PID                 CMD\naveryveryverylonguser   1                   x\n`);
  assert.equal(renderTop({ Processes: null, Titles: ['PID', 'CMD'] }), 'PID                 CMD\n');
});

test('rename: CONTAINER and NEW_NAME, both required', () => {
  assert.deepEqual(parseCommand(renameCommand(), ['old', 'new']).args, ['old', 'new']);
  usage(() => parseCommand(renameCommand(), ['old']), /^missing NAME: usage: corral rename CONTAINER NEW_NAME/);
  usage(() => parseCommand(renameCommand(), ['a', 'b', 'c']), /^too many arguments: usage: corral rename/);
});

test('corral top: alone or with flags the dashboard; with a container first, docker top (ps options after it)', async () => {
  const { namesContainer } = await import('../../../src/cli/main.js');
  assert.equal(namesContainer([]), false);
  assert.equal(namesContainer(['--batch', '-n', '2']), false);
  assert.equal(namesContainer(['--help']), false);
  assert.equal(namesContainer(['web']), true);
  assert.equal(namesContainer(['web', '-o', 'pid,comm']), true);
  assert.equal(namesContainer(['--', '-odd-name']), true);
});

test('create: HostConfig.SecurityOpt as Docker sends it, a profile as its JSON, read into the same seccomp setting; a bad one is a 400 naming the field', async () => {
  const { fieldError } = await import('../../../src/daemon/create.js');
  const profile = '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}';
  const body = (securityOpt: unknown) => ({ Cmd: ['true'], HostConfig: { SecurityOpt: securityOpt } });
  const config = runConfigFromBody(body([`seccomp=${profile}`, 'no-new-privileges']), undefined, facts);
  assert.deepEqual(config.isolation.seccomp, { kind: 'custom', profile });
  assert.deepEqual(config.securityOpt, [`seccomp=${profile}`, 'no-new-privileges']);
  assert.deepEqual(runConfigFromBody(body(['seccomp=unconfined']), undefined, facts).isolation.seccomp, { kind: 'unconfined' });
  assert.equal(runConfigFromBody(body(null), undefined, facts).isolation.seccomp, undefined);
  // a file name is the client's to read: the body carries the JSON
  const refused: [unknown, string][] = [
    [
      ['seccomp=/etc/p.json'],
      'HostConfig.SecurityOpt: invalid value "seccomp=/etc/p.json" for --security-opt: expected unconfined, builtin or a seccomp profile\'s JSON (corral run reads PROFILE.json and sends its content, as docker run does)',
    ],
    [
      ['seccomp={"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOWED"}]}'],
      'HostConfig.SecurityOpt: invalid value "seccomp={"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read..." for --security-opt: the seccomp profile: syscalls[0].action: unknown action "SCMP_ACT_ALLOWED"; expected one of SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG',
    ],
  ];
  for (const [securityOpt, message] of refused) {
    assert.throws(
      () => {
        try {
          runConfigFromBody(body(securityOpt), undefined, facts);
        } catch (err) {
          throw fieldError(err);
        }
      },
      { message },
    );
  }
});
