/** GET /system/df (Docker's DiskUsage): the images, the containers with their sizes, no volumes, no build cache. */
import type { ImageService } from '../daemon/images.js';
import { diskUsage } from '../daemon/disk-usage.js';
import { containerSummary } from './containers.js';
import { imageSummary } from './images.js';
import { type RouteContext, sendJson } from './router.js';

export async function systemDfRoute(images: ImageService, stateRoot: string, now: () => Date, ctx: RouteContext): Promise<void> {
  const store = await images.store();
  const du = await diskUsage(stateRoot, store);
  const imageRows: Record<string, unknown>[] = [];
  for (const u of du.images) {
    const facts = { record: u.record, config: u.config, tags: await images.tagsOf(u.record.id), layerSizes: u.layerSizes, layerDirs: [] };
    imageRows.push({ ...imageSummary(facts), Containers: u.containers, SharedSize: u.sharedSize });
  }
  imageRows.sort((a, b) => (b.Created as number) - (a.Created as number));
  const at = now();
  sendJson(ctx.res, 200, {
    LayersSize: du.layersSize,
    Images: imageRows,
    Containers: du.containers.map(({ record, size }) => containerSummary(record, at, size)),
    Volumes: [],
    BuildCache: null,
    BuilderSize: 0,
  });
}
