/**
 * Docker's create body (the Engine API's ContainerCreate: Config and HostConfig) read into the
 * configuration `corral run`'s flags are read into (RunInput), so that one set of rules decides
 * for the CLI, the API and the workloads file; a bad field is reported under its Docker name.
 * Which body field is which flag, and how its JSON value is read, is the registry's (fields.ts);
 * no value is turned into flag text to be parsed again.
 */
import { FIELD_LIST, FIELD_OF_FLAG, type RunInput } from './fields.js';
import { obj, type ReaderField } from './readers.js';
import { runConfigFromInput, type HostFacts, type RunConfig } from './run-flags.js';
import { InvalidParameterError } from '../../errors.js';

export { logOptsFromJson, obj } from './readers.js';

/** The command: Entrypoint then Cmd, each a string or a list of strings (other items are ignored). */
export function commandFromBody(body: Record<string, unknown>): string[] {
  const strings = (v: unknown) => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return [...strings(body.Entrypoint), ...strings(body.Cmd)];
}

/** A body field's value by its registry path: `HostConfig.Memory`, `Image`. */
function valueAt(body: Record<string, unknown>, path: string): unknown {
  return path.startsWith('HostConfig.') ? obj(body.HostConfig)[path.slice('HostConfig.'.length)] : body[path];
}

/**
 * Docker's create body (and the `name` query parameter) as a RunInput, field by field in the
 * registry's order; a field of the wrong JSON type throws InvalidParameterError naming it. The
 * body's top-level field types were checked by the route already.
 */
export function inputFromBody(body: Record<string, unknown>, name: string | undefined): RunInput {
  const input: Record<string, unknown> = {};
  for (const f of FIELD_LIST) {
    if (f.parse === undefined || f.path === undefined) continue;
    const value = f.path === 'name' ? (name === undefined ? undefined : f.parse.text(name, f)) : f.parse.json(valueAt(body, f.path), f as ReaderField & { path: string });
    if (value !== undefined) input[f.name] = value;
  }
  return input as RunInput;
}

/** The Docker field a `corral run` flag's value came from (FIELD_OF_FLAG), or the flag itself. */
export function dockerFieldOf(flag: string): string {
  return FIELD_OF_FLAG[flag] ?? flag;
}

/**
 * HostConfig fields of Docker's that corral cannot honour, with why. Clients send them at their zero
 * value when the user asked for nothing (the Docker CLI sends `"PortBindings": {}`, `"Privileged":
 * false`), which is accepted; any other value is refused, naming the field, rather than ignored.
 */
const UNHONOURED_HOST_CONFIG: Readonly<Record<string, string>> = {
  VolumesFrom: 'corral has no volumes of other containers to mount (bind the host path with Binds)',
  Links: 'corral has no container networks to link (the network is none or host)',
  PortBindings: 'corral publishes no ports (the network is none or host: with host the workload serves on the host)',
  PublishAllPorts: 'corral publishes no ports (the network is none or host: with host the workload serves on the host)',
  Privileged: 'corral runs no privileged containers (add the capabilities needed with CapAdd)',
  Devices: 'corral gives containers no host devices',
};

/** Go's zero values and what clients send for "nothing": null, false, 0, "", [] and {}. */
function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).length === 0;
}

/** Refuse a HostConfig field corral cannot honour when it asks for something (UNHONOURED_HOST_CONFIG). */
export function checkHonourable(body: Record<string, unknown>): void {
  for (const [field, why] of Object.entries(UNHONOURED_HOST_CONFIG)) {
    const value = obj(body.HostConfig)[field];
    if (!isZero(value)) throw new InvalidParameterError(`HostConfig.${field}: ${JSON.stringify(value).slice(0, 80)} is not supported: ${why}; expected it empty`);
  }
}

/**
 * Docker's create body turned into a RunConfig and validated by `corral run`'s own rules (run-flags),
 * creating nothing: create uses it, and so does the workloads file (to check every service first).
 * Throws the InvalidArgumentError of the flag the bad field stands for (dockerFieldOf names the field).
 */
export function runConfigFromBody(body: Record<string, unknown>, name: string | undefined, facts: HostFacts): RunConfig {
  checkHonourable(body);
  return runConfigFromInput(inputFromBody(body, name), commandFromBody(body), facts);
}
