/**
 * The image routes of the Engine API that corral serves: pull (`POST /images/create`, Docker's
 * progress stream), list, inspect, history, tag, remove and prune. Names may hold slashes (a
 * registry and a path): the router's `{name*}` takes them.
 */
import { credentialsFromHeader } from '../images/auth.js';
import { imageConfig } from '../images/resolve.js';
import type { ProgressMessage } from '../images/progress.js';
import { parseReference } from '../images/reference.js';
import type { Platform } from '../images/manifest.js';
import type { ImageService } from '../daemon/images.js';
import { pipeline } from 'node:stream/promises';
import { InvalidParameterError } from '../errors.js';
import { imageHistory, imageInspect, imageSummary, type ImageFacts } from './images.js';
import { type RouteContext, sendJson } from './router.js';
import { statusOf } from './errors.js';
import { parseContainerRef, queryBool } from './validate.js';
import type { ContainerBackend } from '../daemon/backend.js';

async function factsOf(images: ImageService, text: string): Promise<ImageFacts> {
  const store = await images.store();
  const record = await images.find(text);
  const config = await imageConfig(store, record);
  const layers = await Promise.all(record.chainIds.map((c) => store.layer(c)));
  return {
    record,
    config,
    tags: await images.tagsOf(record.id),
    layerSizes: layers.map((l) => l.size),
    layerDirs: record.chainIds.map((c) => store.layerDiff(c)),
  };
}

/** `filters` as Docker sends it: JSON of name to a list (or a map of value to true). */
function filtersOf(ctx: RouteContext): Record<string, string[]> {
  const text = ctx.query.get('filters');
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidParameterError(`invalid filter: ${text} is not JSON`);
  }
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries((parsed ?? {}) as Record<string, unknown>)) {
    out[k] = Array.isArray(v) ? v.map(String) : typeof v === 'object' && v !== null ? Object.keys(v) : [String(v)];
  }
  return out;
}

/** Docker's reference filter: a glob (`*` within a path part) on the familiar name or name:tag. */
function globMatches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  );
  return re.test(name) || re.test(name.replace(/:[^:/]*$/, ''));
}

export async function listImagesRoute(images: ImageService, ctx: RouteContext): Promise<void> {
  const filters = filtersOf(ctx);
  for (const key of Object.keys(filters)) {
    if (!['dangling', 'reference', 'label'].includes(key)) throw new InvalidParameterError(`invalid filter '${key}'`);
  }
  const store = await images.store();
  const out: Record<string, unknown>[] = [];
  for (const record of await store.images()) {
    const facts = await factsOf(images, record.id);
    if (filters.dangling?.[0] === 'true' && facts.tags.length > 0) continue;
    if (filters.dangling?.[0] === 'false' && facts.tags.length === 0) continue;
    if (filters.reference && !facts.tags.some((t) => filters.reference!.some((p) => globMatches(p, t)))) continue;
    const labels = facts.config.config.Labels ?? {};
    if (filters.label && !filters.label.every((l) => (l.includes('=') ? labels[l.slice(0, l.indexOf('='))] === l.slice(l.indexOf('=') + 1) : l in labels))) continue;
    out.push(imageSummary(facts));
  }
  out.sort((a, b) => (b.Created as number) - (a.Created as number));
  sendJson(ctx.res, 200, out);
}

export async function inspectImageRoute(images: ImageService, ctx: RouteContext): Promise<void> {
  sendJson(ctx.res, 200, imageInspect(await factsOf(images, ctx.params.name!)));
}

export async function imageHistoryRoute(images: ImageService, ctx: RouteContext): Promise<void> {
  sendJson(ctx.res, 200, imageHistory(await factsOf(images, ctx.params.name!)));
}

export async function tagImageRoute(images: ImageService, ctx: RouteContext): Promise<void> {
  const repo = ctx.query.get('repo');
  if (!repo) throw new InvalidParameterError('repository name (repo) is required');
  const tag = ctx.query.get('tag');
  await images.tag(ctx.params.name!, tag ? `${repo}:${tag}` : repo);
  ctx.res.statusCode = 201;
  ctx.res.setHeader('Content-Length', 0);
  ctx.res.end();
}

export async function removeImageRoute(images: ImageService, ctx: RouteContext): Promise<void> {
  sendJson(ctx.res, 200, await images.remove(ctx.params.name!, queryBool(ctx.query, 'force')));
}

export async function pruneImagesRoute(images: ImageService, ctx: RouteContext): Promise<void> {
  const filters = filtersOf(ctx);
  for (const key of Object.keys(filters)) if (key !== 'dangling') throw new InvalidParameterError(`invalid filter '${key}'`);
  const all = filters.dangling?.[0] === 'false' || filters.dangling?.[0] === '0';
  const { items, reclaimed } = await images.prune(all);
  sendJson(ctx.res, 200, { ImagesDeleted: items.length > 0 ? items : null, SpaceReclaimed: reclaimed });
}

function platformOf(text: string | null): Platform | undefined {
  if (!text) return undefined;
  const [os = '', architecture, variant] = text.split('/');
  if (!os || !architecture) throw new InvalidParameterError(`"${text}": invalid platform: expected os/arch[/variant]`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/**
 * POST /images/create?fromImage=NAME&tag=TAG: a pull. Until its first progress line an error is an
 * answer of its own status (Docker's "manifest ... not found" is a 404 the CLI prints); after it,
 * the stream goes on and ends with Docker's error line.
 */
export async function pullRoute(images: ImageService, ctx: RouteContext): Promise<void> {
  const from = ctx.query.get('fromImage');
  if (ctx.query.get('fromSrc') !== null) throw new InvalidParameterError('importing a root file system (fromSrc) is not supported: pull an image (fromImage)');
  if (!from) throw new InvalidParameterError('fromImage is required');
  const tag = ctx.query.get('tag');
  const text = tag ? (tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`) : from;
  const ref = parseReference(text, 'fromImage');
  const credentials = credentialsFromHeader(ctx.req.headers['x-registry-auth'] as string | undefined);
  const platform = platformOf(ctx.query.get('platform'));
  const res = ctx.res;
  let started = false;
  const write = (m: ProgressMessage) => {
    if (!started) {
      started = true;
      res.writeHead(200, { 'Content-Type': 'application/json' });
    }
    res.write(`${JSON.stringify(m)}\r\n`);
  };
  try {
    await images.pull(ref, { ...(credentials ? { credentials } : {}), ...(platform ? { platform } : {}), onProgress: write });
  } catch (err) {
    if (!started) throw err;
    const message = err instanceof Error ? err.message : String(err);
    ctx.log.info('pull failed after its stream began', { image: text, error: message, status: statusOf(err) });
    res.write(`${JSON.stringify({ errorDetail: { message }, error: message })}\r\n`);
  }
  res.end();
}

/** GET /containers/{id}/changes: Docker's list (null when nothing changed, as Go's nil slice). */
export async function changesRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await sup.resolve(parseContainerRef(ctx.params.id!));
  const list = await sup.changes(id);
  sendJson(ctx.res, 200, list.length > 0 ? list : null);
}

/** POST /commit?container=&repo=&tag=&comment=&author=&changes=: 201 {"Id": "sha256:…"}. */
export async function commitRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const container = ctx.query.get('container');
  if (!container) throw new InvalidParameterError('container is required');
  const id = await sup.resolve(parseContainerRef(container));
  const repo = ctx.query.get('repo');
  const tag = ctx.query.get('tag');
  if (!repo && tag) throw new InvalidParameterError('a tag needs a repository (repo)');
  const comment = ctx.query.get('comment');
  const author = ctx.query.get('author');
  const imageId = await sup.commit(id, {
    ...(repo ? { reference: tag ? `${repo}:${tag}` : repo } : {}),
    ...(comment ? { comment } : {}),
    ...(author ? { author } : {}),
    // Docker's default since API 1.13: paused unless pause=0
    pause: ctx.query.get('pause') === null || ctx.query.get('pause') === '' ? true : queryBool(ctx.query, 'pause'),
    changes: ctx.query
      .getAll('changes')
      .flatMap((c) => c.split('\n'))
      .filter((c) => c.trim() !== ''),
  });
  sendJson(ctx.res, 201, { Id: imageId });
}

/** GET /containers/{id}/export: the container's root as a tar, streamed (a failure after the headers cuts the stream, as Docker's). */
export async function exportRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await sup.resolve(parseContainerRef(ctx.params.id!));
  const tar = await sup.exportRoot(id);
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await pipeline(tar, ctx.res);
  } catch {
    ctx.res.destroy();
  }
}
