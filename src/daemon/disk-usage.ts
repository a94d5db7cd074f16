/**
 * Disk usage as Docker counts it (`GET /system/df`, `docker system df`, `docker ps -s`): a
 * container's writable layer (SizeRw: the bytes of its upper directories) and its whole root
 * (SizeRootFs: that plus its image's layers); an image's layers, and the part of them another image
 * shares (SharedSize); all the layers of the store once (LayersSize). A container on the host's
 * directories or on --rootfs has no image: its SizeRootFs is its SizeRw (corral does not count the
 * host's /usr as the container's).
 */
import path from 'node:path';
import type { ContainerRecord } from '../container/records.js';
import { listContainerRecords } from '../container/records.js';
import { containerDir } from '../container/layout.js';
import { imageConfig } from '../images/resolve.js';
import { treeSize, type ImageStore } from '../images/store.js';
import type { ImageConfig } from '../images/manifest.js';
import type { ImageRecord } from '../images/store.js';

export interface ContainerSize {
  rw: number;
  rootFs: number;
}

/** The size of each image of the store, by ID: read once for a list of containers. */
export async function imageSizes(store: ImageStore): Promise<Map<string, number>> {
  return new Map((await store.images()).map((r) => [r.id, r.size]));
}

/** A container's writable bytes, and with its image's (`imageSizes`: the store's, by ID). */
export async function containerSize(stateRoot: string, record: ContainerRecord, imageSizes: ReadonlyMap<string, number>): Promise<ContainerSize> {
  const rw = await treeSize(path.join(containerDir(stateRoot, record.id), 'upper')).catch(() => 0);
  return { rw, rootFs: rw + (record.image ? (imageSizes.get(record.image.id) ?? 0) : 0) };
}

export interface ImageUsage {
  record: ImageRecord;
  config: ImageConfig;
  /** containers made from it, running or not */
  containers: number;
  /** the bytes of its layers that another image stacks too */
  sharedSize: number;
  /** each of its layers' bytes, bottom first */
  layerSizes: number[];
}

export interface DiskUsage {
  layersSize: number;
  images: ImageUsage[];
  containers: { record: ContainerRecord; size: ContainerSize }[];
}

export async function diskUsage(stateRoot: string, store: ImageStore): Promise<DiskUsage> {
  const { records } = await listContainerRecords(stateRoot);
  const images = await store.images();
  // how many images stack each layer
  const users = new Map<string, number>();
  for (const image of images) for (const chain of image.chainIds) users.set(chain, (users.get(chain) ?? 0) + 1);
  const sizes = new Map<string, number>();
  for (const chain of await store.layerIds()) sizes.set(chain, (await store.layer(chain).catch(() => ({ size: 0 }))).size);
  const usage: ImageUsage[] = [];
  for (const record of images) {
    usage.push({
      record,
      config: await imageConfig(store, record),
      containers: records.filter((r) => r.image?.id === record.id).length,
      sharedSize: record.chainIds.filter((c) => (users.get(c) ?? 0) > 1).reduce((n, c) => n + (sizes.get(c) ?? 0), 0),
      layerSizes: record.chainIds.map((c) => sizes.get(c) ?? 0),
    });
  }
  const byId = new Map(images.map((r) => [r.id, r.size]));
  const containers = [];
  for (const record of records) containers.push({ record, size: await containerSize(stateRoot, record, byId) });
  return { layersSize: [...sizes.values()].reduce((a, b) => a + b, 0), images: usage, containers };
}
