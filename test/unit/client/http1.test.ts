/**
 * The client's own HTTP/1.1 exchange (src/client/http1.ts) against real Docker answers (status lines
 * and headers captured from Docker 20.10, with their bodies: Content-Length, chunked, none), read
 * whole and cut into reads of every size, and against node:http itself: the request bytes it writes
 * and the response it reads must be node:http's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exchange, formatRequest, ParseError, ResponseParser, type RawRequest, type RawResponse } from '../../../src/client/http1.js';
import { ApiResponseError, call, DaemonUnreachableError } from '../../../src/client/client.js';
import { dockerFixture } from '../../helpers/http.js';

/** A body in chunks of the given sizes (the last size repeats), as Docker's Go server sends it. */
function chunked(body: string, sizes: number[], extra: { extension?: string; trailer?: string } = {}): Buffer {
  const data = Buffer.from(body);
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const piece = data.subarray(at, at + sizes[Math.min(i, sizes.length - 1)]!);
    parts.push(Buffer.from(`${piece.length.toString(16)}${extra.extension ?? ''}\r\n`), piece, Buffer.from('\r\n'));
    at += piece.length;
  }
  parts.push(Buffer.from(`0\r\n${extra.trailer ?? ''}\r\n`));
  return Buffer.concat(parts);
}

interface Case {
  name: string;
  method: string;
  raw: Buffer;
  status: number;
  body: string;
}

const psBody = dockerFixture('v1.41-containers-json.json');
const statsBody = dockerFixture('v1.41-containers-id-stats-stream-false.json');
const waitBody = dockerFixture('v1.41-containers-wait.json');
const head = (name: string) => Buffer.from(dockerFixture(name));

const CASES: Case[] = [
  { name: 'GET /_ping (Content-Length)', method: 'GET', raw: head('ping.http'), status: 200, body: 'OK' },
  { name: 'HEAD /_ping (no body)', method: 'HEAD', raw: head('ping-head.http'), status: 200, body: '' },
  { name: '404 (Content-Length)', method: 'GET', raw: head('v1.41-containers-notfound.http'), status: 404, body: dockerFixture('v1.41-containers-notfound.json') },
  { name: 'stats (Content-Length 1565)', method: 'GET', raw: Buffer.concat([head('stats.headers.txt'), Buffer.from(statsBody)]), status: 200, body: statsBody },
  { name: 'pause (204)', method: 'POST', raw: head('containers-pause.headers.txt'), status: 204, body: '' },
  { name: 'ps (chunked, one chunk)', method: 'GET', raw: Buffer.concat([head('containers-json.headers.txt'), chunked(psBody, [psBody.length])]), status: 200, body: psBody },
  { name: 'ps (chunked, 4 KiB chunks)', method: 'GET', raw: Buffer.concat([head('containers-json.headers.txt'), chunked(psBody, [4096])]), status: 200, body: psBody },
  { name: 'wait (chunked, headers first)', method: 'POST', raw: Buffer.concat([head('containers-wait.headers.txt'), chunked(waitBody, [waitBody.length])]), status: 200, body: waitBody },
  {
    name: 'chunked with extensions and a trailer',
    method: 'GET',
    raw: Buffer.concat([head('containers-json.headers.txt'), chunked(psBody, [1, 10, 333], { extension: ';name=value', trailer: 'X-Trailer: yes\r\n' })]),
    status: 200,
    body: psBody,
  },
];

function parseInReads(method: string, raw: Buffer, size: number): RawResponse {
  const parser = new ResponseParser(method);
  let whole = false;
  for (let at = 0; at < raw.length && !whole; at += size) whole = parser.feed(raw.subarray(at, at + size));
  assert.ok(whole, `whole after ${raw.length} bytes in reads of ${size}`);
  return parser.response();
}

test('captured Docker answers read whole, and cut into reads of every size', () => {
  for (const c of CASES) {
    const sizes = c.raw.length < 2000 ? Array.from({ length: c.raw.length }, (_, i) => i + 1) : [1, 2, 3, 5, 7, 13, 64, 100, 511, 4096, 4097, c.raw.length];
    for (const size of sizes) {
      const r = parseInReads(c.method, c.raw, size);
      assert.equal(r.status, c.status, `${c.name}, reads of ${size}`);
      assert.equal(r.body.toString(), c.body, `${c.name}, reads of ${size}`);
    }
    const r = parseInReads(c.method, c.raw, c.raw.length);
    assert.equal(r.headers['api-version'], '1.41', c.name);
    assert.equal(r.headers.server, 'Docker/20.10.24+dfsg1 (linux)', c.name);
  }
});

test('a body without a length ends with the connection; a cut one is not whole', () => {
  const raw = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end');
  const parser = new ResponseParser('GET');
  assert.equal(parser.feed(raw), false);
  assert.equal(parser.end()?.body.toString(), 'until the end');

  const cut = new ResponseParser('GET');
  assert.equal(cut.feed(Buffer.concat([head('stats.headers.txt'), Buffer.from(statsBody.slice(0, 100))])), false);
  assert.equal(cut.headRead, true);
  assert.equal(cut.end(), undefined);
});

test('an interim 100 Continue is skipped; repeated fields are joined', () => {
  const raw = Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 2\r\n\r\n{}');
  const r = parseInReads('POST', raw, raw.length);
  assert.equal(r.status, 201);
  assert.equal(r.statusText, 'Created');
  assert.equal(r.headers['x-a'], '1, 2');
  assert.equal(r.body.toString(), '{}');
});

test("what is not HTTP/1.x is a ParseError with node:http's code", () => {
  const bad: [string, string][] = [
    ['SSH-2.0-OpenSSH\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['HTTP/1.1 200 OK\r\nno colon\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY', 'HPE_STRICT'],
  ];
  for (const [text, code] of bad) {
    assert.throws(
      () => new ResponseParser('GET').feed(Buffer.from(text)),
      (err: unknown) => err instanceof ParseError && err.code === code,
      text,
    );
  }
});

/** A unix socket path in a fresh temporary directory, removed after the test. */
function tempSocket(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-http1-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 's.sock');
}

/** A server that records each request's bytes and answers `answer(i)`, written in pieces of `piece` bytes. */
async function rawServer(t: { after: (fn: () => void) => void }, answer: (i: number) => Buffer | undefined, piece = 1 << 20): Promise<{ socket: string; requests: string[] }> {
  const socket = tempSocket(t);
  const requests: string[] = [];
  const server = net.createServer((conn) => {
    const i = requests.push('') - 1;
    conn.on('data', (d: Buffer) => {
      const before = requests[i]!;
      requests[i] = before + d.toString('latin1');
      const text = requests[i]!;
      const end = text.indexOf('\r\n\r\n');
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(text)?.[1] ?? 0);
      if (end < 0 || text.length < end + 4 + length || before.length >= end + 4 + length) return;
      const raw = answer(i);
      if (raw === undefined) {
        conn.destroy();
        return;
      }
      for (let at = 0; at < raw.length; at += piece) conn.write(raw.subarray(at, at + piece));
      conn.end();
    });
    conn.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.after(() => server.close());
  return { socket, requests };
}

/** node:http's request and reading of the response, for comparison. */
function nodeHttp(socketPath: string, r: RawRequest): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: r.method, path: r.path, headers: r.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

const REQUESTS: RawRequest[] = [
  { method: 'GET', path: '/v1.41/containers/json?all=1', headers: {} },
  { method: 'HEAD', path: '/v1.41/_ping', headers: {} },
  { method: 'POST', path: '/v1.41/containers/x/start', headers: {} },
  { method: 'DELETE', path: '/v1.41/containers/x?force=1', headers: {} },
  { method: 'POST', path: '/v1.41/containers/create?name=a%20b', headers: { 'Content-Type': 'application/json', 'Content-Length': 7 }, body: Buffer.from('{"a":1}') },
  { method: 'POST', path: '/v1.41/exec/x/start', headers: { 'X-Custom': 'v' } },
];

test("the request's bytes are node:http's (agent: false)", async (t) => {
  const server = await rawServer(t, () => head('containers-pause.headers.txt'));
  for (const r of REQUESTS) await nodeHttp(server.socket, r);
  assert.deepEqual(
    REQUESTS.map((r) => formatRequest(r).toString('latin1')),
    server.requests,
  );
  assert.throws(() => formatRequest({ method: 'GET', path: '/a b', headers: {} }), { code: 'ERR_UNESCAPED_CHARACTERS' });
  assert.throws(() => formatRequest({ method: 'GET', path: '/', headers: { X: 'a\r\nb' } }), { code: 'ERR_INVALID_CHAR' });
});

test('over a socket, in writes of any size, exchange reads what node:http reads', async (t) => {
  for (const piece of [1, 7, 1000, 1 << 20]) {
    // each case is asked twice, once by each client
    const server = await rawServer(t, (i) => CASES[Math.floor(i / 2)]!.raw, piece);
    for (const c of CASES) {
      const r: RawRequest = { method: c.method, path: '/v1.41/x', headers: {} };
      const mine = await exchange(server.socket, r);
      const theirs = await nodeHttp(server.socket, r);
      assert.equal(mine.status, theirs.status, `${c.name}, writes of ${piece}`);
      assert.equal(mine.body.toString(), theirs.body, `${c.name}, writes of ${piece}`);
      assert.equal(mine.body.toString(), c.body, `${c.name}, writes of ${piece}`);
      const { date: _d, ...mineHeaders } = mine.headers;
      const { date: _e, ...theirHeaders } = theirs.headers;
      assert.deepEqual(mineHeaders, theirHeaders, `${c.name}, writes of ${piece}`);
    }
  }
});

test('call: JSON, errors and "no daemon there" as before', async (t) => {
  const answers = [
    Buffer.concat([head('containers-json.headers.txt'), chunked(psBody, [2048])]),
    head('v1.41-containers-notfound.http'),
    head('containers-pause.headers.txt'),
    undefined, // the connection drops without an answer
    Buffer.concat([head('stats.headers.txt'), Buffer.from(statsBody.slice(0, 10))]), // cut short
  ];
  const server = await rawServer(t, (i) => answers[i]);
  const ps = await call<unknown[]>(server.socket, { method: 'GET', path: '/containers/json' });
  assert.deepEqual(ps, { status: 200, body: JSON.parse(psBody) });
  await assert.rejects(
    call(server.socket, { method: 'GET', path: '/containers/doesnotexist/json' }),
    (err: unknown) => err instanceof ApiResponseError && err.status === 404 && err.message === 'No such container: doesnotexist',
  );
  assert.deepEqual(await call(server.socket, { method: 'POST', path: '/containers/x/pause' }), { status: 204, body: undefined });
  await assert.rejects(call(server.socket, { method: 'GET', path: '/_ping' }), (err: unknown) => err instanceof DaemonUnreachableError && err.reason === 'ECONNRESET');
  await assert.rejects(call(server.socket, { method: 'GET', path: '/x' }), (err: unknown) => !(err instanceof DaemonUnreachableError) && (err as NodeJS.ErrnoException).code === 'ECONNRESET');
  assert.match(server.requests[0]!, /^GET \/v1\.41\/containers\/json HTTP\/1\.1\r\n/);

  const missing = tempSocket(t);
  await assert.rejects(call(missing, { method: 'GET', path: '/_ping' }), (err: unknown) => err instanceof DaemonUnreachableError && err.reason === 'ENOENT' && err.socketPath === missing);
});
