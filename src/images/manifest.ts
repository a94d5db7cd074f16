/**
 * Manifests, indexes and image configs, Docker's schema 2 and the OCI image spec's, read from the
 * bytes a registry or an archive gave (OCI image-spec manifest.md, image-index.md, config.md). Pure:
 * each parser checks the fields corral uses and throws a ManifestError naming the document and field.
 */
import { CorralError } from '../errors.js';
import { isDigest, sha256Digest } from './digest.js';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

/** What a registry is asked for: every manifest and index form corral reads, in its Accept header. */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];

export type Compression = 'none' | 'gzip' | 'zstd';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  /** bytes */
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

/** The parts of an image config corral applies (config.md "Properties"; Docker's names). */
export interface ContainerDefaults {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config: ContainerDefaults;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: HistoryEntry[];
  /** a committed image's (Docker's v1 fields, which its inspect shows): the image it was made on, the container, its config, the message */
  parent?: string;
  container?: string;
  container_config?: ContainerDefaults;
  comment?: string;
}

export class ManifestError extends CorralError {
  constructor(message: string) {
    super('EMANIFEST', message);
  }
}

type Json = Record<string, unknown>;

function parseJson(bytes: Buffer | string, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString());
  } catch (err) {
    throw new ManifestError(`${what} is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ManifestError(`${what} is not a JSON object`);
  return value as Json;
}

function descriptor(value: unknown, what: string): Descriptor {
  if (typeof value !== 'object' || value === null) throw new ManifestError(`${what} is not a descriptor object`);
  const d = value as Json;
  if (typeof d.mediaType !== 'string') throw new ManifestError(`${what}.mediaType is missing`);
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) throw new ManifestError(`${what}.digest ${JSON.stringify(d.digest)} is not a sha256 digest`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw new ManifestError(`${what}.size ${JSON.stringify(d.size)} is not a byte count`);
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.platform !== undefined) out.platform = platform(d.platform, `${what}.platform`);
  if (d.annotations !== undefined) out.annotations = stringMap(d.annotations, `${what}.annotations`);
  return out;
}

function platform(value: unknown, what: string): Platform {
  const p = value as Json;
  if (typeof p !== 'object' || p === null || typeof p.os !== 'string' || typeof p.architecture !== 'string') {
    throw new ManifestError(`${what} needs os and architecture strings`);
  }
  return { os: p.os, architecture: p.architecture, ...(typeof p.variant === 'string' ? { variant: p.variant } : {}) };
}

function stringMap(value: unknown, what: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ManifestError(`${what} is not an object of strings`);
  for (const v of Object.values(value)) if (typeof v !== 'string') throw new ManifestError(`${what} is not an object of strings`);
  return value as Record<string, string>;
}

/**
 * A manifest or an index. The kind comes from the document's mediaType, else the Content-Type it
 * was served with, else its shape (an OCI index may omit mediaType). Schema 1 is refused.
 */
export function parseManifestOrIndex(bytes: Buffer | string, what: string, contentType?: string): ImageManifest | ImageIndex {
  const doc = parseJson(bytes, what);
  if (doc.schemaVersion !== 2) {
    throw new ManifestError(`${what} has schemaVersion ${JSON.stringify(doc.schemaVersion)}: only schema 2 and OCI manifests are read (Docker dropped schema 1 too)`);
  }
  const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : (contentType?.split(';')[0]?.trim() ?? '');
  const isIndex = mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerManifestList || (!mediaType.includes('manifest.v') && Array.isArray(doc.manifests));
  if (isIndex) {
    if (!Array.isArray(doc.manifests)) throw new ManifestError(`${what}.manifests is not a list`);
    return { kind: 'index', mediaType: mediaType || MEDIA_TYPES.ociIndex, manifests: doc.manifests.map((m, i) => descriptor(m, `${what}.manifests[${i}]`)) };
  }
  if (mediaType !== '' && mediaType !== MEDIA_TYPES.ociManifest && mediaType !== MEDIA_TYPES.dockerManifest && mediaType !== 'application/json') {
    throw new ManifestError(`${what} has media type ${mediaType}, which is neither a manifest nor an index corral reads`);
  }
  if (!Array.isArray(doc.layers)) throw new ManifestError(`${what}.layers is not a list`);
  const manifest: ImageManifest = {
    kind: 'manifest',
    mediaType: mediaType || MEDIA_TYPES.ociManifest,
    config: descriptor(doc.config, `${what}.config`),
    layers: doc.layers.map((l, i) => descriptor(l, `${what}.layers[${i}]`)),
  };
  if (doc.annotations !== undefined) manifest.annotations = stringMap(doc.annotations, `${what}.annotations`);
  for (const [i, l] of manifest.layers.entries()) layerCompression(l, `${what}.layers[${i}]`);
  return manifest;
}

/** How a layer blob is compressed, from its media type; a type corral cannot unpack is refused. */
export function layerCompression(layer: Descriptor, what = 'the layer'): Compression {
  switch (layer.mediaType) {
    case MEDIA_TYPES.dockerLayerGzip:
    case MEDIA_TYPES.ociLayerGzip:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip':
      return 'gzip';
    case MEDIA_TYPES.ociLayer:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar':
      return 'none';
    case MEDIA_TYPES.ociLayerZstd:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd':
      return 'zstd';
    default:
      throw new ManifestError(`${what} has media type ${layer.mediaType}: not a layer corral can unpack (tar, tar+gzip, tar+zstd)`);
  }
}

/** The platform this host runs, in the OCI's words (GOARCH names). */
export function hostPlatform(): Platform {
  switch (process.arch) {
    case 'x64':
      return { os: 'linux', architecture: 'amd64' };
    case 'arm64':
      return { os: 'linux', architecture: 'arm64', variant: 'v8' };
    case 'arm':
      return { os: 'linux', architecture: 'arm', variant: 'v7' };
    case 'ia32':
      return { os: 'linux', architecture: '386' };
    default:
      return { os: 'linux', architecture: process.arch };
  }
}

/** `linux/amd64`, `linux/arm64/v8` */
export function platformString(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined).join('/');
}

/**
 * The index entry for `want`, as containerd's platform matcher picks it: os and architecture equal;
 * a variant, when both name one, equal (arm64's v8 is its default). Attestation manifests
 * (buildkit's `unknown/unknown`) never match. Undefined when nothing does.
 */
export function selectManifest(index: ImageIndex, want: Platform): Descriptor | undefined {
  const normVariant = (p: Platform) => (p.architecture === 'arm64' && (p.variant === undefined || p.variant === 'v8') ? 'v8' : p.variant);
  const candidates = index.manifests.filter((m) => {
    if (m.mediaType !== MEDIA_TYPES.ociManifest && m.mediaType !== MEDIA_TYPES.dockerManifest) return false;
    if (m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return false;
    const p = m.platform;
    if (p === undefined) return false;
    if (p.os !== want.os || p.architecture !== want.architecture) return false;
    const [a, b] = [normVariant(p), normVariant(want)];
    return a === undefined || b === undefined || a === b;
  });
  // an exact variant first
  return candidates.find((m) => normVariant(m.platform!) === normVariant(want)) ?? candidates[0];
}

function stringList(value: unknown, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new ManifestError(`${what} is not a list of strings`);
  return value;
}

/** An image config (config.md), checked where corral uses it. */
export function parseImageConfig(bytes: Buffer | string, what: string): ImageConfig {
  const doc = parseJson(bytes, what);
  if (typeof doc.architecture !== 'string' || typeof doc.os !== 'string') throw new ManifestError(`${what} needs architecture and os strings`);
  const rootfs = doc.rootfs as Json | undefined;
  if (typeof rootfs !== 'object' || rootfs === null || rootfs.type !== 'layers') throw new ManifestError(`${what}.rootfs.type is not "layers"`);
  const diffIds = stringList(rootfs.diff_ids, `${what}.rootfs.diff_ids`) ?? [];
  for (const [i, d] of diffIds.entries()) if (!isDigest(d)) throw new ManifestError(`${what}.rootfs.diff_ids[${i}] ${JSON.stringify(d)} is not a sha256 digest`);
  const config = parseDefaults(doc.config ?? {}, `${what}.config`);
  const history = Array.isArray(doc.history) ? (doc.history as HistoryEntry[]) : [];
  return {
    architecture: doc.architecture,
    os: doc.os,
    ...(typeof doc.variant === 'string' ? { variant: doc.variant } : {}),
    ...(typeof doc.created === 'string' ? { created: doc.created } : {}),
    ...(typeof doc.author === 'string' ? { author: doc.author } : {}),
    config,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history,
    // a committed image's v1 fields (Docker's commit writes them; its inspect shows them)
    ...(typeof doc.parent === 'string' && isDigest(doc.parent) ? { parent: doc.parent } : {}),
    ...(typeof doc.container === 'string' ? { container: doc.container } : {}),
    ...(typeof doc.container_config === 'object' && doc.container_config !== null ? { container_config: parseDefaults(doc.container_config, `${what}.container_config`) } : {}),
    ...(typeof doc.comment === 'string' ? { comment: doc.comment } : {}),
  };
}

/** A config's container defaults (`config`, and a committed image's `container_config`): the fields corral uses, checked. */
function parseDefaults(value: unknown, what: string): ContainerDefaults {
  const c = value as Json;
  if (typeof c !== 'object' || Array.isArray(c)) throw new ManifestError(`${what} is not an object`);
  const config: ContainerDefaults = {};
  for (const key of ['Env', 'Entrypoint', 'Cmd'] as const) {
    const list = stringList(c[key], `${what}.${key}`);
    if (list !== undefined) config[key] = list;
  }
  for (const key of ['User', 'WorkingDir', 'StopSignal'] as const) {
    if (c[key] === undefined || c[key] === null) continue;
    if (typeof c[key] !== 'string') throw new ManifestError(`${what}.${key} is not a string`);
    config[key] = c[key] as string;
  }
  if (c.Labels !== undefined && c.Labels !== null) config.Labels = stringMap(c.Labels, `${what}.Labels`);
  for (const key of ['ExposedPorts', 'Volumes'] as const) {
    if (c[key] !== undefined && c[key] !== null && typeof c[key] === 'object') config[key] = c[key] as Record<string, object>;
  }
  return config;
}

/**
 * The chain IDs of a stack of layers (config.md "Layer ChainID"): the first layer's is its diff ID,
 * each next one sha256("<parent chain ID> <diff ID>"). A chain ID names a layer together with
 * everything under it, so unpacked layers are shared by every image with the same stack.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256Digest(`${out[out.length - 1]} ${d}`));
  return out;
}
