/**
 * The image commands, as the Docker CLI's: `corral pull`, `images`, `rmi`, `tag`, `history` and the
 * `corral image …` group (ls, pull, rm, tag, inspect, history, prune). Each is a client of the
 * daemon's image routes.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { call } from '../../client/client.js';
import { openStream } from '../../client/stream.js';
import { InvalidArgumentError } from '../../errors.js';
import type { ProgressMessage } from '../../images/progress.js';
import { familiarString, parseReference } from '../../images/reference.js';
import { formatIoSize } from '../../units.js';
import { humanDuration } from '../../container/format.js';
import { type DiskUsageAnswer, DISK_USAGE_HEADERS, DISK_USAGE_TABLE, diskUsageRows } from '../format/disk-usage.js';
import { progressWriter } from '../format/progress.js';
import { parseDockerFormat, renderRows } from '../format/template.js';
import { clientCommand, parseCommand, repeatable, UsageError } from './parse.js';
import type { ClientContext } from './context.js';
import { filtersQuery } from './values.js';

const enc = encodeURIComponent;
/** An image name in a path: its slashes stay (the routes take several segments), the rest escaped. */
const imagePath = (name: string) => name.split('/').map(enc).join('/');

export function pullCommand(name = 'pull') {
  return clientCommand(name, '[OPTIONS] NAME[:TAG|@DIGEST]', 'download an image from a registry')
    .argument('<name>')
    .option('-q, --quiet', 'print only the image reference')
    .option('--platform <os/arch>', 'the platform of a multi-platform image (default: this host)');
}

/**
 * Pull `text` through the daemon, its progress on `out` (Docker's display: in place on a terminal).
 * Returns the familiar reference pulled. A failure in the stream is thrown with the daemon's words.
 */
export async function pullThrough(ctx: ClientContext, text: string, out: { write(s: string): unknown; isTTY?: boolean }, platform?: string, quiet = false): Promise<string> {
  const ref = parseReference(text, 'NAME');
  const query = new URLSearchParams({ fromImage: `${ref.domain}/${ref.path}`, tag: ref.digest ?? ref.tag ?? 'latest' });
  if (platform) query.set('platform', platform);
  const res = await openStream(ctx.socket, { method: 'POST', path: `/images/create?${query}` });
  const show = quiet ? undefined : progressWriter(out, out.isTTY === true);
  let failure: string | undefined;
  for await (const line of createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim() === '') continue;
    const m = JSON.parse(line) as ProgressMessage;
    if (m.error !== undefined) failure = m.errorDetail?.message ?? m.error;
    show?.write(m);
  }
  if (failure !== undefined) throw new UsageError(failure);
  return familiarString(ref);
}

export async function pull(ctx: ClientContext, argv: readonly string[], name = 'pull'): Promise<number> {
  const { opts, args } = parseCommand<{ quiet?: boolean; platform?: string }>(pullCommand(name), argv);
  await pullThrough(ctx, args[0]!, { write: (t: string) => ctx.out.write(t), isTTY: process.stdout.isTTY === true }, opts.platform, opts.quiet === true);
  // the Docker CLI names what it pulled last (docker.io/library/busybox:latest)
  const ref = parseReference(args[0]!);
  ctx.out.write(`${ref.domain}/${ref.path}${ref.digest ? `@${ref.digest}` : `:${ref.tag ?? 'latest'}`}\n`);
  return 0;
}

interface ImageSummary {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
}

const IMAGES_TABLE = '{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
const IMAGES_HEADERS = { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE', Digest: 'DIGEST' };

export function imagesCommand(name = 'images') {
  return clientCommand(name, '[OPTIONS] [REPOSITORY[:TAG]]', 'list images')
    .argument('[reference]')
    .option('-a, --all', 'show all images (corral has no intermediate images: the same list)')
    .option('-q, --quiet', 'only the image IDs')
    .option('--digests', 'show digests')
    .option('--no-trunc', 'do not truncate IDs')
    .option('--format <format>', "table (default), json, or a Go template such as '{{.Repository}}:{{.Tag}}'")
    .addOption(repeatable('-f, --filter <key=value>', 'filter: dangling, reference, label'));
}

export async function images(ctx: ClientContext, argv: readonly string[], name = 'images'): Promise<number> {
  const { opts, args } = parseCommand<{ quiet?: boolean; digests?: boolean; trunc: boolean; format?: string; filter?: string[] }>(imagesCommand(name), argv);
  const filters = [...(opts.filter ?? []), ...(args[0] ? [`reference=${args[0]}`] : [])];
  const q = filtersQuery('--filter', filters);
  const { body } = await call<ImageSummary[]>(ctx.socket, { method: 'GET', path: `/images/json${q ? `?filters=${enc(q)}` : ''}` });
  const now = ctx.now().getTime();
  const rows: Record<string, string>[] = [];
  for (const img of body) {
    const id = opts.trunc ? img.Id.slice(7, 19) : img.Id;
    const tags = img.RepoTags?.length ? img.RepoTags : ['<none>:<none>'];
    for (const t of tags) {
      const colon = t.lastIndexOf(':');
      const repo = t.slice(0, colon);
      const digest = img.RepoDigests?.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ?? '<none>';
      rows.push({
        Repository: repo,
        Tag: t.slice(colon + 1),
        ID: id,
        Digest: digest,
        CreatedSince: `${humanDuration(now - img.Created * 1000)} ago`,
        CreatedAt: new Date(img.Created * 1000).toISOString(),
        Size: formatIoSize(img.Size, 3),
      });
    }
  }
  if (opts.quiet) {
    ctx.out.write([...new Set(rows.map((r) => r.ID))].map((id) => `${id}\n`).join(''));
    return 0;
  }
  const table = opts.digests ? IMAGES_TABLE.replace('{{.Tag}}', '{{.Tag}}\t{{.Digest}}') : IMAGES_TABLE;
  const format = parseDockerFormat('--format', opts.format ?? 'table', table, IMAGES_HEADERS);
  ctx.out.write(renderRows(format, IMAGES_HEADERS, rows));
  return 0;
}

export function rmiCommand(name = 'rmi') {
  return clientCommand(name, '[OPTIONS] IMAGE [IMAGE...]', 'remove images')
    .argument('<images...>')
    .option('-f, --force', 'force removal (an image a stopped container uses, or one with several names)');
}

export async function rmi(ctx: ClientContext, argv: readonly string[], name = 'rmi'): Promise<number> {
  const { opts, args } = parseCommand<{ force?: boolean }>(rmiCommand(name), argv);
  let failed = 0;
  for (const image of args) {
    try {
      const { body } = await call<{ Untagged?: string; Deleted?: string }[]>(ctx.socket, { method: 'DELETE', path: `/images/${imagePath(image)}${opts.force ? '?force=1' : ''}` });
      for (const item of body) ctx.out.write(item.Untagged !== undefined ? `Untagged: ${item.Untagged}\n` : `Deleted: ${item.Deleted}\n`);
    } catch (err) {
      failed++;
      ctx.err.write(`Error response from daemon: ${(err as Error).message}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

export function tagCommand(name = 'tag') {
  return clientCommand(name, 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', 'give an image another name').argument('<source>').argument('<target>');
}

export async function tag(ctx: ClientContext, argv: readonly string[], name = 'tag'): Promise<number> {
  const { args } = parseCommand(tagCommand(name), argv);
  const target = parseReference(args[1]!, 'TARGET_IMAGE');
  if (target.digest !== undefined) throw new InvalidArgumentError('TARGET_IMAGE', args[1]!, 'a tag, not a digest');
  const query = new URLSearchParams({ repo: `${target.domain}/${target.path}`, tag: target.tag ?? 'latest' });
  await call(ctx.socket, { method: 'POST', path: `/images/${imagePath(args[0]!)}/tag?${query}` });
  return 0;
}

export function historyCommand(name = 'history') {
  return clientCommand(name, '[OPTIONS] IMAGE', "show an image's history")
    .argument('<image>')
    .option('-q, --quiet', 'only the IDs')
    .option('--no-trunc', 'do not truncate')
    .option('--format <format>', 'a Go template');
}

export async function history(ctx: ClientContext, argv: readonly string[], name = 'history'): Promise<number> {
  const { opts, args } = parseCommand<{ quiet?: boolean; trunc: boolean; format?: string }>(historyCommand(name), argv);
  const { body } = await call<{ Id: string; Created: number; CreatedBy: string; Size: number; Comment: string }[]>(ctx.socket, { method: 'GET', path: `/images/${imagePath(args[0]!)}/history` });
  const now = ctx.now().getTime();
  const rows = body.map((h) => ({
    ID: h.Id === '<missing>' ? '<missing>' : opts.trunc ? h.Id.slice(7, 19) : h.Id,
    CreatedSince: `${humanDuration(now - h.Created * 1000)} ago`,
    CreatedAt: new Date(h.Created * 1000).toISOString(),
    CreatedBy: opts.trunc && h.CreatedBy.length > 45 ? `${h.CreatedBy.slice(0, 44)}…` : h.CreatedBy,
    Size: formatIoSize(h.Size, 3),
    Comment: h.Comment,
  }));
  if (opts.quiet) {
    ctx.out.write(rows.map((r) => `${r.ID}\n`).join(''));
    return 0;
  }
  const headers = { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' };
  const format = parseDockerFormat('--format', opts.format ?? 'table', '{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}', headers);
  ctx.out.write(renderRows(format, headers, rows));
  return 0;
}

export function imagePruneCommand() {
  return clientCommand('image prune', '[OPTIONS]', 'remove images no container uses (dangling ones unless -a)')
    .option('-a, --all', 'every unused image, not only dangling ones')
    .option('-f, --force', 'do not ask (corral never asks)');
}

export async function imagePrune(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { opts } = parseCommand<{ all?: boolean }>(imagePruneCommand(), argv);
  const q = opts.all ? `?filters=${enc(JSON.stringify({ dangling: ['false'] }))}` : '';
  const { body } = await call<{ ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed: number }>(ctx.socket, { method: 'POST', path: `/images/prune${q}` });
  if (body.ImagesDeleted?.length) {
    ctx.out.write('Deleted Images:\n');
    for (const item of body.ImagesDeleted) ctx.out.write(item.Untagged !== undefined ? `untagged: ${item.Untagged}\n` : `deleted: ${item.Deleted}\n`);
    ctx.out.write('\n');
  }
  ctx.out.write(`Total reclaimed space: ${formatIoSize(body.SpaceReclaimed, 3)}\n`);
  return 0;
}

/** `corral image inspect IMAGE...`: a JSON array, as docker image inspect. */
export async function imageInspect(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const names = argv.filter((a) => !a.startsWith('-'));
  if (names.length === 0) throw new UsageError('"corral image inspect" requires at least 1 argument: IMAGE [IMAGE...]');
  const found: unknown[] = [];
  let failed = false;
  for (const n of names) {
    try {
      found.push((await call(ctx.socket, { method: 'GET', path: `/images/${imagePath(n)}/json` })).body);
    } catch (err) {
      failed = true;
      ctx.err.write(`Error: ${(err as Error).message}\n`);
    }
  }
  ctx.out.write(`${JSON.stringify(found, null, 4)}\n`);
  return failed ? 1 : 0;
}

/** `corral image SUBCOMMAND`: Docker's management command for images. */
export async function image(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'ls':
    case 'list':
      return images(ctx, rest, 'image ls');
    case 'pull':
      return pull(ctx, rest, 'image pull');
    case 'rm':
    case 'remove':
      return rmi(ctx, rest, 'image rm');
    case 'tag':
      return tag(ctx, rest, 'image tag');
    case 'history':
      return history(ctx, rest, 'image history');
    case 'inspect':
      return imageInspect(ctx, rest);
    case 'prune':
      return imagePrune(ctx, rest);
    default:
      throw new UsageError(`"corral image" needs one of ls, pull, rm, tag, history, inspect, prune${sub ? `, not "${sub}"` : ''}`);
  }
}

export function diffCommand() {
  return clientCommand('diff', 'CONTAINER', 'what a container changed in its root: A added, C changed, D deleted').argument('<container>');
}

/** `corral diff CONTAINER`: Docker's lines, `C /etc`, `D /etc/motd`, `A /tmp/added`. */
export async function diff(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { args } = parseCommand(diffCommand(), argv);
  const { body } = await call<{ Path: string; Kind: number }[] | null>(ctx.socket, { method: 'GET', path: `/containers/${enc(args[0]!)}/changes` });
  ctx.out.write((body ?? []).map((c) => `${'CAD'[c.Kind] ?? '?'} ${c.Path}\n`).join(''));
  return 0;
}

export function commitCommand() {
  return clientCommand('commit', '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]', "a new image from a container's changes")
    .argument('<container>')
    .argument('[reference]')
    .option('-a, --author <author>', 'the author (e.g. "Jane <jane@example.com>")')
    .option('-m, --message <message>', 'the commit message')
    .addOption(repeatable('-c, --change <instruction>', 'a Dockerfile instruction for the image: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR'))
    .option('--pause <bool>', 'pause the container while its layer is read: true (the default) or false');
}

/** `corral commit`: prints the new image's ID, as docker commit. */
export async function commit(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { opts, args } = parseCommand<{ author?: string; message?: string; change?: string[]; pause?: string | boolean }>(commitCommand(), argv);
  if (typeof opts.pause === 'string' && !['true', 'false', '1', '0'].includes(opts.pause)) throw new UsageError(`--pause takes true or false, not "${opts.pause}"`);
  const query = new URLSearchParams({ container: args[0]! });
  query.set('pause', opts.pause === 'false' || opts.pause === '0' ? '0' : '1');
  if (args[1]) {
    const ref = parseReference(args[1], 'REPOSITORY[:TAG]');
    query.set('repo', `${ref.domain}/${ref.path}`);
    query.set('tag', ref.tag ?? 'latest');
  }
  if (opts.author) query.set('author', opts.author);
  if (opts.message) query.set('comment', opts.message);
  for (const c of opts.change ?? []) query.append('changes', c);
  const { body } = await call<{ Id: string }>(ctx.socket, { method: 'POST', path: `/commit?${query}` });
  ctx.out.write(`${body.Id}\n`);
  return 0;
}

export function systemDfCommand() {
  return clientCommand('system df', '[OPTIONS]', 'disk usage: images, containers (their writable layers), volumes, build cache').option(
    '--format <format>',
    "a Go template such as '{{.Type}} {{.Size}}', or table",
  );
}

/** `corral system df`: docker system df's table, from GET /system/df. */
export async function systemDf(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { opts } = parseCommand<{ format?: string }>(systemDfCommand(), argv);
  const { body } = await call<DiskUsageAnswer>(ctx.socket, { method: 'GET', path: '/system/df' });
  const format = parseDockerFormat('--format', opts.format ?? 'table', DISK_USAGE_TABLE, DISK_USAGE_HEADERS);
  ctx.out.write(renderRows(format, DISK_USAGE_HEADERS, diskUsageRows(body)));
  return 0;
}

/** `corral system COMMAND`: df (info and ping are `corral info` and the API's). */
export async function system(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'df') return systemDf(ctx, rest);
  throw new UsageError(`"corral system" needs df${sub ? `, not "${sub}"` : ''}`);
}

export function exportCommand() {
  return clientCommand('export', '[OPTIONS] CONTAINER', "a container's root as a tar archive").argument('<container>').option('-o, --output <file>', 'write to this file, not to standard output');
}

/** `corral export`: the tar to -o FILE or to standard output (never to a terminal, as Docker's CLI). */
export async function exportContainer(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { opts, args } = parseCommand<{ output?: string }>(exportCommand(), argv);
  if (opts.output === undefined && process.stdout.isTTY) throw new UsageError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  const res = await openStream(ctx.socket, { method: 'GET', path: `/containers/${enc(args[0]!)}/export` });
  if (opts.output !== undefined) {
    // written beside the target and renamed, so that a failed export leaves no half file
    const tmp = `${opts.output}.corral-${process.pid}.tmp`;
    try {
      await pipeline(res, createWriteStream(tmp));
      await rename(tmp, opts.output);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return 0;
  }
  for await (const chunk of res) if (!ctx.out.write(chunk as Buffer)) await ctx.out.drained();
  return 0;
}
