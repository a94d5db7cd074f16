/**
 * `top` as moby does it on Linux (daemon/top_unix.go), the pure part: the host's `ps` is run with
 * the client's `ps_args` as separate argv words (never through a shell), and only the header and
 * the rows whose PID column holds a process of the container's cgroup are kept. Running ps and
 * reading the cgroup are the daemon's (src/daemon/top.ts).
 */
import { InvalidParameterError, SystemError } from '../errors.js';

/** Docker's GET /containers/{id}/top answer (its field order: Processes, then Titles). */
export interface TopResponse {
  /** one row per process, one cell per title (null when no process is left, as Docker's nil slice) */
  Processes: string[][] | null;
  Titles: string[];
}

/** What ps gets when the client gives no ps_args. */
export const DEFAULT_PS_ARGS = '-ef';

/** The longest ps_args taken: ps options are short, and every word becomes an argv entry. */
export const MAX_PS_ARGS_LENGTH = 4096;

/** ASCII whitespace only, as moby's fieldsASCII (Unicode spaces stay inside a word, as in ps's own output). */
function fieldsAscii(text: string): string[] {
  return text.split(/[\t\n\f\r ]+/).filter((w) => w !== '');
}

/**
 * A header renamed to PID (`-o ppid=PID`) would make the filter below match another column against
 * the container's pids and show host processes: refused, as moby's validatePSArgs does (which only
 * looks after whitespace; here the first word is checked too, so `-oppid=PID` is refused as well).
 */
const RENAMED_TO_PID = /(?:^|\s)(\S*)=\s*(PID\S*)/g;
const PID_ITSELF = /^(?:-?o)?pid$/;

/**
 * The argv words after `ps` for a ps_args value: split on ASCII whitespace (moby splits on single
 * spaces and passes the empty words on; ps refuses those anyway), `-ef` when there are none. Each
 * word is one argument of an execve: nothing in it is interpreted by a shell.
 */
export function psArgv(psArgs: string | null): string[] {
  const text = psArgs ?? '';
  if (text.length > MAX_PS_ARGS_LENGTH) throw new InvalidParameterError(`invalid ps_args: longer than ${MAX_PS_ARGS_LENGTH} characters`);
  if (text.includes('\0')) throw new InvalidParameterError('invalid ps_args: contains a NUL byte');
  for (const m of text.matchAll(RENAMED_TO_PID)) {
    if (!PID_ITSELF.test(m[1]!)) throw new InvalidParameterError(`specifying "${m[1]}=${m[2]}" is not allowed`);
  }
  const words = fieldsAscii(text);
  return words.length > 0 ? words : [DEFAULT_PS_ARGS];
}

/** moby's psPidsArg: `-q1,2,3`, so that ps reads only those processes (it is retried without when ps refuses the mix). */
export function psPidsArg(pids: readonly number[]): string {
  return `-q${pids.join(',')}`;
}

/** A row with more cells than titles has its overhanging cells joined into the last one (a command with spaces). */
function row(fields: string[], titles: number): string[] {
  if (fields.length <= titles) return fields;
  return [...fields.slice(0, titles - 1), fields.slice(titles - 1).join(' ')];
}

/**
 * moby's parsePSOutput: the first line's words are the titles, the column titled PID is matched
 * against `pids`. A thread line (`-L`, `m`) has "-" in that column and belongs to the process above
 * it: it is kept when that process was.
 */
export function parsePsOutput(output: string, pids: readonly number[]): TopResponse {
  const lines = output.split('\n');
  const titles = fieldsAscii(lines[0] ?? '');
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new SystemError("Couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const processes: string[][] = [];
  let previousKept = false;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const fields = fieldsAscii(line);
    const cell = fields[pidIndex];
    if (cell === '-') {
      if (previousKept) processes.push(row(fields, titles.length));
      continue;
    }
    if (cell === undefined || !/^\d{1,10}$/.test(cell))
      throw new SystemError(`Unexpected pid '${cell ?? ''}' in ps output line ${JSON.stringify(line.length > 200 ? `${line.slice(0, 200)}...` : line)}`);
    previousKept = wanted.has(Number(cell));
    if (previousKept) processes.push(row(fields, titles.length));
  }
  return { Processes: processes.length > 0 ? processes : null, Titles: titles };
}
