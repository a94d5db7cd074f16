/**
 * The CLI's side of the API: HTTP/1.1 + JSON to the daemon's unix socket. One function per shape of
 * exchange (a JSON answer, a raw stream), and one error for "no daemon there" so that every command
 * can say the same clear thing. No keep-alive agent: a CLI makes a handful of requests and exits.
 */
import http from 'node:http';
import { CorralError } from '../errors.js';

/** The API version the client asks for (the daemon serves 1.24–1.41). */
export const CLIENT_API_VERSION = '1.41';

/** Nothing listens on the socket (missing, refused, or not ours to open). */
export class DaemonUnreachableError extends CorralError {
  constructor(
    readonly socketPath: string,
    readonly reason: string,
  ) {
    super(
      'ENODAEMON',
      `cannot connect to the corral daemon at unix://${socketPath} (${reason}): is it running? ` +
        `Start it with 'corral daemon' (or 'systemctl start corral'), or point --host / CORRAL_HOST at its socket`,
    );
  }
}

/** The daemon answered with an error status; `message` is its {"message"}. */
export class ApiResponseError extends CorralError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('EAPI', message);
  }
}

export interface ApiRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  /** the path without the version prefix, with its query: "/containers/json?all=1" */
  path: string;
  /** sent as JSON */
  body?: unknown;
  headers?: Record<string, string>;
}

const UNREACHABLE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK', 'ECONNRESET']);

/** Start a request; the response is handed over unread. Connection failures become DaemonUnreachableError. */
export function openRequest(socketPath: string, r: ApiRequest): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
    const headers: Record<string, string | number> = { ...r.headers };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    }
    const req = http.request({ socketPath, method: r.method, path: `/v${CLIENT_API_VERSION}${r.path}`, headers, agent: false }, resolve);
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

/** The {"message"} of an error answer, or the raw text when it is not JSON. */
export function errorMessage(status: number, body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON
  }
  return text.trim() || `the daemon answered ${status}`;
}

export interface ApiAnswer<T> {
  status: number;
  body: T;
}

/**
 * One request with a JSON (or empty) answer. Statuses >= 400 throw ApiResponseError with the daemon's
 * message; 204/304 give `undefined` as the body.
 */
export async function call<T = unknown>(socketPath: string, r: ApiRequest): Promise<ApiAnswer<T>> {
  const res = await openRequest(socketPath, r);
  const raw = await readBody(res);
  const status = res.statusCode ?? 0;
  if (status >= 400) throw new ApiResponseError(status, errorMessage(status, raw));
  if (raw.length === 0) return { status, body: undefined as T };
  const type = String(res.headers['content-type'] ?? '');
  return { status, body: (type.includes('json') ? JSON.parse(raw.toString('utf8')) : raw.toString('utf8')) as T };
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

/** Whether a daemon answers /_ping on the socket (false when nothing is there; other failures throw). */
export async function daemonAnswers(socketPath: string): Promise<boolean> {
  try {
    await call(socketPath, { method: 'GET', path: '/_ping' });
    return true;
  } catch (err) {
    if (err instanceof DaemonUnreachableError) return false;
    throw err;
  }
}
