/**
 * Requests whose answers are streams (logs, events, exec's output), on node:http: its response is a
 * Readable that hands the body over as it arrives. Loaded only by the commands that stream.
 */
import http from 'node:http';
import { ApiResponseError, DaemonUnreachableError, errorMessage, requestParts, UNREACHABLE_CODES, type ApiRequest } from './client.js';

/** Start a request; the response is handed over unread. Connection failures become DaemonUnreachableError. */
export function openRequest(socketPath: string, r: ApiRequest): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const { path, headers, payload } = requestParts(r);
    const req = http.request({ socketPath, method: r.method, path, headers, agent: false }, resolve);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code && UNREACHABLE_CODES.has(err.code) && !req.reusedSocket) reject(new DaemonUnreachableError(socketPath, err.code));
      else reject(err);
    });
    req.end(payload);
  });
}

/** Read a whole response body. */
export async function readBody(res: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A request whose answer is a stream (logs, events): the response, unread, once its status says it
 * succeeded; statuses >= 400 throw ApiResponseError with the daemon's message.
 */
export async function openStream(socketPath: string, r: ApiRequest): Promise<http.IncomingMessage> {
  const res = await openRequest(socketPath, r);
  const status = res.statusCode ?? 0;
  if (status >= 400) throw new ApiResponseError(status, errorMessage(status, await readBody(res)));
  return res;
}

/**
 * Docker's hijack: the request with `Upgrade: tcp`, answered with 101 and then the raw connection
 * (the process's output one way, its input the other). An answer that is not a 101 throws
 * ApiResponseError with the daemon's message. `head`: bytes of the stream that came with the 101.
 */
export function openHijacked(socketPath: string, r: ApiRequest): Promise<{ socket: import('node:net').Socket; head: Buffer }> {
  return new Promise((resolve, reject) => {
    const { path, headers, payload } = requestParts(r);
    const req = http.request({ socketPath, method: r.method, path, headers: { ...headers, Connection: 'Upgrade', Upgrade: 'tcp' }, agent: false });
    req.on('upgrade', (_res, socket, head) => resolve({ socket, head }));
    req.on('response', (res) => {
      readBody(res).then((body) => reject(new ApiResponseError(res.statusCode ?? 0, errorMessage(res.statusCode ?? 0, body))), reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code && UNREACHABLE_CODES.has(err.code) && !req.reusedSocket) reject(new DaemonUnreachableError(socketPath, err.code));
      else reject(err);
    });
    req.end(payload);
  });
}
