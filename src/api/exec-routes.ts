/**
 * The exec routes, Docker-shaped: POST /containers/{id}/exec, POST /exec/{id}/start (the output in
 * Docker's multiplexed framing, on a hijacked connection when the client asks for the upgrade, as
 * a plain 200 stream otherwise) and GET /exec/{id}/json, on top of ExecInstances.
 */
import type { Writable } from 'node:stream';
import { checkJsonContentType, parseJsonBody, readBody, readJsonObject } from './body.js';
import { ApiError } from './errors.js';
import { type ExecInstances, NoSuchExecError } from './exec-instances.js';
import { hijackedInput, openStream } from './hijack.js';
import type { ContainerBackend } from '../daemon/backend.js';
import { frame, RAW_STREAM } from './stream-routes.js';
import type { RouteContext } from './router.js';
import { sendJson } from './router.js';
import { checkFields, parseContainerRef, queryInt, typeName, type ObjectSchema } from './validate.js';
import { sendControlTo } from '../container/terminal.js';

/** Docker's ExecConfig as the CLI sends it (moby api/types/container ExecOptions). */
export const EXEC_CREATE_SCHEMA: ObjectSchema = {
  User: 'string',
  Privileged: 'boolean',
  Tty: 'boolean',
  ConsoleSize: 'integer[]',
  AttachStdin: 'boolean',
  AttachStderr: 'boolean',
  AttachStdout: 'boolean',
  Detach: 'boolean',
  DetachKeys: 'string',
  Env: 'string[]',
  WorkingDir: 'string',
  Cmd: 'string[]',
};

export const EXEC_START_SCHEMA: ObjectSchema = { Detach: 'boolean', Tty: 'boolean', ConsoleSize: 'integer[]' };

/** The media type of the stream (API 1.41; moby answers application/vnd.docker.multiplexed-stream from 1.42 on). */

/** An exec id in a path: 64 hex digits, else no such instance (Docker looks ids up literally). */
export function execParam(text: string): string {
  if (!/^[0-9a-f]{64}$/.test(text)) throw new NoSuchExecError(text);
  return text;
}

/** What corral's exec cannot do is refused, never ignored. */
function refuseUnsupported(body: Record<string, unknown>): void {
  if (body.Privileged === true) throw new ApiError(400, 'Privileged: corral runs no privileged processes; use Privileged false');
}

export async function execCreateRoute(execs: ExecInstances, sup: ContainerBackend, ctx: RouteContext): Promise<void> {
  const containerId = await sup.resolve(parseContainerRef(ctx.params.id!));
  const body = checkFields(await readJsonObject(ctx.req), EXEC_CREATE_SCHEMA);
  const command = (body.Cmd as string[] | undefined) ?? [];
  if (command.length === 0) throw new ApiError(400, 'No exec command specified');
  refuseUnsupported(body);
  const id = await execs.create(containerId, {
    command,
    env: (body.Env as string[] | undefined) ?? [],
    ...(typeof body.WorkingDir === 'string' ? { workdir: body.WorkingDir } : {}),
    ...(typeof body.User === 'string' ? { user: body.User } : {}),
    attachStdout: body.AttachStdout === true,
    attachStderr: body.AttachStderr === true,
    ...(body.Tty === true ? { tty: true } : {}),
    ...(body.AttachStdin === true ? { stdin: true } : {}),
  });
  sendJson(ctx.res, 201, { Id: id });
}

export async function execInspectRoute(execs: ExecInstances, ctx: RouteContext): Promise<void> {
  sendJson(ctx.res, 200, await execs.inspect(ctx.params.id!));
}

/** The start body; Docker's clients always send one, an empty one is taken as {}. */
async function readStartBody(ctx: RouteContext): Promise<Record<string, unknown>> {
  checkJsonContentType(ctx.req.headers);
  const value = parseJsonBody(await readBody(ctx.req)) ?? {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError(400, `request body must be a JSON object, not ${typeName(value)}`);
  return checkFields(value as Record<string, unknown>, EXEC_START_SCHEMA);
}

export async function execStartRoute(execs: ExecInstances, ctx: RouteContext): Promise<void> {
  const body = await readStartBody(ctx);
  refuseUnsupported(body);
  const id = ctx.params.id!;
  execs.get(id); // 404 before anything else

  if (body.Detach === true) {
    const run = await execs.start(id);
    const started = await run.started;
    if (started.kind === 'failed') throw new ApiError(400, started.message);
    ctx.res.statusCode = 200;
    ctx.res.setHeader('Content-Length', 0);
    ctx.res.end();
    return;
  }

  // Output that arrives before the answer's head is written waits here (none should: the head is
  // written as soon as start() returns, before any I/O callback can run).
  const pending: Buffer[] = [];
  let out: Writable | undefined;
  let gone = false;
  let paused = false;
  const write = (data: Buffer): boolean => {
    if (gone) return true;
    if (!out) {
      pending.push(data);
      return true;
    }
    return out.write(data);
  };
  // a terminal's output goes as it is, as Docker sends it; other output in frames
  const tty = execs.get(id).request.tty === true;
  const input = execs.get(id).request.stdin === true ? hijackedInput(ctx.req) : undefined;
  const run = await execs.start(id, (stream, chunk) => {
    const ok = write(tty ? chunk : frame(stream === 'stdout' ? 1 : 2, chunk));
    paused ||= !ok;
    return ok;
  });

  const stream = openStream(ctx.req, ctx.res, RAW_STREAM);
  out = stream;
  // the client's input is the process's; its end (the client's half-close) is the process's EOF
  if (input && run.stdin) input.pipe(run.stdin);
  else input?.resume();
  const resume = () => {
    if (!paused) return;
    paused = false;
    run.resumeOutput();
  };
  stream.on('drain', resume);
  // a client that went away does not stop the process (as under Docker); its output is read and dropped
  stream.once('close', () => {
    gone = true;
    resume();
  });
  for (const data of pending.splice(0)) write(data);

  const started = await run.started;
  // moby writes a start failure into the stream, on stdout, and the CLI then reads the exit code
  if (started.kind === 'failed') write(frame(1, Buffer.from(`${started.message}\r\n`)));
  await run.ended; // the exit code is recorded before the stream ends, so a client can inspect it at once
  if (!gone) stream.end();
}

/** Docker's exec resize: the size of a running exec's terminal (h rows, w columns). */
export async function execResizeRoute(execs: ExecInstances, ctx: RouteContext): Promise<void> {
  const instance = execs.get(ctx.params.id!);
  const rows = queryInt(ctx.query, 'h', 0, 65535);
  const cols = queryInt(ctx.query, 'w', 0, 65535);
  if (instance.state !== 'running') throw new ApiError(409, `exec ${instance.id} is not running`);
  if (instance.request.tty === true) sendControlTo(execs.controlFile(instance.containerId, instance.id), `resize ${rows} ${cols}`);
  ctx.res.statusCode = 200;
  ctx.res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  ctx.res.end();
}
