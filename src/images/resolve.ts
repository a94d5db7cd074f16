/**
 * Finding an image in the store by what a user types, as Docker's image service does: a full or
 * short ID (`sha256:…`, or a unique prefix of its hex), `name:tag`, `name` (`:latest`), or
 * `name@digest` (a repo digest). And what a container takes from it: its layers as overlay lowers
 * and its config's defaults.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CorralError } from '../errors.js';
import { parseImageConfig, type ImageConfig } from './manifest.js';
import { canonicalString, familiarString, parseReference, repositoryName } from './reference.js';
import { ImageNotFoundError, type ImageRecord, type ImageStore } from './store.js';

export async function findImage(store: ImageStore, text: string): Promise<ImageRecord> {
  const id = await findImageId(store, text);
  const record = id === undefined ? undefined : await store.image(id);
  if (!record) throw new ImageNotFoundError(notFoundName(text));
  return record;
}

/** A name as Docker's "No such image" says it: with its tag (`busybox:latest`); an ID as typed. */
function notFoundName(text: string): string {
  if (/^(sha256:)?[a-f0-9]{1,64}$/.test(text)) return text;
  try {
    return familiarString(parseReference(text));
  } catch {
    return text;
  }
}

/**
 * The image ID `text` names, or undefined: a name first (an image may be called `abc`), then an ID
 * or a prefix of one's hex, as Docker's GetImage searches. A prefix of several IDs is an error.
 */
export async function findImageId(store: ImageStore, text: string): Promise<string | undefined> {
  if (!text.startsWith('sha256:')) {
    const byName = await nameLookup(store, text);
    if (byName !== undefined) return byName;
  }
  const hex = text.startsWith('sha256:') ? text.slice(7) : text;
  if (!/^[a-f0-9]{1,64}$/.test(hex)) return undefined;
  const ids = (await store.images()).map((r) => r.id).filter((id) => id.slice(7).startsWith(hex));
  if (ids.length > 1) throw new CorralError('EAMBIGUOUS', `image ID prefix ${text} matches ${ids.length} images`);
  return ids[0];
}

async function nameLookup(store: ImageStore, text: string): Promise<string | undefined> {
  let ref: ReturnType<typeof parseReference>;
  try {
    ref = parseReference(text);
  } catch {
    return undefined;
  }
  if (ref.digest !== undefined) {
    const wanted = `${repositoryName(ref)}@${ref.digest}`;
    return (await store.images()).find((r) => r.repoDigests.includes(wanted))?.id;
  }
  return (await store.names())[canonicalString(ref)];
}

/** An image's config, from the store's blob. */
export async function imageConfig(store: ImageStore, record: ImageRecord): Promise<ImageConfig> {
  return parseImageConfig(await store.readBlob(record.id), `the config of image ${record.id}`);
}

/** What `run IMAGE` stacks: the layers' link names, topmost first, and where they are. */
export async function imageLayers(store: ImageStore, record: ImageRecord): Promise<{ linkDir: string; links: string[] }> {
  const links: string[] = [];
  for (const chainId of record.chainIds) {
    if (!store.hasLayer(chainId)) throw new CorralError('ENOLAYER', `image ${record.id}: its layer ${chainId} is missing from the store`);
    links.push((await store.layer(chainId)).link);
  }
  return { linkDir: store.path('l'), links: links.reverse() };
}

/**
 * A user name of an image's config (`nobody`, `app:staff`) as the numeric `uid[:gid]` corral's
 * --user takes, read from the image's own /etc/passwd and /etc/group (the topmost layer that has
 * the file, or a whiteout of it, decides). Numeric parts pass through.
 */
export async function numericUser(store: ImageStore, record: ImageRecord, user: string): Promise<string> {
  const [name = '', group] = user.split(':');
  const lookup = async (file: string, key: string): Promise<string[] | undefined> => {
    const text = await topmostFile(store, record, file);
    if (text === undefined) return undefined;
    return text
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[0] === key);
  };
  let uid = name;
  let gid = group;
  if (!/^\d+$/.test(name)) {
    const entry = await lookup('etc/passwd', name);
    if (!entry?.[2]) throw new CorralError('ENOUSER', `unable to find user ${name}: no matching entries in the image's /etc/passwd`);
    uid = entry[2];
    gid ??= entry[3];
  }
  if (group !== undefined && !/^\d+$/.test(group)) {
    const entry = await lookup('etc/group', group);
    if (!entry?.[2]) throw new CorralError('ENOUSER', `unable to find group ${group}: no matching entries in the image's /etc/group`);
    gid = entry[2];
  }
  return gid === undefined ? uid : `${uid}:${gid}`;
}

/** A file's text as the stacked layers show it (the topmost layer holding it; a whiteout hides it). */
async function topmostFile(store: ImageStore, record: ImageRecord, rel: string): Promise<string | undefined> {
  for (const chainId of [...record.chainIds].reverse()) {
    const file = path.join(store.layerDiff(chainId), rel);
    const st = await fs.lstat(file).catch(() => undefined);
    if (st === undefined) continue;
    if (st.isCharacterDevice() && st.rdev === 0) return undefined;
    if (st.isFile()) return fs.readFile(file, 'utf8');
    return undefined;
  }
  return undefined;
}
