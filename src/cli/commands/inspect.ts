/**
 * `corral inspect CONTAINER...`: the containers' GET /containers/{id}/json as one JSON array,
 * indented as `docker inspect` prints it; unknown ones are reported ("Error: No such object: X")
 * after the array of those found, with exit 1.
 */
import { ApiResponseError, call } from '../../client/client.js';
import { parseDockerFormat, renderTemplate } from '../format/template.js';
import { clientCommand, parseCommand } from './parse.js';
import { containerPath, daemonErrorLine, type ClientContext } from './context.js';

export function inspectCommand() {
  return clientCommand('inspect', '[OPTIONS] CONTAINER [CONTAINER...]', 'show the low-level details of containers as JSON')
    .option('-f, --format <template>', "a Go template per container, such as '{{.State.Status}}' or '{{json .HostConfig}}'")
    .argument('<containers...>');
}

export async function inspect(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { opts, args } = parseCommand<{ format?: string }>(inspectCommand(), argv);
  const found: unknown[] = [];
  const errors: string[] = [];
  // one at a time, in order: the array keeps the order given
  for (const ref of args) {
    try {
      found.push((await call(ctx.socket, { method: 'GET', path: containerPath(ref, '/json') })).body);
    } catch (err) {
      if (!(err instanceof ApiResponseError)) throw err;
      errors.push(err.status === 404 ? `Error: No such object: ${ref}` : daemonErrorLine(err));
    }
  }
  if (opts.format !== undefined) {
    // checked against what was found (templates name inspect's nested fields)
    for (const item of found) ctx.out.write(renderTemplate(parseDockerFormat('--format', opts.format, '', item).template, item) + '\n');
  } else {
    ctx.out.write(JSON.stringify(found, null, 4) + '\n');
  }
  for (const e of errors) ctx.err.write(`${e}\n`);
  return errors.length ? 1 : 0;
}
