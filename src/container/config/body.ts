/**
 * Docker's create body (the Engine API's ContainerCreate: Config and HostConfig) read into the
 * configuration `corral run`'s flags are read into (RunInput), so that one set of rules decides
 * for the CLI, the API and the workloads file; a bad field is reported under its Docker name.
 * Which body field is which flag, and how its JSON value is read and written, is the registry's
 * (fields.ts); no value is turned into flag text to be parsed again. The way back, a checked
 * configuration written as a create body, is here too (bodyFromRun), for the CLI.
 */
import { FIELD_LIST, FIELD_OF_FLAG, type RunInput } from './fields.js';
import { obj, type ReaderField } from './readers.js';
import { runConfigFromInput, type HostFacts, type RunConfig } from './run-flags.js';
import type { ImageDefaults } from './run-config.js';
import { InvalidParameterError } from '../../errors.js';

export { logOptsFromJson, obj } from './readers.js';

/** The command's Cmd, a string or a list of strings (other items are ignored); Entrypoint is the registry's `entrypoint`, put before it by run's rules. */
export function commandFromBody(body: Record<string, unknown>): string[] {
  const v = body.Cmd;
  return typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** A body field's value by its registry path: `HostConfig.Memory`, `Image`. */
function valueAt(body: Record<string, unknown>, path: string): unknown {
  return path.startsWith('HostConfig.') ? obj(body.HostConfig)[path.slice('HostConfig.'.length)] : body[path];
}

/** Set a body field by its registry path (the inverse of valueAt); the body has its HostConfig object. */
function setAt(body: Record<string, unknown>, path: string, value: unknown): void {
  if (path.startsWith('HostConfig.')) obj(body.HostConfig)[path.slice('HostConfig.'.length)] = value;
  else body[path] = value;
}

/**
 * A configuration as read (`input`) and as run's rules checked it (`config`) written as Docker's
 * create body, the inverse of inputFromBody: each field by its writer, `checked` from the
 * configuration where it has one (the body carries the normalised value), else its readers' `body`
 * from the value as read; a field without a value is left out. The `name` query parameter is
 * returned beside the body.
 */
export function bodyFromRun(input: RunInput, config: RunConfig): { name?: string; body: Record<string, unknown> } {
  const body: Record<string, unknown> = { HostConfig: {} };
  let name: string | undefined;
  const values = input as Record<string, unknown>;
  for (const f of FIELD_LIST) {
    if (f.path === undefined) continue;
    const read = values[f.name];
    const value = f.checked !== undefined ? f.checked(config, read !== undefined) : read === undefined ? undefined : f.parse?.body(read, f);
    if (value === undefined) continue;
    if (f.path === 'name') name = value as string;
    else setAt(body, f.path, value);
  }
  return { ...(name === undefined ? {} : { name }), body };
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
export function runConfigFromBody(body: Record<string, unknown>, name: string | undefined, facts: HostFacts, image?: ImageDefaults): RunConfig {
  checkHonourable(body);
  return runConfigFromInput(inputFromBody(body, name), commandFromBody(body), facts, undefined, image);
}
