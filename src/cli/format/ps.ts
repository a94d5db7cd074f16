/**
 * `corral ps` output, as docker/cli's formatter.ContainerContext renders GET /containers/json:
 * the default table (CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES), `-q`, `--format
 * json` (one object a line, keys sorted as Go marshals a map) and templates. Pure: the clock is
 * injected. STATUS is the daemon's own text ("Up 5 seconds", "Exited (3) 2 minutes ago"), as in
 * Docker; CREATED is computed here from `Created`, as Docker's CLI does.
 */
import { humanDuration } from '../../container/format.js';
import { parseDockerFormat, renderRows, type DockerFormat } from './template.js';

/** The fields of a GET /containers/json entry that ps shows. */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID?: string;
  Command: string;
  /** unix seconds */
  Created: number;
  State: string;
  Status: string;
  Ports?: unknown[];
  Labels?: Record<string, string> | null;
  Mounts?: { Name?: string; Source?: string; Driver?: string }[];
  NetworkSettings?: { Networks?: Record<string, unknown> } | null;
}

export const DEFAULT_PS_TABLE = '{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** docker/cli's header names per field. */
export const PS_HEADERS: Readonly<Record<string, string>> = {
  ID: 'CONTAINER ID',
  Names: 'NAMES',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
};

/** docker/cli's Ellipsis for text of single-width characters: at most `max` characters, the last one "…". */
export function ellipsis(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** Go's strconv.Quote: double quotes; backslash escapes for quotes, backslashes and control characters. */
export function goQuote(text: string): string {
  const named: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (named[ch] !== undefined) out += named[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Go's time.Time.String() for a unix time, in UTC: "2026-11-23 10:00:00 +0000 UTC". */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const year = d.getUTCFullYear();
  // from the fields: a process's first toISOString costs ~1 ms; beyond four-digit years (or no date), its text or its RangeError
  if (!(year >= 0 && year <= 9999)) return `${d.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
  const date = `${String(year).padStart(4, '0')}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  return `${date} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000 UTC`;
}

/** The template fields of one container (Go names), as ContainerContext computes them. */
export function psFields(c: ContainerSummary, trunc: boolean, now: Date): Record<string, string> {
  const names = c.Names.map((n) => n.replace(/^\//, ''));
  const mounts = (c.Mounts ?? []).map((m) => (m.Name ? m.Name : (m.Source ?? ''))).map((n) => (trunc ? ellipsis(n, 15) : n));
  const labels = Object.entries(c.Labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  const fields: Record<string, string> = {
    Command: goQuote(trunc ? ellipsis(c.Command, 20) : c.Command),
    CreatedAt: goTimeString(c.Created),
    ID: trunc ? c.Id.slice(0, 12) : c.Id,
    Image: c.Image === '' ? '<no image>' : c.Image,
    Labels: labels.join(','),
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Mounts: mounts.join(','),
    // truncated, Docker shows the first name without a slash (legacy links have one)
    Names: trunc ? (names.find((n) => !n.includes('/')) ?? '') : names.join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).join(','),
    // corral publishes no ports: its containers have the host's network or none
    Ports: '',
    RunningFor: `${humanDuration(now.getTime() - c.Created * 1000)} ago`,
    // the writable layer's size is not computed (Docker only does with --size)
    Size: '0B',
    State: c.State,
    Status: c.Status,
  };
  return fields;
}

/** A ps --format value checked against the fields (errors name --format). */
export function parsePsFormat(text: string | undefined, quiet: boolean): DockerFormat {
  if (quiet) return parseDockerFormat('--format', '{{.ID}}', DEFAULT_PS_TABLE, PS_HEADERS);
  return parseDockerFormat('--format', text ?? 'table', DEFAULT_PS_TABLE, PS_HEADERS);
}

/** The whole ps output for `containers`, each line ending in a newline (none for no rows and no table). */
export function renderPs(containers: readonly ContainerSummary[], format: DockerFormat, trunc: boolean, now: Date): string {
  return renderRows(
    format,
    PS_HEADERS,
    containers.map((c) => psFields(c, trunc, now)),
  );
}
