/**
 * Test images built here, as an OCI image layout (image-layout.md: oci-layout, index.json,
 * blobs/sha256/…): layers are tars written with tar-stream from entry lists (gzip, zstd or none),
 * then a config and a manifest. skopeo pushes the layout to the test's registry; umoci unpacks it
 * for the fidelity comparison.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import zlib from 'node:zlib';
import { packTar } from '../../src/images/tar.js';

export interface LayerEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  /** a file's content (string or bytes) */
  body?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  mtime?: Date;
  /** PAX records; xattr values (`SCHILY.xattr.*`) as latin1 strings, one character a byte */
  pax?: Record<string, string>;
}

export const LAYER_MTIME = new Date('2024-05-06T07:08:09Z');

/** An uncompressed layer tar of `entries`, in order. */
export async function layerTar(entries: readonly LayerEntry[]): Promise<Buffer> {
  const pack = packTar();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  })();
  for (const e of entries) {
    const isFile = e.type === undefined || e.type === 'file';
    const body = isFile ? (e.body ?? '') : '';
    const { body: _b, ...header } = e;
    pack.entry({ type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: LAYER_MTIME, ...header, size: Buffer.byteLength(body) }, body);
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/** The entries of a busybox layer: the static binary, a link per applet, /etc basics, /tmp. */
export async function busyboxLayer(busybox = '/bin/busybox'): Promise<LayerEntry[]> {
  const binary = await fs.readFile(busybox);
  const listed = spawnSync(busybox, ['--list'], { encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`${busybox} --list failed: install Debian's busybox-static`);
  const applets = listed.stdout.split('\n').filter((a) => a && a !== 'busybox');
  return [
    { name: 'bin/', type: 'directory', mode: 0o755 },
    { name: 'bin/busybox', body: binary, mode: 0o755 },
    ...applets.map((a): LayerEntry => ({ name: `bin/${a}`, type: 'link', linkname: 'bin/busybox' })),
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
    { name: 'etc/group', body: 'root:x:0:\nnogroup:x:65534:\n' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'root/', type: 'directory', mode: 0o700 },
  ];
}

export type LayerCompression = 'gzip' | 'zstd' | 'none';

const LAYER_MEDIA: Record<LayerCompression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

export interface BuiltImage {
  manifestDigest: string;
  configDigest: string;
  diffIds: string[];
  layerDigests: string[];
}

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function putBlob(dir: string, bytes: Buffer | string): Promise<{ digest: string; size: number }> {
  const digest = sha(bytes);
  await fs.mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  await fs.writeFile(path.join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { digest, size: Buffer.byteLength(bytes) };
}

function compress(tar: Buffer, how: LayerCompression): Buffer {
  if (how === 'gzip') return zlib.gzipSync(tar);
  if (how === 'zstd') {
    const r = spawnSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`zstd failed (install Debian's zstd): ${r.stderr}`);
    return r.stdout;
  }
  return tar;
}

/**
 * Add an image to the OCI layout `dir` (made if absent) under `tag` in index.json: its layers from
 * entry lists, its config from `config` (Docker's container config fields).
 */
export async function buildImage(
  dir: string,
  tag: string,
  layers: readonly (readonly LayerEntry[])[],
  config: Record<string, unknown> = {},
  compression: LayerCompression = 'gzip',
): Promise<BuiltImage> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const diffIds: string[] = [];
  const layerDescs: { mediaType: string; digest: string; size: number }[] = [];
  for (const entries of layers) {
    const tar = await layerTar(entries);
    diffIds.push(sha(tar));
    layerDescs.push({ mediaType: LAYER_MEDIA[compression], ...(await putBlob(dir, compress(tar, compression))) });
  }
  const configJson = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created: LAYER_MTIME.toISOString(),
    config,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: layers.map((_, i) => ({ created: LAYER_MTIME.toISOString(), created_by: `corral test layer ${i + 1}` })),
  });
  const configDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', ...(await putBlob(dir, configJson)) };
  const manifestJson = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers: layerDescs });
  const manifest = await putBlob(dir, manifestJson);
  const indexFile = path.join(dir, 'index.json');
  const index = JSON.parse(await fs.readFile(indexFile, 'utf8').catch(() => '{"schemaVersion":2,"manifests":[]}')) as { manifests: { annotations?: Record<string, string> }[] };
  index.manifests = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== tag);
  index.manifests.push({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    ...manifest,
    annotations: { 'org.opencontainers.image.ref.name': tag },
  } as { annotations: Record<string, string> });
  await fs.writeFile(indexFile, JSON.stringify({ schemaVersion: 2, ...index }));
  return { manifestDigest: manifest.digest, configDigest: configDesc.digest, diffIds, layerDigests: layerDescs.map((l) => l.digest) };
}
