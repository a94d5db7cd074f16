/**
 * `commit`: a container's writable layer as a new image layer (moby's overlay2 Diff, with whiteouts
 * in the OCI form: a deletion is `.wh.NAME`, an opaque directory carries `.wh..wh..opq`), on top of
 * its image's layers, with a config from the container's (and `--change`s) and a history entry.
 * The layer is written as a gzip blob (its digest and its diff ID computed on the way), then
 * unpacked into its own layer directory as a pulled layer is, so a container of the new image stacks
 * it like any other.
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { CorralError } from '../errors.js';
import type { Syscalls } from '../sys/syscalls.js';
import { type Change, CHANGE, containerChanges, isWhiteout, type OverlayLayers } from './changes.js';
import { HashingStream } from './digest.js';
import { chainIds, type ContainerDefaults, type Descriptor, type ImageConfig, MEDIA_TYPES } from './manifest.js';
import type { ImageRecord, ImageStore } from './store.js';
import { TreeTar } from './tree-tar.js';
import { OPAQUE_MARKER, unpackLayer, WHITEOUT_PREFIX } from './unpack.js';

/** The changes as an OCI layer tar, streamed: entries in walk order, names without a leading slash. */
export function changesTar(changes: readonly Change[], layers: readonly OverlayLayers[], sys: Syscalls): Readable {
  const upperOf = (p: string): string => {
    // the overlay whose mount point holds p, the deepest first
    const layer = [...layers].sort((a, b) => b.at.length - a.at.length).find((l) => l.at === '/' || p === l.at || p.startsWith(`${l.at}/`));
    if (!layer) throw new CorralError('ECOMMIT', `no overlay holds ${p}`);
    return path.join(layer.upper, layer.at === '/' ? p : p.slice(layer.at.length));
  };
  const tar = new TreeTar(sys);
  return tar.stream(async () => {
    for (const c of changes) {
      const name = c.Path.replace(/^\//, '');
      const file = upperOf(c.Path);
      const st = await fs.lstat(file);
      if (c.Kind === CHANGE.deleted && isWhiteout(st)) {
        await tar.empty({ name: path.posix.join(path.posix.dirname(name), WHITEOUT_PREFIX + path.posix.basename(name)), type: 'file', mode: 0, mtime: st.mtime, size: 0 });
        continue;
      }
      await tar.add(name, file, st);
      if (st.isDirectory() && c.Kind === CHANGE.deleted) await tar.empty({ name: `${name}/${OPAQUE_MARKER}`, type: 'file', mode: 0, mtime: st.mtime, size: 0 });
    }
  });
}

export interface CommitRequest {
  /** the image the container's root was stacked from */
  parent: ImageRecord;
  parentConfig: ImageConfig;
  /** the container's overlays (an image's root is one) */
  layers: OverlayLayers[];
  /** the container's own settings, as the new image's defaults (Docker's commit takes the container's config) */
  containerConfig: ContainerDefaults;
  /** the container's ID (the image's `container`) */
  containerId: string;
  /** the command that made the changes, for the history */
  createdBy: string;
  comment?: string;
  author?: string;
  now: Date;
}

/** Write the new layer, its image config and manifest into the store; returns the new image's record. */
export async function commitLayer(store: ImageStore, sys: Syscalls, req: CommitRequest): Promise<ImageRecord> {
  const changes = await containerChanges(req.layers, sys);
  // the layer blob: the tar hashed (diff ID) on its way into gzip, the gzip hashed (digest) into the file
  const tmp = store.tempPath('commit');
  const tarHash = new HashingStream();
  const gzHash = new HashingStream();
  try {
    await pipeline(changesTar(changes, req.layers, sys), tarHash, zlib.createGzip(), gzHash, (await fs.open(tmp, 'w', 0o600)).createWriteStream());
    const diffId = tarHash.digest;
    const blob: Descriptor = { mediaType: MEDIA_TYPES.ociLayerGzip, digest: gzHash.digest, size: gzHash.bytes };
    await fs.rename(tmp, store.blobPath(blob.digest)).catch(async (err: NodeJS.ErrnoException) => {
      if (!store.hasBlob(blob.digest)) throw err;
    });
    const diffIds = [...req.parentConfig.rootfs.diff_ids, diffId];
    const chains = chainIds(diffIds);
    const chainId = chains[chains.length - 1]!;
    await store.addLayer({ chainId, diffId, parent: chains[chains.length - 2]! }, async (dir) => {
      const hash = new HashingStream();
      const unpacking = unpackLayer(hash, dir, blob.digest, sys);
      await Promise.all([pipeline(createReadStream(store.blobPath(blob.digest)), zlib.createGunzip(), hash), unpacking]);
      return { diffId: hash.digest };
    });
    const created = req.now.toISOString();
    // the parent's own commit fields are its, not this image's
    const { parent: _p, container: _c, container_config: _cc, comment: _m, ...inherited } = req.parentConfig;
    const config: ImageConfig = {
      ...inherited,
      created,
      ...(req.author !== undefined ? { author: req.author } : {}),
      config: req.containerConfig,
      parent: req.parent.id,
      container: req.containerId,
      container_config: req.containerConfig,
      ...(req.comment ? { comment: req.comment } : {}),
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: [...req.parentConfig.history, { created, created_by: req.createdBy, ...(req.comment ? { comment: req.comment } : {}), ...(req.author ? { author: req.author } : {}) }],
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDigest = await store.putBlob(configBytes);
    const layers = [...req.parent.layers, blob];
    const manifestBytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: MEDIA_TYPES.ociConfig, digest: configDigest, size: configBytes.length }, layers }),
    );
    const manifestDigest = await store.putBlob(manifestBytes);
    const sizes = await Promise.all(chains.map(async (c) => (await store.layer(c)).size));
    const record: ImageRecord = {
      id: configDigest,
      manifest: { mediaType: MEDIA_TYPES.ociManifest, digest: manifestDigest, size: manifestBytes.length },
      layers,
      chainIds: chains,
      repoDigests: [],
      size: sizes.reduce((a, b) => a + b, 0),
      stored: created,
    };
    await store.putImage(record);
    return record;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
