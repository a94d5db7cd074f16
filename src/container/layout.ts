/**
 * The containers' part of the state directory, by name: every module that reads or writes a
 * container's files takes the names from here (store.ts owns the reading and writing).
 *
 *   <root>/containers/<id>/
 *     config.json       the configuration and, for a foreground run, how it ended (records.ts)
 *     hostconfig.json   the HostConfig fields of the create body, as inspect shows them
 *     labels.json       Docker's Config.Labels, written once at create
 *     state.json        the daemon's record of the runs (run-state.ts)
 *     launch.spec       the launcher's spec (isolate/spec.ts)
 *     pid, exit, launcher.pid   written by the launcher (native/PROTOCOL.md)
 *     container.log     the json-file log (logfile.ts)
 *     stdin, control    FIFOs of a container with -i or -t: its input and its terminal's size (PROTOCOL.md)
 *     upper, work, rootfs       the overlay's writable layer, its work dir and the merged root
 *   <root>/names/<name> -> ../containers/<id>   one symlink per name: creating it claims the name
 */
import path from 'node:path';
import type { ContainerPaths } from '../isolate/types.js';

export const CONTAINER_FILES = {
  config: 'config.json',
  hostConfig: 'hostconfig.json',
  labels: 'labels.json',
  runState: 'state.json',
  spec: 'launch.spec',
  pid: 'pid',
  exit: 'exit',
  launcherPid: 'launcher.pid',
  log: 'container.log',
  stdin: 'stdin',
  control: 'control',
} as const;

export type ContainerFile = keyof typeof CONTAINER_FILES;

/** The files a launcher writes for one run: removed before the next run starts. */
export const RUN_FILES: readonly ContainerFile[] = ['exit', 'pid', 'launcherPid'];

export function containerDir(root: string, id: string): string {
  return path.join(root, 'containers', id);
}

export function containerFile(root: string, id: string, file: ContainerFile): string {
  return path.join(containerDir(root, id), CONTAINER_FILES[file]);
}

export function containerPaths(root: string, id: string): ContainerPaths {
  const dir = containerDir(root, id);
  return {
    dir,
    upper: path.join(dir, 'upper'),
    work: path.join(dir, 'work'),
    merged: path.join(dir, 'rootfs'),
    spec: path.join(dir, CONTAINER_FILES.spec),
  };
}
