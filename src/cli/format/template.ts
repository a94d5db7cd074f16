/**
 * The subset of Go's text/template that `docker ps --format` and `docker events --format` users
 * write: literal text and actions `{{.Field}}`, `{{.Field.Sub}}`, `{{.}}`, `{{json .Field}}`,
 * `{{json .}}`, with `{{-`/`-}}` trimming. Docker's CLI turns the two-character escapes `\t` and
 * `\n` into a tab and a newline and trims spaces at both ends before parsing; `table` in front means
 * a header row and aligned columns (formatter.Format.templateString).
 *
 * Values print as Go prints them: strings as they are, numbers, booleans, lists as `[a b]`, maps as
 * `map[k:v]` (keys sorted), a missing map key as `<no value>`. `json` marshals with JSON.stringify
 * (a data object may carry its exact JSON text under RAW_JSON).
 */
import { InvalidArgumentError } from '../../errors.js';
import { tabwrite } from './table.js';

/** A value part keeps its action as written (`{{ .Name }}`), for messages that quote it. */
type Part = { kind: 'text'; text: string } | { kind: 'value'; path: string[]; json: boolean; action: string };

export interface Template {
  source: string;
  parts: Part[];
}

/** Fields a template names that the data does not have, or a malformed action (`action`: as written, when there is one). */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly action?: string,
  ) {
    super(message);
  }
}

function parsePath(ref: string, action: string, written: string): string[] {
  if (ref === '.') return [];
  if (!/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(ref)) throw new TemplateError(`cannot parse action {{${action}}}: expected .Field, .Field.Sub, . or json followed by one of those`, written);
  return ref.slice(1).split('.');
}

/** Parse a template (already without `table` and with escapes replaced). */
export function parseTemplate(source: string): Template {
  const parts: Part[] = [];
  let at = 0;
  let trimNext = false;
  for (;;) {
    const open = source.indexOf('{{', at);
    let text = source.slice(at, open < 0 ? source.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      if (text) parts.push({ kind: 'text', text });
      return { source, parts };
    }
    const close = source.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError(`unclosed action: ${source.slice(open, open + 40)}`);
    const written = source.slice(open, close + 2);
    let action = source.slice(open + 2, close);
    if (action.startsWith('- ')) {
      text = text.replace(/\s+$/, '');
      action = action.slice(1);
    }
    trimNext = action.endsWith(' -');
    if (trimNext) action = action.slice(0, -1);
    if (text) parts.push({ kind: 'text', text });
    const words = action.trim().split(/\s+/);
    if (words.length === 1) parts.push({ kind: 'value', path: parsePath(words[0]!, action.trim(), written), json: false, action: written });
    else if (words.length === 2 && words[0] === 'json') parts.push({ kind: 'value', path: parsePath(words[1]!, action.trim(), written), json: true, action: written });
    else throw new TemplateError(`unsupported action {{${action.trim()}}}: corral's templates take .Field, .Field.Sub, . and json`, written);
    at = close + 2;
  }
}

/** How Go's fmt prints a value in a template. */
export function goValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `map[${entries.map(([k, x]) => `${k}:${goValue(x)}`).join(' ')}]`;
}

function lookup(data: unknown, path: string[]): unknown {
  let v = data;
  for (const [i, name] of path.entries()) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, name)) {
      // Go: a struct without the field is an error; a map without the key is <no value>
      if (i > 0 && typeof v === 'object' && v !== null && (v as { [MAP]?: boolean })[MAP]) return undefined;
      throw new TemplateError(`can't evaluate field ${name}`);
    }
    v = (v as Record<string, unknown>)[name];
  }
  return v;
}

/** Marks an object as a Go map (a missing key prints <no value> instead of failing). */
export const MAP: unique symbol = Symbol('go map');

export function asGoMap<T extends object>(o: T): T {
  Object.defineProperty(o, MAP, { value: true, enumerable: false });
  return o;
}

/** Carries the exact JSON text `json` prints for an object (e.g. an event line as the daemon sent it). */
export const RAW_JSON: unique symbol = Symbol('raw json');

/** `json` in a template: Go's json.Marshal for the values templates see (a bigint as its digits). */
function jsonOf(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'object' && v !== null && typeof (v as { [RAW_JSON]?: unknown })[RAW_JSON] === 'string') return (v as { [RAW_JSON]: string })[RAW_JSON];
  return JSON.stringify(v) ?? 'null';
}

export function renderTemplate(t: Template, data: unknown): string {
  return t.parts
    .map((p) => {
      if (p.kind === 'text') return p.text;
      const v = lookup(data, p.path);
      return p.json ? jsonOf(v) : goValue(v);
    })
    .join('');
}

export interface DockerFormat {
  /** `table ...`: a header row and aligned columns */
  table: boolean;
  template: Template;
}

/**
 * A --format value as Docker's CLI reads it: "json" is `{{json .}}`, "table" alone is `table` with
 * the command's default columns (`defaultTable`), "table TEMPLATE" is a table of TEMPLATE, anything
 * else a template. Every field the template names must exist in `sample` (Docker executes the
 * template on an empty value to check it); errors name `flag`.
 */
export function parseDockerFormat(flag: string, text: string, defaultTable: string, sample: unknown): DockerFormat {
  const { table, source } = readDockerFormat(text, defaultTable);
  try {
    const template = parseTemplate(source);
    renderTemplate(template, sample);
    return { table, template };
  } catch (err) {
    if (err instanceof TemplateError) throw new InvalidArgumentError(flag, text, `${err.message}; expected json, table, or a Go template such as '{{.ID}}\\t{{.Names}}'`);
    throw err;
  }
}

/**
 * The template text of a --format value, before parsing (docker/cli formatter.Context.preFormat):
 * "json" is `{{json .}}`, "table" alone (or nothing) `defaultTable`, a leading "table" is cut off and
 * makes a table; spaces at both ends are trimmed and the escapes `\t` and `\n` replaced.
 */
export function readDockerFormat(text: string, defaultTable: string): { table: boolean; source: string } {
  let source = text;
  let table = false;
  if (source === 'json') source = '{{json .}}';
  else if (source === 'table' || source === '') {
    source = defaultTable;
    table = true;
  } else if (source.startsWith('table')) {
    source = source.slice('table'.length);
    table = true;
  }
  source = source
    .replace(/^ +| +$/g, '')
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n');
  return { table, source };
}

/**
 * Rows under a --format value, each line ending in a newline: a table's cells are the template's
 * tab-separated parts under a header row (`headers` through the same template), aligned as
 * Docker's tabwriter does; anything else is one rendered line a row.
 */
export function renderRows(format: DockerFormat, headers: unknown, rows: readonly unknown[]): string {
  const text = rows.map((r) => `${renderTemplate(format.template, r)}\n`).join('');
  if (!format.table) return text;
  const lines = `${renderTemplate(format.template, headers)}\n${text}`.slice(0, -1).split('\n');
  return tabwrite(lines.map((line) => line.split('\t')));
}
