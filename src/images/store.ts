/**
 * The image store under `<root>/images/`, laid out as containerd's content store beside Docker's
 * overlay2 layer directories:
 *
 *   blobs/sha256/<hex>            manifests, configs and compressed layers, by digest
 *   layers/<chain hex>/diff/      a layer unpacked (an overlay lower directory), shared by every
 *                                 image and container whose stack has this chain ID
 *   layers/<chain hex>/layer.json its diff ID, parent chain ID, unpacked size and short link name
 *   l/<short>  -> ../layers/<chain hex>/diff   short names, so that 125 lower directories fit in
 *                                 one page of overlay mount options (as overlay2's l/ links)
 *   images/<config hex>.json      an image: its manifest, layers and repo digests (the ID is the
 *                                 config's digest, as Docker's)
 *   repositories.json             names (`docker.io/library/busybox:latest`) to image IDs
 *   tmp/                          everything being written, named with the writer's PID; what a
 *                                 dead writer left is removed when the store opens
 *
 * Nothing is half-written: a blob or layer is written under tmp/, verified, then renamed into place;
 * a crash leaves only tmp/ entries, which the next open removes. The index files are replaced
 * atomically. One store object per process serializes its index updates.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CorralError } from '../errors.js';
import { writeFileAtomic } from '../state/atomic.js';
import { digestHex, isDigest, sha256Digest, VerifyingStream } from './digest.js';
import type { Descriptor } from './manifest.js';

export class ImageNotFoundError extends CorralError {
  constructor(readonly reference: string) {
    super('ENOIMAGE', `No such image: ${reference}`);
  }
}

export interface LayerRecord {
  chainId: string;
  diffId: string;
  /** the chain ID of the layer below, undefined for a base layer */
  parent?: string;
  /** bytes of the unpacked files (st_size sum, as Docker's layer size) */
  size: number;
  /** the name of this layer's link under l/ */
  link: string;
}

export interface ImageRecord {
  /** the config's digest: Docker's image ID */
  id: string;
  /** the platform manifest this image came as */
  manifest: Descriptor;
  /** the layers' blobs (as the manifest lists them), lowest first */
  layers: Descriptor[];
  /** chain IDs of the layers, lowest first */
  chainIds: string[];
  /** `docker.io/library/busybox@sha256:…`: the manifest digests it was pulled by */
  repoDigests: string[];
  /** bytes of all layers unpacked */
  size: number;
  /** when it arrived here (RFC 3339) */
  stored: string;
}

const LINK_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** overlay2 uses 26 characters; collisions are checked anyway */
const LINK_LENGTH = 12;

export class ImageStore {
  readonly dir: string;
  #indexLock: Promise<unknown> = Promise.resolve();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** The store under `stateRoot`, its directories made and what a crash left in tmp/ removed. */
  static async open(stateRoot: string): Promise<ImageStore> {
    const store = new ImageStore(path.join(stateRoot, 'images'));
    for (const d of ['blobs/sha256', 'layers', 'l', 'images', 'tmp']) await fsp.mkdir(store.path(d), { recursive: true, mode: 0o700 });
    // what a crashed writer left; a live process's (a daemon's pull beside a stand-alone run) stays
    for (const name of await fsp.readdir(store.path('tmp'))) {
      const pid = Number(/-(\d+)-[a-f0-9]+$/.exec(name)?.[1]);
      if (!(pid > 0 && fs.existsSync(`/proc/${pid}`))) await fsp.rm(store.path('tmp', name), { recursive: true, force: true });
    }
    // a link whose layer never arrived (a crash between the two): existsSync follows it
    for (const link of await fsp.readdir(store.path('l'))) {
      if (!fs.existsSync(store.path('l', link))) await fsp.rm(store.path('l', link), { force: true });
    }
    return store;
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /** A fresh name under tmp/ for something being written. */
  tempPath(what: string): string {
    return this.path('tmp', `${what}-${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  // --- blobs ---------------------------------------------------------------------------------

  blobPath(digest: string): string {
    return this.path('blobs', 'sha256', digestHex(digest));
  }

  hasBlob(digest: string): boolean {
    return fs.existsSync(this.blobPath(digest));
  }

  /**
   * Store the bytes of `source` as the blob `expected.digest`, verified against the digest and size
   * on the way (a mismatch leaves nothing). Returns the blob's path. A blob already present is kept.
   */
  async writeBlob(expected: { digest: string; size?: number }, source: Readable, what: string): Promise<string> {
    const final = this.blobPath(expected.digest);
    const tmp = this.tempPath('blob');
    try {
      await pipeline(source, new VerifyingStream(what, expected), fs.createWriteStream(tmp, { mode: 0o600 }));
      await fsp.rename(tmp, final);
    } finally {
      await fsp.rm(tmp, { force: true });
    }
    return final;
  }

  /**
   * Store `source` as the blob `digest` when the caller verifies the bytes itself (a pull hashes
   * each layer once, on its way to both the store and the unpacker): written under tmp/ and renamed
   * only once `source` ended without error.
   */
  async writeVerifiedBlob(digest: string, source: Readable): Promise<void> {
    const final = this.blobPath(digest);
    const tmp = this.tempPath('blob');
    try {
      await pipeline(source, fs.createWriteStream(tmp, { mode: 0o600 }));
      await fsp.rename(tmp, final);
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  /** Store bytes in hand (a manifest, a config) under their own digest. */
  async putBlob(bytes: Buffer): Promise<string> {
    const digest = sha256Digest(bytes);
    if (!this.hasBlob(digest)) {
      const tmp = this.tempPath('blob');
      await fsp.writeFile(tmp, bytes, { mode: 0o600 });
      await fsp.rename(tmp, this.blobPath(digest));
    }
    return digest;
  }

  /** Remove every blob whose digest `keep` does not hold. */
  async removeBlobsExcept(keep: ReadonlySet<string>): Promise<void> {
    for (const hex of await fsp.readdir(this.path('blobs', 'sha256'))) {
      if (!keep.has(`sha256:${hex}`)) await fsp.rm(this.path('blobs', 'sha256', hex), { force: true });
    }
  }

  async readBlob(digest: string): Promise<Buffer> {
    try {
      return await fsp.readFile(this.blobPath(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CorralError('ENOBLOB', `the store has no blob ${digest}`);
      throw err;
    }
  }

  // --- layers --------------------------------------------------------------------------------

  layerDir(chainId: string): string {
    return this.path('layers', digestHex(chainId));
  }

  /** The overlay lower directory of a layer. */
  layerDiff(chainId: string): string {
    return path.join(this.layerDir(chainId), 'diff');
  }

  hasLayer(chainId: string): boolean {
    return fs.existsSync(path.join(this.layerDir(chainId), 'layer.json'));
  }

  async layer(chainId: string): Promise<LayerRecord> {
    try {
      return JSON.parse(await fsp.readFile(path.join(this.layerDir(chainId), 'layer.json'), 'utf8')) as LayerRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CorralError('ENOLAYER', `the store has no layer ${chainId}`);
      throw err;
    }
  }

  /**
   * Add the layer `chainId`: `fill(dir)` unpacks it into an empty directory under tmp/ and returns
   * the diff ID it read; a diff ID other than `diffId` is an error. The layer appears complete
   * (renamed into layers/ with its record) or not at all. A layer that another pull finished
   * meanwhile is kept and this copy dropped.
   */
  async addLayer(layer: { chainId: string; diffId: string; parent?: string }, fill: (dir: string) => Promise<{ diffId: string }>): Promise<LayerRecord> {
    if (this.hasLayer(layer.chainId)) return this.layer(layer.chainId);
    const tmp = this.tempPath('layer');
    try {
      await fsp.mkdir(path.join(tmp, 'diff'), { recursive: true, mode: 0o700 });
      await fsp.chmod(path.join(tmp, 'diff'), 0o755);
      const { diffId } = await fill(path.join(tmp, 'diff'));
      if (diffId !== layer.diffId) {
        throw new CorralError('EDIFFID', `layer ${layer.chainId}: its uncompressed content is ${diffId}, but the image config says ${layer.diffId}`);
      }
      const record: LayerRecord = {
        chainId: layer.chainId,
        diffId: layer.diffId,
        ...(layer.parent !== undefined ? { parent: layer.parent } : {}),
        size: await treeSize(path.join(tmp, 'diff')),
        link: await this.#newLink(),
      };
      await fsp.writeFile(path.join(tmp, 'layer.json'), `${JSON.stringify(record)}\n`);
      // the link first (dangling until the rename): a crash between the two must not leave a
      // complete-looking layer that no mount can name
      const link = this.path('l', record.link);
      await fsp.symlink(path.join('..', 'layers', digestHex(layer.chainId), 'diff'), link);
      try {
        await fsp.rename(tmp, this.layerDir(layer.chainId));
      } catch (err) {
        await fsp.rm(link, { force: true });
        const code = (err as NodeJS.ErrnoException).code;
        if ((code === 'ENOTEMPTY' || code === 'EEXIST') && this.hasLayer(layer.chainId)) return this.layer(layer.chainId);
        throw err;
      }
      return record;
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  }

  async #newLink(): Promise<string> {
    for (;;) {
      const bytes = randomBytes(LINK_LENGTH);
      const link = [...bytes].map((b) => LINK_CHARS[b % LINK_CHARS.length]).join('');
      if (!fs.existsSync(this.path('l', link))) return link;
    }
  }

  /** Remove a layer (its link first, so that no mount can name it meanwhile). */
  async removeLayer(chainId: string): Promise<void> {
    const record = await this.layer(chainId).catch(() => undefined);
    if (record) await fsp.rm(this.path('l', record.link), { force: true });
    // renamed away first: a half-removed layer must not look present
    const doomed = this.tempPath('removed-layer');
    await fsp.rename(this.layerDir(chainId), doomed).catch(() => {});
    await fsp.rm(doomed, { recursive: true, force: true });
  }

  async layerIds(): Promise<string[]> {
    return (await fsp.readdir(this.path('layers'))).map((hex) => `sha256:${hex}`);
  }

  // --- images and names ----------------------------------------------------------------------

  /** Index updates one at a time (a pull's tag and an rmi must not lose each other's write). */
  withIndex<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#indexLock.then(fn, fn);
    this.#indexLock = run.catch(() => {});
    return run;
  }

  async putImage(record: ImageRecord): Promise<void> {
    await writeFileAtomic(this.path('images', `${digestHex(record.id)}.json`), `${JSON.stringify(record, null, 1)}\n`, 0o600);
  }

  async image(id: string): Promise<ImageRecord | undefined> {
    try {
      return JSON.parse(await fsp.readFile(this.path('images', `${digestHex(id)}.json`), 'utf8')) as ImageRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async images(): Promise<ImageRecord[]> {
    const out: ImageRecord[] = [];
    for (const f of await fsp.readdir(this.path('images'))) {
      if (!/^[a-f0-9]{64}\.json$/.test(f)) continue;
      const r = await this.image(`sha256:${f.slice(0, 64)}`);
      if (r) out.push(r);
    }
    return out;
  }

  async removeImageRecord(id: string): Promise<void> {
    await fsp.rm(this.path('images', `${digestHex(id)}.json`), { force: true });
  }

  /** name (canonical, with tag or digest) -> image ID */
  async names(): Promise<Record<string, string>> {
    try {
      const names = JSON.parse(await fsp.readFile(this.path('repositories.json'), 'utf8')) as Record<string, string>;
      for (const [name, id] of Object.entries(names)) if (!isDigest(id)) throw new CorralError('ESTORE', `${this.path('repositories.json')}: ${name} maps to ${JSON.stringify(id)}, not an image ID`);
      return names;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
  }

  async setNames(names: Record<string, string>): Promise<void> {
    const sorted = Object.fromEntries(Object.entries(names).sort(([a], [b]) => a.localeCompare(b)));
    await writeFileAtomic(this.path('repositories.json'), `${JSON.stringify(sorted, null, 1)}\n`, 0o600);
  }
}

/** The sum of st_size below `dir`, each inode once (hard links count once, as du and Docker count). */
export async function treeSize(dir: string): Promise<number> {
  const seen = new Set<bigint>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = await fsp.lstat(p, { bigint: true });
      if (st.nlink > 1n) {
        if (seen.has(st.ino)) continue;
        seen.add(st.ino);
      }
      if (e.isDirectory()) await walk(p);
      else total += Number(st.size);
    }
  };
  await walk(dir);
  return total;
}
