/**
 * The launcher's spec file (native/PROTOCOL.md) as data: one Directive variant per body directive,
 * a SpecHeader for the header directives, and the text encoding (TAB-separated fields; backslash,
 * TAB and newline escaped as `\\`, `\t`, `\n`). Pure.
 */
import { CorralError, ParseError } from '../errors.js';
import { formatCapabilityMask } from './caps.js';
import { BPF_MAXINSNS, formatProgram, parseProgram, type SockFilter } from './seccomp/bpf.js';

export type Namespace = 'pid' | 'mount' | 'uts' | 'ipc' | 'net' | 'cgroup';

export const NAMESPACES: readonly Namespace[] = ['pid', 'mount', 'uts', 'ipc', 'net', 'cgroup'];

/** The namespaces `join` may enter; the launcher enters them in this order (user first). */
export type JoinNamespace = 'user' | 'ipc' | 'uts' | 'net' | 'pid' | 'mount' | 'cgroup';

export const JOIN_NAMESPACES: readonly JoinNamespace[] = ['user', 'ipc', 'uts', 'net', 'pid', 'mount', 'cgroup'];

/** The launcher's `join` directive (native/PROTOCOL.md "Joining a running container"). */
export interface JoinTarget {
  /** the running process to join: its host pid */
  pid: number;
  /** its start time in clock ticks after boot (/proc/PID/stat field 22), as in the `pid` state file */
  startTime: string;
  /** the namespaces to enter (those the launcher is in already are skipped); must include mount */
  namespaces: JoinNamespace[];
}

/** The header directives, read by the launcher before the child exists. */
export interface SpecHeader {
  version: 1;
  /** namespaces to create; `cgroup` is unshared by the child after it joined its cgroups */
  namespaces: Namespace[];
  /** cgroup v2: clone3(CLONE_INTO_CGROUP) into this directory */
  cgroupDir?: string;
  /** cgroup.procs files the child writes `0` into (v1; v2 fallback) */
  cgroupProcs: string[];
  /** where the launcher writes `pid` and `exit` (and `launcher.pid` when it detaches) */
  stateDir?: string;
  /** the launcher double-forks away from its caller; needs `stateDir` */
  detach?: boolean;
  /** the workload's stdout and stderr go to this json-file log instead of the launcher's */
  log?: LogTarget;
  /** create nothing: join this running process's namespaces, cgroup and root (`namespaces` empty) */
  join?: JoinTarget;
  /** the workload gets a pty of its own (made inside the container; the launcher holds the master) */
  tty?: boolean;
  /** a FIFO whose bytes the launcher copies to the workload's input (its terminal, or a stdin pipe) */
  stdin?: string;
  /** a FIFO of commands to the launcher: `resize ROWS COLS`, `close-stdin` */
  control?: string;
}

/** The launcher's `log` directive (native/PROTOCOL.md "Log file"). */
export interface LogTarget {
  /** absolute path of the current file; rotated files are PATH.1, PATH.2, ... */
  path: string;
  /** bytes a file may reach before it is rotated; 0: never rotated */
  maxSize: number;
  /** files kept in total, the current one included: 1 to 99999 */
  maxFiles: number;
}

/** The largest `max-file` the launcher accepts. */
export const LOG_MAX_FILES = 99_999;

/** The mount(2) flags the launcher knows (`rprivate` = private+rec, `rslave` = slave+rec). */
export const MOUNT_FLAGS = [
  'ro',
  'nosuid',
  'nodev',
  'noexec',
  'sync',
  'remount',
  'bind',
  'rec',
  'private',
  'rprivate',
  'slave',
  'rslave',
  'shared',
  'strictatime',
  'relatime',
  'noatime',
  'nodiratime',
] as const;

export type MountFlag = (typeof MOUNT_FLAGS)[number];

/** The flags a `remount` adds to those the mount has; `rec`: also to every mount below it. */
export const REMOUNT_FLAGS = ['ro', 'nosuid', 'nodev', 'noexec', 'rec'] as const;

export type RemountFlag = (typeof REMOUNT_FLAGS)[number];

/** A body directive, executed by the child in order. Empty source/fstype/data of a mount mean NULL. */
export type Directive =
  | { kind: 'mount'; source: string; target: string; fstype: string; flags: MountFlag[]; data: string }
  /** mkdir -p; `mode` applies to the last component (parents get 0755) */
  | { kind: 'mkdir'; path: string; mode: number }
  | { kind: 'touch'; path: string }
  | { kind: 'mknod'; path: string; type: 'c' | 'b'; major: number; minor: number; mode: number }
  | { kind: 'symlink'; target: string; linkpath: string }
  | { kind: 'mask'; path: string }
  | { kind: 'readonly'; path: string }
  /** bind remount of the mount at `path` keeping its flags and adding `flags` */
  | { kind: 'remount'; path: string; flags: RemountFlag[] }
  | { kind: 'pivot-root'; root: string }
  | { kind: 'hostname'; name: string }
  | { kind: 'loopback-up' }
  /** one KEY=VALUE of the workload's environment */
  | { kind: 'env'; entry: string }
  | { kind: 'cwd'; path: string }
  | { kind: 'user'; uid: number; gid: number; additionalGids: number[] }
  /** capabilities kept, bit N = capability N */
  | { kind: 'caps'; mask: bigint }
  | { kind: 'no-new-privs' }
  /** a seccomp filter (classic BPF), loaded by the child as its last step before execve */
  | { kind: 'seccomp'; program: readonly SockFilter[] }
  /** `command` is searched in PATH when it has no slash; `argv` starts with argv[0] */
  | { kind: 'exec'; command: string; argv: string[] }
  /** setrlimit(2) of one of Docker's ulimit names (RLIMIT_NAME), applied before the privileges are dropped */
  | { kind: 'rlimit'; name: UlimitName; soft: RlimitValue; hard: RlimitValue }
  /** written to /proc/self/oom_score_adj before the privileges are dropped: -1000 to 1000 */
  | { kind: 'oom-score-adj'; value: number }
  /** the container's PID 1 stays as a small init (tini's role): reaps orphans, passes signals on to the workload */
  | { kind: 'init' };

/** Docker's ulimit names (go-units), each the kernel's RLIMIT_<NAME upper case>. */
export const ULIMIT_NAMES = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'] as const;

export type UlimitName = (typeof ULIMIT_NAMES)[number];

/** An rlimit value: a number (bytes, seconds, files… as the kernel counts that limit) or no limit (RLIM_INFINITY). */
export type RlimitValue = number | 'unlimited';

export type DirectiveKind = Directive['kind'];

export interface LaunchSpec {
  header: SpecHeader;
  directives: Directive[];
}

/** A spec that cannot be written: a field the launcher could not read back as it was meant. */
export class SpecEncodeError extends CorralError {
  readonly directive: string;
  constructor(directive: string, problem: string) {
    super('ESPECENCODE', `encode launcher spec: ${directive} directive: ${problem}`);
    this.directive = directive;
  }
}

/** Escape one field: backslash, TAB and newline; nothing else. */
export function escapeField(field: string): string {
  return field.replace(/[\\\t\n]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : '\\n'));
}

/** Undo escapeField; undefined for an unknown escape or a trailing backslash. */
export function unescapeField(field: string): string | undefined {
  let out = '';
  for (let i = 0; i < field.length; i++) {
    const c = field[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = field[++i];
    if (next === '\\') out += '\\';
    else if (next === 't') out += '\t';
    else if (next === 'n') out += '\n';
    else return undefined;
  }
  return out;
}

function show(value: string): string {
  return JSON.stringify(value).replace(/\\u0000/g, '\\0');
}

function octal(mode: number, name: string): string {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new SpecEncodeError(name, `mode ${mode} is not between 0 and 07777`);
  return `0${mode.toString(8).padStart(3, '0')}`;
}

function id(n: number, name: string, what: string): string {
  if (!Number.isInteger(n) || n < 0 || n > 4_294_967_294) throw new SpecEncodeError(name, `${what} ${n} is not between 0 and 4294967294`);
  return String(n);
}

function deviceNumber(n: number, name: string, what: string): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xfffff) throw new SpecEncodeError(name, `${what} ${n} is not between 0 and 1048575`);
  return String(n);
}

/** The fields of a directive, without its name, unescaped. */
function directiveFields(d: Directive): string[] {
  switch (d.kind) {
    case 'mount':
      for (const flag of d.flags) {
        if (!(MOUNT_FLAGS as readonly string[]).includes(flag)) throw new SpecEncodeError('mount', `unknown mount flag ${show(flag)}`);
      }
      return [d.source, d.target, d.fstype, d.flags.join(','), d.data];
    case 'remount':
      for (const flag of d.flags) {
        if (!(REMOUNT_FLAGS as readonly string[]).includes(flag)) throw new SpecEncodeError('remount', `unknown remount flag ${show(flag)}`);
      }
      return [d.path, d.flags.join(',')];
    case 'mkdir':
      return [d.path, octal(d.mode, 'mkdir')];
    case 'touch':
    case 'mask':
    case 'readonly':
    case 'cwd':
      return [d.path];
    case 'mknod':
      return [d.path, d.type, deviceNumber(d.major, 'mknod', 'major'), deviceNumber(d.minor, 'mknod', 'minor'), octal(d.mode, 'mknod')];
    case 'symlink':
      return [d.target, d.linkpath];
    case 'pivot-root':
      return [d.root];
    case 'hostname':
      return [d.name];
    case 'env':
      return [d.entry];
    case 'user':
      return [id(d.uid, 'user', 'uid'), id(d.gid, 'user', 'gid'), d.additionalGids.map((g) => id(g, 'user', 'gid')).join(',')];
    case 'caps':
      return [formatCapabilityMask(d.mask)];
    case 'seccomp':
      return [seccompField(d.program)];
    case 'exec':
      if (d.argv.length === 0) throw new SpecEncodeError('exec', 'argv is empty (it must hold at least argv[0])');
      return [d.command, ...d.argv];
    case 'loopback-up':
    case 'no-new-privs':
    case 'init':
      return [];
    case 'rlimit': {
      if (!ULIMIT_NAMES.includes(d.name)) throw new SpecEncodeError('rlimit', `unknown name ${show(d.name)}`);
      const value = (v: RlimitValue) => {
        if (v !== 'unlimited' && (!Number.isSafeInteger(v) || v < 0)) throw new SpecEncodeError('rlimit', `${d.name} value ${v} is not a whole number or unlimited`);
        return String(v);
      };
      if (d.hard !== 'unlimited' && (d.soft === 'unlimited' || d.soft > d.hard)) throw new SpecEncodeError('rlimit', `${d.name}: the soft limit ${d.soft} is above the hard limit ${d.hard}`);
      return [d.name, value(d.soft), value(d.hard)];
    }
    case 'oom-score-adj':
      if (!Number.isInteger(d.value) || d.value < -1000 || d.value > 1000) throw new SpecEncodeError('oom-score-adj', `${d.value} is not between -1000 and 1000`);
      return [String(d.value)];
  }
}

function seccompField(program: readonly SockFilter[]): string {
  if (program.length === 0 || program.length > BPF_MAXINSNS) throw new SpecEncodeError('seccomp', `a filter has 1 to ${BPF_MAXINSNS} instructions, not ${program.length}`);
  program.forEach((i, n) => {
    const ok = (v: number, max: number) => Number.isInteger(v) && v >= 0 && v <= max;
    if (!ok(i.code, 0xffff) || !ok(i.jt, 0xff) || !ok(i.jf, 0xff) || !ok(i.k, 0xffffffff)) {
      throw new SpecEncodeError('seccomp', `instruction ${n} ${JSON.stringify(i)} has a field out of its range (code 16 bits, jt and jf 8, k 32)`);
    }
  });
  return formatProgram(program);
}

function logFields(log: LogTarget): string[] {
  if (!log.path.startsWith('/')) throw new SpecEncodeError('log', `path ${show(log.path)} is not absolute`);
  if (!Number.isSafeInteger(log.maxSize) || log.maxSize < 0) throw new SpecEncodeError('log', `max-size ${log.maxSize} is not a whole number of bytes`);
  if (!Number.isInteger(log.maxFiles) || log.maxFiles < 1 || log.maxFiles > LOG_MAX_FILES) {
    throw new SpecEncodeError('log', `max-file ${log.maxFiles} is not between 1 and ${LOG_MAX_FILES}`);
  }
  return [log.path, String(log.maxSize), String(log.maxFiles)];
}

function joinFields(join: JoinTarget): string[] {
  if (!Number.isInteger(join.pid) || join.pid < 1 || join.pid > 2_147_483_647) throw new SpecEncodeError('join', `pid ${join.pid} is not between 1 and 2147483647`);
  if (!/^\d{1,20}$/.test(join.startTime)) throw new SpecEncodeError('join', `start time ${show(join.startTime)} is not a number of clock ticks`);
  for (const ns of join.namespaces) {
    if (!JOIN_NAMESPACES.includes(ns)) throw new SpecEncodeError('join', `unknown namespace ${show(ns)}`);
  }
  if (!join.namespaces.includes('mount')) throw new SpecEncodeError('join', 'the namespaces must include mount');
  return [String(join.pid), join.startTime, join.namespaces.join(',')];
}

function line(name: string, fields: string[]): string {
  fields.forEach((field, index) => {
    if (field.includes('\0')) {
      throw new SpecEncodeError(name, `field ${index + 1} ${show(field)} contains a NUL byte, which the launcher's C strings cannot carry`);
    }
  });
  return [name, ...fields.map(escapeField)].join('\t');
}

/**
 * The spec file's text: the header directives first (version, namespaces, cgroup-dir,
 * cgroup-procs, state-dir, detach, log, join, tty, stdin, control), then the body in order; every line ends with a newline.
 * Throws SpecEncodeError for a field with a NUL byte, an out-of-range number, an unknown mount flag,
 * an `exec` that is not the last directive, `detach` without a state directory, a relative log
 * path, or a `join` without the mount namespace.
 */
export function encodeSpec(header: SpecHeader, directives: Directive[]): string {
  if (header.version !== 1) throw new SpecEncodeError('version', `unsupported version ${String(header.version)}`);
  for (const ns of header.namespaces) {
    if (!NAMESPACES.includes(ns)) throw new SpecEncodeError('namespaces', `unknown namespace ${show(ns)}`);
  }
  const lines = [line('version', ['1']), line('namespaces', [header.namespaces.join(',')])];
  if (header.cgroupDir !== undefined) lines.push(line('cgroup-dir', [header.cgroupDir]));
  for (const file of header.cgroupProcs) lines.push(line('cgroup-procs', [file]));
  if (header.stateDir !== undefined) lines.push(line('state-dir', [header.stateDir]));
  if (header.detach === true) {
    if (header.stateDir === undefined) throw new SpecEncodeError('detach', 'it needs a state directory (the exit status goes only there)');
    lines.push(line('detach', []));
  }
  if (header.log !== undefined) lines.push(line('log', logFields(header.log)));
  if (header.join !== undefined) lines.push(line('join', joinFields(header.join)));
  if (header.tty === true) lines.push(line('tty', []));
  for (const [name, fifo] of [
    ['stdin', header.stdin],
    ['control', header.control],
  ] as const) {
    if (fifo === undefined) continue;
    if (!fifo.startsWith('/')) throw new SpecEncodeError(name, `path ${show(fifo)} is not absolute`);
    lines.push(line(name, [fifo]));
  }
  directives.forEach((d, index) => {
    if (d.kind === 'exec' && index !== directives.length - 1) {
      throw new SpecEncodeError('exec', `it must be the last directive, but ${directives.length - 1 - index} directive(s) follow it`);
    }
    lines.push(line(d.kind, directiveFields(d)));
  });
  return lines.map((l) => `${l}\n`).join('');
}

const FIELD_COUNTS: Record<string, [number, number]> = {
  version: [1, 1],
  namespaces: [1, 1],
  'cgroup-dir': [1, 1],
  'cgroup-procs': [1, 1],
  'state-dir': [1, 1],
  detach: [0, 0],
  log: [3, 3],
  join: [3, 3],
  tty: [0, 0],
  stdin: [1, 1],
  control: [1, 1],
  mount: [5, 5],
  mkdir: [2, 2],
  touch: [1, 1],
  mknod: [5, 5],
  symlink: [2, 2],
  mask: [1, 1],
  readonly: [1, 1],
  remount: [2, 2],
  'pivot-root': [1, 1],
  hostname: [1, 1],
  'loopback-up': [0, 0],
  env: [1, 1],
  cwd: [1, 1],
  user: [3, 3],
  caps: [1, 1],
  'no-new-privs': [0, 0],
  seccomp: [1, 1],
  exec: [2, Infinity],
  rlimit: [3, 3],
  'oom-score-adj': [1, 1],
  init: [0, 0],
};

/**
 * Parse a spec file's text back into data (for tests and for `inspect`). Header directives may
 * appear on any line, as the launcher allows; the first line must be `version\t1`. Throws
 * ParseError quoting the bad line.
 */
export function decodeSpec(text: string): LaunchSpec {
  const header: SpecHeader = { version: 1, namespaces: [], cgroupProcs: [] };
  const directives: Directive[] = [];
  const rawLines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  let seenVersion = false;
  let seenExec = false;
  rawLines.forEach((raw, index) => {
    const bad: () => never = () => {
      throw new ParseError('launcher spec', raw);
    };
    const parts = raw.split('\t').map(unescapeField);
    if (raw === '' || parts.some((p) => p === undefined)) bad();
    const [name = '', ...fields] = parts as string[];
    const counts = FIELD_COUNTS[name];
    if (counts === undefined || fields.length < counts[0] || fields.length > counts[1]) bad();
    if ((index === 0) !== (name === 'version') || seenExec) bad();
    const f = (i: number): string => fields[i] ?? '';
    const octalField = (s: string): number => (/^[0-7]{1,5}$/.test(s) ? parseInt(s, 8) : bad());
    const decimal = (s: string): number => (/^\d+$/.test(s) ? Number(s) : bad());
    switch (name) {
      case 'version':
        if (seenVersion || f(0) !== '1') bad();
        seenVersion = true;
        return;
      case 'namespaces': {
        const list = f(0) === '' ? [] : f(0).split(',');
        if (list.some((ns) => !NAMESPACES.includes(ns as Namespace))) bad();
        header.namespaces = list as Namespace[];
        return;
      }
      case 'cgroup-dir':
        header.cgroupDir = f(0);
        return;
      case 'cgroup-procs':
        header.cgroupProcs.push(f(0));
        return;
      case 'state-dir':
        header.stateDir = f(0);
        return;
      case 'detach':
        header.detach = true;
        return;
      case 'tty':
        header.tty = true;
        return;
      case 'stdin':
      case 'control':
        header[name] = f(0);
        return;
      case 'log': {
        const maxFiles = decimal(f(2));
        if (maxFiles < 1 || maxFiles > LOG_MAX_FILES) bad();
        header.log = { path: f(0), maxSize: decimal(f(1)), maxFiles };
        return;
      }
      case 'join': {
        const list = f(2).split(',');
        if (list.some((ns) => !JOIN_NAMESPACES.includes(ns as JoinNamespace)) || !/^\d{1,20}$/.test(f(1))) bad();
        header.join = { pid: decimal(f(0)), startTime: f(1), namespaces: list as JoinNamespace[] };
        return;
      }
      case 'mount': {
        const flags = f(3) === '' ? [] : f(3).split(',');
        if (flags.some((flag) => !(MOUNT_FLAGS as readonly string[]).includes(flag))) bad();
        directives.push({ kind: 'mount', source: f(0), target: f(1), fstype: f(2), flags: flags as MountFlag[], data: f(4) });
        return;
      }
      case 'remount': {
        const flags = f(1) === '' ? [] : f(1).split(',');
        if (flags.some((flag) => !(REMOUNT_FLAGS as readonly string[]).includes(flag))) bad();
        directives.push({ kind: 'remount', path: f(0), flags: flags as RemountFlag[] });
        return;
      }
      case 'mkdir':
        directives.push({ kind: 'mkdir', path: f(0), mode: octalField(f(1)) });
        return;
      case 'touch':
      case 'mask':
      case 'readonly':
      case 'cwd':
        directives.push({ kind: name, path: f(0) });
        return;
      case 'mknod': {
        const type = f(1);
        if (type !== 'c' && type !== 'b') bad();
        directives.push({ kind: 'mknod', path: f(0), type, major: decimal(f(2)), minor: decimal(f(3)), mode: octalField(f(4)) });
        return;
      }
      case 'symlink':
        directives.push({ kind: 'symlink', target: f(0), linkpath: f(1) });
        return;
      case 'pivot-root':
        directives.push({ kind: 'pivot-root', root: f(0) });
        return;
      case 'hostname':
        directives.push({ kind: 'hostname', name: f(0) });
        return;
      case 'env':
        directives.push({ kind: 'env', entry: f(0) });
        return;
      case 'user':
        directives.push({
          kind: 'user',
          uid: decimal(f(0)),
          gid: decimal(f(1)),
          additionalGids: f(2) === '' ? [] : f(2).split(',').map(decimal),
        });
        return;
      case 'caps':
        if (!/^(0x)?[0-9a-fA-F]{1,16}$/.test(f(0))) bad();
        directives.push({ kind: 'caps', mask: BigInt(f(0).startsWith('0x') ? f(0) : `0x${f(0)}`) });
        return;
      case 'loopback-up':
      case 'no-new-privs':
      case 'init':
        directives.push({ kind: name });
        return;
      case 'seccomp':
        directives.push({ kind: 'seccomp', program: parseProgram(f(0)) ?? bad() });
        return;
      case 'exec':
        seenExec = true;
        directives.push({ kind: 'exec', command: f(0), argv: fields.slice(1) });
        return;
      case 'rlimit': {
        const value = (v: string): RlimitValue => (v === 'unlimited' ? v : decimal(v));
        if (!(ULIMIT_NAMES as readonly string[]).includes(f(0))) bad();
        directives.push({ kind: 'rlimit', name: f(0) as UlimitName, soft: value(f(1)), hard: value(f(2)) });
        return;
      }
      case 'oom-score-adj':
        directives.push({ kind: 'oom-score-adj', value: /^-?\d{1,4}$/.test(f(0)) ? Number(f(0)) : bad() });
        return;
    }
  });
  if (!seenVersion) throw new ParseError('launcher spec', rawLines[0] ?? '');
  return { header, directives };
}
