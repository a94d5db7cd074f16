/**
 * A field's value read from where it was given: a flag's text (as commander collects it) or a JSON
 * value of Docker's create body. Both readers of a field give the same type, so that one set of
 * rules (run-flags.ts) checks a value whatever its source, and nothing is turned into flag text to
 * be parsed again. `text` is the value as an error shows it: the flag's text, or the JSON value in
 * the flag's syntax (NanoCpus 1500000000 is shown as 1.500000000), so that a refusal reads the
 * same from the CLI, the API and the workloads file.
 *
 * A refusal found while reading is kept in the Read and thrown where the value is used (take), so
 * that of two bad values the one checked first is still the one reported.
 *
 * Each kind also writes a value back as the body's JSON (`body`, the inverse of `json`): the CLI
 * builds Docker's create and update bodies from its flags with it.
 */
import { InvalidArgumentError, InvalidParameterError } from '../../errors.js';
import { formatRestartPolicy, parseRestartFlag, type RestartPolicy, restartPolicyFromJson, restartPolicyJson } from '../restart-policy.js';
import { SIZE_SYNTAX, tryParseByteSize } from './units.js';

/** A value with the text errors show for it. */
export interface Shown<T> {
  flag: string;
  text: string;
  value: T;
}

/** A value with the text errors show for it, or the refusal of that text. */
export type Read<T> = Shown<T> | { flag: string; text: string; error: InvalidArgumentError };

/** The value, or its refusal thrown. */
export function take<T>(read: Read<T>): T {
  if ('error' in read) throw read.error;
  return read.value;
}

/** What a reader knows of its field: the flag errors name, what the value may be, and its body path. */
export interface ReaderField {
  flag: string;
  expected?: string;
  /** `expected` when it mentions other flags */
  expectedNaming?: (nameOf: (flag: string) => string) => string;
  path?: string;
}

/**
 * The JSON type of a body field, in api/validate.ts's FieldType names (a list of objects is
 * 'object' there: update's list fields are taken out before that check, splitListFields).
 */
export type BodyType = 'string' | 'string[]' | 'integer' | 'boolean' | 'object';

/** The two readers of a field, and its writer. */
export interface Readers<T> {
  /** the body field's JSON type */
  type: BodyType;
  /** commander's value: a string, a list of strings for a repeatable flag, true for a boolean */
  text(raw: unknown, f: ReaderField): T;
  /** the body's JSON value; undefined leaves the field unset (absent, or Docker's zero value); a wrong JSON type throws InvalidParameterError */
  json(value: unknown, f: ReaderField & { path: string }): T | undefined;
  /**
   * The value as the body's JSON, the inverse of `json`. Throws the flag's InvalidArgumentError when
   * the value read is not of its kind (a size or an integer that is not one): ranges and conflicts
   * are run's rules' (run-flags.ts) and the daemon's, which see the other fields.
   */
  body(value: T, f: ReaderField): unknown;
}

/** `parse(text)`'s value, or its InvalidArgumentError kept for later. */
function defer<T>(flag: string, text: string, parse: () => T): Read<T> {
  try {
    return { flag, text, value: parse() };
  } catch (error) {
    if (error instanceof InvalidArgumentError) return { flag, text, error };
    throw error;
  }
}

/** A JSON value as an object, or an empty one when it is not an object. */
export function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A JSON integer; absent and 0 (Docker's "unset") give undefined. */
function jsonInteger(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidParameterError(`invalid ${path}: expected an integer`);
  return v === 0 ? undefined : v;
}

/** The refusal of a value that is not of its field's kind: "expected" and what the field may be. */
function notOfItsKind(f: ReaderField, text: string): InvalidArgumentError {
  return new InvalidArgumentError(f.flag, text, `expected ${f.expected}`);
}

/** A list of CPUs or memory nodes, such as 0-1,3 (the numbers' bounds are the rules'). */
export const CPU_LIST_PATTERN = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/** An integer flag's text (parseInteger's syntax): a safe integer, else undefined. */
export function parseInteger(value: string): number | undefined {
  if (!/^-?\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** --cpus as billionths of a CPU (Docker's NanoCPUs), exactly; undefined when not a decimal of at most 9 places. */
export function parseNanoCpus(value: string): number | undefined {
  const match = /^(\d*)(?:\.(\d*))?$/.exec(value);
  if (!match || !/\d/.test(value)) return undefined;
  const whole = match[1] ?? '';
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > 9 || whole.length > 6) return undefined;
  return Number(whole === '' ? '0' : whole) * 1e9 + Number(fraction.padEnd(9, '0'));
}

/** NanoCpus in --cpus's syntax, for messages: 1500000000 -> "1.500000000" (a negative number as it is). */
export function formatNanoCpus(nano: number): string {
  const digits = String(nano);
  return digits.startsWith('-') ? digits : `${digits.slice(0, -9) || '0'}.${digits.slice(-9).padStart(9, '0')}`;
}

// --- the kinds of value --------------------------------------------------------------------------

/** A string as given; the body's "" is Docker's "not set". */
export const STRING: Readers<string> = {
  type: 'string',
  text: (raw) => raw as string,
  json: (v) => (typeof v === 'string' && v !== '' ? v : undefined),
  body: (v) => v,
};

/** A string, with a value of the body that means the default (Image "host", NetworkMode "default"). */
export function stringOr(defaultName: string): Readers<string> {
  return { ...STRING, json: (v) => (typeof v === 'string' && v !== '' && v !== defaultName ? v : undefined) };
}

/** A repeatable flag's values; the body's string or list of strings (other items are ignored). */
export const STRINGS: Readers<string[]> = {
  type: 'string[]',
  text: (raw) => raw as string[],
  json: (v) => {
    const out = typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    return out.length ? out : undefined;
  },
  body: (v) => v,
};

/**
 * --label KEY=VALUE (repeatable; KEY alone is an empty value, as Docker's CLI has it; a later KEY
 * wins) and the body's Labels, an object of strings. Read as a whole, the first bad item refused.
 */
export const LABELS: Readers<Read<Record<string, string>>> = {
  type: 'object',
  text: (raw, f) => {
    const labels: Record<string, string> = {};
    for (const item of raw as string[]) {
      const eq = item.indexOf('=');
      const key = eq < 0 ? item : item.slice(0, eq);
      if (key.trim() === '') return { flag: f.flag, text: item, error: new InvalidArgumentError(f.flag, item, `expected ${f.expected}`) };
      labels[key] = eq < 0 ? '' : item.slice(eq + 1);
    }
    return { flag: f.flag, text: (raw as string[]).join(' '), value: labels };
  },
  json: (v, f) => {
    if (v === undefined || v === null) return undefined;
    const o = obj(v);
    if (o !== v || !Object.values(o).every((x) => typeof x === 'string')) throw new InvalidParameterError(`invalid ${f.path}: expected an object of strings`);
    return Object.keys(o).length === 0 ? undefined : { flag: f.flag, text: JSON.stringify(v), value: { ...(o as Record<string, string>) } };
  },
  body: (read) => take(read),
};

/** --cpuset-cpus and --cpuset-mems: a list such as 0-1,3; the body's string. */
export const CPU_LIST: Readers<string> = {
  ...STRING,
  body: (v, f) => {
    if (!CPU_LIST_PATTERN.test(v)) throw notOfItsKind(f, v);
    return v;
  },
};

/** A boolean flag; the body's true. */
export const FLAG: Readers<boolean> = {
  type: 'boolean',
  text: (raw) => raw === true,
  json: (v) => (v === true ? true : undefined),
  body: (v) => v,
};

/** A size in bytes: the flag's size syntax, or the body's integer. */
export const SIZE: Readers<Read<number>> = {
  type: 'integer',
  text: (raw, f) => {
    const text = raw as string;
    const parsed = tryParseByteSize(text);
    if (parsed.ok) return { flag: f.flag, text, value: parsed.bytes };
    const { expectedNaming: naming, expected = SIZE_SYNTAX } = f;
    const reason = naming === undefined ? `${parsed.reason}; expected ${expected}` : (n: (flag: string) => string) => `${parsed.reason}; expected ${naming(n)}`;
    return { flag: f.flag, text, error: new InvalidArgumentError(f.flag, text, reason) };
  },
  json: (v, f) => {
    const n = jsonInteger(v, f.path);
    if (n === undefined) return undefined;
    // a negative or too large integer is refused as the flag refuses its digits
    return Number.isSafeInteger(n) && n > 0 ? { flag: f.flag, text: String(n), value: n } : SIZE.text(String(n), f);
  },
  body: (read) => take(read),
};

/** --memory-swap: a size, or -1 for unlimited swap. */
export const SWAP: Readers<Read<number | 'unlimited'>> = {
  type: 'integer',
  text: (raw, f) => (raw === '-1' ? { flag: f.flag, text: '-1', value: 'unlimited' } : SIZE.text(raw, f)),
  json: (v, f) => (v === -1 ? SWAP.text('-1', f) : SIZE.json(v, f)),
  body: (read) => {
    const swap = take(read);
    return swap === 'unlimited' ? -1 : swap;
  },
};

/** A number read as NaN when its text is not one (INTEGER, NANO_CPUS) is refused in a body. */
function numberBody(read: Shown<number>, f: ReaderField): number {
  if (Number.isNaN(read.value)) throw notOfItsKind(f, read.text);
  return read.value;
}

/** An integer (NaN when the text is not one: the field's own rule then refuses it with its range). */
export const INTEGER: Readers<Shown<number>> = {
  type: 'integer',
  text: (raw, f) => ({ flag: f.flag, text: raw as string, value: parseInteger(raw as string) ?? Number.NaN }),
  json: (v, f) => {
    const n = jsonInteger(v, f.path);
    return n === undefined ? undefined : { flag: f.flag, text: String(n), value: Number.isSafeInteger(n) ? n : Number.NaN };
  },
  body: numberBody,
};

/** The largest NanoCpus --cpus's syntax takes: 6 whole digits. */
const MAX_NANO_CPUS = 999_999_999_999_999;

/** --cpus as NanoCpus; NaN when not a number of CPUs (its refusal names the host's CPUs, which the check knows). */
export const NANO_CPUS: Readers<Shown<number>> = {
  type: 'integer',
  text: (raw, f) => ({ flag: f.flag, text: raw as string, value: parseNanoCpus(raw as string) ?? Number.NaN }),
  json: (v, f) => {
    const n = jsonInteger(v, f.path);
    if (n === undefined) return undefined;
    return { flag: f.flag, text: formatNanoCpus(n), value: n > 0 && n <= MAX_NANO_CPUS ? n : Number.NaN };
  },
  body: numberBody,
};

/** --restart's policy; the body's RestartPolicy ("no" leaves it unset). */
export const RESTART: Readers<Read<RestartPolicy>> = {
  type: 'object',
  text: (raw, f) => defer(f.flag, raw as string, () => parseRestartFlag(raw as string)),
  json: (v, f) => {
    const policy = restartPolicyFromJson(v);
    if (policy === undefined || policy.name === 'no') return undefined;
    const text = formatRestartPolicy(policy);
    // the flag's syntax takes at most 9 digits of retries: a larger count is refused as the flag refuses it
    return policy.maximumRetryCount > 999_999_999 ? RESTART.text(text, f) : { flag: f.flag, text, value: policy };
  },
  body: (read) => restartPolicyJson(take(read)),
};

/** One --log-opt: its key and value, and the key=value text errors show. */
export interface LogOpt {
  key: string;
  value: string;
  text: string;
}

/**
 * HostConfig.LogConfig's options: json-file (or no Type) only, its Config a map of strings
 * (`{"max-size": "10m", "max-file": "3"}`), which run's rules then check.
 */
export function logOptsFromJson(value: unknown): LogOpt[] {
  if (value === undefined || value === null) return [];
  const lc = obj(value);
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidParameterError('HostConfig.LogConfig: expected an object {"Type": "json-file", "Config": {...}}');
  if (lc.Type !== undefined && lc.Type !== null && lc.Type !== '' && lc.Type !== 'json-file') {
    throw new InvalidParameterError(`HostConfig.LogConfig.Type: logging driver ${JSON.stringify(lc.Type)} is not supported: corral writes json-file logs`);
  }
  const out: LogOpt[] = [];
  for (const [key, v] of Object.entries(obj(lc.Config))) {
    if (typeof v !== 'string') throw new InvalidParameterError(`HostConfig.LogConfig.Config.${key}: expected a string`);
    // split as the flag's key=value text is, so that a key holding "=" is refused as it always was
    out.push(logOptOf(`${key}=${v}`));
  }
  return out;
}

/** A --log-opt's text split at its first "=" (no "=": the key alone, with an empty value). */
export function logOptOf(text: string): LogOpt {
  const eq = text.indexOf('=');
  return eq < 0 ? { key: text, value: '', text } : { key: text.slice(0, eq), value: text.slice(eq + 1), text };
}

/** --log-opt's key=value pairs; the body's LogConfig. */
export const LOG_OPTS: Readers<LogOpt[]> = {
  type: 'object',
  text: (raw) => (raw as string[]).map(logOptOf),
  json: (v) => {
    const opts = logOptsFromJson(v);
    return opts.length ? opts : undefined;
  },
  body: (opts) => ({ Type: 'json-file', Config: Object.fromEntries(opts.map((o) => [o.key, o.value])) }),
};

/** One throttled device: its path and rate (bytes or operations per second). */
export interface DeviceRate {
  path: string;
  rate: number;
}

/** DEVICE:RATE's syntax (the device's existence is the check's, with the host's facts). */
function parseDeviceRateText(flag: string, value: string, bytes: boolean, expected: string): DeviceRate {
  const parts = value.split(':');
  const [path = '', rateText = ''] = parts;
  if (parts.length !== 2 || path === '' || rateText === '') throw new InvalidArgumentError(flag, value, `expected ${expected}`);
  if (!path.startsWith('/')) throw new InvalidArgumentError(flag, value, `the device must be an absolute path; expected ${expected}`);
  let rate: number;
  if (bytes) {
    const parsed = tryParseByteSize(rateText);
    if (!parsed.ok) throw new InvalidArgumentError(flag, value, `rate "${rateText}": ${parsed.reason}; expected ${expected}`);
    rate = parsed.bytes;
  } else {
    const n = parseInteger(rateText);
    if (n === undefined || n < 0) throw new InvalidArgumentError(flag, value, `rate "${rateText}": not a whole number; expected ${expected}`);
    rate = n;
  }
  if (rate === 0) throw new InvalidArgumentError(flag, value, `the rate must be above 0; expected ${expected}`);
  return { path, rate };
}

/** --device-{read,write}-{bps,iops}'s DEVICE:RATE values; the body's ThrottleDevice list (`[{"Path": "/dev/sda", "Rate": 1048576}]`). */
export function deviceRates(bytes: boolean): Readers<Read<DeviceRate>[]> {
  const one = (text: string, f: ReaderField) => defer(f.flag, text, () => parseDeviceRateText(f.flag, text, bytes, f.expected!));
  return {
    type: 'object',
    text: (raw, f) => (raw as string[]).map((text) => one(text, f)),
    json: (v, f) => {
      if (v === undefined || v === null) return undefined;
      if (!Array.isArray(v)) throw new InvalidParameterError(`invalid ${f.path}: expected a list of {"Path", "Rate"}`);
      const out = v.map((d: unknown): Read<DeviceRate> => {
        const { Path: path, Rate: rate } = obj(d);
        if (typeof path !== 'string' || typeof rate !== 'number' || !Number.isInteger(rate)) {
          throw new InvalidParameterError(`invalid ${f.path}: expected a list of {"Path": string, "Rate": integer}`);
        }
        const text = `${path}:${rate}`;
        const plain = path.startsWith('/') && !path.includes(':') && Number.isSafeInteger(rate) && rate > 0;
        // anything else is refused as the flag refuses its DEVICE:RATE text
        return plain ? { flag: f.flag, text, value: { path, rate } } : one(text, f);
      });
      return out.length ? out : undefined;
    },
    body: (reads) =>
      reads.map((read) => {
        const { path, rate } = take(read);
        return { Path: path, Rate: rate };
      }),
  };
}

/**
 * --entrypoint: one word, not split (docker/cli sends it as a list of one), or "" to clear the
 * entrypoint; the body's Entrypoint, a string or a list of strings. Read as the list of words; an
 * empty list is a cleared entrypoint (Docker's `[""]`, which moby turns into none).
 */
export const ENTRYPOINT: Readers<string[]> = {
  type: 'string[]',
  text: (raw) => ((raw as string) === '' ? [] : [raw as string]),
  json: (v) => {
    if (v === undefined || v === null) return undefined;
    const words = typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    // [""] is docker/cli's "cleared"; [] and "" leave it unset, as moby reads them
    if (words.length === 1 && words[0] === '') return [];
    return words.length === 0 ? undefined : words;
  },
  body: (words) => (words.length === 0 ? [''] : words),
};

/**
 * An integer whose 0 means something (StopTimeout 0: no grace at all), so only an absent body field
 * is unset: docker/cli sends StopTimeout only when --stop-timeout was given.
 */
export const INTEGER_ZERO: Readers<Shown<number>> = {
  ...INTEGER,
  json: (v, f) => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidParameterError(`invalid ${f.path}: expected an integer`);
    return { flag: f.flag, text: String(v), value: Number.isSafeInteger(v) ? v : Number.NaN };
  },
};

/** One --ulimit as read: its name (checked by run's rules), soft and hard limits, -1 for unlimited. */
export interface UlimitInput {
  name: string;
  soft: number;
  hard: number;
}

/**
 * NAME=SOFT[:HARD], go-units' ParseUlimit syntax (HARD defaults to SOFT; -1 is unlimited); the
 * name and the soft <= hard rule are run's rules'.
 */
function parseUlimitText(flag: string, value: string, expected: string): UlimitInput {
  const eq = value.indexOf('=');
  const limits = eq < 0 ? [] : value.slice(eq + 1).split(':');
  const numbers = limits.map((t) => (/^-?\d{1,19}$/.test(t) ? Number(t) : Number.NaN));
  if (eq <= 0 || numbers.length < 1 || numbers.length > 2 || numbers.some((n) => !Number.isSafeInteger(n) || n < -1)) {
    throw new InvalidArgumentError(flag, value, `expected ${expected}`);
  }
  const [soft = 0, hard = soft] = numbers;
  return { name: value.slice(0, eq), soft, hard };
}

/** --ulimit's NAME=SOFT[:HARD] values; the body's Ulimits (`[{"Name": "nofile", "Soft": 64, "Hard": 128}]`). */
export const ULIMITS: Readers<Read<UlimitInput>[]> = {
  type: 'object',
  text: (raw, f) => (raw as string[]).map((text) => defer(f.flag, text, () => parseUlimitText(f.flag, text, f.expected!))),
  json: (v, f) => {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) throw new InvalidParameterError(`invalid ${f.path}: expected a list of {"Name", "Soft", "Hard"}`);
    const out = v.map((u: unknown): Read<UlimitInput> => {
      const { Name: name, Soft: soft, Hard: hard } = obj(u);
      if (typeof name !== 'string' || typeof soft !== 'number' || typeof hard !== 'number' || !Number.isInteger(soft) || !Number.isInteger(hard)) {
        throw new InvalidParameterError(`invalid ${f.path}: expected a list of {"Name": string, "Soft": integer, "Hard": integer}`);
      }
      // read as the flag reads its text, so that a refusal reads the same
      const text = `${name}=${soft}:${hard}`;
      return defer(f.flag, text, () => parseUlimitText(f.flag, text, f.expected!));
    });
    return out.length ? out : undefined;
  },
  body: (reads) =>
    reads.map((read) => {
      const { name, soft, hard } = take(read);
      return { Name: name, Soft: soft, Hard: hard };
    }),
};

/**
 * --tmpfs PATH[:OPTIONS] items (Docker's CLI splits at the first ":"); the body's Tmpfs, an object
 * of path to options. The items as given: run's rules check the path and the options.
 */
export const TMPFS: Readers<string[]> = {
  type: 'object',
  text: (raw) => raw as string[],
  json: (v, f) => {
    if (v === undefined || v === null) return undefined;
    const o = obj(v);
    if (o !== v || !Object.values(o).every((x) => typeof x === 'string')) throw new InvalidParameterError(`invalid ${f.path}: expected an object of path to options strings`);
    const items = Object.entries(o as Record<string, string>).map(([path, options]) => (options === '' ? path : `${path}:${options}`));
    return items.length ? items : undefined;
  },
  body: (items) => Object.fromEntries(items.map((item) => (item.includes(':') ? [item.slice(0, item.indexOf(':')), item.slice(item.indexOf(':') + 1)] : [item, '']))),
};
