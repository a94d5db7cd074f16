/** `corral ps`: the containers, as `docker ps` prints them (GET /containers/json). */
import { call } from '../../client/client.js';
import { parsePsFormat, renderPs, type ContainerSummary } from '../format/ps.js';
import { clientCommand, parseCommand, repeatable } from './parse.js';
import type { ClientContext } from './context.js';
import { filtersQuery } from './values.js';
import { InvalidArgumentError } from '../../errors.js';

interface PsOptions {
  all?: boolean;
  quiet?: boolean;
  /** commander's negation of --no-trunc */
  trunc: boolean;
  format?: string;
  filter?: string[];
  last?: string;
  latest?: boolean;
}

export function psCommand() {
  return clientCommand('ps', '[OPTIONS]', 'list containers (running ones unless --all)')
    .option('-a, --all', 'show all containers, not only running ones')
    .option('-q, --quiet', 'only the container IDs')
    .option('--no-trunc', 'do not truncate IDs, commands and mount names')
    .option('--format <format>', "table (default), json (one object a line), or a Go template such as '{{.ID}}\\t{{.Names}}'")
    .addOption(repeatable('-f, --filter <key=value>', 'filter: name, id, status, exited, label'))
    .option('-n, --last <n>', 'the n most recently created containers (all states)')
    .option('-l, --latest', 'the most recently created container (all states)');
}

export async function ps(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { opts } = parseCommand<PsOptions>(psCommand(), argv);
  const format = parsePsFormat(opts.format, opts.quiet === true);
  const query = new URLSearchParams();
  if (opts.all) query.set('all', '1');
  if (opts.last !== undefined && !/^\d{1,6}$/.test(opts.last)) throw new InvalidArgumentError('--last', opts.last, 'a number of containers');
  const limit = opts.latest ? 1 : opts.last !== undefined ? Number(opts.last) : undefined;
  if (limit !== undefined && limit > 0) query.set('limit', String(limit));
  const filters = filtersQuery('--filter', opts.filter ?? []);
  if (filters !== undefined) query.set('filters', filters);
  const q = query.toString();
  const { body } = await call<ContainerSummary[]>(ctx.socket, { method: 'GET', path: `/containers/json${q ? `?${q}` : ''}` });
  ctx.out.write(renderPs(body, format, opts.trunc, ctx.now()));
  return 0;
}
