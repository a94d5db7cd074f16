/** HTTP requests to a unix socket for the API tests, with full control over the request line and body. */
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  /** sent as is: percent-encoding and all */
  path: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  /** send the body with Transfer-Encoding: chunked instead of Content-Length */
  chunked?: boolean;
}

export function request(socketPath: string, options: RequestOptions): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    let responded = false;
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body !== undefined && !options.chunked) headers['Content-Length'] = Buffer.byteLength(options.body);
    const req = http.request({ socketPath, method: options.method ?? 'GET', path: options.path, headers, agent: false }, (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // the server may answer (413) and close before the whole body is written: the answer counts
    req.on('error', (err) => {
      if (!responded) reject(err);
    });
    if (options.body !== undefined) {
      if (options.chunked) {
        const body = Buffer.from(options.body);
        for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.subarray(at, at + 64 * 1024));
      } else req.write(options.body);
    }
    req.end();
  });
}

/** Write raw bytes to the socket and return everything the server sends until it closes (or 5 s pass). */
export function rawExchange(socketPath: string, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let out = '';
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (d) => (out += d.toString()));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    socket.on('connect', () => socket.write(data));
  });
}

export const DOCKER_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/docker-api/', import.meta.url));

export function dockerFixture(name: string): string {
  return fs.readFileSync(path.join(DOCKER_FIXTURES, name), 'utf8');
}

/** The header names of a captured raw response (`ping.http`), lower-cased, without Date. */
export function fixtureHeaders(name: string): Map<string, string> {
  const head = dockerFixture(name).split(/\r?\n\r?\n/)[0]!;
  const out = new Map<string, string>();
  for (const line of head.split(/\r?\n/).slice(1)) {
    const at = line.indexOf(':');
    if (at > 0) out.set(line.slice(0, at).toLowerCase(), line.slice(at + 1).trim());
  }
  out.delete('date');
  return out;
}

/**
 * Like `request`, over a raw socket with `Connection: close`, and an answer counts even when the
 * server closed before taking the whole body: a server may answer a route that wants no body and
 * close without reading it, and Node's client then reports EPIPE instead of the answer that is
 * already in its socket. The response is read until the server closes (Content-Length or chunked).
 */
export function requestTolerant(socketPath: string, options: RequestOptions): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const chunks: Buffer[] = [];
    let sendError: Error | undefined;
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') sendError = err;
      else reject(err);
    });
    socket.on('close', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks), options.method === 'HEAD'));
      } catch (err) {
        reject(sendError ? new Error(`${(err as Error).message} (sending: ${sendError.message})`) : err);
      }
    });
    socket.on('connect', () => {
      const body = options.body === undefined ? undefined : Buffer.from(options.body);
      const lines = [`${options.method ?? 'GET'} ${options.path} HTTP/1.1`, 'Host: localhost', 'Connection: close'];
      for (const [k, v] of Object.entries(options.headers ?? {})) lines.push(`${k}: ${v}`);
      if (body !== undefined) lines.push(options.chunked && body.length > 0 ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`);
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      if (body !== undefined && body.length > 0) {
        if (options.chunked) {
          for (let at = 0; at < body.length; at += 64 * 1024) {
            const part = body.subarray(at, at + 64 * 1024);
            socket.write(`${part.length.toString(16)}\r\n`);
            socket.write(part);
            socket.write('\r\n');
          }
          socket.write('0\r\n\r\n');
        } else socket.write(body);
      }
    });
  });
}

/**
 * One HTTP/1.1 response, whole (pure): status, lower-cased headers, the body decoded from its
 * framing (none for a HEAD request, a 204 or a 304). The body is latin1, byte for byte.
 */
export function parseResponse(data: Buffer, head = false): HttpResult {
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd < 0) throw new Error(`no complete response head in ${data.length} bytes: ${JSON.stringify(data.subarray(0, 200).toString('latin1'))}`);
  const [statusLine, ...headerLines] = data.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1];
  if (status === undefined) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers: http.IncomingHttpHeaders = {};
  for (const line of headerLines) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  let body = data.subarray(headEnd + 4);
  if (head || status === '204' || status === '304') {
    body = body.subarray(0, 0);
  } else if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    for (let at = 0; ; ) {
      const lineEnd = body.indexOf('\r\n', at);
      if (lineEnd < 0) throw new Error('a truncated chunked body');
      const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('a bad chunk size');
      if (size === 0) break;
      parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (body.length < length) throw new Error(`a truncated body: ${body.length} of ${length} bytes`);
    body = body.subarray(0, length);
  }
  return { status: Number(status), headers, body: body.toString('latin1') };
}
