/**
 * A seccomp profile (profile.ts) compiled to the classic BPF program the launcher loads, for x86_64,
 * with the decisions Docker's stack makes: moby's profile expansion (rules included or excluded by
 * the container's capabilities, the architecture and the kernel version), runc's reading of the rules
 * (names it cannot resolve ignored, rules with the default action dropped, conditions on one argument
 * given twice split into separate rules) and its -ENOSYS stub (syscalls newer than any the profile
 * names fail with ENOSYS, so that programs fall back to older ones), and libseccomp's filter (the
 * architecture check, x32 refused, 64-bit argument comparisons on two 32-bit halves). Pure.
 *
 * The program:
 *
 *   ld arch; not x86_64 -> kill the process
 *   ld nr;   x32 (nr >= 0x40000000, but -1 which tracers use to skip a call) -> kill the process
 *   nr > the newest syscall the profile names -> ERRNO(ENOSYS)
 *   a binary search over the syscalls with rules -> each one's block: its rules with conditions in
 *   the profile's order (the first whose conditions all hold decides), then its rule without (or the
 *   default action)
 *   anything else -> the default action
 */
import { namesOf } from '../caps.js';
import {
  Assembler,
  type Label,
  SECCOMP_DATA_ARCH,
  SECCOMP_DATA_NR,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  type SockFilter,
  seccompArgHigh,
  seccompArgLow,
} from './bpf.js';
import { type KernelVersion, type SeccompAction, type SeccompArg, type SeccompFilter, type SeccompProfile, SeccompProfileError } from './profile.js';
import { syscallNumber } from './syscalls.js';

/** What decides which of a profile's rules apply to a container. */
export interface SeccompFacts {
  /** the container's capability set (its bounding set), bit N = capability N */
  caps: bigint;
  /** the host's kernel (rules with `minKernel`) */
  kernel: KernelVersion;
}

/** AUDIT_ARCH_X86_64 (linux/audit.h: EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE). */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** x32 syscalls have this bit set in their number (__X32_SYSCALL_BIT). */
export const X32_SYSCALL_BIT = 0x40000000;
/** The name profiles' `includes.arches` and `excludes.arches` give x86_64 (moby's goToNative). */
export const NATIVE_ARCH = 'amd64';

const ENOSYS = 38;

/** The SECCOMP_RET_* value of an action. */
export function actionValue(action: SeccompAction): number {
  const data = (action.data ?? 0) & SECCOMP_RET_DATA;
  switch (action.name) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET_KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET_TRAP;
    case 'SCMP_ACT_ERRNO':
      return (SECCOMP_RET_ERRNO | data) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET_TRACE | data) >>> 0;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET_LOG;
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET_ALLOW;
  }
}

/** One syscall's rule as the filter applies it: all `args` must hold. */
export interface ResolvedRule {
  name: string;
  nr: number;
  /** SECCOMP_RET_* */
  action: number;
  args: SeccompArg[];
}

/** A profile applied to one container on x86_64: what compileRules turns into BPF. */
export interface ResolvedProfile {
  /** SECCOMP_RET_* of the default action */
  defaultAction: number;
  /** the rules in the profile's order, each for one syscall */
  rules: ResolvedRule[];
  /** runc's -ENOSYS stub: syscalls above this number get ENOSYS; undefined: no stub */
  enosysAbove?: number;
}

const atLeast = (k: KernelVersion, min: KernelVersion) => k.kernel > min.kernel || (k.kernel === min.kernel && k.major >= min.major);

/** moby's setupSeccomp: does a rule with these includes and excludes apply to this container? */
function applies(includes: SeccompFilter, excludes: SeccompFilter, caps: ReadonlySet<string>, kernel: KernelVersion): boolean {
  if (excludes.arches.includes(NATIVE_ARCH)) return false;
  if (excludes.caps.some((c) => caps.has(c))) return false;
  if (excludes.minKernel !== undefined && atLeast(kernel, excludes.minKernel)) return false;
  if (includes.arches.length > 0 && !includes.arches.includes(NATIVE_ARCH)) return false;
  if (!includes.caps.every((c) => caps.has(c))) return false;
  if (includes.minKernel !== undefined && !atLeast(kernel, includes.minKernel)) return false;
  return true;
}

/** The rules of a profile that apply to this container, as the filter applies them. */
export function resolveProfile(profile: SeccompProfile, facts: SeccompFacts): ResolvedProfile {
  const caps = new Set<string>(namesOf(facts.caps));
  const defaultAction = actionValue(profile.defaultAction);
  const rules: ResolvedRule[] = [];
  const unconditional = new Map<number, { action: number; where: string; name: string }>();
  let last: number | undefined;
  profile.syscalls.forEach((rule, i) => {
    if (!applies(rule.includes, rule.excludes, caps, facts.kernel)) return;
    const action = actionValue(rule.action);
    for (const name of rule.names) {
      const nr = syscallNumber(name);
      if (nr === undefined) continue; // another architecture's, or newer than corral knows: ignored, as runc does
      last = Math.max(last ?? 0, nr);
      if (action === defaultAction) continue; // runc: redundant
      if (rule.args.length === 0) {
        const earlier = unconditional.get(nr);
        if (earlier !== undefined && earlier.action !== action) {
          throw new SeccompProfileError(`syscalls[${i}]`, `${name} has a rule without conditions in ${earlier.where} already, with another action`);
        }
        unconditional.set(nr, { action, where: `syscalls[${i}]`, name });
        continue;
      }
      // runc: conditions on distinct arguments all hold together; with one argument named twice, each is a rule of its own
      const indexes = rule.args.map((a) => a.index);
      const split = new Set(indexes).size !== indexes.length;
      for (const args of split ? rule.args.map((a) => [a]) : [rule.args]) rules.push({ name, nr, action, args });
    }
  });
  for (const [nr, u] of unconditional) rules.push({ name: u.name, nr, action: u.action, args: [] });
  // runc's patchbpf: no stub when the default lets calls through, or is ENOSYS already
  const permissive = ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(profile.defaultAction.name);
  const stub = !permissive && defaultAction !== (SECCOMP_RET_ERRNO | ENOSYS) >>> 0 && last !== undefined;
  return { defaultAction, rules, ...(stub ? { enosysAbove: last } : {}) };
}

/** A syscall's rules: those with conditions in order, then the one without, if any. */
interface Block {
  nr: number;
  conditional: ResolvedRule[];
  otherwise?: number;
}

/** How many syscalls a leaf of the binary search compares with one by one. */
const LEAF = 4;

/** A resolved profile as a BPF program (see the top of this file). */
export function compileResolved(resolved: ResolvedProfile): SockFilter[] {
  const blocks = new Map<number, Block>();
  for (const rule of resolved.rules) {
    const block = blocks.get(rule.nr) ?? { nr: rule.nr, conditional: [] };
    blocks.set(rule.nr, block);
    if (rule.args.length === 0) block.otherwise = rule.action;
    else block.conditional.push(rule);
  }
  const a = new Assembler();
  const badArch = a.label('badarch');
  const nrLoaded = a.label('nr');
  const x32 = a.label('x32');
  const native = a.label('native');
  const useDefault = a.label('default');

  a.load(SECCOMP_DATA_ARCH);
  a.jump('jeq', AUDIT_ARCH_X86_64, nrLoaded, badArch);
  a.place(nrLoaded);
  a.load(SECCOMP_DATA_NR);
  a.jump('jge', X32_SYSCALL_BIT, x32, native);
  a.place(x32);
  // -1: a tracer skips the call; libseccomp lets it reach the rules, where no syscall has it
  a.jump('jeq', 0xffffffff, useDefault, badArch);
  a.place(native);
  if (resolved.enosysAbove !== undefined) {
    const enosys = a.label('enosys');
    const known = a.label('known');
    a.jump('jgt', resolved.enosysAbove, enosys, known);
    a.place(enosys);
    a.ret((SECCOMP_RET_ERRNO | ENOSYS) >>> 0);
    a.place(known);
  }
  search(
    a,
    [...blocks.values()].sort((x, y) => x.nr - y.nr),
    resolved.defaultAction,
  );
  a.place(useDefault);
  a.ret(resolved.defaultAction);
  a.place(badArch);
  a.ret(SECCOMP_RET_KILL_PROCESS);
  return a.assemble();
}

/** A binary search on the syscall number in A over `blocks` (sorted by number). */
function search(a: Assembler, blocks: Block[], defaultAction: number): void {
  if (blocks.length > LEAF) {
    const mid = Math.floor(blocks.length / 2);
    const low = a.label('low');
    const high = a.label('high');
    a.jump('jge', blocks[mid]!.nr, high, low);
    a.place(low);
    search(a, blocks.slice(0, mid), defaultAction);
    a.place(high);
    search(a, blocks.slice(mid), defaultAction);
    return;
  }
  // a syscall without conditions jumps to its action's return, one per action in a leaf
  const returns = new Map<number, Label>();
  const returnOf = (action: number) => returns.get(action) ?? returns.set(action, a.label('ret')).get(action)!;
  const starts = blocks.map((b) => (b.conditional.length === 0 ? returnOf(b.otherwise ?? defaultAction) : a.label('sys')));
  blocks.forEach((block, i) => {
    const next = a.label('next');
    a.jump('jeq', block.nr, starts[i]!, next);
    a.place(next);
  });
  a.ret(defaultAction);
  for (const [action, label] of returns) {
    a.place(label);
    a.ret(action);
  }
  blocks.forEach((block, i) => {
    if (block.conditional.length === 0) return;
    a.place(starts[i]!);
    for (const rule of block.conditional) {
      const fail = a.label('fail');
      const match = a.label('match');
      rule.args.forEach((arg, j) => {
        const ok = j === rule.args.length - 1 ? match : a.label('and');
        condition(a, arg, ok, fail);
        if (ok !== match) a.place(ok);
      });
      a.place(match);
      a.ret(rule.action);
      a.place(fail);
    }
    a.ret(block.otherwise ?? defaultAction);
  });
}

/** Jump to `ok` when the 64-bit argument compares as asked, else to `fail` (libseccomp's two halves, high first). */
function condition(a: Assembler, arg: SeccompArg, ok: Label, fail: Label): void {
  const hi = (v: bigint) => Number(v >> 32n);
  const lo = (v: bigint) => Number(v & 0xffffffffn);
  const low = a.label('lo');
  const equalHigh = a.label('eqhi');
  switch (arg.op) {
    case 'SCMP_CMP_EQ':
    case 'SCMP_CMP_NE': {
      const [yes, no] = arg.op === 'SCMP_CMP_EQ' ? [ok, fail] : [fail, ok];
      a.load(seccompArgHigh(arg.index));
      a.jump('jeq', hi(arg.value), low, no);
      a.place(low);
      a.load(seccompArgLow(arg.index));
      a.jump('jeq', lo(arg.value), yes, no);
      return;
    }
    case 'SCMP_CMP_MASKED_EQ': {
      // `value` is the mask, `valueTwo` what the masked argument must equal, masked as well (libseccomp's fixup)
      const datum = arg.valueTwo & arg.value;
      a.load(seccompArgHigh(arg.index));
      a.and(hi(arg.value));
      a.jump('jeq', hi(datum), low, fail);
      a.place(low);
      a.load(seccompArgLow(arg.index));
      a.and(lo(arg.value));
      a.jump('jeq', lo(datum), ok, fail);
      return;
    }
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE': {
      // LT is "not GE", LE "not GT"
      const [yes, no] = arg.op === 'SCMP_CMP_GT' || arg.op === 'SCMP_CMP_GE' ? [ok, fail] : [fail, ok];
      const strict = arg.op === 'SCMP_CMP_GT' || arg.op === 'SCMP_CMP_LE';
      a.load(seccompArgHigh(arg.index));
      a.jump('jgt', hi(arg.value), yes, equalHigh);
      a.place(equalHigh);
      a.jump('jeq', hi(arg.value), low, no);
      a.place(low);
      a.load(seccompArgLow(arg.index));
      a.jump(strict ? 'jgt' : 'jge', lo(arg.value), yes, no);
      return;
    }
  }
}

/** A profile as the BPF program for this container. Throws SeccompProfileError (also for a program too long for the kernel). */
export function compileSeccomp(profile: SeccompProfile, facts: SeccompFacts): SockFilter[] {
  const resolved = resolveProfile(profile, facts);
  try {
    return compileResolved(resolved);
  } catch (err) {
    if (err instanceof RangeError && err.message.startsWith('bpf: a filter has')) {
      throw new SeccompProfileError('', `it compiles to more instructions than the kernel takes (${err.message.replace(/^bpf: /, '')})`);
    }
    throw err;
  }
}
