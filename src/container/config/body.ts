/**
 * Docker's create body (the Engine API's ContainerCreate: Config and HostConfig) as `corral run`'s
 * options, so that one set of parsing and validation rules decides for the CLI, the API and the
 * workloads file; a bad field is reported under its Docker name. Which body field is which flag,
 * and how its JSON value is read, is the registry's (fields.ts).
 */
import { FIELD_LIST, FIELD_OF_FLAG, type RawRunOptions, obj } from './fields.js';
import { runConfigFromOptions, type HostFacts, type RunConfig } from './run-flags.js';

export { logOptsFromJson, obj } from './fields.js';

/** The command: Entrypoint then Cmd, each a string or a list of strings (other items are ignored). */
function commandFromBody(body: Record<string, unknown>): string[] {
  const strings = (v: unknown) => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return [...strings(body.Entrypoint), ...strings(body.Cmd)];
}

/** A body field's value by its registry path: `HostConfig.Memory`, `Image`. */
function valueAt(body: Record<string, unknown>, path: string): unknown {
  return path.startsWith('HostConfig.') ? obj(body.HostConfig)[path.slice('HostConfig.'.length)] : body[path];
}

/**
 * Docker's create body as `corral run`'s flags, so that the CLI's parsing and validation (and its
 * unit arithmetic) decide; the body's top-level field types were checked by the route already.
 */
export function rawOptionsFromBody(body: Record<string, unknown>, name: string | undefined): { options: RawRunOptions; command: string[] } {
  const options: Record<string, unknown> = {};
  for (const f of FIELD_LIST) {
    if (f.option === 'name') {
      if (name !== undefined) options.name = name;
    } else if (f.fromJson !== undefined && f.option !== undefined) {
      const value = f.fromJson(valueAt(body, f.path!), f.path!);
      if (value !== undefined) options[f.option] = value;
    }
  }
  return { options: options as RawRunOptions, command: commandFromBody(body) };
}

/** The Docker field a `corral run` flag's value came from (FIELD_OF_FLAG), or the flag itself. */
export function dockerFieldOf(flag: string): string {
  return FIELD_OF_FLAG[flag] ?? flag;
}

/**
 * Docker's create body turned into a RunConfig and validated by `corral run`'s own rules (run-flags),
 * creating nothing: create uses it, and so does the workloads file (to check every service first).
 * Throws the InvalidArgumentError of the flag the bad field became (dockerFieldOf names the field).
 */
export function runConfigFromBody(body: Record<string, unknown>, name: string | undefined, facts: HostFacts): RunConfig {
  const { options, command } = rawOptionsFromBody(body, name);
  return runConfigFromOptions(options, command, facts);
}
