/**
 * Docker's create body (the Engine API's ContainerCreate: Config and HostConfig) as `corral run`'s
 * options, so that one set of parsing and validation rules decides for the CLI, the API and the
 * workloads file; a bad field is reported under its Docker name.
 */
import { InvalidParameterError } from '../../errors.js';
import { formatRestartPolicy, restartPolicyFromJson } from '../restart-policy.js';
import { runConfigFromOptions, type HostFacts, type RawRunOptions, type RunConfig } from './run-flags.js';

/** The Docker field each `corral run` flag comes from, so that a 400 names the field the client sent. */
const FIELD_OF_FLAG: Record<string, string> = {
  '--memory': 'HostConfig.Memory',
  '--memory-swap': 'HostConfig.MemorySwap',
  '--memory-reservation': 'HostConfig.MemoryReservation',
  '--cpus': 'HostConfig.NanoCpus',
  '--cpu-period': 'HostConfig.CpuPeriod',
  '--cpu-quota': 'HostConfig.CpuQuota',
  '--cpu-shares': 'HostConfig.CpuShares',
  '--cpuset-cpus': 'HostConfig.CpusetCpus',
  '--cpuset-mems': 'HostConfig.CpusetMems',
  '--pids-limit': 'HostConfig.PidsLimit',
  '--blkio-weight': 'HostConfig.BlkioWeight',
  '--restart': 'HostConfig.RestartPolicy',
  '--log-opt': 'HostConfig.LogConfig',
  '--device-read-bps': 'HostConfig.BlkioDeviceReadBps',
  '--device-write-bps': 'HostConfig.BlkioDeviceWriteBps',
  '--device-read-iops': 'HostConfig.BlkioDeviceReadIOps',
  '--device-write-iops': 'HostConfig.BlkioDeviceWriteIOps',
  '--volume': 'HostConfig.Binds',
  '--network': 'HostConfig.NetworkMode',
  '--cap-add': 'HostConfig.CapAdd',
  '--cap-drop': 'HostConfig.CapDrop',
  '--cgroup-parent': 'HostConfig.CgroupParent',
  '--rootfs': 'Image',
  '--hostname': 'Hostname',
  '--env': 'Env',
  '--workdir': 'WorkingDir',
  '--user': 'User',
  '--name': 'name',
  COMMAND: 'Cmd',
};

/** A JSON value as an object, or an empty one when it is not an object. */
export function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** A number field as the flag's text; 0 (Docker's "unset") and absence give undefined. */
function num(v: unknown, field: string, unsetZero = true): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidParameterError(`invalid ${field}: expected an integer`);
  return unsetZero && v === 0 ? undefined : String(v);
}

/** Docker's ThrottleDevice list (`[{"Path": "/dev/sda", "Rate": 1048576}]`) as the flag's DEVICE:RATE values. */
function throttleDevices(v: unknown, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new InvalidParameterError(`invalid ${field}: expected a list of {"Path", "Rate"}`);
  const out = v.map((d: unknown) => {
    const { Path: p, Rate: rate } = obj(d);
    if (typeof p !== 'string' || typeof rate !== 'number' || !Number.isInteger(rate)) throw new InvalidParameterError(`invalid ${field}: expected a list of {"Path": string, "Rate": integer}`);
    return `${p}:${rate}`;
  });
  return out.length ? out : undefined;
}

/**
 * Docker's create body as `corral run`'s flags, so that the CLI's parsing and validation (and its
 * unit arithmetic) decide; the body's field types were checked by the route already.
 */
export function rawOptionsFromBody(body: Record<string, unknown>, name: string | undefined): { options: RawRunOptions; command: string[] } {
  const hc = obj(body.HostConfig);
  const o: RawRunOptions = {};
  const set = <K extends keyof RawRunOptions>(k: K, v: RawRunOptions[K] | undefined) => {
    if (v !== undefined) o[k] = v;
  };
  set('name', name);
  set('rm', hc.AutoRemove === true ? true : undefined);
  const image = typeof body.Image === 'string' ? body.Image : '';
  if (image !== '' && image !== 'host') o.rootfs = image;
  set('hostname', typeof body.Hostname === 'string' && body.Hostname !== '' ? body.Hostname : undefined);
  const env = strings(body.Env);
  if (env.length) o.env = env;
  set('workdir', typeof body.WorkingDir === 'string' && body.WorkingDir !== '' ? body.WorkingDir : undefined);
  set('user', typeof body.User === 'string' && body.User !== '' ? body.User : undefined);
  set('memory', num(hc.Memory, 'HostConfig.Memory'));
  set('memorySwap', num(hc.MemorySwap, 'HostConfig.MemorySwap'));
  set('memoryReservation', num(hc.MemoryReservation, 'HostConfig.MemoryReservation'));
  const nano = num(hc.NanoCpus, 'HostConfig.NanoCpus');
  // NanoCpus as --cpus's decimal text, exactly (no floating point): 1500000000 -> "1.500000000"
  if (nano !== undefined) o.cpus = nano.startsWith('-') ? nano : `${nano.slice(0, -9) || '0'}.${nano.slice(-9).padStart(9, '0')}`;
  set('cpuPeriod', num(hc.CpuPeriod, 'HostConfig.CpuPeriod'));
  set('cpuQuota', num(hc.CpuQuota, 'HostConfig.CpuQuota'));
  set('cpuShares', num(hc.CpuShares, 'HostConfig.CpuShares'));
  set('cpusetCpus', typeof hc.CpusetCpus === 'string' && hc.CpusetCpus !== '' ? hc.CpusetCpus : undefined);
  set('cpusetMems', typeof hc.CpusetMems === 'string' && hc.CpusetMems !== '' ? hc.CpusetMems : undefined);
  set('pidsLimit', num(hc.PidsLimit, 'HostConfig.PidsLimit'));
  set('blkioWeight', num(hc.BlkioWeight, 'HostConfig.BlkioWeight'));
  const policy = restartPolicyFromJson(hc.RestartPolicy);
  if (policy !== undefined && policy.name !== 'no') o.restart = formatRestartPolicy(policy);
  const logOpt = logOptsFromJson(hc.LogConfig);
  if (logOpt.length) o.logOpt = logOpt;
  set('deviceReadBps', throttleDevices(hc.BlkioDeviceReadBps, 'HostConfig.BlkioDeviceReadBps'));
  set('deviceWriteBps', throttleDevices(hc.BlkioDeviceWriteBps, 'HostConfig.BlkioDeviceWriteBps'));
  set('deviceReadIops', throttleDevices(hc.BlkioDeviceReadIOps, 'HostConfig.BlkioDeviceReadIOps'));
  set('deviceWriteIops', throttleDevices(hc.BlkioDeviceWriteIOps, 'HostConfig.BlkioDeviceWriteIOps'));
  const binds = strings(hc.Binds);
  if (binds.length) o.volume = binds;
  set('readOnly', hc.ReadonlyRootfs === true ? true : undefined);
  const network = typeof hc.NetworkMode === 'string' ? hc.NetworkMode : '';
  if (network !== '' && network !== 'default') o.network = network;
  const capAdd = strings(hc.CapAdd);
  if (capAdd.length) o.capAdd = capAdd;
  const capDrop = strings(hc.CapDrop);
  if (capDrop.length) o.capDrop = capDrop;
  set('cgroupParent', typeof hc.CgroupParent === 'string' && hc.CgroupParent !== '' ? hc.CgroupParent : undefined);
  return { options: o, command: [...strings(body.Entrypoint), ...strings(body.Cmd)] };
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

/**
 * HostConfig.LogConfig as --log-opt values: json-file (or no Type) only, its Config a map of
 * strings (`{"max-size": "10m", "max-file": "3"}`), which run's flag parsing then validates.
 */
export function logOptsFromJson(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const lc = obj(value);
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidParameterError('HostConfig.LogConfig: expected an object {"Type": "json-file", "Config": {...}}');
  if (lc.Type !== undefined && lc.Type !== null && lc.Type !== '' && lc.Type !== 'json-file') {
    throw new InvalidParameterError(`HostConfig.LogConfig.Type: logging driver ${JSON.stringify(lc.Type)} is not supported: corral writes json-file logs`);
  }
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj(lc.Config))) {
    if (typeof v !== 'string') throw new InvalidParameterError(`HostConfig.LogConfig.Config.${k}: expected a string`);
    out.push(`${k}=${v}`);
  }
  return out;
}
