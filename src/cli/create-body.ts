/**
 * `corral run`'s flags as Docker's create body (POST /containers/create), the inverse of the
 * daemon's inputFromBody: the daemon reads the body into the configuration the flags are read into
 * and checks it with the same rules, so a container made through the daemon is the one `corral run`
 * would make.
 * The flags were validated already (parseRunCommandLine), so the unit parsing here cannot fail;
 * `-e KEY` is resolved here, from this process's environment, as Docker's CLI does.
 */
import type { RawRunOptions, RunConfig } from '../container/config/run-flags.js';
import { parseInteger, parseNanoCpus } from '../container/config/run-flags.js';
import { parseByteSize } from '../container/config/units.js';
import { restartPolicyJson } from '../container/restart-policy.js';

export interface CreateRequest {
  /** the `name` query parameter */
  name?: string;
  body: Record<string, unknown>;
}

function throttleList(values: string[] | undefined, bytes: boolean, flag: string): { Path: string; Rate: number }[] | undefined {
  if (values === undefined || values.length === 0) return undefined;
  return values.map((v) => {
    const at = v.lastIndexOf(':');
    const rate = v.slice(at + 1);
    return { Path: v.slice(0, at), Rate: bytes ? parseByteSize(flag, rate) : Number(rate) };
  });
}

/** The create request for validated flags; `detach` decides attaching and, with --rm, AutoRemove. */
export function createRequestFromRun(options: RawRunOptions, config: RunConfig, detach: boolean): CreateRequest {
  const iso = config.isolation;
  const hc: Record<string, unknown> = {
    NetworkMode: iso.network,
    // attached, `corral run --rm` removes the container itself once it has the exit code
    AutoRemove: config.rm && detach,
  };
  const put = (key: string, value: unknown) => {
    if (value !== undefined) hc[key] = value;
  };
  const int = (text: string | undefined) => (text === undefined ? undefined : parseInteger(text));
  put('Memory', options.memory === undefined ? undefined : parseByteSize('--memory', options.memory));
  put('MemorySwap', options.memorySwap === undefined ? undefined : options.memorySwap === '-1' ? -1 : parseByteSize('--memory-swap', options.memorySwap));
  put('MemoryReservation', options.memoryReservation === undefined ? undefined : parseByteSize('--memory-reservation', options.memoryReservation));
  put('NanoCpus', options.cpus === undefined ? undefined : parseNanoCpus(options.cpus));
  put('CpuPeriod', int(options.cpuPeriod));
  put('CpuQuota', int(options.cpuQuota));
  put('CpuShares', int(options.cpuShares));
  put('CpusetCpus', config.resources.cpuset?.cpus);
  put('CpusetMems', config.resources.cpuset?.mems);
  put('PidsLimit', int(options.pidsLimit));
  put('BlkioWeight', int(options.blkioWeight));
  put('BlkioDeviceReadBps', throttleList(options.deviceReadBps, true, '--device-read-bps'));
  put('BlkioDeviceWriteBps', throttleList(options.deviceWriteBps, true, '--device-write-bps'));
  put('BlkioDeviceReadIOps', throttleList(options.deviceReadIops, false, '--device-read-iops'));
  put('BlkioDeviceWriteIOps', throttleList(options.deviceWriteIops, false, '--device-write-iops'));
  put('Binds', options.volume);
  put('ReadonlyRootfs', iso.readOnly || undefined);
  put('CapAdd', iso.capAdd.length ? iso.capAdd : undefined);
  put('CapDrop', iso.capDrop.length ? iso.capDrop : undefined);
  put('CgroupParent', config.cgroupParent);
  put('RestartPolicy', config.restartPolicy === undefined ? undefined : restartPolicyJson(config.restartPolicy));
  put(
    'LogConfig',
    options.logOpt?.length
      ? {
          Type: 'json-file',
          Config: Object.fromEntries(options.logOpt.map((kv) => [kv.slice(0, kv.indexOf('=') < 0 ? kv.length : kv.indexOf('=')), kv.includes('=') ? kv.slice(kv.indexOf('=') + 1) : ''])),
        }
      : undefined,
  );
  const body: Record<string, unknown> = {
    Image: iso.rootfs ?? 'host',
    Cmd: iso.command,
    // PATH and the -e values in order, KEY alone already resolved; the daemon adds HOSTNAME
    Env: iso.env,
    WorkingDir: iso.workdir,
    AttachStdout: !detach,
    AttachStderr: !detach,
    HostConfig: hc,
  };
  if (options.hostname !== undefined) body.Hostname = iso.hostname;
  if (options.user !== undefined) body.User = `${iso.user.uid}:${iso.user.gid}`;
  return { ...(config.name === undefined ? {} : { name: config.name }), body };
}
