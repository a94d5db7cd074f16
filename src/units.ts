/**
 * Numbers as Docker prints them: docker/go-units size.go (at 2bd057e7d15e) for sizes, Go's
 * strconv for %g and %.2f. Memory in binary units ("MiB", formatMemorySize), I/O and image sizes in
 * decimal ones ("MB", formatIoSize), as `docker stats`, `docker images` and a pull's progress bars
 * print them. A leaf module: the CLI, the dashboard and the daemon's pull progress all use it.
 */
const DECIMAL_ABBRS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_ABBRS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** The exact decimal digits of a positive finite double (no leading or trailing zeros) and its decimal point position. */
function decimalDigits(x: number): { digits: string; dp: number } {
  // toPrecision(100) is exact for every double with at most 100 significant digits, which covers all
  // the sizes formatted here (values in [1, 1024) have at most 57).
  const s = x.toPrecision(100);
  const [mant = '', exp = '0'] = s.split('e');
  const [intPart = '', fracPart = ''] = mant.split('.');
  const all = intPart + fracPart;
  const leading = all.length - all.replace(/^0+/, '').length;
  const digits = all.slice(leading).replace(/0+$/, '');
  return { digits, dp: intPart.length + Number(exp) - leading };
}

/**
 * Go's `fmt.Sprintf("%.*g", prec, x)` (strconv.FormatFloat(x, 'g', prec, 64)): `prec` significant
 * digits rounded half to even on the exact binary value, trailing zeros dropped, exponent form (`1e+03`)
 * when the exponent is below -4 or not below the precision (strconv/ftoa.go formatDigits).
 */
export function goFormatG(x: number, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  if (prec < 1) prec = 1;
  const neg = x < 0 || Object.is(x, -0);
  const sign = neg ? '-' : '';
  if (x === 0) return sign + '0';
  let { digits, dp } = decimalDigits(Math.abs(x));
  if (digits.length > prec) {
    const next = digits.charCodeAt(prec) - 48;
    const restNonZero = /[1-9]/.test(digits.slice(prec + 1));
    const last = digits.charCodeAt(prec - 1) - 48;
    const up = next > 5 || (next === 5 && (restNonZero || last % 2 === 1));
    const kept = digits.slice(0, prec).split('').map(Number);
    if (up) {
      let i = kept.length - 1;
      for (; i >= 0; i--) {
        if (kept[i] === 9) kept[i] = 0;
        else {
          kept[i] = (kept[i] ?? 0) + 1;
          break;
        }
      }
      if (i < 0) {
        kept.unshift(1);
        kept.pop();
        dp++;
      }
    }
    digits = kept.join('').replace(/0+$/, '');
  }
  const nd = digits.length;
  let eprec = prec;
  if (eprec > nd && nd >= dp) eprec = nd;
  const exp = dp - 1;
  if (exp < -4 || exp >= eprec) {
    const p = Math.min(prec, nd);
    let m = digits[0] ?? '0';
    if (p > 1) m += '.' + digits.slice(1, p).padEnd(p - 1, '0');
    const e = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  const p = prec > dp ? nd : prec;
  const frac = Math.max(p - dp, 0);
  let out = dp > 0 ? digits.slice(0, dp).padEnd(dp, '0') : '0';
  if (frac > 0) {
    out += '.';
    for (let i = 0; i < frac; i++) {
      const idx = dp + i;
      out += idx >= 0 && idx < nd ? digits[idx] : '0';
    }
  }
  return sign + out;
}

/** go-units getSizeAndUnit: divide by `base` while the size is at least `base` and a larger unit exists. */
function sizeAndUnit(size: number, base: number, abbrs: readonly string[]): [number, string] {
  let i = 0;
  while (size >= base && i < abbrs.length - 1) {
    size = size / base;
    i++;
  }
  return [size, abbrs[i] ?? ''];
}

/**
 * An amount of I/O (NET I/O, BLOCK I/O): go-units HumanSizeWithPrecision, decimal units (kB = 1000 B),
 * `precision` significant digits (docker stats: 3): `1.2kB`, `0B`.
 */
export function formatIoSize(size: number, precision = 3): string {
  const [s, unit] = sizeAndUnit(size, 1000, DECIMAL_ABBRS);
  return goFormatG(s, precision) + unit;
}

/** A size in memory (MEM USAGE / LIMIT): go-units BytesSize, binary units (KiB = 1024 B), 4 significant digits: `1.5MiB`, `460KiB`. */
export function formatMemorySize(size: number): string {
  const [s, unit] = sizeAndUnit(size, 1024, BINARY_ABBRS);
  return goFormatG(s, 4) + unit;
}

/** formatter_stats.go formatPercentage: strconv.FormatFloat(val, 'f', 2, 64) + "%": `12.34%`. */
export function formatPercentage(val: number): string {
  return goFormatF2(val) + '%';
}

/** strconv.FormatFloat(x, 'f', 2, 64): two decimals, rounded half to even on the exact value. */
function goFormatF2(x: number): string {
  if (!Number.isFinite(x)) return goFormatG(x, 1);
  const sign = x < 0 ? '-' : '';
  const a = Math.abs(x);
  if (a === 0) return sign + '0.00';
  const { digits, dp } = decimalDigits(a);
  // keep dp + 2 significant digits (every digit up to the hundredths)
  const keep = dp + 2;
  if (keep <= 0) {
    // below 0.005, or a tie at exactly 0.005 (rounds to even: 0.00); above rounds up to 0.01
    const up = keep === 0 && (digits.charCodeAt(0) - 48 > 5 || (digits[0] === '5' && digits.length > 1));
    return sign + (up ? '0.01' : '0.00');
  }
  let padded = digits.padEnd(keep, '0');
  let whole = BigInt(padded.slice(0, keep));
  if (digits.length > keep) {
    const next = digits.charCodeAt(keep) - 48;
    const restNonZero = /[1-9]/.test(digits.slice(keep + 1));
    if (next > 5 || (next === 5 && (restNonZero || whole % 2n === 1n))) whole += 1n;
  }
  padded = whole.toString().padStart(3, '0');
  return `${sign}${padded.slice(0, -2)}.${padded.slice(-2)}`;
}
