/**
 * The daemon's images (moby daemon/images): pull into the store, list, inspect, tag, remove and
 * prune, with Docker's rules for what a container's use forbids. The store (images/store.ts) keeps
 * the files; this module decides. Layers and blobs no image and no container needs are collected
 * after each removal.
 */
import { accessSync, constants } from 'node:fs';
import { listContainerRecords } from '../container/records.js';
import { ConflictError, CorralError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../log.js';
import type { Credentials } from '../images/auth.js';
import type { ProgressSink } from '../images/progress.js';
import { pullImage } from '../images/pull.js';
import type { Platform } from '../images/manifest.js';
import { canonicalString, familiarName, familiarString, parseReference, type ImageReference } from '../images/reference.js';
import { findImage, imageConfig, imageLayers, numericUser } from '../images/resolve.js';
import { type ImageRecord, ImageStore } from '../images/store.js';
import type { ImageDefaults } from '../container/config/run-config.js';
import { DEFAULT_PATH } from '../container/config/run-flags.js';
import type { Syscalls } from '../sys/syscalls.js';

export interface ImageServiceDeps {
  stateRoot: string;
  log: Logger;
  sys: () => Promise<Syscalls>;
  /** registries reachable over plain HTTP (--insecure-registry) */
  insecureRegistries?: readonly string[];
  /** where image events go (pull, tag, untag, delete) */
  events?: EventBus;
}

export type RunWord = { kind: 'image'; defaults: ImageDefaults } | { kind: 'command' } | { kind: 'pull'; ref: ImageReference };

/** The PATH a container on the host's directories starts with (Docker's default). */
const CONTAINER_PATH = DEFAULT_PATH.split(':');

/**
 * A path (`/bin/sh`, `./tool`), or a program found in the container's default PATH on the host's
 * directories. Another word with a slash is a reference (`127.0.0.1:5000/app`, `user/app`).
 */
export function isHostCommand(word: string): boolean {
  if (word.startsWith('/') || word.startsWith('.')) return true;
  if (word.includes('/')) return false;
  return CONTAINER_PATH.some((dir) => {
    try {
      accessSync(`${dir}/${word}`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * A word not in the store is pulled only when it is no host command and says it is a reference (a
 * registry, a repository path, a tag or a digest), and parses as one.
 */
export function wantsPull(word: string): boolean {
  if (isHostCommand(word) || !/[/:@]/.test(word)) return false;
  try {
    parseReference(word);
    return true;
  } catch {
    return false;
  }
}

/** What a removal did, in Docker's order: the names untagged, then the image deleted. */
export type RemovalItem = { Untagged: string } | { Deleted: string };

export class ImageService {
  #store: Promise<ImageStore> | undefined;
  constructor(private readonly deps: ImageServiceDeps) {}

  store(): Promise<ImageStore> {
    this.#store ??= ImageStore.open(this.deps.stateRoot);
    return this.#store;
  }

  async pull(ref: ImageReference, opts: { credentials?: Credentials; platform?: Platform; onProgress?: ProgressSink }): Promise<ImageRecord> {
    const store = await this.store();
    const record = await pullImage(store, await this.deps.sys(), ref, {
      insecureRegistries: this.deps.insecureRegistries ?? [],
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      ...(opts.platform ? { platform: opts.platform } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      onWarning: (message) => this.deps.log.warn(message),
    });
    // moby: the name pulled is the event's ID, its repository the `name`
    await this.emit('pull', familiarString(ref), record.id, familiarName(ref));
    return record;
  }

  /** An image event with the image's labels as attributes (moby's LogImageEvent); never fails the operation. */
  private async emit(action: string, eventId: string, imageId: string, name: string, labels?: Record<string, string>): Promise<void> {
    this.deps.events?.image(action, eventId, { ...(labels ?? (await this.labelsOf(imageId))), name });
  }

  /** An image's labels; none when it cannot be read (gone already). */
  private async labelsOf(imageId: string): Promise<Record<string, string>> {
    try {
      const store = await this.store();
      const record = await store.image(imageId);
      return record ? ((await imageConfig(store, record)).config.Labels ?? {}) : {};
    } catch {
      return {};
    }
  }

  async find(text: string): Promise<ImageRecord> {
    return findImage(await this.store(), text);
  }

  /** The names that point at `id`, familiar (`busybox:latest`), sorted. */
  async tagsOf(id: string): Promise<string[]> {
    const names = await (await this.store()).names();
    return Object.entries(names)
      .filter(([, v]) => v === id)
      .map(([k]) => familiarString(parseReference(k)))
      .sort();
  }

  /**
   * What `run IMAGE` takes from the image `text` names: the layers and the config's defaults (the
   * user's name resolved to numbers in the image's own /etc/passwd).
   */
  async defaultsFor(text: string): Promise<ImageDefaults> {
    const store = await this.store();
    const record = await findImage(store, text);
    const config = (await imageConfig(store, record)).config;
    const user = config.User ? await numericUser(store, record, config.User) : undefined;
    return {
      name: text,
      id: record.id,
      chainIds: record.chainIds,
      layers: await imageLayers(store, record),
      ...(config.Entrypoint ? { entrypoint: config.Entrypoint } : {}),
      ...(config.Cmd ? { cmd: config.Cmd } : {}),
      ...(config.Env ? { env: config.Env } : {}),
      ...(config.WorkingDir ? { workingDir: config.WorkingDir } : {}),
      ...(user ? { user } : {}),
      ...(config.Labels ? { labels: config.Labels } : {}),
      ...(config.StopSignal ? { stopSignal: config.StopSignal } : {}),
    };
  }

  /**
   * How `corral run` reads its first word (the host's system directories stay the default root): an
   * image in the store; else a host command (a path, or a program in the container's default PATH);
   * else, when it says it is a reference (a registry, a repository path, a tag or a digest:
   * `alpine:3.19`, `user/app`), an image to pull first; else a command after all (its launch says
   * it is not found: a bare `alpine` is not fetched from a registry behind the user's back).
   */
  async classifyRunWord(word: string): Promise<RunWord> {
    try {
      return { kind: 'image', defaults: await this.defaultsFor(word) };
    } catch (err) {
      if (!(err instanceof CorralError && err.code === 'ENOIMAGE')) throw err;
    }
    return wantsPull(word) ? { kind: 'pull', ref: parseReference(word) } : { kind: 'command' };
  }

  /** `docker tag SOURCE TARGET`: TARGET (a name, :latest when it has no tag) points at SOURCE's image. */
  async tag(source: string, target: string): Promise<void> {
    const store = await this.store();
    const record = await findImage(store, source);
    const ref = parseReference(target, 'the target name');
    if (ref.digest !== undefined) throw new CorralError('EINVALIDPARAM', `refusing to create a tag with a digest reference: ${target}`);
    await store.withIndex(async () => {
      const names = await store.names();
      names[canonicalString(ref)] = record.id;
      await store.setNames(names);
    });
    await this.emit('tag', record.id, record.id, familiarString(ref));
  }

  /**
   * `docker rmi`: a name that is one of several of its image is only untagged; otherwise the image
   * goes. A container that uses it refuses the removal (a stopped one unless `force`, a running one
   * always); an ID with several names needs `force`.
   */
  async remove(text: string, force: boolean): Promise<RemovalItem[]> {
    const store = await this.store();
    const record = await findImage(store, text);
    const short = record.id.slice(7, 19);
    const labels = await this.labelsOf(record.id);
    const items = await store.withIndex(() => this.removeLocked(store, record, text, force, short));
    // moby: an `untag` per name taken away, then `delete`, each naming the image's ID
    for (const item of items) await this.emit('Untagged' in item ? 'untag' : 'delete', record.id, record.id, record.id, labels);
    return items;
  }

  private async removeLocked(store: ImageStore, record: ImageRecord, text: string, force: boolean, short: string): Promise<RemovalItem[]> {
    const names = await store.names();
    const mine = Object.keys(names).filter((k) => names[k] === record.id);
    const byName = mine.find((k) => isSameName(k, text));
    const users = await this.containersUsing(record.id);
    const out: RemovalItem[] = [];
    // a name among others: untag it only (a container may still use the image)
    if (byName !== undefined && mine.length > 1) {
      delete names[byName];
      await store.setNames(names);
      return [{ Untagged: familiarString(parseReference(byName)) }];
    }
    const running = users.find((u) => u.running);
    if (running) throw new ConflictError(`conflict: unable to delete ${short} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}`);
    if (users.length > 0 && !force) {
      if (byName !== undefined)
        throw new ConflictError(`conflict: unable to remove repository reference "${text}" (must force) - container ${users[0]!.id.slice(0, 12)} is using its referenced image ${short}`);
      throw new ConflictError(`conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${users[0]!.id.slice(0, 12)}`);
    }
    if (byName === undefined && mine.length > 1 && !force) {
      throw new ConflictError(`conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
    }
    for (const k of mine) {
      delete names[k];
      out.push({ Untagged: familiarString(parseReference(k)) });
    }
    for (const d of record.repoDigests) out.push({ Untagged: d.startsWith('docker.io/library/') ? d.slice('docker.io/library/'.length) : d });
    await store.setNames(names);
    await store.removeImageRecord(record.id);
    out.push({ Deleted: record.id });
    await this.collect();
    return out;
  }

  /**
   * `docker image prune`: dangling images (no name), or with `all` every image no container uses;
   * returns what went and the bytes of the layers freed.
   */
  async prune(all: boolean): Promise<{ items: RemovalItem[]; reclaimed: number }> {
    const store = await this.store();
    const names = await store.names();
    const used = new Set((await this.containerImages()).map((c) => c.imageId));
    const items: RemovalItem[] = [];
    const before = await this.layerBytes();
    for (const r of await store.images()) {
      const named = Object.values(names).includes(r.id);
      if (used.has(r.id) || (named && !all)) continue;
      items.push(...(await this.remove(r.id, true)));
    }
    return { items, reclaimed: before - (await this.layerBytes()) };
  }

  async layerBytes(): Promise<number> {
    const store = await this.store();
    let total = 0;
    for (const id of await store.layerIds()) total += (await store.layer(id).catch(() => ({ size: 0 }))).size;
    return total;
  }

  /** The containers whose root is stacked from `id`, and whether each runs. */
  private async containersUsing(id: string): Promise<{ id: string; running: boolean }[]> {
    return (await this.containerImages()).filter((c) => c.imageId === id).map((c) => ({ id: c.id, running: c.running }));
  }

  private async containerImages(): Promise<{ id: string; imageId: string; running: boolean }[]> {
    const { records } = await listContainerRecords(this.deps.stateRoot);
    return records.flatMap((r) => (r.image ? [{ id: r.id, imageId: r.image.id, running: r.status === 'running' || r.status === 'restarting' }] : []));
  }

  /**
   * Remove the layers no image and no container stacks, and the blobs no image names. A container's
   * layers stay while it exists, even when its image was removed with force (as Docker's).
   */
  async collect(): Promise<void> {
    const store = await this.store();
    const images = await store.images();
    const { records } = await listContainerRecords(this.deps.stateRoot);
    const keepLayers = new Set([...images.flatMap((r) => r.chainIds), ...records.flatMap((r) => r.image?.chainIds ?? [])]);
    for (const id of await store.layerIds()) if (!keepLayers.has(id)) await store.removeLayer(id);
    const keepBlobs = new Set(images.flatMap((r) => [r.id, r.manifest.digest, ...r.layers.map((l) => l.digest)]));
    await store.removeBlobsExcept(keepBlobs);
  }
}

/** Whether a stored name (canonical) is what the user typed (`busybox` is docker.io/library/busybox:latest). */
function isSameName(stored: string, typed: string): boolean {
  try {
    return canonicalString(parseReference(typed)) === stored;
  } catch {
    return false;
  }
}
