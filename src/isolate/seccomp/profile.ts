/**
 * Docker's seccomp profile format (moby/profiles seccomp.go: the OCI runtime-spec's LinuxSeccomp
 * with `names`, `comment`, and rules included or excluded by capabilities, architectures and kernel
 * version), read from JSON into typed data and checked as runc and libseccomp check it before
 * loading: every refusal names the place in the profile (`syscalls[3].args[0].op`) and what was
 * expected. Pure; compile.ts turns a profile into a BPF program.
 */
import { CorralError } from '../../errors.js';
import { JsonSyntaxError, parseJsonExact } from './json.js';

/** The actions runc passes to libseccomp (SCMP_ACT_NOTIFY needs a listener agent, which corral has not). */
export const SECCOMP_ACTIONS = ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG'] as const;

export type SeccompActionName = (typeof SECCOMP_ACTIONS)[number];

/** The comparisons of a rule's argument (libseccomp's scmp_compare). */
export const SECCOMP_OPERATORS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;

export type SeccompOperator = (typeof SECCOMP_OPERATORS)[number];

/** The architecture names of a profile's `architectures` and `archMap` (libseccomp's SCMP_ARCH_*). */
export const SECCOMP_ARCHES = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
] as const;

/** The filter flags runc knows; only TSYNC is accepted (a no-op: the launcher's child is single-threaded). */
export const SECCOMP_FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] as const;

/** The largest errno the kernel returns from a filter (MAX_ERRNO); SECCOMP_RET_DATA is 16 bits. */
export const MAX_ERRNO = 4095;

/** A kernel version as moby's profiles compare them: "<kernel>.<major>", minor revisions ignored. */
export interface KernelVersion {
  kernel: number;
  major: number;
}

/** What a syscall (or the default) gets. `data`: the errno of ERRNO (default EPERM), the message of TRACE. */
export interface SeccompAction {
  name: SeccompActionName;
  data?: number;
}

/** One condition on an argument: 64-bit `value` (the mask for MASKED_EQ) and `valueTwo` (MASKED_EQ's datum). */
export interface SeccompArg {
  /** 0 to 5 */
  index: number;
  value: bigint;
  valueTwo: bigint;
  op: SeccompOperator;
}

/** `includes` / `excludes`: capabilities (CAP_*), architectures (Go's names: amd64, x86, x32, arm64, ...), a kernel version. */
export interface SeccompFilter {
  caps: string[];
  arches: string[];
  minKernel?: KernelVersion;
}

export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  args: SeccompArg[];
  includes: SeccompFilter;
  excludes: SeccompFilter;
}

export interface SeccompProfile {
  defaultAction: SeccompAction;
  /** the SCMP_ARCH_* names of `architectures`, or of the archMap's entries */
  architectures: string[];
  syscalls: SeccompRule[];
}

/** A profile that cannot be used: `where` is its place in the profile (`syscalls[3].action`), or "" for the whole. */
export class SeccompProfileError extends CorralError {
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super('ESECCOMPPROFILE', where === '' ? problem : `${where}: ${problem}`);
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const show = (v: unknown): string => (typeof v === 'bigint' ? v.toString() : (JSON.stringify(v) ?? String(v)));

/** A JSON array of strings, absent or null as []. */
function strings(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new SeccompProfileError(where, `expected a list of strings, got ${show(v)}`);
  return v;
}

/** A JSON integer from 0 to max, exactly. */
function integer(v: unknown, where: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new SeccompProfileError(where, `expected an integer from 0 to ${max}, got ${show(v)}`);
  return v;
}

const U64_MAX = (1n << 64n) - 1n;

/** A JSON unsigned 64-bit integer (Go's uint64); absent is 0. */
function u64(v: unknown, where: string): bigint {
  if (v === undefined || v === null) return 0n;
  const n = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : undefined;
  if (n === undefined || n < 0n || n > U64_MAX) throw new SeccompProfileError(where, `expected an integer from 0 to ${U64_MAX}, got ${show(v)}`);
  return n;
}

function action(name: unknown, errnoRet: unknown, where: string, errnoWhere: string): SeccompAction {
  if (name === 'SCMP_ACT_NOTIFY') throw new SeccompProfileError(where, 'SCMP_ACT_NOTIFY is not supported: corral has no seccomp agent to notify');
  if (typeof name !== 'string' || !(SECCOMP_ACTIONS as readonly string[]).includes(name)) {
    throw new SeccompProfileError(where, `unknown action ${show(name)}; expected one of ${SECCOMP_ACTIONS.join(', ')}`);
  }
  const n = name as SeccompActionName;
  // as runc: errnoRet is read for ERRNO (default EPERM) and TRACE only, and ignored elsewhere
  if (n === 'SCMP_ACT_ERRNO') return { name: n, data: errnoRet === undefined || errnoRet === null ? 1 : integer(errnoRet, errnoWhere, MAX_ERRNO) };
  if (n === 'SCMP_ACT_TRACE') return { name: n, data: errnoRet === undefined || errnoRet === null ? 1 : integer(errnoRet, errnoWhere, 0xffff) };
  return { name: n };
}

/** moby's KernelVersion: "<kernel>.<major>", each 0 to 255, not 0.0; "" is none. */
export function parseMinKernel(v: unknown, where: string): KernelVersion | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const m = typeof v === 'string' ? /^(\d{1,3})\.(\d{1,3})$/.exec(v) : null;
  const kernel = Number(m?.[1]);
  const major = Number(m?.[2]);
  if (m === null || kernel > 255 || major > 255 || (kernel === 0 && major === 0)) {
    throw new SeccompProfileError(where, `invalid kernel version ${show(v)}, expected "<kernel>.<major>" such as "4.8"`);
  }
  return { kernel, major };
}

function filter(v: unknown, where: string): SeccompFilter {
  if (v === undefined || v === null) return { caps: [], arches: [] };
  if (!isObject(v)) throw new SeccompProfileError(where, `expected an object with caps, arches or minKernel, got ${show(v)}`);
  const minKernel = parseMinKernel(v.minKernel, `${where}.minKernel`);
  return { caps: strings(v.caps, `${where}.caps`), arches: strings(v.arches, `${where}.arches`), ...(minKernel === undefined ? {} : { minKernel }) };
}

function arg(v: unknown, where: string): SeccompArg {
  if (!isObject(v)) throw new SeccompProfileError(where, `expected an object {"index", "value", "valueTwo", "op"}, got ${show(v)}`);
  const index = integer(v.index, `${where}.index`, 5);
  const op = v.op;
  if (typeof op !== 'string' || !(SECCOMP_OPERATORS as readonly string[]).includes(op)) {
    throw new SeccompProfileError(`${where}.op`, `unknown operator ${show(op)}; expected one of ${SECCOMP_OPERATORS.join(', ')}`);
  }
  return { index, value: u64(v.value, `${where}.value`), valueTwo: u64(v.valueTwo, `${where}.valueTwo`), op: op as SeccompOperator };
}

function rule(v: unknown, where: string): SeccompRule {
  if (!isObject(v)) throw new SeccompProfileError(where, `expected an object with names and action, got ${show(v)}`);
  let names = strings(v.names, `${where}.names`);
  if (v.name !== undefined && v.name !== null && v.name !== '') {
    if (typeof v.name !== 'string') throw new SeccompProfileError(`${where}.name`, `expected a string, got ${show(v.name)}`);
    if (names.length > 0) throw new SeccompProfileError(where, "both 'name' and 'names' are given; use either 'name' or 'names'");
    names = [v.name];
  }
  names.forEach((name, i) => {
    if (!/^[a-z0-9_]+$/.test(name)) throw new SeccompProfileError(`${where}.names[${i}]`, `${show(name)} is not a syscall name`);
  });
  const args = v.args === undefined || v.args === null ? [] : Array.isArray(v.args) ? v.args : undefined;
  if (args === undefined) throw new SeccompProfileError(`${where}.args`, `expected a list of conditions, got ${show(v.args)}`);
  return {
    names,
    action: action(v.action, v.errnoRet, `${where}.action`, `${where}.errnoRet`),
    args: args.map((a, i) => arg(a, `${where}.args[${i}]`)),
    includes: filter(v.includes, `${where}.includes`),
    excludes: filter(v.excludes, `${where}.excludes`),
  };
}

function arch(name: unknown, where: string): string {
  if (typeof name !== 'string' || !(SECCOMP_ARCHES as readonly string[]).includes(name)) {
    throw new SeccompProfileError(where, `unknown architecture ${show(name)}; expected a name such as SCMP_ARCH_X86_64`);
  }
  return name;
}

/**
 * A profile's JSON value (numbers maybe bigints, parseJsonExact) as a SeccompProfile; undefined for
 * a profile with neither a default action nor syscalls (`{}`), which Docker reads as "no filter".
 * Throws SeccompProfileError.
 */
export function parseSeccompProfile(value: unknown): SeccompProfile | undefined {
  if (!isObject(value)) throw new SeccompProfileError('', `expected a JSON object with defaultAction and syscalls, got ${show(value).slice(0, 40)}`);
  const syscalls = value.syscalls === undefined || value.syscalls === null ? [] : value.syscalls;
  if (!Array.isArray(syscalls)) throw new SeccompProfileError('syscalls', `expected a list of rules, got ${show(syscalls).slice(0, 40)}`);
  if ((value.defaultAction === undefined || value.defaultAction === '') && syscalls.length === 0) return undefined;
  if (value.defaultAction === undefined || value.defaultAction === '') throw new SeccompProfileError('defaultAction', 'missing; expected an action such as SCMP_ACT_ERRNO');
  const defaultAction = action(value.defaultAction, value.defaultErrnoRet, 'defaultAction', 'defaultErrnoRet');

  const archList = value.architectures === undefined || value.architectures === null ? [] : value.architectures;
  const archMap = value.archMap === undefined || value.archMap === null ? [] : value.archMap;
  if (!Array.isArray(archList)) throw new SeccompProfileError('architectures', `expected a list of names, got ${show(archList)}`);
  if (!Array.isArray(archMap)) throw new SeccompProfileError('archMap', `expected a list of {"architecture", "subArchitectures"}, got ${show(archMap)}`);
  if (archList.length > 0 && archMap.length > 0) throw new SeccompProfileError('', "both 'architectures' and 'archMap' are given; use either 'architectures' or 'archMap'");
  const architectures = archList.map((a, i) => arch(a, `architectures[${i}]`));
  archMap.forEach((entry, i) => {
    const where = `archMap[${i}]`;
    if (!isObject(entry)) throw new SeccompProfileError(where, `expected {"architecture", "subArchitectures"}, got ${show(entry)}`);
    const main = arch(entry.architecture, `${where}.architecture`);
    const subs = strings(entry.subArchitectures, `${where}.subArchitectures`).map((s, j) => arch(s, `${where}.subArchitectures[${j}]`));
    // as moby: the entry of the machine's own architecture gives the profile's architectures
    if (main === 'SCMP_ARCH_X86_64') architectures.push(main, ...subs);
  });

  strings(value.flags, 'flags').forEach((flag, i) => {
    if (!(SECCOMP_FLAGS as readonly string[]).includes(flag)) throw new SeccompProfileError(`flags[${i}]`, `unknown flag ${show(flag)}; expected one of ${SECCOMP_FLAGS.join(', ')}`);
    if (flag !== 'SECCOMP_FILTER_FLAG_TSYNC') throw new SeccompProfileError(`flags[${i}]`, `${flag} is not supported`);
  });
  if (typeof value.listenerPath === 'string' && value.listenerPath !== '') throw new SeccompProfileError('listenerPath', 'not supported: corral has no seccomp agent to notify');

  return { defaultAction, architectures, syscalls: syscalls.map((r, i) => rule(r, `syscalls[${i}]`)) };
}

/** A profile's text as a SeccompProfile (or undefined: no filter). Throws SeccompProfileError, for bad JSON too. */
export function parseSeccompProfileText(text: string): SeccompProfile | undefined {
  let value: unknown;
  try {
    value = parseJsonExact(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw new SeccompProfileError('', `not JSON: ${err.message}`);
    throw err;
  }
  return parseSeccompProfile(value);
}
