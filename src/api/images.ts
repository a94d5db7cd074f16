/**
 * Images in the Engine API's shapes (API 1.41, compared with test/fixtures/docker-api's
 * v1.41-images-json.json, -name-json.json and -name-history.json): pure functions of the store's
 * record, the image's config and its names.
 */
import type { ContainerDefaults, ImageConfig } from '../images/manifest.js';
import type { ImageRecord } from '../images/store.js';

export interface ImageFacts {
  record: ImageRecord;
  config: ImageConfig;
  /** familiar names (`busybox:latest`), sorted */
  tags: string[];
  /** the layers' unpacked sizes, lowest first */
  layerSizes: number[];
  /** the layers' directories, lowest first (GraphDriver.Data) */
  layerDirs: string[];
}

const seconds = (iso: string | undefined): number => (iso ? Math.floor(new Date(iso).getTime() / 1000) : 0);

/** One entry of GET /images/json (ImageSummary). */
export function imageSummary(f: ImageFacts): Record<string, unknown> {
  return {
    Containers: -1,
    Created: seconds(f.config.created),
    Id: f.record.id,
    Labels: f.config.config.Labels ?? null,
    ParentId: f.config.parent ?? '',
    RepoDigests: familiarDigests(f.record.repoDigests),
    RepoTags: f.tags,
    SharedSize: -1,
    Size: f.record.size,
    VirtualSize: f.record.size,
  };
}

/** Docker's RepoDigests drop docker.io/library/ as its names do. */
function familiarDigests(digests: readonly string[]): string[] {
  return digests.map((d) => d.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, ''));
}

/** A container config of an image as Docker's inspect prints it: every field, unset ones empty or null. */
function dockerConfig(c: ContainerDefaults | undefined): Record<string, unknown> {
  return {
    Hostname: '',
    Domainname: '',
    User: c?.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ...(c?.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: c?.Env ?? null,
    Cmd: c?.Cmd ?? null,
    Image: '',
    Volumes: c?.Volumes ?? null,
    WorkingDir: c?.WorkingDir ?? '',
    Entrypoint: c?.Entrypoint ?? null,
    OnBuild: null,
    Labels: c?.Labels ?? null,
    ...(c?.StopSignal ? { StopSignal: c.StopSignal } : {}),
  };
}

/** GET /images/{name}/json (ImageInspect). */
export function imageInspect(f: ImageFacts): Record<string, unknown> {
  const dirs = f.layerDirs;
  const top = dirs[dirs.length - 1] ?? '';
  return {
    Id: f.record.id,
    RepoTags: f.tags,
    RepoDigests: familiarDigests(f.record.repoDigests),
    Parent: f.config.parent ?? '',
    Comment: f.config.comment ?? f.config.history.at(-1)?.comment ?? '',
    Created: f.config.created ?? '0001-01-01T00:00:00Z',
    Container: f.config.container ?? '',
    ContainerConfig: dockerConfig(f.config.container_config),
    DockerVersion: '',
    Author: f.config.author ?? '',
    Config: dockerConfig(f.config.config),
    Architecture: f.config.architecture,
    ...(f.config.variant ? { Variant: f.config.variant } : {}),
    Os: f.config.os,
    Size: f.record.size,
    VirtualSize: f.record.size,
    GraphDriver: {
      Data: {
        ...(dirs.length > 1 ? { LowerDir: dirs.slice(0, -1).reverse().join(':') } : {}),
        MergedDir: top.replace(/\/diff$/, '/merged'),
        UpperDir: top,
        WorkDir: top.replace(/\/diff$/, '/work'),
      },
      Name: 'overlay2',
    },
    RootFS: { Type: 'layers', Layers: f.config.rootfs.diff_ids },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

/**
 * GET /images/{name}/history: the config's history, newest first; an entry that made a layer has
 * that layer's size; only the newest carries the image's ID and tags ("<missing>" the rest, as
 * Docker's for a pulled image).
 */
export function imageHistory(f: ImageFacts): Record<string, unknown>[] {
  let layer = f.layerSizes.length;
  const entries = f.config.history.length > 0 ? f.config.history : f.layerSizes.map(() => ({}) as { empty_layer?: boolean });
  const out: Record<string, unknown>[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const h = entries[i] as { created?: string; created_by?: string; comment?: string; empty_layer?: boolean };
    const size = h.empty_layer ? 0 : (f.layerSizes[--layer] ?? 0);
    const newest = out.length === 0;
    out.push({
      Comment: h.comment ?? '',
      Created: seconds(h.created),
      CreatedBy: h.created_by ?? '',
      Id: newest ? f.record.id : '<missing>',
      Size: size,
      Tags: newest && f.tags.length > 0 ? f.tags : null,
    });
  }
  return out;
}
