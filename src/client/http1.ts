/**
 * One HTTP/1.1 exchange on a unix socket over node:net: write the request, read one response
 * (status line, headers, a Content-Length, chunked or read-to-close body), close. The client commands
 * make one or two requests and exit, and node:http costs them a tenth of their start-up (its agent
 * compiles the IPv6 pattern to name "localhost", and it loads _http_client and friends); streams
 * (logs, events, exec) stay on node:http (stream.ts).
 *
 * The request is written as node:http writes it with `agent: false` (the same headers, in the same
 * order), so that the daemon sees no difference.
 */
import net from 'node:net';

export interface RawRequest {
  method: string;
  /** the request target, with its query */
  path: string;
  /** in the order to send */
  headers: Record<string, string | number>;
  body?: Buffer;
}

export interface RawResponse {
  status: number;
  statusText: string;
  /** names lower-cased; repeated fields joined with ", " */
  headers: Record<string, string>;
  body: Buffer;
}

/** An answer that is not HTTP/1.x as this reader understands it (node:http's code for it, HPE_*). */
export class ParseError extends Error {
  constructor(
    readonly code: string,
    reason: string,
  ) {
    super(`Parse Error: ${reason}`);
  }
}

// node:http refuses these in a path (ERR_UNESCAPED_CHARACTERS) and in header values (ERR_INVALID_CHAR)
const INVALID_PATH = /[^\u0021-\u00ff]/;
const INVALID_HEADER_VALUE = /[^\t\u0020-\u007e\u0080-\u00ff]/;
// methods whose requests node:http sends without a body unless given one (no Content-Length: 0)
const NO_BODY_BY_DEFAULT = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** The request's bytes, as node:http sends them with `agent: false` (Host: localhost, Connection: close). */
export function formatRequest(r: RawRequest): Buffer {
  if (INVALID_PATH.test(r.path)) throw Object.assign(new TypeError('Request path contains unescaped characters'), { code: 'ERR_UNESCAPED_CHARACTERS' });
  let head = `${r.method} ${r.path} HTTP/1.1\r\n`;
  const names = new Set<string>();
  const add = (name: string, value: string | number) => {
    const text = String(value);
    if (INVALID_HEADER_VALUE.test(text)) throw Object.assign(new TypeError(`Invalid character in header content ["${name}"]`), { code: 'ERR_INVALID_CHAR' });
    head += `${name}: ${text}\r\n`;
    names.add(name.toLowerCase());
  };
  for (const [name, value] of Object.entries(r.headers)) add(name, value);
  if (!names.has('host')) add('Host', 'localhost');
  if (!names.has('connection')) add('Connection', 'close');
  if (!names.has('content-length') && !names.has('transfer-encoding') && (r.body !== undefined || !NO_BODY_BY_DEFAULT.has(r.method))) add('Content-Length', r.body?.length ?? 0);
  const headBytes = Buffer.from(`${head}\r\n`, 'latin1');
  return r.body ? Buffer.concat([headBytes, r.body]) : headBytes;
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
/** Bigger than any status line and headers the daemon sends; node:http's limit is 16 KiB. */
const MAX_HEAD = 64 * 1024;

type BodyMode = { kind: 'none' } | { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' };

/**
 * Reads one response from the bytes as they arrive, in reads of any size. `feed` returns true once the
 * response is whole; `end` is for the close of the connection (which completes a read-to-close body).
 */
export class ResponseParser {
  private pending: Buffer = Buffer.alloc(0);
  private head?: { status: number; statusText: string; headers: Record<string, string> };
  private mode: BodyMode = { kind: 'none' };
  private readonly chunks: Buffer[] = [];
  /** chunked: the bytes of the current chunk still to read, or -1 between chunks */
  private chunkLeft = -1;
  private inTrailers = false;
  private done = false;

  constructor(private readonly method: string) {}

  /** Whether the status line and headers were read (a close after them is a cut body, not no answer). */
  get headRead(): boolean {
    return this.head !== undefined;
  }

  feed(data: Buffer): boolean {
    if (this.done) return true;
    this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    if (!this.head && !this.readHead()) return false;
    this.done = this.readBody();
    return this.done;
  }

  /** The connection closed: the response, when it is whole. */
  end(): RawResponse | undefined {
    if (!this.done && this.head && this.mode.kind === 'close') {
      this.chunks.push(this.pending);
      this.done = true;
    }
    return this.done ? this.response() : undefined;
  }

  response(): RawResponse {
    if (!this.done || !this.head) throw new Error('the response is not whole yet');
    return { ...this.head, body: Buffer.concat(this.chunks) };
  }

  private readHead(): boolean {
    for (;;) {
      const end = this.pending.indexOf(HEAD_END);
      if (end < 0) {
        if (this.pending.length > MAX_HEAD) throw new ParseError('HPE_HEADER_OVERFLOW', 'Header overflow');
        return false;
      }
      const lines = this.pending.subarray(0, end).toString('latin1').split('\r\n');
      this.pending = this.pending.subarray(end + HEAD_END.length);
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]!);
      if (!m) throw new ParseError('HPE_INVALID_CONSTANT', 'Expected HTTP/');
      const status = Number(m[1]);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) throw new ParseError('HPE_INVALID_HEADER_TOKEN', 'Invalid header token');
        const name = line.slice(0, colon).toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
      }
      // an interim answer (100 Continue, 102, 103): the real one follows
      if (status >= 100 && status < 200 && status !== 101) continue;
      this.head = { status, statusText: m[2] ?? '', headers };
      this.mode = this.bodyMode(status, headers);
      return true;
    }
  }

  /** RFC 9112 6.3: how the body's end is known. */
  private bodyMode(status: number, headers: Record<string, string>): BodyMode {
    if (this.method === 'HEAD' || status === 204 || status === 304 || status < 200) return { kind: 'none' };
    const te = headers['transfer-encoding'];
    if (te !== undefined) return /(?:^|,)\s*chunked\s*$/i.test(te) ? { kind: 'chunked' } : { kind: 'close' };
    const cl = headers['content-length'];
    if (cl !== undefined) {
      if (!/^\d+$/.test(cl)) throw new ParseError('HPE_INVALID_CONTENT_LENGTH', 'Invalid character in Content-Length');
      return Number(cl) === 0 ? { kind: 'none' } : { kind: 'length', left: Number(cl) };
    }
    return { kind: 'close' };
  }

  private readBody(): boolean {
    const mode = this.mode;
    switch (mode.kind) {
      case 'none':
        return true;
      case 'close':
        this.chunks.push(this.pending);
        this.pending = Buffer.alloc(0);
        return false;
      case 'length': {
        const take = this.pending.subarray(0, mode.left);
        this.chunks.push(take);
        mode.left -= take.length;
        this.pending = this.pending.subarray(take.length);
        return mode.left === 0;
      }
      case 'chunked':
        return this.readChunks();
    }
  }

  private readChunks(): boolean {
    for (;;) {
      if (this.chunkLeft > 0) {
        const take = this.pending.subarray(0, this.chunkLeft);
        this.chunks.push(take);
        this.chunkLeft -= take.length;
        this.pending = this.pending.subarray(take.length);
        if (this.chunkLeft > 0) return false;
      }
      if (this.chunkLeft === 0) {
        // the CRLF after a chunk's data
        if (this.pending.length < CRLF.length) return false;
        if (!this.pending.subarray(0, 2).equals(CRLF)) throw new ParseError('HPE_STRICT', 'Expected LF after chunk data');
        this.pending = this.pending.subarray(2);
        this.chunkLeft = -1;
      }
      const eol = this.pending.indexOf(CRLF);
      if (eol < 0) {
        if (this.pending.length > MAX_HEAD) throw new ParseError('HPE_HEADER_OVERFLOW', 'Chunk size line too long');
        return false;
      }
      const line = this.pending.subarray(0, eol).toString('latin1');
      this.pending = this.pending.subarray(eol + 2);
      if (this.inTrailers) {
        if (line === '') return true; // the empty line after the trailers ends the message
        continue;
      }
      const m = /^([0-9a-fA-F]{1,8})[\t ]*(?:;.*)?$/.exec(line);
      if (!m) throw new ParseError('HPE_INVALID_CHUNK_SIZE', 'Invalid character in chunk size');
      const size = parseInt(m[1]!, 16);
      if (size === 0) this.inTrailers = true;
      else this.chunkLeft = size;
    }
  }
}

/** The exchange failed: `error` says why (its code: ENOENT, ECONNREFUSED, ...), `answered` whether a response had begun. */
export class ExchangeError extends Error {
  constructor(
    readonly error: NodeJS.ErrnoException,
    readonly answered: boolean,
  ) {
    super(error.message);
  }
}

/**
 * Send one request on the unix socket and read its response. Fails with ExchangeError: `answered`
 * false when nothing came back (no daemon, or the connection dropped before the status line and
 * headers), true when the response was cut short.
 */
export function exchange(socketPath: string, r: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const bytes = formatRequest(r);
    const parser = new ResponseParser(r.method);
    const socket = net.connect({ path: socketPath });
    let settled = false;
    const fail = (err: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new ExchangeError(err, parser.headRead));
    };
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (data: Buffer) => {
      if (settled) return;
      let whole: boolean;
      try {
        whole = parser.feed(data);
      } catch (err) {
        fail(err as NodeJS.ErrnoException);
        return;
      }
      if (!whole) return;
      settled = true;
      socket.destroy();
      resolve(parser.response());
    });
    socket.on('end', () => {
      if (settled) return;
      const response = parser.end();
      if (response) {
        settled = true;
        socket.destroy();
        resolve(response);
      } else fail(Object.assign(new Error(parser.headRead ? 'aborted' : 'socket hang up'), { code: 'ECONNRESET' }));
    });
    socket.on('error', fail);
  });
}
