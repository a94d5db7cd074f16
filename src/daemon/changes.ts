/**
 * A container's changes (`GET /containers/{id}/changes`, `corral diff`) and `commit` (`POST /commit`):
 * its overlays are read from its state directory (upper/<layer> over the image's layers, the
 * rootfs directory, or the host's skeleton and system directories), as Docker's overlay2 reads them.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { RunConfig } from '../container/config/run-config.js';
import { SYSTEM_DIR_NAMES } from '../isolate/plan.js';
import { skeletonPath } from '../isolate/rootfs.js';
import { ConflictError } from '../errors.js';
import { type Change, containerChanges, type OverlayLayers } from '../images/changes.js';
import { commitLayer } from '../images/commit.js';
import { exportTar } from '../images/export.js';
import { applyChanges } from '../images/dockerfile-change.js';
import type { ContainerDefaults } from '../images/manifest.js';
import { canonicalString, familiarString, parseReference } from '../images/reference.js';
import { imageConfig } from '../images/resolve.js';
import type { ImageRecord } from '../images/store.js';
import { actorOf, type DaemonContext } from './context.js';
import { pause, unpause } from './pause.js';

/** The overlays of a container's root, as its plan mounted them. */
export async function overlaysOf(d: DaemonContext, id: string, config: RunConfig): Promise<OverlayLayers[]> {
  const upper = path.join(d.store.dir(id), 'upper');
  if (config.image !== undefined) {
    const store = await d.images.store();
    return [{ upper: path.join(upper, 'root'), lowers: [...config.image.chainIds].reverse().map((c) => store.layerDiff(c)), at: '/' }];
  }
  if (config.isolation.rootfs !== undefined) return [{ upper: path.join(upper, 'root'), lowers: [config.isolation.rootfs], at: '/' }];
  return [
    { upper: path.join(upper, 'root'), lowers: [skeletonPath(d.store.root)], at: '/' },
    ...SYSTEM_DIR_NAMES.map((name) => ({ upper: path.join(upper, name), lowers: [`/${name}`], at: `/${name}` })),
  ];
}

export async function changes(d: DaemonContext, id: string): Promise<Change[]> {
  const { config } = await d.store.readConfig(id);
  return containerChanges(await overlaysOf(d, id, config), await d.sys());
}

export interface CommitOptions {
  /** REPO[:TAG] to name the image; none leaves it untagged (as `docker commit` without one) */
  reference?: string;
  comment?: string;
  author?: string;
  /** Dockerfile instructions (CMD, ENV, WORKDIR, ...) */
  changes: string[];
  /** freeze a running container while its layer is read (Docker's default), so that the layer is one moment's */
  pause: boolean;
}

/** The container's settings as an image's defaults (Docker's commit takes the container's config). */
function defaultsOf(config: RunConfig): ContainerDefaults {
  const iso = config.isolation;
  const command = iso.command.slice(config.entrypoint?.length ?? 0);
  return {
    Env: iso.env.filter((e) => !e.startsWith('HOSTNAME=')),
    ...(config.entrypoint?.length ? { Entrypoint: config.entrypoint } : {}),
    ...(command.length ? { Cmd: command } : {}),
    ...(iso.workdir !== '/' ? { WorkingDir: iso.workdir } : {}),
    ...(iso.user.uid !== 0 || iso.user.gid !== 0 ? { User: `${iso.user.uid}:${iso.user.gid}` } : {}),
    ...(config.labels ? { Labels: config.labels } : {}),
    ...(config.stopSignal ? { StopSignal: config.stopSignal } : {}),
  };
}

export async function commit(d: DaemonContext, id: string, opts: CommitOptions): Promise<string> {
  const stored = await d.store.readConfig(id);
  const { config } = stored;
  if (config.image === undefined) {
    throw new ConflictError(`container ${id.slice(0, 12)} runs on ${config.isolation.rootfs ?? "the host's directories"}, not an image: only a container made from an image can be committed`);
  }
  const images = d.images;
  const store = await images.store();
  const parent = await store.image(config.image.id);
  if (!parent) throw new ConflictError(`the image ${config.image.name} of container ${id.slice(0, 12)} was removed: its layers are there, its config is not`);
  const defaults = applyChanges(defaultsOf(config), opts.changes);
  // moby's commit: paused (a `pause` and an `unpause` event) unless asked not to or paused already
  const r = await d.record(id);
  const pausing = opts.pause && r.status === 'running' && r.paused !== true;
  if (pausing) await pause(d, id);
  let record: ImageRecord;
  try {
    record = await commitLayer(store, await d.sys(), {
      parent,
      parentConfig: await imageConfig(store, parent),
      layers: await overlaysOf(d, id, config),
      containerConfig: defaults,
      containerId: id,
      createdBy: config.isolation.command.join(' '),
      ...(opts.comment ? { comment: opts.comment } : {}),
      ...(opts.author ? { author: opts.author } : {}),
      now: new Date(),
    });
  } finally {
    if (pausing) await unpause(d, id).catch((err: Error) => d.log.warn('cannot unpause after the commit', { id, error: err.message }));
  }
  let imageRef = '';
  if (opts.reference !== undefined) {
    const ref = parseReference(opts.reference, 'repo');
    const tagged = { domain: ref.domain, path: ref.path, tag: ref.tag ?? 'latest' };
    imageRef = familiarString(tagged);
    await store.withIndex(async () => {
      const names = await store.names();
      names[canonicalString(tagged)] = record.id;
      await store.setNames(names);
    });
  }
  // moby: a container event `commit` with the comment, the new image's ID and its name
  d.events.container('commit', actorOf(id, stored), { comment: opts.comment ?? '', imageID: record.id, imageRef });
  return record.id;
}

/**
 * `export`: the container's root as a tar (its writable layer over its image's layers, or over its
 * --rootfs directory). A container on the host's directories has no root of its own to export.
 */
export async function exportRoot(d: DaemonContext, id: string): Promise<Readable> {
  const { config } = await d.store.readConfig(id);
  if (config.image === undefined && config.isolation.rootfs === undefined) {
    throw new ConflictError(`container ${id.slice(0, 12)} runs on the host's directories: it has no root of its own to export (a container of an image or a --rootfs has)`);
  }
  const [root] = await overlaysOf(d, id, config);
  return exportTar([root!.upper, ...root!.lowers], await d.sys());
}
