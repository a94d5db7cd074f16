/**
 * Validation of limit values, shared by the v1 and v2 controller plans so that a bad value gives the same
 * message on both modes. Limits are named as cgroup v2 names them (the domain model's meanings):
 * `invalid cpu.weight 0: expected an integer in 1-10000`.
 */
import { InvalidLimitError, ParseError } from '../errors.js';
import { formatCpuList, parseCpuList } from './parse.js';
import type { Limit } from './types.js';

function show(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : String(value);
}

/** An integer in [min, max]. */
export function checkRange(name: string, value: number, min: number, max: number, unit?: string): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidLimitError(`invalid ${name} ${show(value)}: expected an integer in ${min}-${max}${unit ? ` (${unit})` : ''}`);
  }
  return value;
}

/** An integer >= min. */
export function checkAtLeast(name: string, value: number, min: number, unit: string): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidLimitError(`invalid ${name} ${show(value)}: expected an integer >= ${min} (${unit})`);
  }
  return value;
}

/** An integer >= min, or 'max'. */
export function checkLimit(name: string, value: Limit, min: number, unit: string): Limit {
  if (value === 'max') return value;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidLimitError(`invalid ${name} ${show(value)}: expected an integer >= ${min} (${unit}) or 'max'`);
  }
  return value;
}

/**
 * A kernel list (cpuset.cpus, cpuset.mems), normalized ("0,1,2" -> "0-2"), that must lie inside `parent`
 * (the parent's effective set) when it is known. `what` is "cpus" or "mems".
 */
export function checkCpuset(name: string, list: string, parent: string | undefined, what: string): string {
  let wanted: number[];
  try {
    wanted = parseCpuList(list);
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    throw new InvalidLimitError(`invalid ${name} ${show(list)}: expected a kernel list such as "0-3,5"`);
  }
  if (wanted.length === 0) throw new InvalidLimitError(`invalid ${name} ${show(list)}: expected at least one entry`);
  if (parent !== undefined) {
    const allowed = new Set(parseCpuList(parent));
    const outside = wanted.filter((n) => !allowed.has(n));
    if (outside.length > 0) {
      throw new InvalidLimitError(`${name} "${formatCpuList(wanted)}" is outside the parent's effective ${what} "${formatCpuList([...allowed])}" (not allowed: "${formatCpuList(outside)}")`);
    }
  }
  return formatCpuList(wanted);
}

/** A device number for io.max / blkio.throttle.* lines. */
export function checkDevice(name: string, major: number, minor: number): string {
  if (!Number.isSafeInteger(major) || major < 0 || !Number.isSafeInteger(minor) || minor < 0) {
    throw new InvalidLimitError(`invalid ${name} device ${major}:${minor}: expected major:minor, non-negative integers`);
  }
  return `${major}:${minor}`;
}
