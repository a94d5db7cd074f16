/**
 * Validation of everything a request carries before it is used: path parameters (container
 * references), query parameters (Docker's booleans, integers, filters) and JSON object fields.
 * All pure; every refusal is an ApiError 400 whose message names the parameter and what is allowed.
 */
import { NAME_PATTERN } from '../container/ids.js';
import { ApiError } from './errors.js';
import { quoteInput } from '../errors.js';

/** "null", "array", or the typeof name, for messages about JSON values. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'object':
      return 'an object';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    default:
      return typeof value;
  }
}

// --- container references ------------------------------------------------------------------------

/** A full container ID: 64 lower-case hex digits. */
export const FULL_ID = /^[0-9a-f]{64}$/;
const ID_PREFIX = /^[0-9a-f]{1,64}$/;
/** Docker's longest container name; longer ones are refused by `corral run --name` too. */
export const MAX_NAME_LENGTH = 128;

/**
 * A syntactically valid reference to a container, as a client wrote it: a full ID, an ID prefix, or
 * a name (Docker also accepts "/name"). At least one of `idPrefix` and `name` is set; both are safe
 * to use as one path component (no "/", no ".." , no NUL).
 */
export interface ContainerRef {
  /** exactly as given, for messages */
  text: string;
  /** set when the reference is 1-64 lower-case hex digits */
  idPrefix?: string;
  /** set when the reference (without one leading "/") follows Docker's name rule */
  name?: string;
}

/** Validate a container reference from a path; anything else is a 400, decided without any file access. */
export function parseContainerRef(text: string): ContainerRef {
  const ref: ContainerRef = { text };
  if (ID_PREFIX.test(text)) ref.idPrefix = text;
  const bare = text.startsWith('/') ? text.slice(1) : text;
  if (NAME_PATTERN.test(bare) && bare.length <= MAX_NAME_LENGTH) ref.name = bare;
  if (ref.idPrefix === undefined && ref.name === undefined) {
    throw new ApiError(400, `invalid container name or ID ${quoteInput(text)}: expected a container ID (64 hex digits), a unique prefix of one, or a name matching [a-zA-Z0-9][a-zA-Z0-9_.-]+`);
  }
  return ref;
}

/** Docker's rule for `name` on create: the same pattern, with Docker's message. */
export function checkNewContainerName(name: string): string {
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (!NAME_PATTERN.test(bare) || bare.length > MAX_NAME_LENGTH) {
    throw new ApiError(400, `Invalid container name (${name.length > 80 ? `${name.slice(0, 80)}...` : name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return bare;
}

// --- query parameters -----------------------------------------------------------------------------

/** Docker's httputils.BoolValue: false for "", "0", "no", "false", "none" (any case, trimmed), true otherwise. */
export function queryBool(query: URLSearchParams, key: string): boolean {
  const value = (query.get(key) ?? '').trim().toLowerCase();
  return !(value === '' || value === '0' || value === 'no' || value === 'false' || value === 'none');
}

/** An integer query parameter within [min, max]; undefined when absent or empty. */
export function queryInt(query: URLSearchParams, key: string, min: number, max: number): number | undefined {
  const text = query.get(key);
  if (text === null || text === '') return undefined;
  const value = /^[+-]?\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ApiError(400, `invalid value ${quoteInput(text)} for query parameter "${key}": expected an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * A timestamp query value (`since`, `until` of /events and /logs) as unix nanoseconds: "1700000000",
 * "1700000000.5", or "1700000000.000000001" (Docker's timestamp form); undefined when absent. A
 * bigint, because nanoseconds since the epoch do not fit a double exactly.
 */
export function parseTimestampNanos(text: string | null, name: string): bigint | undefined {
  if (text === null || text === '') return undefined;
  const m = /^(\d{1,12})(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) throw new ApiError(400, `invalid ${name} ${quoteInput(text)}: expected unix seconds, optionally with a fraction (1700000000.5)`);
  return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** The most filter values the API takes in one request. */
export const MAX_FILTER_VALUES = 256;

/**
 * Docker's `filters` query parameter: a JSON object mapping each filter to its values, either as
 * `{"name": {"web": true}}` or in the older form `{"name": ["web"]}`. Returns filter -> values.
 */
export function parseFilters(text: string | null): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  if (text === null || text === '') return filters;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, `invalid filters: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(400, `invalid filters: expected a JSON object, not ${typeName(parsed)}`);
  }
  let count = 0;
  for (const [key, raw] of Object.entries(parsed)) {
    let values: string[];
    if (Array.isArray(raw)) {
      if (!raw.every((v): v is string => typeof v === 'string')) throw new ApiError(400, `invalid filters: the values of ${quoteInput(key)} must be strings`);
      values = raw;
    } else if (typeof raw === 'object' && raw !== null) {
      const entries = Object.entries(raw);
      if (!entries.every(([, v]) => typeof v === 'boolean')) throw new ApiError(400, `invalid filters: the values of ${quoteInput(key)} must map to true`);
      values = entries.filter(([, v]) => v).map(([k]) => k);
    } else {
      throw new ApiError(400, `invalid filters: ${quoteInput(key)} must be an object or an array of strings, not ${typeName(raw)}`);
    }
    count += values.length;
    if (count > MAX_FILTER_VALUES) throw new ApiError(400, `invalid filters: more than ${MAX_FILTER_VALUES} values`);
    if (values.length > 0) filters.set(key, values);
  }
  return filters;
}

/**
 * Match a name or ID filter value. Docker matches these as Go regular expressions; corral does not
 * run client-supplied patterns (JavaScript's are backtracking), and takes the value as a literal
 * substring instead, with the two anchors people use: a leading "^" and a trailing "$".
 */
export function matchesFilterPattern(pattern: string, value: string): boolean {
  let p = pattern;
  const start = p.startsWith('^');
  if (start) p = p.slice(1);
  const end = p.endsWith('$');
  if (end) p = p.slice(0, -1);
  if (start && end) return value === p;
  if (start) return value.startsWith(p);
  if (end) return value.endsWith(p);
  return value.includes(p);
}

// --- JSON object fields ---------------------------------------------------------------------------

/**
 * The JSON type of a field, after Docker's Go types: `string[]` is []string, `strslice` is Docker's
 * StrSlice (a string or an array of strings), `map<string>` is map[string]string, `object` is any
 * object (checked later, field by field). Every field may also be null, as Go's decoder allows.
 */
export type FieldType = 'string' | 'boolean' | 'integer' | 'object' | 'string[]' | 'integer[]' | 'strslice' | 'map<string>';
export type ObjectSchema = Readonly<Record<string, FieldType>>;

const EXPECTED: Record<FieldType, string> = {
  string: 'a string',
  boolean: 'a boolean',
  integer: 'an integer',
  object: 'an object',
  'string[]': 'an array of strings',
  'integer[]': 'an array of integers',
  strslice: 'a string or an array of strings',
  'map<string>': 'an object with string values',
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasType(value: unknown, type: FieldType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'object':
      return isPlainObject(value);
    case 'string[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'integer[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isSafeInteger(v));
    case 'strslice':
      return typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
    case 'map<string>':
      return isPlainObject(value) && Object.values(value).every((v) => typeof v === 'string');
  }
}

/**
 * Check an object's fields against a schema: unknown fields and wrong types are a 400 naming the
 * field. Field names match case-insensitively, as Go's JSON decoder does; the result has Docker's
 * spelling for each key, no prototype, and no null fields.
 */
export function checkFields(value: Record<string, unknown>, schema: ObjectSchema, where = 'the request body'): Record<string, unknown> {
  const byLower = new Map(Object.keys(schema).map((k) => [k.toLowerCase(), k]));
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const seen = new Set<string>();
  for (const [key, field] of Object.entries(value)) {
    const canonical = byLower.get(key.toLowerCase());
    if (canonical === undefined) throw new ApiError(400, `unknown field ${quoteInput(key)} in ${where}`);
    if (seen.has(canonical)) throw new ApiError(400, `field "${canonical}" is given twice in ${where}`);
    seen.add(canonical);
    if (field === null) continue;
    const type = schema[canonical]!;
    if (!hasType(field, type)) {
      throw new ApiError(400, `invalid value for field "${canonical}" in ${where}: expected ${EXPECTED[type]}, not ${typeName(field)}`);
    }
    out[canonical] = field;
  }
  return out;
}

/**
 * Split off the fields that are not in a schema (matched case-insensitively, as checkFields does),
 * for a route that ignores them as Docker's decoder does: `known` keeps the others; `unknown` names
 * the ignored ones, except those in `quiet` (fields clients are known to send), for a warning.
 */
export function dropUnknownFields(value: Record<string, unknown>, schema: ObjectSchema, quiet: readonly string[]): { known: Record<string, unknown>; unknown: string[] } {
  const inSchema = new Set(Object.keys(schema).map((k) => k.toLowerCase()));
  const isQuiet = new Set(quiet.map((k) => k.toLowerCase()));
  const known: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const unknown: string[] = [];
  for (const [key, field] of Object.entries(value)) {
    if (inSchema.has(key.toLowerCase())) known[key] = field;
    else if (!isQuiet.has(key.toLowerCase())) unknown.push(key);
  }
  return { known, unknown };
}

/**
 * A 400 naming the field when a string anywhere in a JSON value (or a key) holds a NUL byte:
 * nothing a request's strings become (argv, environment, paths, cgroup names) can carry one, as
 * C strings end there. `field` is the value's own name (`Cmd`, `HostConfig.Binds[1]`).
 */
export function rejectNulBytes(value: unknown, field: string, where = 'the request body'): void {
  if (typeof value === 'string') {
    if (value.includes('\0')) throw new ApiError(400, `invalid value for field ${quoteInput(field)} in ${where}: contains a NUL byte`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      rejectNulBytes(v, `${field}[${i}]`, where);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      const name = field === '' ? k : `${field}.${k}`;
      if (k.includes('\0')) throw new ApiError(400, `invalid field name ${quoteInput(name)} in ${where}: contains a NUL byte`);
      rejectNulBytes(v, name, where);
    }
  }
}
