/**
 * `corral run [flags] IMAGE [CMD...]`: whether the first word after the flags is an image, and its
 * defaults. The host's system directories stay the default root, so the word is an image when the
 * store has it; else a host command when it is a path or a program in the container's PATH; else a
 * reference, pulled first (Docker's "Unable to find image … locally"). Through the daemon the
 * lookup and the pull are API calls; stand-alone they use this machine's store directly.
 */
import { call, ApiResponseError } from '../client/client.js';
import type { ImageDefaults } from '../container/config/run-config.js';
import { runImageWord } from '../container/config/run-flags.js';
import { ImageService, wantsPull } from '../daemon/images.js';
import { pullImage } from '../images/pull.js';
import { familiarString, parseReference } from '../images/reference.js';
import { createLogger } from '../log.js';
import { loadSyscalls } from '../sys/syscalls.js';
import { pullThrough } from './commands/images.js';
import type { ClientContext } from './commands/context.js';
import { progressWriter } from './format/progress.js';

interface InspectConfig {
  Id: string;
  Config?: { Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[] | null; WorkingDir?: string; User?: string; Labels?: Record<string, string> | null; StopSignal?: string };
}

/**
 * An image's defaults as the CLI checks the flags against them (the daemon stacks the layers and
 * resolves a user's name itself: a name is left to it).
 */
function defaultsFromInspect(name: string, inspect: InspectConfig): ImageDefaults {
  const c = inspect.Config ?? {};
  return {
    name,
    id: inspect.Id,
    chainIds: [],
    layers: { linkDir: '', links: [] },
    ...(c.Entrypoint ? { entrypoint: c.Entrypoint } : {}),
    ...(c.Cmd ? { cmd: c.Cmd } : {}),
    ...(c.Env ? { env: c.Env } : {}),
    ...(c.WorkingDir ? { workingDir: c.WorkingDir } : {}),
    ...(c.User && /^\d+(:\d+)?$/.test(c.User) ? { user: c.User } : {}),
    ...(c.Labels ? { labels: c.Labels } : {}),
    ...(c.StopSignal ? { stopSignal: c.StopSignal } : {}),
  };
}

const imagePath = (name: string) => name.split('/').map(encodeURIComponent).join('/');

async function inspectThrough(ctx: ClientContext, word: string): Promise<InspectConfig | undefined> {
  try {
    return (await call<InspectConfig>(ctx.socket, { method: 'GET', path: `/images/${imagePath(word)}/json` })).body;
  } catch (err) {
    if (err instanceof ApiResponseError && err.status === 404) return undefined;
    throw err;
  }
}

/** The image `corral run`'s first word names, through the daemon (pulled when it must be). */
export async function imageThroughDaemon(ctx: ClientContext, argv: string[]): Promise<ImageDefaults | undefined> {
  const word = runImageWord(argv);
  if (word === undefined) return undefined;
  const found = await inspectThrough(ctx, word);
  if (found) return defaultsFromInspect(word, found);
  if (!wantsPull(word)) return undefined;
  process.stderr.write(`Unable to find image '${familiarString(parseReference(word))}' locally\n`);
  await pullThrough(ctx, word, process.stderr);
  const pulled = await inspectThrough(ctx, word);
  return pulled ? defaultsFromInspect(word, pulled) : undefined;
}

/** The same on this machine's store, for a stand-alone run. */
export async function imageStandAlone(stateRoot: string, argv: string[]): Promise<ImageDefaults | undefined> {
  const word = runImageWord(argv);
  if (word === undefined) return undefined;
  const images = new ImageService({ stateRoot, log: createLogger({ level: 'error' }), sys: loadSyscalls });
  const read = await images.classifyRunWord(word);
  if (read.kind === 'image') return read.defaults;
  if (read.kind === 'command') return undefined;
  process.stderr.write(`Unable to find image '${familiarString(read.ref)}' locally\n`);
  const show = progressWriter(process.stderr, process.stderr.isTTY === true);
  await pullImage(await images.store(), await loadSyscalls(), read.ref, { insecureRegistries: [], onProgress: (m) => show.write(m), onWarning: (m) => process.stderr.write(`corral: ${m}\n`) });
  return images.defaultsFor(word);
}
