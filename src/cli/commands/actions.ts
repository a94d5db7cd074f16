/**
 * The per-container commands, one table entry each: `stop`, `restart`, `kill`, `pause`, `unpause`,
 * `rm`, `wait`. Each sends one request per container (all at once, as Docker's CLI does) and
 * prints what Docker prints: the container as given (the exit code for `wait`), errors per
 * container on stderr, exit 1 if any failed.
 */
import { call, type ApiRequest } from '../../client/client.js';
import { clientCommand, parseCommand, type CommandSpec } from './parse.js';
import { containerPath, forEachContainer, type ClientContext } from './context.js';
import { parseSeconds, parseSignalName } from './values.js';

interface ActionOptions {
  time?: string;
  signal?: string;
  force?: boolean;
}

interface ContainerAction {
  description: string;
  /** the command's own flags */
  flags(c: CommandSpec): CommandSpec;
  /** the request for one container, from the checked flags */
  request(ref: string, o: ActionOptions): ApiRequest;
  /** what is printed for a success: the reference as given, unless the answer says more */
  print?(answer: unknown): string;
}

const timeFlag = (c: CommandSpec) => c.option('-t, --time <seconds>', 'seconds to wait for the container to stop before killing it (default 10)');
const timeQuery = (o: ActionOptions) => (o.time === undefined ? '' : `?t=${parseSeconds('--time', o.time)}`);

export const CONTAINER_ACTIONS: Readonly<Record<string, ContainerAction>> = {
  stop: {
    description: 'stop one or more running containers: SIGTERM, then SIGKILL after --time seconds',
    flags: timeFlag,
    request: (ref, o) => ({ method: 'POST', path: containerPath(ref, `/stop${timeQuery(o)}`) }),
  },
  restart: {
    description: 'restart one or more containers (stop as `corral stop` does, then start)',
    flags: timeFlag,
    request: (ref, o) => ({ method: 'POST', path: containerPath(ref, `/restart${timeQuery(o)}`) }),
  },
  kill: {
    description: 'send a signal to one or more running containers',
    flags: (c) => c.option('-s, --signal <signal>', 'a signal name (TERM, SIGTERM) or number (default KILL)'),
    request: (ref, o) => ({
      method: 'POST',
      path: containerPath(ref, `/kill${o.signal === undefined ? '' : `?signal=${encodeURIComponent(parseSignalName('--signal', o.signal))}`}`),
    }),
  },
  pause: {
    description: 'pause all processes within one or more containers (their cgroup frozen)',
    flags: (c) => c,
    request: (ref) => ({ method: 'POST', path: containerPath(ref, '/pause') }),
  },
  unpause: {
    description: 'unpause all processes within one or more containers',
    flags: (c) => c,
    request: (ref) => ({ method: 'POST', path: containerPath(ref, '/unpause') }),
  },
  rm: {
    description: 'remove one or more containers',
    flags: (c) => c.option('-f, --force', 'kill a running container (SIGKILL) and remove it'),
    request: (ref, o) => ({ method: 'DELETE', path: containerPath(ref, o.force ? '?force=1' : '') }),
  },
  wait: {
    description: 'block until one or more containers stop, then print their exit codes',
    flags: (c) => c,
    request: (ref) => ({ method: 'POST', path: containerPath(ref, '/wait') }),
    print: (answer) => String((answer as { StatusCode: number }).StatusCode),
  },
};

export function actionCommand(name: string): CommandSpec {
  const action = CONTAINER_ACTIONS[name]!;
  // Docker's usage line: [OPTIONS] only for a command that has options (not wait, pause, unpause)
  const hasOptions = action.flags(clientCommand(name, '', '')).options.length > 0;
  return action.flags(clientCommand(name, `${hasOptions ? '[OPTIONS] ' : ''}CONTAINER [CONTAINER...]`, action.description)).argument('<containers...>');
}

/** Run `corral NAME ...` for one of CONTAINER_ACTIONS. */
export async function runContainerAction(name: string, ctx: ClientContext, argv: readonly string[]): Promise<number> {
  const action = CONTAINER_ACTIONS[name]!;
  const { opts, args } = parseCommand<ActionOptions>(actionCommand(name), argv);
  // check the flags once, before any request: a bad value is a usage error, not one per container
  const requests = args.map((ref) => action.request(ref, opts));
  return forEachContainer(ctx, args, async (ref, i) => {
    const { body } = await call(ctx.socket, requests[i]!);
    return action.print ? action.print(body) : ref;
  });
}
