/**
 * What ties a container to the workloads file it came from: Compose's naming (project name,
 * `<project>-<service>-1` container names) and corral's labels on the container, among them a hash
 * of the service's create body so that a changed service can be told from an unchanged one.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { PROJECT_NAME, type WorkloadService, type WorkloadsFile } from './parse.js';

/** The labels of a container created from a workloads file (Docker's Config.Labels). */
export const LABEL_PROJECT = 'corral.workloads.project';
export const LABEL_SERVICE = 'corral.workloads.service';
/** sha256 of the service's normalized create body (serviceHash) */
export const LABEL_HASH = 'corral.workloads.hash';
/** the file's absolute path, for people (not used to match) */
export const LABEL_FILE = 'corral.workloads.file';

/**
 * The project name: `-p`, else the file's top-level `name`, else its directory's name normalized
 * as Compose does (lower case, only a-z 0-9 _ -, no leading _ or -).
 */
export function projectName(absFile: string, topLevelName: string | undefined, override: string | undefined): string {
  if (override !== undefined) {
    if (!PROJECT_NAME.test(override)) throw new InvalidArgumentError('-p', override, "a project name matching [a-z0-9][a-z0-9_-]* (Compose's rule)");
    return override;
  }
  if (topLevelName !== undefined) return topLevelName;
  const dir = path.basename(path.dirname(absFile));
  const normalized = dir
    .toLowerCase()
    .replace(/[^-_a-z0-9]+/g, '')
    .replace(/^[-_]+/, '');
  if (normalized === '') throw new InvalidArgumentError('-p', '', `a project name: the directory name "${dir}" gives none, so give -p NAME or a top-level name in the file`);
  return normalized;
}

/** Compose's container name for a service's one replica. */
export function containerName(project: string, service: string): string {
  return `${project}-${service}-1`;
}

/** JSON with the keys of every object sorted, so that equal bodies give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The hash of a service's definition: sha256 of its create body (without labels), hex. */
export function serviceHash(body: Readonly<Record<string, unknown>>): string {
  const { Labels: _labels, ...rest } = body;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** A container the reconciler found, as the target lists it. */
export interface ExistingContainer {
  id: string;
  name?: string;
  /** the corral.workloads.service label */
  service?: string;
  /** the corral.workloads.hash label */
  hash?: string;
  /** Docker's State: created, running, exited, dead, … */
  status: string;
}

/** One service as the reconciler wants it: its container's name, its full create body and its hash. */
export interface DesiredService {
  service: string;
  name: string;
  hash: string;
  body: Record<string, unknown>;
  /** Docker's RestartPolicy.Name ("no" when the file says nothing) */
  restart: string;
}

export function desiredService(project: string, absFile: string, svc: WorkloadService): DesiredService {
  const hash = serviceHash(svc.body);
  const body = { ...svc.body, Labels: { [LABEL_PROJECT]: project, [LABEL_SERVICE]: svc.name, [LABEL_HASH]: hash, [LABEL_FILE]: absFile } };
  const policy = (svc.body.HostConfig as { RestartPolicy?: { Name?: string } } | undefined)?.RestartPolicy?.Name;
  return { service: svc.name, name: containerName(project, svc.name), hash, body, restart: policy ?? 'no' };
}

export function desiredServices(project: string, absFile: string, file: WorkloadsFile): DesiredService[] {
  return file.services.map((s) => desiredService(project, absFile, s));
}

/** A listed container as the plan sees it, its service and hash read from its labels. */
export function existingContainer(id: string, status: string, name: string | undefined, labels: Readonly<Record<string, string>>): ExistingContainer {
  return {
    id,
    status,
    ...(name !== undefined && name !== '' ? { name } : {}),
    ...(labels[LABEL_SERVICE] !== undefined ? { service: labels[LABEL_SERVICE] } : {}),
    ...(labels[LABEL_HASH] !== undefined ? { hash: labels[LABEL_HASH] } : {}),
  };
}
