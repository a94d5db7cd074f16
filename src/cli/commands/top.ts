/**
 * `corral top CONTAINER [ps OPTIONS]`: GET /containers/{id}/top?ps_args=..., printed as `docker top`
 * prints it (Go's tabwriter, minwidth 20, padding 3). Everything after the container is ps's (joined
 * with spaces into ps_args, as docker/cli does), flags included: `corral top web -o pid,comm`.
 */
import { call } from '../../client/client.js';
import type { TopResponse } from '../../container/top.js';
import { tabwrite } from '../format/table.js';
import { clientCommand, HelpRequested, parseWithCommander, UsageError } from './parse.js';
import { containerPath, type ClientContext } from './context.js';

export function topCommand() {
  return clientCommand('top', 'CONTAINER [ps OPTIONS]', "show a running container's processes, as the host's ps shows them (ps -ef by default)").argument('<container>').argument('[ps...]');
}

/** The container and ps_args of a command line: the first word is the container, the rest is ps's (no flags of corral's own but --help first). */
export function parseTopArgs(argv: readonly string[]): { container: string; psArgs: string | undefined } {
  const words = argv[0] === '--' ? argv.slice(1) : argv;
  const first = words[0];
  if (first === '--help') throw new HelpRequested(parseHelp());
  if (first === undefined) throw new UsageError(`missing CONTAINER: usage: corral top CONTAINER [ps OPTIONS]`);
  if (first.startsWith('-') && argv[0] !== '--') throw new UsageError(`unknown flag ${first} for corral top (the container comes first: corral top CONTAINER [ps OPTIONS])`);
  return { container: first, psArgs: words.length > 1 ? words.slice(1).join(' ') : undefined };
}

function parseHelp(): string {
  try {
    parseWithCommander(topCommand(), ['--help']);
  } catch (err) {
    if (err instanceof HelpRequested) return err.text;
    throw err;
  }
  return '';
}

/** docker top's table: the titles, then one line per process. */
export function renderTop(top: TopResponse): string {
  return tabwrite([top.Titles, ...(top.Processes ?? [])], 20);
}

export async function top(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { container, psArgs } = parseTopArgs(argv);
  const query = psArgs === undefined ? '' : `?${new URLSearchParams({ ps_args: psArgs })}`;
  const { body } = await call<TopResponse>(ctx.socket, { method: 'GET', path: containerPath(container, `/top${query}`) });
  ctx.out.write(renderTop(body));
  return 0;
}
