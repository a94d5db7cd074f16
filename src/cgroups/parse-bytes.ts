/**
 * Byte twins of the parsers the sampler runs for every container every tick (parse.ts): they read the
 * kernel's own form of a file in place, from the bytes a pread left in a buffer, without a string per
 * file or per line. Anything else (blanks, tabs, a bad line, an odd number) goes to the string parser
 * with the bytes' text, so that the result and the error are always the string parser's
 * (test/unit/cgroups/parse-bytes.test.ts checks both on every captured kernel file).
 */
import { parseBlkioStat, parseCpuacctUsageAll, parseFlatKeyed, parseNumber, parseSingleValue, type BlkioDeviceCounters, type CpuacctCpuUsage } from './parse.js';
import type { Limit } from './types.js';

/** A parser of a whole file's bytes (valid only during the call: they are the reader's buffer). */
export type BytesParser<T> = (bytes: Uint8Array, path?: string) => T;

const NEWLINE = 10;
const SPACE = 32;
const COLON = 58;
const MINUS = 45;
const DEL = 127;
const ZERO = 48;
const NINE = 57;
/** Decimal digits that a double accumulates exactly (below 2^53); longer numbers go through Number(). */
const EXACT_DIGITS = 15;

/** The bytes as text: kernel files are ASCII, and latin1 maps each byte to one character. */
export function latin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

/** A string parser given the bytes' text: for the files read once (limits) or rarely. */
export function viaText<T>(parse: (text: string, path?: string) => T): BytesParser<T> {
  return (bytes, path) => parse(latin1(bytes), path);
}

/** The integer bytes[start, end) when it matches /^-?\d+$/, else NaN (parse.ts integerAt, on bytes). */
export function integerIn(bytes: Uint8Array, start: number, end: number): number {
  const negative = bytes[start] === MINUS;
  const first = negative ? start + 1 : start;
  if (first >= end) return NaN;
  let value = 0;
  for (let i = first; i < end; i++) {
    const c = bytes[i]!;
    if (c < ZERO || c > NINE) return NaN;
    value = value * 10 + (c - ZERO);
  }
  // past 2^53 the running sum rounds at each step; Number() rounds once, as the string parsers do
  if (end - first > EXACT_DIGITS) value = Number(latin1(bytes, first, end));
  return negative ? -value : value;
}

/**
 * The digits bytes[start, end) as a number when they are digits only, without a leading zero (but "0")
 * and exact: numbers that are equal exactly when their texts are. Else NaN.
 */
function plainDigits(bytes: Uint8Array, start: number, end: number): number {
  if (start >= end || end - start > EXACT_DIGITS || bytes[start] === MINUS || (bytes[start] === ZERO && end - start > 1)) return NaN;
  return integerIn(bytes, start, end);
}

/** The single integer of a file in the kernel's form ("123\n"), else NaN. */
function singleInteger(bytes: Uint8Array): number {
  const end = bytes.length - 1;
  return end > 0 && bytes[end] === NEWLINE ? integerIn(bytes, 0, end) : NaN;
}

/** parseSingleValue on bytes. */
export function parseSingleValueBytes(bytes: Uint8Array, path?: string): Limit {
  const value = singleInteger(bytes);
  return Number.isNaN(value) ? parseSingleValue(latin1(bytes), path) : value;
}

/** parseNumber on bytes. */
export function parseNumberBytes(bytes: Uint8Array, path?: string): number {
  const value = singleInteger(bytes);
  return Number.isNaN(value) ? parseNumber(latin1(bytes), path) : value;
}

/** Whether `key` is at bytes[start] followed by a space. */
function keyAt(bytes: Uint8Array, start: number, key: string): boolean {
  const length = key.length;
  if (bytes[start + length] !== SPACE) return false;
  for (let i = 0; i < length; i++) if (bytes[start + i] !== key.charCodeAt(i)) return false;
  return true;
}

/**
 * parseFlatKeyed on bytes, with the same memo of keys by line (`keys`, the caller's, updated here):
 * a key found again at its line is the string of last time, so a file read every tick makes no string.
 */
export function parseFlatKeyedBytes(bytes: Uint8Array, path?: string, keys?: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  const length = bytes.length;
  let start = 0;
  for (let line = 0; start < length; line++) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = length;
    const known = keys?.[line];
    let key: string | undefined;
    let space: number;
    if (known !== undefined && keyAt(bytes, start, known)) {
      key = known;
      space = start + known.length;
    } else {
      space = start;
      while (space < end && bytes[space]! > SPACE && bytes[space]! < DEL) space++;
    }
    const value = space > start && bytes[space] === SPACE ? integerIn(bytes, space + 1, end) : NaN;
    // any other line: the string parser says what it is (blank, other blanks, or bad)
    if (Number.isNaN(value)) return parseFlatKeyed(latin1(bytes), path);
    if (key === undefined) {
      key = latin1(bytes, start, space);
      if (keys) keys[line] = key;
    }
    out[key] = value;
    start = end + 1;
  }
  return out;
}

const USAGE_ALL_HEADER = 'cpu user system\n';

/** parseCpuacctUsageAll on bytes: the header, then "cpu user system" numbers per line. */
export function parseCpuacctUsageAllBytes(bytes: Uint8Array, path?: string): CpuacctCpuUsage[] {
  const slow = () => parseCpuacctUsageAll(latin1(bytes), path);
  const length = bytes.length;
  if (length <= USAGE_ALL_HEADER.length || bytes[length - 1] !== NEWLINE) return slow();
  for (let i = 0; i < USAGE_ALL_HEADER.length; i++) if (bytes[i] !== USAGE_ALL_HEADER.charCodeAt(i)) return slow();
  const out: CpuacctCpuUsage[] = [];
  let start = USAGE_ALL_HEADER.length;
  while (start < length) {
    const end = bytes.indexOf(NEWLINE, start);
    const first = bytes.indexOf(SPACE, start);
    const second = first < 0 || first > end ? -1 : bytes.indexOf(SPACE, first + 1);
    if (second < 0 || second > end) return slow();
    const cpu = integerIn(bytes, start, first);
    const user = integerIn(bytes, first + 1, second);
    const system = integerIn(bytes, second + 1, end);
    // digits only (no sign), as the string parser's /^\d+ \d+ \d+$/
    if (Number.isNaN(cpu + user + system) || bytes[start] === MINUS || bytes[first + 1] === MINUS || bytes[second + 1] === MINUS) return slow();
    out.push({ cpu, user, system });
    start = end + 1;
  }
  return out;
}

const TOTAL = 'Total';

/**
 * parseBlkioStat on bytes: "MAJOR:MINOR Op value" lines, then "Total value". `ops`, the caller's memo
 * of the operation names by line, as parseFlatKeyedBytes's keys.
 */
export function parseBlkioStatBytes(bytes: Uint8Array, path?: string, ops?: string[]): BlkioDeviceCounters[] {
  const slow = () => parseBlkioStat(latin1(bytes), path);
  const out: BlkioDeviceCounters[] = [];
  const length = bytes.length;
  let start = 0;
  for (let line = 0; start < length; line++) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = length;
    if (keyAt(bytes, start, TOTAL)) {
      if (Number.isNaN(integerIn(bytes, start + TOTAL.length + 1, end))) return slow();
      start = end + 1;
      continue;
    }
    const colon = bytes.indexOf(COLON, start);
    const space = colon < 0 || colon > end ? -1 : bytes.indexOf(SPACE, colon);
    const opEnd = space < 0 || space > end ? -1 : bytes.indexOf(SPACE, space + 1);
    if (opEnd < 0 || opEnd > end) return slow();
    // the string parser keys devices by the digits' text: numbers without a leading zero are the same key
    const major = plainDigits(bytes, start, colon);
    const minor = plainDigits(bytes, colon + 1, space);
    const value = integerIn(bytes, opEnd + 1, end);
    if (Number.isNaN(major + minor + value) || opEnd === space + 1) return slow();
    for (let i = space + 1; i < opEnd; i++) if (bytes[i]! <= SPACE || bytes[i]! >= DEL) return slow();
    let op = ops?.[line];
    if (op === undefined || op.length !== opEnd - space - 1 || !keyAt(bytes, space + 1, op)) {
      op = latin1(bytes, space + 1, opEnd);
      if (ops) ops[line] = op;
    }
    let entry: BlkioDeviceCounters | undefined;
    for (const e of out) if (e.major === major && e.minor === minor) entry = e;
    if (!entry) {
      entry = { major, minor, ops: {} };
      out.push(entry);
    }
    entry.ops[op] = value;
    start = end + 1;
  }
  return out;
}
