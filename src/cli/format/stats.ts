/**
 * `docker stats` rows: Docker CLI's cli/command/container/formatter_stats.go (docker/cli at
 * 28f756087eea5fa301f3fbf12b01ae62f91521c2). A pure row model from src/metrics/derive.ts's StatsEntry.
 */
import type { StatsEntry } from '../../metrics/derive.js';
import { tabwrite } from './table.js';
import { formatIoSize, formatMemorySize, formatPercentage } from '../../units.js';

/** What Docker prints for a value it does not have (formatter_stats.go `noValue`). */
export const NO_VALUE = '--';

/** One row of `docker stats`, every column as Docker prints it. */
export interface StatsRow {
  /** CONTAINER ID: the id's first 12 characters */
  container: string;
  /** NAME, without the leading "/" */
  name: string;
  /** CPU %: `51.01%` */
  cpu: string;
  /** MEM USAGE / LIMIT: `460KiB / 64MiB` */
  mem: string;
  /** MEM %: `0.70%` */
  memPerc: string;
  /** NET I/O: `1.2kB / 0B` */
  netIO: string;
  /** BLOCK I/O: `0B / 0B` */
  blockIO: string;
  /** PIDS: `1` */
  pids: string;
}

/** formatter_stats.go's column getters on one StatsEntry; a missing number prints as `--` (NO_VALUE). */
export function statsRow(e: StatsEntry): StatsRow {
  const size = (n: number | undefined): string => (n === undefined ? NO_VALUE : formatMemorySize(n));
  return {
    container: e.id.slice(0, 12),
    name: e.name !== '' ? e.name : NO_VALUE,
    cpu: e.cpuPercent === undefined ? NO_VALUE : formatPercentage(e.cpuPercent),
    mem: `${size(e.memory)} / ${size(e.memoryLimit)}`,
    memPerc: e.memoryPercent === undefined ? NO_VALUE : formatPercentage(e.memoryPercent),
    netIO: `${formatIoSize(e.networkRx)} / ${formatIoSize(e.networkTx)}`,
    blockIO: `${formatIoSize(e.blockRead)} / ${formatIoSize(e.blockWrite)}`,
    pids: e.pidsCurrent === undefined ? NO_VALUE : String(e.pidsCurrent),
  };
}

/** The default `docker stats` header, in column order. */
export const STATS_HEADER: StatsRow = {
  container: 'CONTAINER ID',
  name: 'NAME',
  cpu: 'CPU %',
  mem: 'MEM USAGE / LIMIT',
  memPerc: 'MEM %',
  netIO: 'NET I/O',
  blockIO: 'BLOCK I/O',
  pids: 'PIDS',
};

const COLUMNS: readonly (keyof StatsRow)[] = ['container', 'name', 'cpu', 'mem', 'memPerc', 'netIO', 'blockIO', 'pids'];

/**
 * The table as the CLI prints it: Go's text/tabwriter with minwidth 10, padding 3, padded with spaces
 * (cli/command/formatter NewContext), the last column unpadded; one line per row, each ending in "\n".
 */
export function renderStatsTable(rows: readonly StatsRow[]): string {
  return tabwrite([STATS_HEADER, ...rows].map((r) => COLUMNS.map((c) => r[c])));
}
