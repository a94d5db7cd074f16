/**
 * The detail view's history: per container, the last HISTORY_POINTS ticks of CPU (fraction of its
 * scale), memory (bytes), network and block I/O rates (bytes/s). Kept from the moment the dashboard
 * started (the daemon keeps no history), in Float32Arrays used as rings: 500 containers x 600 points
 * x 5 series is 6 MB.
 */
import { cpuFraction } from './layout.js';
import type { TopRow } from './model.js';

/** 10 minutes at one point a second. */
export const HISTORY_POINTS = 600;

export type Series = 'cpu' | 'mem' | 'net' | 'block' | 'memLimit';
const SERIES: readonly Series[] = ['cpu', 'mem', 'net', 'block', 'memLimit'];

class Ring {
  readonly data: Record<Series, Float32Array>;
  /** points written so far */
  count = 0;
  constructor(readonly size: number) {
    this.data = Object.fromEntries(SERIES.map((s) => [s, new Float32Array(size).fill(Number.NaN)])) as Record<Series, Float32Array>;
  }
}

export class History {
  private readonly rings = new Map<string, Ring>();

  constructor(private readonly size = HISTORY_POINTS) {}

  /** One tick's rows; containers gone from the rows are forgotten. */
  push(rows: readonly TopRow[]): void {
    const seen = new Set<string>();
    for (const r of rows) {
      seen.add(r.id);
      let ring = this.rings.get(r.id);
      if (!ring) {
        ring = new Ring(this.size);
        this.rings.set(r.id, ring);
      }
      const at = ring.count % this.size;
      const v: Record<Series, number | undefined> = {
        cpu: cpuFraction(r),
        mem: r.entry?.memory,
        memLimit: r.entry?.memoryLimit,
        net: r.rates ? r.rates.netRx + r.rates.netTx : undefined,
        block: r.rates ? r.rates.blockRead + r.rates.blockWrite : undefined,
      };
      for (const s of SERIES) ring.data[s][at] = v[s] ?? Number.NaN;
      ring.count++;
    }
    for (const id of this.rings.keys()) if (!seen.has(id)) this.rings.delete(id);
  }

  /** The last `n` points of a series, oldest first (NaN where nothing was read). */
  last(id: string, series: Series, n: number): number[] {
    const ring = this.rings.get(id);
    if (!ring) return [];
    const have = Math.min(ring.count, this.size, n);
    const out: number[] = [];
    for (let i = ring.count - have; i < ring.count; i++) out.push(ring.data[series][i % this.size]!);
    return out;
  }
}

const BLOCKS = '▁▂▃▄▅▆▇█';

/** A one-line chart of `values` against `max` (NaN: a blank). */
export function sparkline(values: readonly number[], max: number): string {
  return values
    .map((v) => {
      if (!Number.isFinite(v)) return ' ';
      const f = max > 0 ? Math.min(1, Math.max(0, v / max)) : 0;
      return BLOCKS[Math.min(BLOCKS.length - 1, Math.floor(f * BLOCKS.length))]!;
    })
    .join('');
}
