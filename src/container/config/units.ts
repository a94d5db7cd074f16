/**
 * Byte sizes as Docker's flags take them (go-units `RAMInBytes`): a decimal number, an optional
 * space, and an optional unit b, k, m, g, t or p that may be followed by "b" or "ib"; units are
 * case-insensitive and binary ("32m" = 32 * 1024 * 1024 = "32MiB" = "32mb"); a plain number is bytes;
 * a fraction is truncated to whole bytes ("1.5k" = 1536, "0.1k" = 102), as Docker does.
 */
import { InvalidArgumentError } from '../../errors.js';

/** What a size may look like, for error messages and help. */
export const SIZE_SYNTAX = 'a number of bytes with an optional unit b, k, m, g, t or p (binary multiples, e.g. 512m)';

/** The largest size accepted, in bytes: the largest integer a JavaScript number holds exactly (8 PiB - 1). */
export const MAX_SIZE = Number.MAX_SAFE_INTEGER;

const UNIT_SHIFTS: Readonly<Record<string, bigint>> = { k: 10n, m: 20n, g: 30n, t: 40n, p: 50n };

/** A parsed size, or why the text is not one (a short phrase without the expected syntax). */
export type SizeParse = { ok: true; bytes: number } | { ok: false; reason: string };

/** Parse a size without throwing; see the module comment for the syntax. */
export function tryParseByteSize(text: string): SizeParse {
  const match = /^(-?)(\d+(?:\.\d*)?|\.\d+) ?([a-zA-Z]*)$/.exec(text);
  if (!match) return { ok: false, reason: 'not a size' };
  const [, sign = '', number = '', unitText = ''] = match;
  const unit = unitText.toLowerCase();
  let multiplier: bigint;
  if (unit === '' || unit === 'b') {
    multiplier = 1n;
  } else {
    const shift = UNIT_SHIFTS[unit[0] ?? ''];
    const rest = unit.slice(1);
    if (shift === undefined || !(rest === '' || rest === 'b' || rest === 'ib')) {
      return { ok: false, reason: `unknown unit "${unitText}"` };
    }
    multiplier = 1n << shift;
  }
  if (sign === '-') return { ok: false, reason: 'a size cannot be negative' };
  const [whole = '', fraction = ''] = number.split('.');
  let bytes = BigInt(whole === '' ? '0' : whole) * multiplier;
  if (fraction !== '') bytes += (BigInt(fraction) * multiplier) / 10n ** BigInt(fraction.length);
  if (bytes > BigInt(MAX_SIZE)) {
    return { ok: false, reason: `too large: the largest size allowed is ${MAX_SIZE} bytes` };
  }
  return { ok: true, bytes: Number(bytes) };
}

/**
 * Parse the size `value` given to `flag`; throws InvalidArgumentError naming the flag, the value,
 * what is wrong and `expected` (default: SIZE_SYNTAX).
 */
export function parseByteSize(flag: string, value: string, expected: string = SIZE_SYNTAX): number {
  const parsed = tryParseByteSize(value);
  if (!parsed.ok) throw new InvalidArgumentError(flag, value, `${parsed.reason}; expected ${expected}`);
  return parsed.bytes;
}
