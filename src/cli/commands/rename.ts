/**
 * `corral rename CONTAINER NEW_NAME`: POST /containers/{id}/rename?name=NEW_NAME. Prints nothing, as
 * `docker rename`; the daemon's refusal (a name in use, the same name, a bad name) on stderr, exit 1.
 */
import { call } from '../../client/client.js';
import { clientCommand, parseCommand, UsageError } from './parse.js';
import { containerPath, type ClientContext } from './context.js';

export function renameCommand() {
  return clientCommand('rename', 'CONTAINER NEW_NAME', 'rename a container (running or not)').argument('<container>').argument('<name>');
}

export async function rename(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { args } = parseCommand(renameCommand(), argv);
  const [ref, newName] = [args[0]!.trim(), args[1]!.trim()];
  // as docker/cli: refused before any request
  if (ref === '' || newName === '') throw new UsageError('Neither old nor new names may be empty');
  await call(ctx.socket, { method: 'POST', path: containerPath(ref, `/rename?${new URLSearchParams({ name: newName })}`) });
  return 0;
}
