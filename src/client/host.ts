/** Where the daemon's socket is: the default, --host and CORRAL_HOST, for the daemon and its clients alike. */
import { InvalidArgumentError } from '../errors.js';

/** Where the socket is unless --host or CORRAL_HOST says otherwise. */
export const DEFAULT_SOCKET = '/run/corral/corral.sock';

/** The most bytes a unix socket path may have (sun_path is 108, with its NUL). */
const MAX_SOCKET_PATH = 107;

/** --host / CORRAL_HOST: `unix:///absolute/path` (the daemon serves unix sockets; TCP is --api-listen). */
export function parseHost(text: string, source: string): string {
  if (!text.startsWith('unix://')) {
    throw new InvalidArgumentError(source, text, 'unix:///PATH (for TCP, give the daemon --api-listen HOST:PORT)');
  }
  const socketPath = text.slice('unix://'.length);
  if (!socketPath.startsWith('/') || socketPath.includes('\0')) throw new InvalidArgumentError(source, text, 'unix:///PATH with an absolute path');
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) throw new InvalidArgumentError(source, text, `a socket path of at most ${MAX_SOCKET_PATH} bytes`);
  return socketPath;
}

/** The daemon's socket from --host, else CORRAL_HOST, else the default. */
export function socketFromGlobal(host: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return parseHost(host ?? env.CORRAL_HOST ?? `unix://${DEFAULT_SOCKET}`, host !== undefined ? '--host' : 'CORRAL_HOST');
}
