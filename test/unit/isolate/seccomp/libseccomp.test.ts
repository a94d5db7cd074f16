/**
 * corral's BPF against libseccomp's: the rules corral resolves from a profile, given to libseccomp
 * as runc gives them (seccomp_rule_add_array), must decide every syscall tried as corral's program
 * does: every x86_64 number, each rule's arguments around its values, other architectures and x32.
 * libseccomp2 is installed with runc and crun (.ci/run); without it this file fails, saying so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CAPABILITIES, DOCKER_DEFAULT_CAPS, maskOf } from '../../../../src/isolate/caps.js';
import type { SockFilter } from '../../../../src/isolate/seccomp/bpf.js';
import { AUDIT_ARCH_X86_64, compileResolved, resolveProfile, type ResolvedProfile } from '../../../../src/isolate/seccomp/compile.js';
import { dockerDefaultProfile } from '../../../../src/isolate/seccomp/filter.js';
import { parseSeccompProfile } from '../../../../src/isolate/seccomp/profile.js';
import { HEADER_SYSCALLS_X86_64 } from '../../../../src/isolate/seccomp/syscalls-x86-64.js';
import { NEWER_SYSCALLS_X86_64, syscallNumber } from '../../../../src/isolate/seccomp/syscalls.js';
import { runFilter, type SeccompData } from '../../../helpers/bpf-sim.js';
import { LIBSECCOMP, loadLibseccomp } from '../../../helpers/libseccomp.js';

if (!fs.existsSync(LIBSECCOMP)) throw new Error(`${LIBSECCOMP} is missing: install the Debian package libseccomp2 (runc and crun depend on it)`);
const lib = await loadLibseccomp();
const KERNEL = { kernel: 6, major: 1 };
const KILL_PROCESS = 0x80000000;

/** The syscalls to try: every number up to past the newest, each rule's arguments near its values, other ABIs. */
function vectors(resolved: ResolvedProfile): SeccompData[] {
  const out: SeccompData[] = [];
  for (let nr = 0; nr <= 560; nr++) out.push({ nr, arch: AUDIT_ARCH_X86_64 }, { nr, arch: AUDIT_ARCH_X86_64, args: Array(6).fill(0xffffffff_ffffffffn) });
  for (const rule of resolved.rules) {
    for (const arg of rule.args) {
      const near = new Set<bigint>([0n, 1n, 0xffffffffn, 0x1_00000000n, 0xffffffff_ffffffffn]);
      for (const v of [arg.value, arg.valueTwo, arg.value & arg.valueTwo, arg.value | arg.valueTwo, ~arg.value & 0xffffffff_ffffffffn]) {
        for (const d of [-1n, 0n, 1n, 0x1_00000000n, -0x1_00000000n]) {
          const x = v + d;
          if (x >= 0n && x <= 0xffffffff_ffffffffn) near.add(x);
        }
      }
      // the argument varied alone, the others 0 or set to their own rule's values
      const own = Array<bigint>(6).fill(0n);
      for (const a of rule.args) own[a.index] = a.op === 'SCMP_CMP_MASKED_EQ' ? a.valueTwo : a.value;
      for (const x of near) {
        for (const base of [Array<bigint>(6).fill(0n), own]) {
          const args = [...base];
          args[arg.index] = x;
          out.push({ nr: rule.nr, arch: AUDIT_ARCH_X86_64, args });
        }
      }
    }
  }
  for (const nr of [0, 1, 3, 11, 102, 120, 359, 0xffffffff]) out.push({ nr, arch: 0x40000003 }); // i386
  for (const nr of [0, 1, 59, 512, 520, 547]) out.push({ nr: 0x40000000 + nr, arch: AUDIT_ARCH_X86_64 }); // x32
  out.push({ nr: 0xffffffff, arch: AUDIT_ARCH_X86_64 }, { nr: 0, arch: 0xc00000b7 });
  return out;
}

/** Compare the two programs' decisions; above the -ENOSYS stub's limit libseccomp has no say (the stub is runc's). */
function compare(what: string, resolved: ResolvedProfile): number {
  const ours = compileResolved(resolved);
  const theirs: SockFilter[] = lib.program(
    resolved.defaultAction,
    KILL_PROCESS,
    resolved.rules.map((r) => ({ nr: r.nr, action: r.action, args: r.args })),
  );
  const differ: string[] = [];
  let tried = 0;
  for (const data of vectors(resolved)) {
    const native = data.arch === AUDIT_ARCH_X86_64 && data.nr < 0x40000000;
    if (native && resolved.enosysAbove !== undefined && data.nr > resolved.enosysAbove) continue;
    tried++;
    const [a, b] = [runFilter(ours, data), runFilter(theirs, data)];
    if (a !== b)
      differ.push(
        `${what}: nr ${data.nr} arch 0x${data.arch.toString(16)} args ${(data.args ?? []).map((x) => `0x${x.toString(16)}`).join(',')}: corral 0x${a.toString(16)}, libseccomp 0x${b.toString(16)}`,
      );
  }
  assert.deepEqual(differ.slice(0, 10), [], `${differ.length} of ${tried} decisions differ`);
  return tried;
}

test(`libseccomp ${lib.version} is the reference`, () => {
  assert.match(lib.version, /^2\.\d+\.\d+$/);
});

test("Docker's default profile: corral decides as libseccomp, with each set of capabilities", () => {
  const sets: [string, bigint][] = [
    ['no capabilities', 0n],
    ["Docker's default", maskOf(DOCKER_DEFAULT_CAPS)],
    ['+SYS_ADMIN', maskOf([...DOCKER_DEFAULT_CAPS, 'CAP_SYS_ADMIN'])],
    ['+SYS_PTRACE', maskOf([...DOCKER_DEFAULT_CAPS, 'CAP_SYS_PTRACE'])],
    ['all', maskOf(Object.keys(CAPABILITIES) as (keyof typeof CAPABILITIES)[])],
  ];
  for (const [what, caps] of sets) {
    const tried = compare(what, resolveProfile(dockerDefaultProfile(), { caps, kernel: KERNEL }));
    assert.ok(tried > 1000, `${what}: ${tried} decisions`);
  }
});

test('every comparison and action, with 64-bit values, as libseccomp decides them', () => {
  const arg = (index: number, op: string, value: bigint | number, valueTwo: bigint | number = 0) => ({ index, op, value: BigInt(value), valueTwo: BigInt(valueTwo) });
  const profile = parseSeccompProfile({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 13,
    syscalls: [
      { names: ['read'], action: 'SCMP_ACT_ALLOW', args: [arg(0, 'SCMP_CMP_EQ', 0x1_00000005n)] },
      { names: ['write'], action: 'SCMP_ACT_ALLOW', args: [arg(1, 'SCMP_CMP_NE', 7)] },
      { names: ['open'], action: 'SCMP_ACT_ALLOW', args: [arg(2, 'SCMP_CMP_GT', 0x2_00000000n)] },
      { names: ['close'], action: 'SCMP_ACT_ALLOW', args: [arg(3, 'SCMP_CMP_GE', 0xffffffffn)] },
      { names: ['stat'], action: 'SCMP_ACT_ALLOW', args: [arg(4, 'SCMP_CMP_LT', 0x1_00000000n)] },
      { names: ['fstat'], action: 'SCMP_ACT_ALLOW', args: [arg(5, 'SCMP_CMP_LE', 0xfffffffe_00000001n)] },
      { names: ['lstat'], action: 'SCMP_ACT_ALLOW', args: [arg(0, 'SCMP_CMP_MASKED_EQ', 0xff00ff00_ff00ff00n, 0x12003400_56007800n)] },
      // a datum with bits outside the mask: libseccomp masks it too
      { names: ['poll'], action: 'SCMP_ACT_ALLOW', args: [arg(0, 'SCMP_CMP_MASKED_EQ', 0xf0, 0x0f)] },
      { names: ['lseek'], action: 'SCMP_ACT_KILL_PROCESS', args: [arg(0, 'SCMP_CMP_EQ', 3), arg(2, 'SCMP_CMP_GT', 100)] },
      { names: ['mmap'], action: 'SCMP_ACT_TRAP', args: [arg(1, 'SCMP_CMP_EQ', 1), arg(1, 'SCMP_CMP_EQ', 2)] },
      { names: ['mprotect'], action: 'SCMP_ACT_ERRNO', errnoRet: 22 },
      { names: ['munmap'], action: 'SCMP_ACT_KILL' },
      { names: ['brk'], action: 'SCMP_ACT_LOG' },
      { names: ['rt_sigaction'], action: 'SCMP_ACT_TRACE', errnoRet: 9 },
      { names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [arg(1, 'SCMP_CMP_EQ', 0x5401), arg(0, 'SCMP_CMP_LE', 2)] },
      { names: ['pread64', 'pwrite64'], action: 'SCMP_ACT_ALLOW', args: [arg(3, 'SCMP_CMP_GE', 0)] },
    ],
  })!;
  compare('operators', resolveProfile(profile, { caps: 0n, kernel: KERNEL }));
});

test("the syscall table agrees with libseccomp's on every name libseccomp knows on x86_64", () => {
  const table = { ...HEADER_SYSCALLS_X86_64, ...NEWER_SYSCALLS_X86_64 };
  const differ = Object.entries(table).flatMap(([name, nr]) => {
    const theirs = lib.resolve(name);
    return theirs >= 0 && theirs !== nr ? [`${name}: corral ${nr}, libseccomp ${theirs}`] : [];
  });
  assert.deepEqual(differ, []);
  // and the names of Docker's profile that libseccomp resolves on x86_64 are corral's too
  const missing = dockerDefaultProfile()
    .syscalls.flatMap((r) => r.names)
    .filter((name) => lib.resolve(name) >= 0 && syscallNumber(name) === undefined);
  assert.deepEqual(missing, []);
});
