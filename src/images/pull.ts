/**
 * `pull`: an image from a registry into the store, as `docker pull` does it. The manifest (an index
 * resolved to this host's platform), the config, then the layers, several at once: each blob is
 * streamed once, verified against its digest and size while it is written to the store and, through
 * the decompressor, unpacked into its layer directory with its diff ID checked against the config.
 * A layer already in the store (same chain ID) is not fetched again. Progress goes to `onProgress`
 * in Docker's messages. Whatever fails leaves nothing partial (store.ts's temporaries).
 */
import fs from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Syscalls } from '../sys/syscalls.js';
import { credentialsFromFile, dockerConfigPath, type Credentials } from './auth.js';
import { decompressor } from './compression.js';
import { HashingStream, VerifyingStream } from './digest.js';
import { chainIds, type Descriptor, hostPlatform, type ImageConfig, layerCompression, parseImageConfig, parseManifestOrIndex, type Platform, platformString, selectManifest } from './manifest.js';
import { type ProgressSink, progressMessage, shortLayerId } from './progress.js';
import { apiHost, canonicalString, familiarString, type ImageReference, repositoryName } from './reference.js';
import { RegistryClient, RegistryError } from './registry.js';
import type { ImageRecord, ImageStore } from './store.js';
import { unpackLayer } from './unpack.js';

export interface PullOptions {
  /** registries (`host:port`) reachable over plain HTTP (the daemon's --insecure-registry) */
  insecureRegistries: readonly string[];
  /** from the client (X-Registry-Auth); else the daemon's Docker config file is read */
  credentials?: Credentials;
  /** where Docker's credentials file is ($DOCKER_CONFIG/config.json, ~/.docker/config.json) */
  credentialsFile?: string;
  platform?: Platform;
  /** layers fetched at once (dockerd's max-concurrent-downloads: 3) */
  concurrency?: number;
  onProgress?: ProgressSink;
  /** what the pull skipped and the user should know (xattrs the store's file system will not take) */
  onWarning?: (message: string) => void;
  idleTimeoutMs?: number;
}

/**
 * Docker's rule: a registry on a loopback address (127.0.0.0/8, ::1, localhost) is insecure by
 * default, as are the ones named by --insecure-registry.
 */
export function isInsecureRegistry(domain: string, named: readonly string[]): boolean {
  if (named.includes(domain)) return true;
  const host = domain.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function pullImage(store: ImageStore, sys: Syscalls, ref: ImageReference, opts: PullOptions): Promise<ImageRecord> {
  const progress: ProgressSink = opts.onProgress ?? (() => {});
  const credentials = opts.credentials ?? (await credentialsFromFile(opts.credentialsFile ?? dockerConfigPath(), ref.domain));
  const client = new RegistryClient(apiHost(ref), ref.path, {
    insecure: isInsecureRegistry(ref.domain, opts.insecureRegistries),
    ...(credentials ? { credentials } : {}),
    ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
  });
  const asked = ref.digest ?? ref.tag ?? 'latest';
  const name = familiarString(ref);
  let top = await client.manifest(asked).catch((err: unknown) => {
    if (err instanceof RegistryError && err.status === 404) throw new RegistryError(`manifest for ${name} not found: manifest unknown: manifest unknown`, 404, 'MANIFEST_UNKNOWN');
    throw err;
  });
  // after the manifest, as Docker's: a pull that fails before it streams nothing (the API answers an error status)
  progress({ status: `Pulling from ${ref.path}`, id: asked });
  const topDigest = top.digest;
  let doc = parseManifestOrIndex(top.bytes, `the manifest of ${name}`, top.contentType);
  await store.putBlob(top.bytes);
  if (doc.kind === 'index') {
    const platform = opts.platform ?? hostPlatform();
    const chosen = selectManifest(doc, platform);
    if (!chosen) {
      const offered = doc.manifests.flatMap((m) => (m.platform ? [platformString(m.platform)] : [])).join(', ');
      throw new RegistryError(`no matching manifest for ${platformString(platform)} in the manifest list entries of ${name} (it has ${offered || 'none'})`);
    }
    top = await client.manifest(chosen.digest);
    doc = parseManifestOrIndex(top.bytes, `the ${platformString(platform)} manifest of ${name}`, top.contentType);
    if (doc.kind !== 'manifest') throw new RegistryError(`the ${platformString(platform)} entry of ${name} is an index again, not a manifest`);
    await store.putBlob(top.bytes);
  }
  const manifest = doc;
  const manifestDescriptor: Descriptor = { mediaType: manifest.mediaType, digest: top.digest, size: top.bytes.length };

  const config = await fetchConfig(store, client, manifest.config, name);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new RegistryError(`${name}: the manifest lists ${manifest.layers.length} layers, its config ${diffIds.length} diff IDs`);
  }
  const chains = chainIds(diffIds);

  const missing: number[] = [];
  for (const [i, layer] of manifest.layers.entries()) {
    if (store.hasLayer(chains[i]!)) progress({ status: 'Already exists', progressDetail: {}, id: shortLayerId(layer.digest) });
    else {
      missing.push(i);
      progress({ status: 'Pulling fs layer', progressDetail: {}, id: shortLayerId(layer.digest) });
    }
  }
  await inParallel(missing, opts.concurrency ?? 3, async (i) => {
    const layer = manifest.layers[i]!;
    const id = shortLayerId(layer.digest);
    const what = `layer ${layer.digest} of ${name}`;
    await store.addLayer({ chainId: chains[i]!, diffId: diffIds[i]!, ...(i > 0 ? { parent: chains[i - 1]! } : {}) }, async (dir) => {
      const source: Readable = store.hasBlob(layer.digest) ? fs.createReadStream(store.blobPath(layer.digest)) : await client.blob(layer.digest);
      return fetchAndUnpack(store, sys, source, layer, dir, what, (current) => progress(progressMessage('Downloading', id, current, layer.size)), opts.onWarning);
    });
    progress({ status: 'Verifying Checksum', progressDetail: {}, id });
    progress({ status: 'Download complete', progressDetail: {}, id });
    progress(progressMessage('Extracting', id, layer.size, layer.size));
    progress({ status: 'Pull complete', progressDetail: {}, id });
  });

  const record = await store.withIndex(async () => {
    const previous = await store.image(manifest.config.digest);
    const repoDigest = `${repositoryName(ref)}@${topDigest}`;
    const layerSizes = await Promise.all(chains.map(async (c) => (await store.layer(c)).size));
    const record: ImageRecord = {
      id: manifest.config.digest,
      manifest: manifestDescriptor,
      layers: manifest.layers,
      chainIds: chains,
      repoDigests: [...new Set([...(previous?.repoDigests ?? []), repoDigest])],
      size: layerSizes.reduce((a, b) => a + b, 0),
      stored: previous?.stored ?? new Date().toISOString(),
    };
    await store.putImage(record);
    const names = await store.names();
    const key = ref.tag !== undefined ? canonicalString({ domain: ref.domain, path: ref.path, tag: ref.tag }) : undefined;
    const upToDate = key !== undefined ? names[key] === record.id : previous !== undefined;
    if (key !== undefined && names[key] !== record.id) {
      names[key] = record.id;
      await store.setNames(names);
    }
    return { record, upToDate };
  });
  progress({ status: `Digest: ${topDigest}` });
  progress({ status: record.upToDate ? `Status: Image is up to date for ${name}` : `Status: Downloaded newer image for ${name}` });
  return record.record;
}

async function fetchConfig(store: ImageStore, client: RegistryClient, desc: Descriptor, name: string): Promise<ImageConfig> {
  if (!store.hasBlob(desc.digest)) await store.writeBlob(desc, await client.blob(desc.digest), `the config ${desc.digest} of ${name}`);
  return parseImageConfig(await store.readBlob(desc.digest), `the config ${desc.digest} of ${name}`);
}

/**
 * One pass over a layer blob: verified (digest, size) into the store's blob file and, decompressed
 * and hashed (the diff ID), unpacked into `dir`. Both must finish for the layer to count.
 */
async function fetchAndUnpack(
  store: ImageStore,
  sys: Syscalls,
  source: Readable,
  layer: Descriptor,
  dir: string,
  what: string,
  onBytes: (current: number) => void,
  onWarning?: (message: string) => void,
): Promise<{ diffId: string }> {
  const verify = new VerifyingStream(what, layer);
  const haveBlob = store.hasBlob(layer.digest);
  const toStore = new PassThrough();
  const toUnpack = new PassThrough();
  let seen = 0;
  verify.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    onBytes(seen);
  });
  const hash = new HashingStream();
  // the blob is verified once, here: the store's copy is written as it passes
  if (haveBlob) toStore.resume();
  const storing = haveBlob ? Promise.resolve() : store.writeVerifiedBlob(layer.digest, toStore);
  // pipeline, not pipe: a corrupt or truncated stream must fail the unpack, not stall it
  const decoding = pipeline(toUnpack, decompressor(layerCompression(layer, what)), hash);
  const unpacking = unpackLayer(hash, dir, layer.digest, sys);
  const reading = pipeline(source, verify, async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      // both consumers take each chunk before the next is read: back-pressure from the slower
      const a = toStore.write(chunk);
      const b = toUnpack.write(chunk);
      if (!a) await drained(toStore);
      if (!b) await drained(toUnpack);
    }
    toStore.end();
    toUnpack.end();
  });
  try {
    const [, , , unpacked] = await Promise.all([reading, storing, decoding, unpacking]);
    if (unpacked.ignoredXattrs.length > 0) onWarning?.(`${what}: the store's file system does not keep the xattrs ${unpacked.ignoredXattrs.join(', ')}: skipped`);
  } catch (err) {
    for (const s of [source, toStore, toUnpack, hash]) s.destroy();
    throw err;
  }
  return { diffId: hash.digest };
}

/** A full stream's room again, or its end (a destroyed stream never drains). */
function drained(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}

/** Run `fn` over `items`, at most `limit` at once; the first failure rejects (the rest finish first). */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length && errors.length === 0) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length) throw errors[0];
}
