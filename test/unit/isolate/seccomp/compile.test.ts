import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAPABILITIES, DOCKER_DEFAULT_CAPS, maskOf } from '../../../../src/isolate/caps.js';
import { Assembler, formatProgram, parseProgram, type SockFilter } from '../../../../src/isolate/seccomp/bpf.js';
import { AUDIT_ARCH_X86_64, compileSeccomp, resolveProfile } from '../../../../src/isolate/seccomp/compile.js';
import { dockerDefaultProfile, parseKernelRelease, seccompFilter } from '../../../../src/isolate/seccomp/filter.js';
import { parseSeccompProfile, SeccompProfileError } from '../../../../src/isolate/seccomp/profile.js';
import { syscallNumber } from '../../../../src/isolate/seccomp/syscalls.js';
import { runFilter } from '../../../helpers/bpf-sim.js';

const KERNEL = { kernel: 6, major: 1 };
const DEFAULT_CAPS = maskOf(DOCKER_DEFAULT_CAPS);
const ALL_CAPS = maskOf(Object.keys(CAPABILITIES) as (keyof typeof CAPABILITIES)[]);
const AUDIT_ARCH_I386 = 0x40000003;

const ALLOW = 'allow';
const EPERM = 'EPERM';
const ENOSYS = 'ENOSYS';
const KILL_PROCESS = 'kill-process';

/** A decision as the tables below write it. */
function decision(ret: number): string {
  if (ret === 0x7fff0000) return ALLOW;
  if (ret === 0x80000000) return KILL_PROCESS;
  if (ret === 0) return 'kill-thread';
  if (ret === 0x00030000) return 'trap';
  if (ret === 0x7ffc0000) return 'log';
  if (ret >>> 16 === 0x7ff0) return `trace ${ret & 0xffff}`;
  if (ret >>> 16 === 0x0005) return ({ 1: EPERM, 38: ENOSYS } as Record<number, string>)[ret & 0xffff] ?? `errno ${ret & 0xffff}`;
  return `0x${ret.toString(16)}`;
}

function nr(name: string): number {
  const n = syscallNumber(name);
  assert.ok(n !== undefined, `no x86_64 number for ${name}`);
  return n;
}

function decide(program: readonly SockFilter[], name: string | number, args: bigint[] = [], arch = AUDIT_ARCH_X86_64): string {
  return decision(runFilter(program, { arch, nr: typeof name === 'number' ? name : nr(name), args }));
}

const dockerDefault = (caps: bigint, kernel = KERNEL) => compileSeccomp(dockerDefaultProfile(), { caps, kernel });

test("Docker's default profile, Docker's default capabilities: ordinary programs' syscalls allowed, the escapes refused", () => {
  const p = dockerDefault(DEFAULT_CAPS);
  const table: [string, bigint[], string][] = [
    ['read', [], ALLOW],
    ['write', [], ALLOW],
    ['openat', [], ALLOW],
    ['execve', [], ALLOW],
    ['mmap', [], ALLOW],
    ['futex', [], ALLOW],
    ['wait4', [], ALLOW],
    ['arch_prctl', [], ALLOW], // includes.arches amd64
    ['modify_ldt', [], ALLOW],
    ['chroot', [], ALLOW], // CAP_SYS_CHROOT is a default capability
    ['ptrace', [], ALLOW], // minKernel 4.8
    ['seccomp', [], ALLOW],
    ['unshare', [], EPERM], // CAP_SYS_ADMIN's
    ['setns', [], EPERM],
    ['mount', [], EPERM],
    ['umount2', [], EPERM],
    ['fsopen', [], EPERM],
    ['keyctl', [], EPERM], // in no rule at all
    ['add_key', [], EPERM],
    ['request_key', [], EPERM],
    ['perf_event_open', [], EPERM],
    ['io_uring_setup', [], EPERM],
    ['bpf', [], EPERM],
    ['kexec_load', [], EPERM],
    ['open_by_handle_at', [], EPERM], // CAP_DAC_READ_SEARCH's
    ['reboot', [], EPERM],
    ['init_module', [], EPERM],
    ['clock_settime', [], EPERM],
    ['userfaultfd', [], EPERM],
    ['clone3', [], ENOSYS], // so that glibc falls back to clone, whose flags are checked
    // clone: no namespace flags (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET = 0x7e020000)
    ['clone', [0x01200011n], ALLOW], // fork's flags
    ['clone', [0x003d0f00n], ALLOW], // pthread_create's
    ['clone', [0x10000000n], EPERM], // CLONE_NEWUSER
    ['clone', [0x00020000n | 0x11n], EPERM], // CLONE_NEWNS
    ['clone', [0x1_00000000n | 0x11n], ALLOW], // the mask's high half is 0
    // socket: every family but AF_ALG (38) and AF_VSOCK (40)
    ['socket', [1n], ALLOW],
    ['socket', [2n], ALLOW],
    ['socket', [16n], ALLOW], // AF_NETLINK
    ['socket', [37n], ALLOW],
    ['socket', [38n], EPERM],
    ['socket', [39n], ALLOW],
    ['socket', [40n], EPERM],
    ['socket', [41n], ALLOW],
    ['socket', [0x1_00000001n], ALLOW], // above 40 in 64 bits
    // personality: only the query and PER_LINUX, PER_LINUX32 and their UNAME26 forms
    ['personality', [0n], ALLOW],
    ['personality', [8n], ALLOW],
    ['personality', [0x20000n], ALLOW],
    ['personality', [0x20008n], ALLOW],
    ['personality', [0xffffffffn], ALLOW],
    ['personality', [0x0400000n], EPERM], // READ_IMPLIES_EXEC
    ['personality', [0x0040000n], EPERM], // ADDR_NO_RANDOMIZE
    ['personality', [0xffffffff_ffffffffn], EPERM],
  ];
  const got = table.map(([name, args]) => [name, args, decide(p, name, args)]);
  assert.deepEqual(got, table);
});

test('CAP_SYS_ADMIN includes its rules (mount, unshare, setns, clone with any flags, clone3) as Docker does', () => {
  const p = dockerDefault(DEFAULT_CAPS | maskOf(['CAP_SYS_ADMIN']));
  for (const name of [
    'mount',
    'umount2',
    'unshare',
    'setns',
    'fsopen',
    'fsmount',
    'move_mount',
    'open_tree',
    'sethostname',
    'setdomainname',
    'syslog',
    'quotactl',
    'bpf',
    'perf_event_open',
    'clone3',
  ]) {
    assert.equal(decide(p, name), ALLOW, name);
  }
  assert.equal(decide(p, 'clone', [0x10000000n]), ALLOW);
  for (const name of ['keyctl', 'add_key', 'io_uring_setup', 'reboot', 'kexec_load', 'init_module']) assert.equal(decide(p, name), EPERM, name);
});

test('each capability includes its own rules, and only those', () => {
  const table: [keyof typeof CAPABILITIES, string[]][] = [
    ['CAP_DAC_READ_SEARCH', ['open_by_handle_at']],
    ['CAP_SYS_BOOT', ['reboot']],
    ['CAP_SYS_MODULE', ['init_module', 'finit_module', 'delete_module']],
    ['CAP_SYS_PACCT', ['acct']],
    ['CAP_SYS_PTRACE', ['kcmp', 'pidfd_getfd', 'process_madvise']],
    ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
    ['CAP_SYS_TIME', ['settimeofday', 'clock_settime', 'clock_adjtime']],
    ['CAP_SYS_TTY_CONFIG', ['vhangup']],
    ['CAP_SYS_NICE', ['mbind', 'set_mempolicy', 'get_mempolicy']],
    ['CAP_SYSLOG', ['syslog']],
    ['CAP_BPF', ['bpf']],
    ['CAP_PERFMON', ['perf_event_open']],
  ];
  const base = dockerDefault(DEFAULT_CAPS);
  for (const [cap, names] of table) {
    const p = dockerDefault(DEFAULT_CAPS | maskOf([cap]));
    for (const name of names) {
      // clock_adjtime is allowed to all (it reads as well as sets); the others only with the capability
      if (name !== 'clock_adjtime') assert.equal(decide(base, name), EPERM, `${name} without ${cap}`);
      assert.equal(decide(p, name), ALLOW, `${name} with ${cap}`);
    }
    assert.equal(decide(p, 'mount'), EPERM, `mount with ${cap}`);
  }
});

test('without CAP_SYS_CHROOT chroot is refused; with no capabilities at all, ordinary syscalls still pass', () => {
  const p = dockerDefault(0n);
  assert.equal(decide(p, 'chroot'), EPERM);
  assert.equal(decide(p, 'read'), ALLOW);
  assert.equal(decide(p, 'clone', [0x11n]), ALLOW);
});

test("minKernel: ptrace and process_vm_* are allowed from 4.8 on, as Docker's profile says", () => {
  assert.equal(decide(dockerDefault(DEFAULT_CAPS, { kernel: 4, major: 7 }), 'ptrace'), EPERM);
  assert.equal(decide(dockerDefault(DEFAULT_CAPS, { kernel: 4, major: 8 }), 'process_vm_readv'), ALLOW);
  assert.equal(decide(dockerDefault(DEFAULT_CAPS, { kernel: 4, major: 7 }), 'process_vm_readv'), EPERM);
});

test("runc's -ENOSYS stub: syscalls newer than the profile's newest get ENOSYS, not EPERM, so programs fall back", () => {
  const p = dockerDefault(DEFAULT_CAPS);
  assert.equal(resolveProfile(dockerDefaultProfile(), { caps: DEFAULT_CAPS, kernel: KERNEL }).enosysAbove, nr('removexattrat'));
  assert.equal(decide(p, 'removexattrat'), ALLOW);
  assert.equal(decide(p, 'open_tree_attr'), ENOSYS); // 467, after the profile's newest
  assert.equal(decide(p, 1000), ENOSYS);
  assert.equal(decide(p, 0x3fffffff), ENOSYS);
  assert.equal(decide(p, 'io_uring_setup'), EPERM, 'an older syscall the profile does not allow is EPERM');
  // no stub when the default lets calls through, or is ENOSYS itself
  const allowAll = parseSeccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mount'], action: 'SCMP_ACT_ERRNO' }] })!;
  assert.equal(decide(compileSeccomp(allowAll, { caps: 0n, kernel: KERNEL }), 1000), ALLOW);
});

test('x32 syscalls and other architectures are refused by killing the process; -1 (a tracer skipping a call) gets the default', () => {
  const p = dockerDefault(DEFAULT_CAPS);
  assert.equal(decide(p, 0x40000000 + nr('read')), KILL_PROCESS);
  assert.equal(decide(p, 0x40000000 + 512), KILL_PROCESS); // x32's own rt_sigaction
  assert.equal(decide(p, 0xffffffff), EPERM);
  assert.equal(decide(p, 3, [], AUDIT_ARCH_I386), KILL_PROCESS); // i386's read
  assert.equal(decide(p, 0, [], 0xc00000b7), KILL_PROCESS); // aarch64
});

/** A profile of one syscall's rules over the default of EPERM. */
function oneSyscall(rules: unknown[]): SockFilter[] {
  return compileSeccomp(parseSeccompProfile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: rules })!, { caps: 0n, kernel: KERNEL });
}

test('the comparisons, on 64-bit arguments as two 32-bit halves', () => {
  const big = 0x1_00000005n;
  const table: [string, bigint, bigint[], string[]][] = [
    // op, value, arguments tried, decisions
    ['SCMP_CMP_EQ', 5n, [5n, 4n, big, 0n], [ALLOW, EPERM, EPERM, EPERM]],
    ['SCMP_CMP_EQ', big, [big, 5n, 0x2_00000005n], [ALLOW, EPERM, EPERM]],
    ['SCMP_CMP_NE', 5n, [5n, 4n, big], [EPERM, ALLOW, ALLOW]],
    ['SCMP_CMP_GT', big, [big, big + 1n, big - 1n, 0x2_00000000n, 6n], [EPERM, ALLOW, EPERM, ALLOW, EPERM]],
    ['SCMP_CMP_GE', big, [big, big + 1n, big - 1n, 0xffffffff_ffffffffn], [ALLOW, ALLOW, EPERM, ALLOW]],
    ['SCMP_CMP_LT', big, [big, big - 1n, 0n, 6n, big + 1n, 0x2_00000000n], [EPERM, ALLOW, ALLOW, ALLOW, EPERM, EPERM]],
    ['SCMP_CMP_LE', big, [big, big - 1n, big + 1n, 0x1_00000006n], [ALLOW, ALLOW, EPERM, EPERM]],
    ['SCMP_CMP_LT', 0n, [0n, 1n], [EPERM, EPERM]],
    ['SCMP_CMP_GE', 0n, [0n, 0xffffffff_ffffffffn], [ALLOW, ALLOW]],
    ['SCMP_CMP_GT', 0xffffffff_ffffffffn, [0xffffffff_ffffffffn], [EPERM]],
  ];
  for (const [op, value, tried, expected] of table) {
    const p = oneSyscall([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 2, value, op }] }]);
    assert.deepEqual(
      tried.map((arg) => decide(p, 'read', [0n, 0n, arg])),
      expected,
      `${op} ${value}`,
    );
  }
  // MASKED_EQ: (arg & value) == valueTwo, in both halves
  const masked = oneSyscall([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xff000000_000000f0n, valueTwo: 0x12000000_00000030n, op: 'SCMP_CMP_MASKED_EQ' }] }]);
  assert.deepEqual(
    [0x12000000_00000030n, 0x12ffffff_ffffff3fn, 0x13000000_00000030n, 0x12000000_00000040n].map((arg) => decide(masked, 'read', [arg])),
    [ALLOW, ALLOW, EPERM, EPERM],
  );
  // as libseccomp: the datum is masked too, so bits of it outside the mask do not matter
  const outside = oneSyscall([{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xf0, valueTwo: 0x3f, op: 'SCMP_CMP_MASKED_EQ' }] }]);
  assert.deepEqual(
    [0x30n, 0x3fn, 0x20n].map((arg) => decide(outside, 'read', [arg])),
    [ALLOW, ALLOW, EPERM],
  );
});

test("a rule's conditions on distinct arguments all hold together; one argument named twice makes separate rules, as runc does", () => {
  const and = oneSyscall([
    {
      names: ['read'],
      action: 'SCMP_ACT_ALLOW',
      args: [
        { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
        { index: 5, value: 2, op: 'SCMP_CMP_EQ' },
      ],
    },
  ]);
  assert.deepEqual(
    [[1n, 0n, 0n, 0n, 0n, 2n], [1n], [0n, 0n, 0n, 0n, 0n, 2n]].map((args) => decide(and, 'read', args)),
    [ALLOW, EPERM, EPERM],
  );
  const or = oneSyscall([
    {
      names: ['read'],
      action: 'SCMP_ACT_ALLOW',
      args: [
        { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
        { index: 0, value: 2, op: 'SCMP_CMP_EQ' },
      ],
    },
  ]);
  assert.deepEqual(
    [1n, 2n, 3n].map((arg) => decide(or, 'read', [arg])),
    [ALLOW, ALLOW, EPERM],
  );
});

test('actions: errnoRet, kill, trap, log, trace; the first rule with conditions that hold decides, then the rule without', () => {
  const p = oneSyscall([
    { names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
    { names: ['read'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 0, value: 1, op: 'SCMP_CMP_GE' }] },
    { names: ['read'], action: 'SCMP_ACT_ALLOW' },
    { names: ['write'], action: 'SCMP_ACT_KILL' },
    { names: ['getpid'], action: 'SCMP_ACT_TRAP' },
    { names: ['getppid'], action: 'SCMP_ACT_LOG' },
    { names: ['getuid'], action: 'SCMP_ACT_TRACE', errnoRet: 7 },
    { names: ['close'], action: 'SCMP_ACT_ERRNO' },
    { names: ['chown32', 'no_such_syscall'], action: 'SCMP_ACT_ALLOW' },
  ]);
  assert.deepEqual(
    [
      decide(p, 'read', [1n]),
      decide(p, 'read', [2n]),
      decide(p, 'read', [0n]),
      decide(p, 'write'),
      decide(p, 'getpid'),
      decide(p, 'getppid'),
      decide(p, 'getuid'),
      decide(p, 'close'),
      decide(p, 'open'),
    ],
    ['errno 22', KILL_PROCESS, ALLOW, 'kill-thread', 'trap', 'log', 'trace 7', EPERM, EPERM],
  );
});

test('includes and excludes: arches (amd64 is x86_64), caps (all of includes, any of excludes), minKernel', () => {
  const profile = parseSeccompProfile({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['x86', 'arm64'] } },
      { names: ['write'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['amd64'] } },
      { names: ['open'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] } },
      { names: ['close'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] } },
      { names: ['getpid'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '6.2' } },
      { names: ['getppid'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '6.1' } },
      // the default action: dropped, but its number is the newest named, so the others get no ENOSYS
      { names: ['listns'], action: 'SCMP_ACT_ERRNO' },
    ],
  })!;
  const decisions = (caps: (keyof typeof CAPABILITIES)[]) => {
    const p = compileSeccomp(profile, { caps: maskOf(caps), kernel: KERNEL });
    return ['read', 'write', 'open', 'close', 'getpid', 'getppid'].map((name) => decide(p, name));
  };
  assert.deepEqual(decisions([]), [EPERM, EPERM, EPERM, ALLOW, EPERM, EPERM]);
  assert.deepEqual(decisions(['CAP_SYS_ADMIN']), [EPERM, EPERM, EPERM, EPERM, EPERM, EPERM]);
  assert.deepEqual(decisions(['CAP_SYS_ADMIN', 'CAP_NET_ADMIN']), [EPERM, EPERM, ALLOW, EPERM, EPERM, EPERM]);
});

test('the default action alone: a profile without rules', () => {
  const p = compileSeccomp(parseSeccompProfile({ defaultAction: 'SCMP_ACT_KILL_PROCESS' })!, { caps: ALL_CAPS, kernel: KERNEL });
  assert.equal(decide(p, 'read'), KILL_PROCESS);
});

test('two rules without conditions for one syscall with different actions are refused, naming both', () => {
  const profile = parseSeccompProfile({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['write'], action: 'SCMP_ACT_KILL' },
    ],
  })!;
  assert.throws(
    () => compileSeccomp(profile, { caps: 0n, kernel: KERNEL }),
    (err: unknown) => err instanceof SeccompProfileError && err.message === 'syscalls[1]: write has a rule without conditions in syscalls[0] already, with another action',
  );
});

test('a profile that compiles to more than 4096 instructions is refused', () => {
  const rules = Array.from({ length: 500 }, (_, i) => ({
    names: ['read'],
    action: 'SCMP_ACT_ALLOW',
    args: [
      { index: 0, value: i, op: 'SCMP_CMP_EQ' },
      { index: 1, value: i, op: 'SCMP_CMP_EQ' },
    ],
  }));
  const profile = parseSeccompProfile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: rules })!;
  assert.throws(
    () => compileSeccomp(profile, { caps: 0n, kernel: KERNEL }),
    (err: unknown) => err instanceof SeccompProfileError && /^it compiles to more instructions than the kernel takes \(a filter has 1 to 4096 instructions, this one \d+\)$/.test(err.message),
  );
});

test('long jumps: a conditional jump further than 255 instructions goes through a ja', () => {
  const a = new Assembler();
  const far = a.label();
  const near = a.label();
  a.load(0);
  a.jump('jeq', 7, far, near);
  a.place(near);
  for (let i = 0; i < 300; i++) a.ret(i);
  a.place(far);
  a.ret(0x7fff0000);
  const program = a.assemble();
  assert.equal(program[1]!.code, 0x15);
  assert.equal(program[2]!.code, 0x05, 'the ja after the jeq');
  assert.equal(runFilter(program, { nr: 7, arch: 0 }), 0x7fff0000);
  assert.equal(runFilter(program, { nr: 8, arch: 0 }), 0);
  // both branches far
  const b = new Assembler();
  const [t, f] = [b.label(), b.label()];
  b.load(0);
  b.jump('jgt', 5, t, f);
  for (let i = 0; i < 300; i++) b.ret(1000 + i);
  b.place(t);
  b.ret(1);
  for (let i = 0; i < 300; i++) b.ret(2000 + i);
  b.place(f);
  b.ret(2);
  const q = b.assemble();
  assert.deepEqual([runFilter(q, { nr: 6, arch: 0 }), runFilter(q, { nr: 5, arch: 0 })], [1, 2]);
  assert.throws(() => {
    const c = new Assembler();
    c.goto(c.label());
    c.assemble();
  }, /is used but not placed/);
});

test('the launcher text of a program: 16 hex digits an instruction, and back', () => {
  const program = dockerDefault(DEFAULT_CAPS);
  const text = formatProgram(program);
  assert.equal(text.length, program.length * 16);
  assert.equal(text.slice(0, 32), '00200000000000040015000100000000'.slice(0, 16) + text.slice(16, 32));
  assert.equal(text.slice(0, 16), '0020000000000004', 'ld [4]: the architecture');
  assert.deepEqual(parseProgram(text), program);
  assert.equal(parseProgram(''), undefined);
  assert.equal(parseProgram('0020000000000004X'), undefined);
  assert.equal(parseProgram('00200000000000040'), undefined);
});

test('the program of the default profile stays well under the kernel limit, and is deterministic', () => {
  const a = dockerDefault(DEFAULT_CAPS);
  assert.ok(a.length < 1200, `${a.length} instructions`);
  assert.deepEqual(dockerDefault(DEFAULT_CAPS), a);
});

test('settings: builtin and none are the default profile; unconfined and {} are no filter; a custom profile is compiled', () => {
  const facts = { caps: DEFAULT_CAPS, kernel: KERNEL };
  assert.deepEqual(seccompFilter(undefined, facts), dockerDefault(DEFAULT_CAPS));
  assert.deepEqual(seccompFilter({ kind: 'builtin' }, facts), dockerDefault(DEFAULT_CAPS));
  assert.equal(seccompFilter({ kind: 'unconfined' }, facts), undefined);
  assert.equal(seccompFilter({ kind: 'custom', profile: '{}' }, facts), undefined);
  const custom = seccompFilter({ kind: 'custom', profile: '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}' }, facts)!;
  assert.deepEqual([decide(custom, 'mkdir'), decide(custom, 'mount')], ['errno 13', ALLOW]);
  assert.throws(() => seccompFilter({ kind: 'custom', profile: '{"defaultAction": 3}' }, facts), /^SeccompProfileError: defaultAction: unknown action 3/);
  // made once for the same setting, capabilities and kernel, and frozen, since it is shared
  const again = seccompFilter({ kind: 'builtin' }, facts)!;
  assert.equal(seccompFilter(undefined, facts), again);
  assert.notEqual(seccompFilter(undefined, { ...facts, caps: 0n }), again);
  assert.ok(Object.isFrozen(again) && Object.isFrozen(again[0]));
});

test('parseKernelRelease reads <kernel>.<major> as moby does', () => {
  assert.deepEqual(parseKernelRelease('6.1.0-18-amd64'), { kernel: 6, major: 1 });
  assert.deepEqual(parseKernelRelease('6.18.44-fc-v1300'), { kernel: 6, major: 18 });
  assert.deepEqual(parseKernelRelease('4.8'), { kernel: 4, major: 8 });
  assert.throws(() => parseKernelRelease('linux'), /does not start with <kernel>.<major>/);
});
