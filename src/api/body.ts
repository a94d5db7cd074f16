/**
 * Request bodies: Docker's Content-Type rule, a size cap, UTF-8, JSON. Every failure is an ApiError
 * with its status (400, 413) and message, so a bad body never reaches a handler as data.
 */
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.js';
import { typeName } from './validate.js';

/** The largest request body the API reads, in bytes (1 MiB). */
export const BODY_LIMIT = 1 << 20;

/**
 * How much of an over-size body is still read (and discarded), in bytes, so that the 413 can be
 * answered on a connection whose input has been consumed. Beyond this the connection is closed
 * after the answer.
 */
export const DRAIN_LIMIT = 16 << 20;

/** The headers of a request with a body, and its stream. */
export type BodySource = Pick<IncomingMessage, 'headers' | 'on' | 'once' | 'off' | 'resume'>;

/** Whether the request declares a body (a Content-Length above 0, or Transfer-Encoding). */
export function hasBody(headers: IncomingMessage['headers']): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Docker's CheckForJSON: without a body a missing Content-Type is fine; otherwise the media type
 * must be application/json (parameters such as charset allowed).
 */
export function checkJsonContentType(headers: IncomingMessage['headers']): void {
  const contentType = headers['content-type'];
  if ((contentType === undefined || contentType === '') && !hasBody(headers)) return;
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new ApiError(400, `Content-Type specified (${contentType ?? ''}) must be 'application/json'`);
  }
}

function tooLarge(limit: number, closeConnection: boolean): ApiError {
  return new ApiError(413, `request body too large: the limit is ${limit} bytes`, { closeConnection });
}

/** Read the whole body, at most `limit` bytes; a larger body is a 413 (after draining up to DRAIN_LIMIT more). */
export function readBody(req: BodySource, limit = BODY_LIMIT): Promise<Buffer> {
  const declared = req.headers['content-length'];
  // Node's parser has already refused a Content-Length that is not a number.
  if (declared !== undefined && Number(declared) > limit + DRAIN_LIMIT) {
    return Promise.reject(tooLarge(limit, true));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const done = (err: ApiError | undefined, body?: Buffer) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (err) reject(err);
      else resolve(body!);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit + DRAIN_LIMIT) return done(tooLarge(limit, true));
      if (over) return;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => done(over ? tooLarge(limit, false) : undefined, Buffer.concat(chunks));
    const onError = (err: Error) => done(new ApiError(400, `reading the request body: ${err.message}`, { closeConnection: true, cause: err }));
    const onClose = () => done(new ApiError(400, 'the client closed the connection before the request body ended', { closeConnection: true }));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
    req.resume();
  });
}

/** How long an unread body is drained before the answer ends anyway (see drainBody). */
export const DRAIN_MS = 2_000;

/**
 * Read and discard the rest of a body that no handler read: at most `limit` bytes for at most `ms`.
 * True when the body ended; false when it was cut short, and the connection must then close.
 */
export function drainBody(req: BodySource, limit = BODY_LIMIT + DRAIN_LIMIT, ms = DRAIN_MS): Promise<boolean> {
  return new Promise((resolve) => {
    let size = 0;
    const finish = (whole: boolean) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onCut);
      req.off('error', onCut);
      resolve(whole);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish(false);
    };
    const onEnd = () => finish(true);
    const onCut = () => finish(false);
    const timer = setTimeout(onCut, ms);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onCut);
    req.once('error', onCut);
    req.resume();
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode and parse a JSON body (pure). An empty body is `undefined`. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new ApiError(400, 'request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const reason = err instanceof RangeError ? 'nested too deeply' : (err as Error).message;
    throw new ApiError(400, `invalid JSON in the request body: ${reason}`);
  }
}

/** The body of a request that must carry one JSON object (Docker's create, update, exec...). */
export async function readJsonObject(req: BodySource, limit = BODY_LIMIT): Promise<Record<string, unknown>> {
  checkJsonContentType(req.headers);
  const value = parseJsonBody(await readBody(req, limit));
  if (value === undefined) throw new ApiError(400, 'request body is empty: a JSON object is required');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, `request body must be a JSON object, not ${typeName(value)}`);
  }
  return value as Record<string, unknown>;
}
