/**
 * The workloads file: a YAML subset of the Compose file format, turned into one Docker create body
 * per service. Compose's meanings are kept field by field (compose-spec's service reference):
 *
 *   command          a list, or a string split into words as Compose does (shellwords.ts)   → Cmd
 *   rootfs           the root file system directory (corral has no images; default: host)  → Image
 *   environment      a list of KEY=VALUE / KEY, or a map; a bare KEY takes the value from the
 *                    environment of whoever reads the file, and is left out when that has none → Env
 *   volumes          the short syntax HOST:CONTAINER[:ro|rw]; a relative HOST is relative to
 *                    the file's directory                                                   → HostConfig.Binds
 *   hostname                                                                                → Hostname
 *   restart          no | always | unless-stopped | on-failure[:N]                           → HostConfig.RestartPolicy
 *   mem_limit, memswap_limit, mem_reservation: bytes, or a size with b/k/m/g (memswap -1 = unlimited swap)
 *   cpus, cpu_shares, cpuset, pids_limit, cgroup_parent
 *   entrypoint       as command                                                            → Entrypoint
 *   stop_signal, stop_grace_period (a duration: 30s, 1m30s)                                → StopSignal, StopTimeout
 *   ulimits (name: N or name: {soft, hard}), oom_score_adj, shm_size, tmpfs (PATH[:OPTIONS] or a list),
 *   mem_swappiness, oom_kill_disable and init (true or false)
 *   deploy.resources.limits.{cpus,memory,pids}, deploy.resources.reservations.memory (the same
 *                    fields as above; giving both forms with different values is an error)
 *
 * Top level: `services` (required), `name` (the project name), `version` (obsolete, ignored, as in
 * Compose) and `x-*` extension keys (ignored; their anchors may be used with aliases). Anything else,
 * at any level, is an error naming the key: the subset is strict so that a field corral would not
 * apply never passes silently. Values are taken literally (no ${VAR} interpolation).
 *
 * Only the syntax is decided here (a size that is not a size, a wrong type): whether a value is
 * acceptable (a memory limit of at least 6MB, CPUs within the host's) is decided by the daemon's own
 * create validation (validate.ts), with the positions this parser records. Every problem is reported
 * with the file, line, column and the field's path, and all of them are reported at once.
 */
import path from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { CorralError } from '../errors.js';
import { SERVICE_KEYS, type ServiceKey, type WorkloadsRead } from '../container/config/fields.js';
import { SIZE_SYNTAX, tryParseByteSize } from '../container/config/units.js';
import { splitShellWords } from './shellwords.js';

/** Where something is in the file, and how it was written there. */
export interface Origin {
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
  /** the field's path: services.web.mem_limit */
  path: string;
  /** the value as written in the file (for scalars), for messages */
  text: string;
}

export interface FileProblem {
  line: number;
  column: number;
  /** the field's path, or '' for a problem of the YAML itself */
  path: string;
  reason: string;
}

/** `file:line:column: path: reason`, the form compilers use, so that editors can jump to it. */
export function formatProblem(file: string, p: FileProblem): string {
  return `${file}:${p.line}:${p.column}: ${p.path === '' ? '' : `${p.path}: `}${p.reason}`;
}

/** The file cannot be used; `problems` lists every problem found, each with its position. */
export class WorkloadsFileError extends CorralError {
  constructor(
    readonly file: string,
    readonly problems: readonly FileProblem[],
  ) {
    super('EWORKLOADS', problems.map((p) => formatProblem(file, p)).join('\n'));
  }
}

/** Docker's rule for the characters of a name (a service name may be one character long). */
export const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Compose's rule for a project name. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export interface WorkloadService {
  name: string;
  /** the service's key in the file */
  at: Origin;
  /** Docker's create body, without Labels (reconcile adds them) */
  body: Record<string, unknown>;
  /** where each body field came from: "Cmd", "HostConfig.Memory", … */
  origins: Record<string, Origin>;
  /** for list fields (Env, HostConfig.Binds): where each item came from, by its value in the body */
  itemOrigins: Record<string, { value: string; origin: Origin }[]>;
}

export interface WorkloadsFile {
  /** as given, for messages */
  file: string;
  /** the top-level `name`, if any */
  name?: string;
  services: WorkloadService[];
}

export interface ParseOptions {
  /** the file's name for messages (as the user gave it) */
  file: string;
  /** the directory relative host paths are resolved against (default: the file's directory) */
  dir?: string;
  /** the environment a bare KEY takes its value from (default: process.env) */
  getEnv?: (name: string) => string | undefined;
}

/** Kept where the services' restart policies are parsed: Docker's RestartPolicy.Name values. */
export const RESTART_POLICIES = ['no', 'always', 'unless-stopped', 'on-failure'] as const;

const TOP_KEYS = new Set(['services', 'name', 'version']);

type Handler = (node: Node | null, at: Origin, svc: ServiceBuilder) => void;

/** One service being built: the body and where its fields came from. */
class ServiceBuilder {
  readonly body: Record<string, unknown> = {};
  readonly hostConfig: Record<string, unknown> = {};
  readonly origins: Record<string, Origin> = {};
  readonly itemOrigins: Record<string, { value: string; origin: Origin }[]> = {};
  constructor(readonly reader: Reader) {}

  /** Set a body field ("Cmd", "HostConfig.Memory"); the same field from two keys must agree. */
  set(field: string, value: unknown, at: Origin): void {
    const [target, key] = field.startsWith('HostConfig.') ? [this.hostConfig, field.slice('HostConfig.'.length)] : [this.body, field];
    const earlier = this.origins[field];
    if (earlier !== undefined && JSON.stringify(target[key]) !== JSON.stringify(value)) {
      this.reader.problem(at, `${earlier.path} (line ${earlier.line}) already sets this to "${earlier.text}": give one of them, or the same value`);
      return;
    }
    target[key] = value;
    this.origins[field] = at;
  }
}

/** The walk over the YAML tree, collecting problems. */
class Reader {
  readonly problems: FileProblem[] = [];
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly options: ParseOptions,
  ) {}

  origin(node: Node | Pair | null | undefined, fieldPath: string, fallback?: Origin): Origin {
    const range = node && (isPair(node) ? (node.key as Node | null)?.range : node.range);
    if (!range) return { ...(fallback ?? { line: 1, column: 1 }), path: fieldPath, text: '' };
    const { line, col } = this.lines.linePos(range[0]);
    const n = node && !isPair(node) ? this.deref(node) : undefined;
    return { line, column: col, path: fieldPath, text: n && isScalar(n) ? (this.scalarText(n) ?? '') : '' };
  }

  problem(at: Origin, reason: string): void {
    this.problems.push({ line: at.line, column: at.column, path: at.path, reason });
  }

  deref(node: Node | null): Node | null {
    return node && isAlias(node) ? ((node.resolve(this.doc) as Node | undefined) ?? null) : node;
  }

  /** A scalar as the text it stands for: strings as they are, numbers and booleans as written. */
  scalarText(node: Node): string | undefined {
    if (!isScalar(node)) return undefined;
    const v = node.value;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return node.source ?? String(v);
    return undefined;
  }

  /** The pairs of a mapping with string keys; duplicate and non-string keys are problems. */
  entries(map: YAMLMap, parentPath: string): { key: string; value: Node | null; at: Origin }[] {
    const out: { key: string; value: Node | null; at: Origin }[] = [];
    const seen = new Map<string, Origin>();
    for (const pair of map.items) {
      const keyNode = this.deref(pair.key as Node | null);
      const key = keyNode ? this.scalarText(keyNode) : undefined;
      const at = this.origin(pair as Pair, key === undefined ? parentPath : joinPath(parentPath, key));
      if (key === undefined) {
        this.problem(at, 'a key must be a string');
        continue;
      }
      const first = seen.get(key);
      if (first) {
        this.problem(at, `given twice (first on line ${first.line})`);
        continue;
      }
      seen.set(key, at);
      const value = this.deref(pair.value as Node | null);
      out.push({ key, value, at: { ...at, text: value && isScalar(value) ? (this.scalarText(value) ?? '') : '' } });
    }
    return out;
  }

  unknownKey(key: string, at: Origin, allowed: readonly string[]): void {
    if (key === '<<') this.problem(at, 'merge keys (<<) are not supported: repeat the fields, or use an alias (*name) for a whole value');
    else this.problem({ ...at, path: at.path }, `unknown key "${key}": expected one of ${allowed.join(', ')}`);
  }

  // --- value readers: each returns undefined after recording a problem --------------------------

  string(node: Node | null, at: Origin, what = 'a string'): string | undefined {
    if (node && isScalar(node) && typeof node.value === 'string') return node.value;
    this.problem(at, `expected ${what}${describe(node)}`);
    return undefined;
  }

  /** A string or a number, as written (cpuset: 0, hostname: 123). */
  text(node: Node | null, at: Origin, what: string): string | undefined {
    const text = node && isScalar(node) && typeof node.value !== 'boolean' ? this.scalarText(node) : undefined;
    if (text === undefined) this.problem(at, `expected ${what}${describe(node)}`);
    return text;
  }

  integer(node: Node | null, at: Origin, what: string): number | undefined {
    const text = node && isScalar(node) && typeof node.value !== 'boolean' ? this.scalarText(node) : undefined;
    const n = text !== undefined && /^-?\d{1,16}$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n)) {
      this.problem(at, text === undefined ? `expected ${what}${describe(node)}` : `invalid value "${text}": expected ${what}`);
      return undefined;
    }
    return n;
  }

  /** mem_limit and friends: an integer of bytes, or a size with a unit; -1 is passed on (memswap's "unlimited"). */
  bytes(node: Node | null, at: Origin): number | undefined {
    const text = node && isScalar(node) && typeof node.value !== 'boolean' ? this.scalarText(node) : undefined;
    if (text === undefined) {
      this.problem(at, `expected ${SIZE_SYNTAX}${describe(node)}`);
      return undefined;
    }
    if (/^-\d{1,16}$/.test(text)) return Number(text);
    const size = tryParseByteSize(text);
    if (!size.ok) {
      this.problem(at, `invalid value "${text}": ${size.reason}; expected ${SIZE_SYNTAX}`);
      return undefined;
    }
    return size.bytes;
  }

  /** cpus: a decimal number of CPUs, as Docker's NanoCpus (billionths), exactly. */
  nanoCpus(node: Node | null, at: Origin): number | undefined {
    const text = node && isScalar(node) && typeof node.value !== 'boolean' ? this.scalarText(node) : undefined;
    const m = text === undefined ? null : /^(\d{1,6})?(?:\.(\d{0,9})0*)?$/.exec(text);
    if (text === undefined || !m || !/\d/.test(text)) {
      this.problem(
        at,
        text === undefined ? `expected a number of CPUs such as 0.5${describe(node)}` : `invalid value "${text}": expected a number of CPUs such as 0.5 or 2, with at most 9 decimal places`,
      );
      return undefined;
    }
    return Number(m[1] ?? '0') * 1e9 + Number((m[2] ?? '').padEnd(9, '0'));
  }

  /**
   * stop_grace_period: Compose's duration (Go's syntax: 30s, 1m30s, 1.5h, 500ms; a bare number is
   * seconds), as whole seconds, cut down as Compose cuts it into StopTimeout.
   */
  seconds(node: Node | null, at: Origin, what: string): number | undefined {
    const text = node && isScalar(node) && typeof node.value !== 'boolean' ? this.scalarText(node) : undefined;
    const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };
    let total = Number.NaN;
    if (text !== undefined && /^\d{1,9}$/.test(text)) total = Number(text);
    else if (text !== undefined && /^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/.test(text)) {
      total = 0;
      for (const [, n, , u] of text.matchAll(/(\d+(\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) total += Number(n) * unit[u!]!;
    }
    if (!Number.isFinite(total) || total > 86_400) {
      this.problem(at, text === undefined ? `expected ${what}${describe(node)}` : `invalid value "${text}": expected ${what}, at most 24h`);
      return undefined;
    }
    return Math.floor(total);
  }

  /** A list of scalars as strings (a sequence), with each item's origin. */
  stringList(node: Node | null, at: Origin): { value: string; at: Origin }[] | undefined {
    if (!node || !isSeq(node)) {
      this.problem(at, `expected a list${describe(node)}`);
      return undefined;
    }
    const out: { value: string; at: Origin }[] = [];
    node.items.forEach((raw, i) => {
      const item = this.deref(raw as Node | null);
      const itemAt = this.origin(item ?? (raw as Node | null), `${at.path}[${i}]`, at);
      const text = item && isScalar(item) ? this.scalarText(item) : undefined;
      if (text === undefined) this.problem(itemAt, `expected a string${describe(item)}`);
      else out.push({ value: text, at: itemAt });
    });
    return out;
  }

  resolveHostPath(p: string): string {
    return path.resolve(this.options.dir ?? path.dirname(path.resolve(this.options.file)), p);
  }

  getEnv(name: string): string | undefined {
    return (this.options.getEnv ?? ((n: string) => process.env[n]))(name);
  }
}

function joinPath(parent: string, key: string): string {
  const k = /^[A-Za-z0-9_.-]+$/.test(key) ? key : JSON.stringify(key);
  return parent === '' ? k : `${parent}.${k}`;
}

/** ", not a list" etc., for "expected …" messages. */
function describe(node: Node | null): string {
  if (node === null || (isScalar(node) && node.value === null)) return ', not an empty value';
  if (isMap(node)) return ', not a mapping';
  if (isSeq(node)) return ', not a list';
  if (isScalar(node)) return `, not ${typeof node.value === 'string' ? `"${node.value}"` : String(node.value)}`;
  return '';
}

// --- the service fields ----------------------------------------------------------------------------

function sizeField(field: string): Handler {
  return (node, at, svc) => {
    const bytes = svc.reader.bytes(node, at);
    if (bytes !== undefined) svc.set(field, bytes, at);
  };
}

function cpusField(node: Node | null, at: Origin, svc: ServiceBuilder): void {
  const nano = svc.reader.nanoCpus(node, at);
  if (nano !== undefined) svc.set('HostConfig.NanoCpus', nano, at);
}

/** command (Cmd) and entrypoint (Entrypoint): a list of words, or a string split as Compose splits it. */
const commandField =
  (field: string) =>
  (node: Node | null, at: Origin, svc: ServiceBuilder): void => {
    const r = svc.reader;
    if (node && isScalar(node) && typeof node.value === 'string') {
      const split = splitShellWords(node.value);
      if (split.ok) svc.set(field, split.words, at);
      else r.problem(at, `invalid command "${node.value}": ${split.reason}`);
      return;
    }
    if (!node || !isSeq(node)) {
      r.problem(at, `expected a command as a list of words or a string${describe(node)}`);
      return;
    }
    const words = r.stringList(node, at);
    if (words)
      svc.set(
        field,
        words.map((w) => w.value),
        at,
      );
  };

function environment(node: Node | null, at: Origin, svc: ServiceBuilder): void {
  const r = svc.reader;
  const items: { value: string; origin: Origin }[] = [];
  const add = (key: string, value: string | undefined, itemAt: Origin) => {
    if (key === '' || key.includes('=')) {
      r.problem(itemAt, `invalid variable name "${key}": expected KEY=VALUE or KEY, KEY not empty`);
      return;
    }
    // Compose: a variable without a value takes it from the environment, and is unset when that has none
    const resolved = value ?? r.getEnv(key);
    if (resolved !== undefined) items.push({ value: `${key}=${resolved}`, origin: itemAt });
  };
  if (node && isMap(node)) {
    for (const { key, value, at: itemAt } of r.entries(node, at.path)) {
      if (value === null || (isScalar(value) && value.value === null)) add(key, undefined, itemAt);
      else {
        const text = isScalar(value) ? r.scalarText(value) : undefined;
        if (text !== undefined) add(key, text, itemAt);
        else r.problem(itemAt, `expected a string, a number or a boolean${describe(value)}`);
      }
    }
  } else if (node && isSeq(node)) {
    for (const { value, at: itemAt } of r.stringList(node, at) ?? []) {
      const eq = value.indexOf('=');
      add(eq < 0 ? value : value.slice(0, eq), eq < 0 ? undefined : value.slice(eq + 1), itemAt);
    }
  } else {
    r.problem(at, `expected a list of KEY=VALUE or a mapping${describe(node)}`);
    return;
  }
  svc.set(
    'Env',
    items.map((i) => i.value),
    at,
  );
  svc.itemOrigins.Env = items;
}

function volumes(node: Node | null, at: Origin, svc: ServiceBuilder): void {
  const r = svc.reader;
  if (node && isSeq(node) && node.items.some((i) => isMap(r.deref(i as Node | null)))) {
    r.problem(at, 'only the short syntax HOST:CONTAINER[:ro|rw] is supported, not the long (mapping) syntax');
    return;
  }
  const binds: { value: string; origin: Origin }[] = [];
  for (const { value, at: itemAt } of r.stringList(node, at) ?? []) {
    const parts = value.split(':');
    const [host = '', target = '', mode] = parts;
    if (parts.length < 2 || parts.length > 3 || target === '') {
      r.problem(itemAt, `invalid volume "${value}": expected HOST:CONTAINER[:ro|rw] (anonymous volumes are not supported)`);
      continue;
    }
    if (mode !== undefined && mode !== 'ro' && mode !== 'rw') {
      r.problem(itemAt, `invalid volume "${value}": the mode "${mode}" is not supported: expected ro or rw`);
      continue;
    }
    if (!host.startsWith('/') && !host.startsWith('.')) {
      r.problem(itemAt, `invalid volume "${value}": "${host}" would be a named volume, which corral does not have: give a host path (absolute, or starting with ./ for one relative to the file)`);
      continue;
    }
    binds.push({ value: [r.resolveHostPath(host), target, ...(mode === undefined ? [] : [mode])].join(':'), origin: itemAt });
  }
  svc.set(
    'HostConfig.Binds',
    binds.map((b) => b.value),
    at,
  );
  svc.itemOrigins['HostConfig.Binds'] = binds;
}

function restart(node: Node | null, at: Origin, svc: ServiceBuilder): void {
  const r = svc.reader;
  const expected = 'no, always, unless-stopped, on-failure or on-failure:N (N the most restarts)';
  const text = node && isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
  const m = text === undefined ? null : /^(no|always|unless-stopped|on-failure)(?::(\d{1,9}))?$/.exec(text);
  if (text === undefined || !m || (m[2] !== undefined && m[1] !== 'on-failure')) {
    r.problem(at, text === undefined ? `expected ${expected}${describe(node)}` : `invalid value "${text}": expected ${expected}`);
    return;
  }
  svc.set('HostConfig.RestartPolicy', { Name: m[1], MaximumRetryCount: m[2] === undefined ? 0 : Number(m[2]) }, at);
}

function stringField(field: string, what: string, transform: (s: string, r: Reader) => string = (s) => s): Handler {
  return (node, at, svc) => {
    const text = svc.reader.text(node, at, what);
    if (text !== undefined) svc.set(field, transform(text, svc.reader), at);
  };
}

/** A nested mapping whose keys are handled by `handlers`. */
function section(handlers: Record<string, Handler>): Handler {
  return (node, at, svc) => {
    const r = svc.reader;
    if (!node || !isMap(node)) {
      r.problem(at, `expected a mapping with ${Object.keys(handlers).join(', ')}${describe(node)}`);
      return;
    }
    for (const entry of r.entries(node, at.path)) {
      const handler = handlers[entry.key];
      if (handler) handler(entry.value, entry.at, svc);
      else r.unknownKey(entry.key, entry.at, Object.keys(handlers));
    }
  };
}

/** ulimits: Compose's mapping of a name to a limit (soft and hard alike) or to {soft, hard}. */
function ulimitsField(node: Node | null, at: Origin, svc: ServiceBuilder): void {
  const r = svc.reader;
  if (!node || !isMap(node)) {
    r.problem(at, `expected a mapping of ulimit names to a limit or {soft, hard}${describe(node)}`);
    return;
  }
  const out: { Name: string; Soft: number; Hard: number }[] = [];
  for (const { key, value, at: itemAt } of r.entries(node, at.path)) {
    const what = 'a whole number, or -1 for unlimited';
    if (value && isMap(value)) {
      const limits: Record<string, number | undefined> = {};
      for (const entry of r.entries(value, itemAt.path)) {
        if (entry.key === 'soft' || entry.key === 'hard') limits[entry.key] = r.integer(entry.value, entry.at, what);
        else r.unknownKey(entry.key, entry.at, ['soft', 'hard']);
      }
      if (limits.soft === undefined || limits.hard === undefined) {
        if (!('soft' in limits && 'hard' in limits)) r.problem(itemAt, 'expected both soft and hard');
        continue;
      }
      out.push({ Name: key, Soft: limits.soft, Hard: limits.hard });
    } else {
      const n = r.integer(value, itemAt, what);
      if (n !== undefined) out.push({ Name: key, Soft: n, Hard: n });
    }
  }
  svc.set('HostConfig.Ulimits', out, at);
}

/** tmpfs: a PATH[:OPTIONS] or a list of them, as Compose takes it. */
function tmpfsField(node: Node | null, at: Origin, svc: ServiceBuilder): void {
  const r = svc.reader;
  const items = node && isScalar(node) && typeof node.value === 'string' ? [node.value] : (r.stringList(node, at) ?? []).map((i) => i.value);
  svc.set('HostConfig.Tmpfs', Object.fromEntries(items.map((item) => (item.includes(':') ? [item.slice(0, item.indexOf(':')), item.slice(item.indexOf(':') + 1)] : [item, '']))), at);
}

/** The reader of each kind of value (the registry, fields.ts, says which key is read how, into which body field). */
const READERS: Record<WorkloadsRead, (k: ServiceKey) => Handler> = {
  command: (k) => commandField(k.path),
  environment: () => environment,
  volumes: () => volumes,
  restart: () => restart,
  size: (k) => sizeField(k.path),
  cpus: () => cpusField,
  integer: (k) => (node, at, svc) => {
    const n = svc.reader.integer(node, at, k.what!);
    if (n !== undefined) svc.set(k.path, n, at);
  },
  text: (k) => stringField(k.path, k.what!),
  ulimits: () => ulimitsField,
  boolean: (k) => (node, at, svc) => {
    if (node && isScalar(node) && typeof node.value === 'boolean') svc.set(k.path, node.value, at);
    else svc.reader.problem(at, `expected true or false${describe(node)}`);
  },
  tmpfs: () => tmpfsField,
  duration: (k) => (node, at, svc) => {
    const n = svc.reader.seconds(node, at, k.what!);
    if (n !== undefined) svc.set(k.path, n, at);
  },
  directory: (k) => stringField(k.path, k.what!, (s, r) => (s === 'host' ? 'host' : r.resolveHostPath(s))),
};

/** A mapping of handlers from dotted keys (`deploy.resources.limits.cpus`): nested sections for the dots. */
function handlersOf(keys: readonly { key: string; handler: Handler }[]): Record<string, Handler> {
  const out: Record<string, Handler> = {};
  const nested = new Map<string, { key: string; handler: Handler }[]>();
  for (const { key, handler } of keys) {
    const dot = key.indexOf('.');
    if (dot < 0) out[key] = handler;
    else {
      const head = key.slice(0, dot);
      if (!nested.has(head)) nested.set(head, []);
      nested.get(head)!.push({ key: key.slice(dot + 1), handler });
    }
  }
  for (const [head, inner] of nested) out[head] = section(handlersOf(inner));
  return out;
}

/** A service's keys, each with its handler, from the registry. */
const SERVICE_FIELDS: Record<string, Handler> = handlersOf(SERVICE_KEYS.map((k) => ({ key: k.key, handler: READERS[k.read](k) })));

function readService(r: Reader, name: string, node: Node | null, at: Origin): WorkloadService | undefined {
  const before = r.problems.length;
  if (!SERVICE_NAME.test(name)) r.problem(at, `invalid service name "${name}": expected [a-zA-Z0-9][a-zA-Z0-9_.-]* (Docker's rule for names)`);
  if (!node || !isMap(node)) {
    r.problem(at, `expected a mapping of the service's fields${describe(node)}`);
    return undefined;
  }
  const svc = new ServiceBuilder(r);
  for (const entry of r.entries(node, at.path)) {
    const handler = SERVICE_FIELDS[entry.key];
    if (handler) handler(entry.value, entry.at, svc);
    else r.unknownKey(entry.key, entry.at, Object.keys(SERVICE_FIELDS));
  }
  if (r.problems.length > before) return undefined;
  const body: Record<string, unknown> = { Image: 'host', ...svc.body };
  if (Object.keys(svc.hostConfig).length > 0) body.HostConfig = svc.hostConfig;
  return { name, at, body, origins: svc.origins, itemOrigins: svc.itemOrigins };
}

/** Parse a workloads file's text; throws WorkloadsFileError with every problem found. */
export function parseWorkloads(text: string, options: ParseOptions): WorkloadsFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  const r = new Reader(doc, lines, options);
  for (const e of doc.errors) {
    const { line, col } = lines.linePos(e.pos[0]);
    r.problems.push({ line, column: col, path: '', reason: `invalid YAML: ${e.message.replace(/ at line \d+, column \d+.*$/s, '')}` });
  }
  if (r.problems.length > 0) throw new WorkloadsFileError(options.file, r.problems);
  const top = doc.contents as Node | null;
  const start: Origin = { line: 1, column: 1, path: '', text: '' };
  if (!top || !isMap(top)) {
    r.problem(r.origin(top, '', start), `expected a mapping with "services"${describe(top)}`);
    throw new WorkloadsFileError(options.file, r.problems);
  }
  const out: WorkloadsFile = { file: options.file, services: [] };
  let sawServices = false;
  for (const { key, value, at } of r.entries(top, '')) {
    if (key === 'services') {
      sawServices = true;
      if (!value || !isMap(value)) {
        r.problem(at, `expected a mapping of services${describe(value)}`);
        continue;
      }
      for (const s of r.entries(value, 'services')) {
        const service = readService(r, s.key, s.value, s.at);
        if (service) out.services.push(service);
      }
    } else if (key === 'name') {
      const name = r.string(value, at, 'a project name');
      if (name !== undefined && !PROJECT_NAME.test(name)) r.problem(at, `invalid project name "${name}": expected [a-z0-9][a-z0-9_-]* (Compose's rule)`);
      else if (name !== undefined) out.name = name;
    } else if (!TOP_KEYS.has(key) && !key.startsWith('x-')) {
      r.unknownKey(key, at, ['services', 'name', 'version', 'x-…']);
    }
  }
  if (!sawServices) r.problem(start, 'no "services": the file must have a services mapping');
  if (r.problems.length > 0) throw new WorkloadsFileError(options.file, r.problems);
  return out;
}
