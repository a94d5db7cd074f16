/**
 * The CLI's side of the API: HTTP/1.1 + JSON to the daemon's unix socket. One function per shape of
 * exchange (a JSON answer here; a raw stream in stream.ts), and one error for "no daemon there" so
 * that every command can say the same clear thing. No keep-alive: a CLI makes a handful of requests
 * and exits. A JSON answer is one exchange over node:net (http1.ts), which starts faster than node:http.
 */
import { CorralError } from '../errors.js';
import { ExchangeError, exchange, type RawResponse } from './http1.js';

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

/** Connection failures that mean no daemon answers there (node:http's "socket hang up" is ECONNRESET). */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK', 'ECONNRESET']);

/** The request line's target and the headers of a request with a JSON body, as both transports send them. */
export function requestParts(r: ApiRequest): { path: string; headers: Record<string, string | number>; payload?: Buffer } {
  const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
  const headers: Record<string, string | number> = { ...r.headers };
  if (payload) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = payload.length;
  }
  return { path: `/v${CLIENT_API_VERSION}${r.path}`, headers, payload };
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

/** One exchange; a connection no daemon answered on becomes DaemonUnreachableError, as with node:http. */
async function send(socketPath: string, r: ApiRequest): Promise<RawResponse> {
  const { path, headers, payload } = requestParts(r);
  try {
    return await exchange(socketPath, { method: r.method, path, headers, body: payload });
  } catch (err) {
    if (!(err instanceof ExchangeError)) throw err;
    const code = err.error.code;
    if (!err.answered && code && UNREACHABLE_CODES.has(code)) throw new DaemonUnreachableError(socketPath, code);
    throw err.error;
  }
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
  const res = await send(socketPath, r);
  const { status, body: raw } = res;
  if (status >= 400) throw new ApiResponseError(status, errorMessage(status, raw));
  if (raw.length === 0) return { status, body: undefined as T };
  const type = res.headers['content-type'] ?? '';
  return { status, body: (type.includes('json') ? JSON.parse(raw.toString('utf8')) : raw.toString('utf8')) as T };
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
