/**
 * `corral logs [-f] [--tail N] [--since T] [-t] CONTAINER`: the container's output from the daemon
 * (GET /containers/{id}/logs), its stdout to this process's stdout and its stderr to stderr.
 * With -f it follows until the container has exited.
 */
import type { IncomingMessage } from 'node:http';
import { openStream } from '../../client/stream.js';
import { StreamDemuxer } from '../../client/demux.js';
import { ParseError } from '../../errors.js';
import { clientCommand, parseCommand } from './parse.js';
import { containerPath, type ClientContext } from './context.js';
import { parseTail, parseTimeFlag } from './values.js';
import type { Output } from '../output.js';

interface LogsOptions {
  follow?: boolean;
  tail?: string;
  since?: string;
  timestamps?: boolean;
  details?: boolean;
}

export function logsCommand() {
  return clientCommand('logs', '[OPTIONS] CONTAINER', "show a container's output (stdout and stderr as the workload wrote them)")
    .option('-f, --follow', 'follow the output until the container exits')
    .option('-n, --tail <n>', 'only the last n lines (default all)')
    .option('--since <time>', 'only lines since a time: unix seconds, RFC 3339 (2026-11-23T10:00:00Z) or a duration back from now (10m)')
    .option('-t, --timestamps', 'prefix each line with its time (RFC 3339, nanoseconds)')
    .option('--details', "show the log's extra attributes before each line (corral's records have none: a leading space, as Docker's)")
    .argument('<container>');
}

async function write(w: Output, data: Buffer): Promise<void> {
  if (!w.write(data)) await w.drained();
}

/** Copy a multiplexed stream's frames to out (1) and err (2) until it ends. */
export async function copyDemuxed(res: IncomingMessage, out: Output, err: Output): Promise<void> {
  const demux = new StreamDemuxer();
  for await (const chunk of res) {
    for (const f of demux.push(chunk as Buffer)) await write(f.stream === 2 ? err : out, f.payload);
  }
  if (demux.leftover > 0) throw new ParseError('log stream', `${demux.leftover} bytes of an unfinished frame at its end`);
}

export async function logs(ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const { opts, args } = parseCommand<LogsOptions>(logsCommand(), argv);
  const query = new URLSearchParams({ stdout: '1', stderr: '1' });
  if (opts.follow) query.set('follow', '1');
  if (opts.tail !== undefined) query.set('tail', parseTail('--tail', opts.tail));
  if (opts.since !== undefined) query.set('since', parseTimeFlag('--since', opts.since, ctx.now()));
  if (opts.timestamps) query.set('timestamps', '1');
  if (opts.details) query.set('details', '1');
  const res = await openStream(ctx.socket, { method: 'GET', path: containerPath(args[0]!, `/logs?${query}`) });
  await copyDemuxed(res, ctx.out, ctx.err);
  return 0;
}
