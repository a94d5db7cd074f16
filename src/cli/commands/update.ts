/**
 * `corral update [limits] [--restart POLICY] CONTAINER...`: change a container's limits and restart
 * policy (POST /containers/{id}/update, Docker's UpdateConfig body: Resources fields and
 * RestartPolicy). Units are read as `corral run` reads them; only the flags given are sent, so the
 * daemon leaves the rest as they are. Ranges are the daemon's to check, against the container's
 * other limits.
 */
import { call } from '../../client/client.js';
import { type RawRunOptions, UPDATE_FLAGS } from '../../container/config/fields.js';
import { clientCommand, parseCommand, UsageError } from './parse.js';
import { containerPath, forEachContainer, type ClientContext } from './context.js';

/** The flags are the registry's updatable fields and --restart (UPDATE_FLAGS). */
export function updateCommand() {
  const command = clientCommand('update', '[OPTIONS] CONTAINER [CONTAINER...]', "change containers' limits and restart policy");
  for (const f of UPDATE_FLAGS) command.option(f.flags, f.description);
  return command.argument('<containers...>');
}

/**
 * The update body from the flags given, each read as `corral run` reads it and written as its
 * UpdateConfig field; throws InvalidArgumentError naming the first flag (in UPDATE_FLAGS' order)
 * whose value is not of its kind.
 */
export function updateBody(o: RawRunOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const f of UPDATE_FLAGS) {
    const raw = o[f.option];
    if (raw !== undefined) body[f.key] = f.parse.body(f.parse.text(raw, f), f);
  }
  return body;
}

export async function update(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { opts, args } = parseCommand<RawRunOptions>(updateCommand(), argv);
  const body = updateBody(opts);
  if (Object.keys(body).length === 0) throw new UsageError("corral update needs at least one flag to change (see 'corral update --help')");
  return forEachContainer(ctx, args, async (ref) => {
    const answer = await call<{ Warnings?: string[] | null } | undefined>(ctx.socket, { method: 'POST', path: containerPath(ref, '/update'), body });
    for (const w of answer.body?.Warnings ?? []) ctx.err.write(`${w}\n`);
    return ref;
  });
}
