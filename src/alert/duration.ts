/**
 * Durations as Prometheus writes them in rule files (`for: 5m`, `1h30m`, `500ms`, `0s`): one or more
 * integer-and-unit parts from the largest unit down, units ms, s, m, h, d, w. Pure.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const ORDER = ['w', 'd', 'h', 'm', 's', 'ms'];

/** Milliseconds of a Prometheus duration, or undefined when the text is not one. */
export function parsePromDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+)(ms|[smhdw])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  let ms = 0;
  let last = -1;
  for (const p of parts) {
    const rank = ORDER.indexOf(p[2]!);
    // each unit at most once, largest first, as Prometheus' model.ParseDuration requires
    if (rank <= last) return undefined;
    last = rank;
    ms += Number(p[1]) * UNIT_MS[p[2]!]!;
  }
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** A duration in Prometheus' shortest form: 300000 -> "5m", 90000 -> "1m30s", 0 -> "0s". */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const u of ORDER) {
    const n = Math.floor(rest / UNIT_MS[u]!);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * UNIT_MS[u]!;
    }
  }
  return out;
}
