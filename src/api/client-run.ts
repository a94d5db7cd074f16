/**
 * corral's own routes for the fast front of `corral run` (native/front.c): the daemon prepares a
 * container from the argv the user typed, the client runs the launcher in its own foreground, and
 * reports back when it ended. Not Docker's API (Docker attaches through the daemon instead): these
 * exist so that a whole `corral run` does not pay for Node's start-up.
 *
 *   POST /corral/run/prepare       {"Args": [...run's argv], "Root"?: the client's --root}
 *        -> 201 {"Id", "Spec", "Launcher"}; 400 with the CLI's own message for a bad flag;
 *           409 + X-Corral-Fallback when the Node CLI should handle it (help, -d, another --root)
 *   POST /corral/run/{id}/finish   {"LauncherCode": n, "Status": "the launcher's status lines"}
 *        -> 200 {"ExitCode", "Message"}
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { ClientSideFlagError, parseRunCommandLine, RunHelpRequested, runImageWord, type RunConfig } from '../container/config/run-flags.js';
import { launcherPath } from '../container/launcher.js';
import { parseStatusLine, type LauncherStatus } from '../container/status.js';
import { InvalidArgumentError } from '../errors.js';
import { readJsonObject } from './body.js';
import { ApiError } from './errors.js';
import type { ContainerBackend } from '../daemon/backend.js';
import { sendJson, type RouteContext } from './router.js';
import { checkFields, parseContainerRef } from './validate.js';

export const FALLBACK_HEADER = 'X-Corral-Fallback';

/** A state root as compared with the daemon's: its real path, else the resolved one (it may not exist yet). */
export function realOrResolved(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function fallback(ctx: RouteContext, why: string): void {
  ctx.res.setHeader(FALLBACK_HEADER, '1');
  sendJson(ctx.res, 409, { message: why });
}

export async function prepareRoute(sup: ContainerBackend, stateRoot: string, ctx: RouteContext): Promise<void> {
  const body = checkFields(await readJsonObject(ctx.req), { Args: 'string[]', Root: 'string' });
  const args = (body.Args as string[] | undefined) ?? [];
  if (typeof body.Root === 'string' && realOrResolved(body.Root) !== realOrResolved(stateRoot)) {
    return fallback(ctx, `this daemon keeps its state in ${stateRoot}, not ${body.Root}`);
  }
  let config: RunConfig;
  let detach: boolean;
  try {
    // the client's files and environment are not the daemon's to read: --label-file's path is the
    // client's, and -e KEY takes the client's value; the Node CLI handles those
    const { readTextFile: _clientFiles, ...facts } = await sup.hostFacts();
    const clientEnv = (): never => {
      throw new ClientSideFlagError('--env KEY (a value from the environment)');
    };
    const word = runImageWord(args);
    const read = word === undefined ? ({ kind: 'command' } as const) : await sup.images.classifyRunWord(word);
    // a pull prints its progress: the Node CLI does it through the API, then runs
    if (read.kind === 'pull') return fallback(ctx, `the image ${word} is pulled first`);
    ({ config, detach } = parseRunCommandLine(args, { ...facts, getEnv: clientEnv }, undefined, read.kind === 'image' ? read.defaults : undefined));
  } catch (err) {
    if (err instanceof RunHelpRequested) return fallback(ctx, 'help is printed by the CLI');
    if (err instanceof ClientSideFlagError) return fallback(ctx, err.message);
    if (err instanceof InvalidArgumentError) throw new ApiError(400, err.message);
    throw err;
  }
  if (detach) return fallback(ctx, 'a detached run goes through the API');
  const { id, spec } = await sup.prepareClientRun(config);
  sendJson(ctx.res, 201, { Id: id, Spec: spec, Launcher: launcherPath() });
}

export async function finishRoute(sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const id = await sup.resolve(parseContainerRef(ctx.params.id!));
  const body = checkFields(await readJsonObject(ctx.req), { LauncherCode: 'integer', Status: 'string' });
  const lines: LauncherStatus[] = [];
  for (const line of String(body.Status ?? '').split('\n')) {
    if (line === '') continue;
    try {
      lines.push(parseStatusLine(line));
    } catch {
      throw new ApiError(400, `invalid Status: ${JSON.stringify(line)} is not a launcher status line`);
    }
  }
  const result = await sup.finishClientRun(id, lines, typeof body.LauncherCode === 'number' ? body.LauncherCode : 125);
  sendJson(ctx.res, 200, { ExitCode: result.exitCode, Message: result.message });
}
