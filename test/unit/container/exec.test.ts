import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeExecFailure, execFailureCode, mergeEnvironment, planExec, type ExecRequest } from '../../../src/container/exec.js';
import { capabilityMask } from '../../../src/isolate/caps.js';
import { compileSeccomp } from '../../../src/isolate/seccomp/compile.js';
import { dockerDefaultProfile } from '../../../src/isolate/seccomp/filter.js';
import { encodeSpec, type Directive } from '../../../src/isolate/spec.js';
import type { IsolationOptions } from '../../../src/isolate/types.js';

const container: IsolationOptions = {
  rootfs: '/srv/busybox',
  hostname: 'box',
  env: ['PATH=/usr/bin:/bin', 'HOSTNAME=box', 'LANG=C'],
  workdir: '/srv',
  user: { uid: 1000, gid: 1000, additionalGids: [27] },
  volumes: [],
  readOnly: false,
  network: 'none',
  capAdd: ['NET_ADMIN'],
  capDrop: ['CHOWN'],
  command: ['sleep', '100'],
};
const target = { pid: 4242, startTime: '1082876' };
const KERNEL = { kernel: 6, major: 1 };
const v2 = { mode: 'v2' as const, dir: '/sys/fs/cgroup/corral/abc', procsFiles: ['/sys/fs/cgroup/corral/abc/cgroup.procs'] };
const v1 = { mode: 'v1' as const, procsFiles: ['/sys/fs/cgroup/pids/corral/abc/cgroup.procs', '/sys/fs/cgroup/memory/corral/abc/cgroup.procs'] };

function plan(request: Partial<ExecRequest>, cgroup: typeof v1 | typeof v2 = v2) {
  return planExec(container, { command: ['ps'], env: [], ...request }, target, cgroup, KERNEL);
}

function only<K extends Directive['kind']>(directives: Directive[], kind: K): Extract<Directive, { kind: K }>[] {
  return directives.filter((d): d is Extract<Directive, { kind: K }> => d.kind === kind);
}

test("mergeEnvironment is Docker's ReplaceOrAppendEnvValues", () => {
  const cases: [string[], string[], string[]][] = [
    [['A=1', 'B=2'], [], ['A=1', 'B=2']],
    [['A=1', 'B=2'], ['A=3'], ['A=3', 'B=2']], // replaced in place
    [['A=1'], ['C=x=y'], ['A=1', 'C=x=y']], // appended; only the first "=" splits
    [['A=1', 'B=2'], ['A'], ['B=2']], // a bare KEY removes it
    [['A=1'], ['Z'], ['A=1']], // removing what is not there changes nothing
    [['A=1'], ['A', 'A=4'], ['A=4']],
    [['A=1'], ['B='], ['A=1', 'B=']],
  ];
  for (const [base, overrides, expected] of cases) assert.deepEqual(mergeEnvironment(base, overrides), expected, `${base} + ${overrides}`);
});

test('planExec joins the container: no namespaces of its own, its cgroup, all seven namespaces, its pid and start time', () => {
  const { header } = plan({}, v2);
  assert.deepEqual(header, {
    version: 1,
    namespaces: [],
    cgroupDir: v2.dir,
    cgroupProcs: v2.procsFiles,
    join: { pid: 4242, startTime: '1082876', namespaces: ['user', 'ipc', 'uts', 'net', 'pid', 'mount', 'cgroup'] },
  });
  const onV1 = plan({}, v1).header;
  assert.equal(onV1.cgroupDir, undefined, 'v1: no clone3 into a cgroup directory');
  assert.deepEqual(onV1.cgroupProcs, v1.procsFiles);
});

test("planExec runs as the container's process would: its environment, workdir, user, capabilities, no_new_privs, seccomp filter", () => {
  const { directives } = plan({ command: ['sh', '-c', 'id'] });
  assert.deepEqual(
    directives.map((d) => d.kind),
    ['env', 'env', 'env', 'env', 'cwd', 'user', 'caps', 'no-new-privs', 'seccomp', 'exec'],
  );
  assert.deepEqual(
    only(directives, 'env').map((d) => d.entry),
    ['PATH=/usr/bin:/bin', 'HOSTNAME=box', 'LANG=C', 'HOME=/'],
  );
  assert.deepEqual(only(directives, 'cwd'), [{ kind: 'cwd', path: '/srv' }]);
  assert.deepEqual(only(directives, 'user'), [{ kind: 'user', uid: 1000, gid: 1000, additionalGids: [27] }]);
  assert.deepEqual(only(directives, 'caps'), [{ kind: 'caps', mask: capabilityMask(['NET_ADMIN'], ['CHOWN']) }]);
  // the container's filter, made for the container's capabilities, as Docker gives an exec its container's profile
  assert.deepEqual(only(directives, 'seccomp'), [{ kind: 'seccomp', program: compileSeccomp(dockerDefaultProfile(), { caps: capabilityMask(['NET_ADMIN'], ['CHOWN']), kernel: KERNEL }) }]);
  assert.deepEqual(directives.at(-1), { kind: 'exec', command: 'sh', argv: ['sh', '-c', 'id'] });
  const unconfined = planExec({ ...container, seccomp: { kind: 'unconfined' } }, { command: ['ps'], env: [] }, target, v2, KERNEL);
  assert.deepEqual(only(unconfined.directives, 'seccomp'), []);
});

test("planExec applies the exec's own env, workdir and user over the container's", () => {
  const { directives } = plan({ env: ['LANG=de_DE', 'HOSTNAME', 'FOO=bar'], workdir: '/tmp/../var/', user: '0' });
  assert.deepEqual(
    only(directives, 'env').map((d) => d.entry),
    ['PATH=/usr/bin:/bin', 'LANG=de_DE', 'FOO=bar', 'HOME=/root'],
  );
  assert.deepEqual(only(directives, 'cwd'), [{ kind: 'cwd', path: '/var' }]);
  // Docker takes a missing gid from /etc/passwd; corral reads none: 0, and no supplementary groups
  assert.deepEqual(only(directives, 'user'), [{ kind: 'user', uid: 0, gid: 0, additionalGids: [] }]);
  assert.deepEqual(only(plan({ user: '5:6' }).directives, 'user'), [{ kind: 'user', uid: 5, gid: 6, additionalGids: [] }]);
  assert.deepEqual(only(plan({ env: ['HOME=/h'] }).directives, 'env').at(-1), { kind: 'env', entry: 'HOME=/h' });
});

test('planExec refuses a request that cannot run, naming the flag', () => {
  const refused: [Partial<ExecRequest>, string][] = [
    [{ command: [] }, 'invalid value "" for COMMAND: a command to run is required'],
    [{ command: [''] }, 'invalid value "" for COMMAND: a command to run is required'],
    [{ workdir: 'tmp' }, 'invalid value "tmp" for --workdir: expected an absolute path inside the container'],
    [{ user: 'nobody' }, 'invalid value "nobody" for --user: user and group names are not supported; expected a numeric uid[:gid] from 0 to 4294967294, such as 1000 or 1000:1000'],
    [{ user: '1:2:3' }, 'invalid value "1:2:3" for --user: expected a numeric uid[:gid] from 0 to 4294967294, such as 1000 or 1000:1000'],
    [{ env: ['=x'] }, 'invalid value "=x" for --env: expected KEY=VALUE, or KEY to remove it (KEY not empty)'],
  ];
  for (const [request, message] of refused) assert.throws(() => plan(request), { code: 'EINVALIDARG', message }, message);
});

test("exit codes and messages for an exec that could not start follow Docker's", () => {
  const error = (step: string, errnoName: string, detail = '') => ({ kind: 'error' as const, step, errno: 0, errnoName, detail });
  const cases: [ReturnType<typeof error>, number, string][] = [
    [error('exec', 'ENOENT', 'nope'), 127, 'exec "nope": executable file not found in $PATH'],
    [error('exec', 'EACCES', '/etc/passwd'), 126, 'exec "nope": cannot execute (EACCES)'],
    [error('cwd', 'ENOENT', '/missing'), 127, 'chdir to cwd "/missing": ENOENT'],
    [error('join', 'ESRCH', '/proc/7 started at 1, not at 2'), 126, 'the container is not running any more'],
    [error('join', 'ENOENT', 'open /proc/7'), 126, 'the container is not running any more'],
    [error('clone', 'ENOMEM', 'clone'), 126, 'exec setup failed at clone clone: ENOMEM'],
    [error('user', 'EPERM', 'setresuid 5'), 126, 'exec setup failed at user setresuid 5: EPERM'],
  ];
  for (const [e, code, message] of cases) {
    assert.equal(execFailureCode(e), code, `${e.step} ${e.errnoName}`);
    assert.equal(describeExecFailure(e, 'nope'), message);
  }
});

test("planExec gives the exec its container's --ulimit and --oom-score-adj (moby copies the container's process spec), before the user and capabilities", () => {
  const limited = planExec({ ...container, ulimits: [{ name: 'nofile', soft: 64, hard: 128 }], oomScoreAdj: 300 }, { command: ['sh'], env: [] }, target, v2, KERNEL);
  const kinds = limited.directives.map((d) => d.kind);
  assert.deepEqual(kinds.slice(kinds.indexOf('cwd'), kinds.indexOf('caps')), ['cwd', 'rlimit', 'oom-score-adj', 'user']);
  assert.deepEqual(only(limited.directives, 'rlimit'), [{ kind: 'rlimit', name: 'nofile', soft: 64, hard: 128 }]);
  assert.deepEqual(only(limited.directives, 'oom-score-adj'), [{ kind: 'oom-score-adj', value: 300 }]);
  // the spec the launcher reads: join's body may hold them
  assert.match(encodeSpec(limited.header, limited.directives), /\nrlimit\tnofile\t64\t128\noom-score-adj\t300\nuser\t/);
});
