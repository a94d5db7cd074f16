import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { BODY_LIMIT, DRAIN_LIMIT, checkJsonContentType, parseJsonBody, readBody, readJsonObject, type BodySource } from '../../../src/api/body.js';
import { ApiError } from '../../../src/api/errors.js';

/** A request stand-in: headers and a stream that delivers `chunks`, then ends. */
function fakeRequest(headers: IncomingHttpHeaders, chunks: (string | Buffer)[]): BodySource {
  const stream = new PassThrough();
  for (const c of chunks) stream.write(c);
  stream.end();
  return Object.assign(stream, { headers }) as unknown as BodySource;
}

function isApiError(status: number, message: string, close?: boolean) {
  return (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    assert.equal(err.status, status);
    assert.equal(err.message, message);
    if (close !== undefined) assert.equal(err.closeConnection, close);
    return true;
  };
}

test("Content-Type: Docker's rule (none is fine without a body, else application/json)", () => {
  const ok: IncomingHttpHeaders[] = [
    {},
    { 'content-length': '0' },
    { 'content-type': 'application/json', 'content-length': '2' },
    { 'content-type': 'application/json; charset=utf-8', 'content-length': '2' },
    { 'content-type': 'Application/JSON', 'transfer-encoding': 'chunked' },
  ];
  for (const h of ok) assert.doesNotThrow(() => checkJsonContentType(h), JSON.stringify(h));
  const bad: [IncomingHttpHeaders, string][] = [
    [{ 'content-length': '2' }, "Content-Type specified () must be 'application/json'"],
    [{ 'transfer-encoding': 'chunked' }, "Content-Type specified () must be 'application/json'"],
    [{ 'content-type': 'text/plain', 'content-length': '2' }, "Content-Type specified (text/plain) must be 'application/json'"],
    [{ 'content-type': 'application/jsonx', 'content-length': '2' }, "Content-Type specified (application/jsonx) must be 'application/json'"],
  ];
  for (const [h, message] of bad) assert.throws(() => checkJsonContentType(h), isApiError(400, message));
});

test('JSON bodies: empty is undefined, bad bytes and bad JSON are a 400', () => {
  assert.equal(parseJsonBody(Buffer.alloc(0)), undefined);
  assert.deepEqual(parseJsonBody(Buffer.from('{"a":[1,"é"]}')), { a: [1, 'é'] });
  assert.throws(() => parseJsonBody(Buffer.from([0x7b, 0xff, 0x7d])), isApiError(400, 'request body is not valid UTF-8'));
  for (const bad of ['{', '{"a":}', "{'a':1}", '{"a":1}x', 'nul']) {
    assert.throws(
      () => parseJsonBody(Buffer.from(bad)),
      (err: unknown) => err instanceof ApiError && err.status === 400 && err.message.startsWith('invalid JSON in the request body: '),
      bad,
    );
  }
  // deep nesting is data, not a crash
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.doesNotThrow(() => {
    try {
      parseJsonBody(Buffer.from(deep));
    } catch (err) {
      assert.ok(err instanceof ApiError && err.status === 400);
    }
  });
});

test('bodies up to the limit are read whole, in chunks', async () => {
  const body = await readBody(fakeRequest({ 'transfer-encoding': 'chunked' }, ['{"a"', ':1}']), 16);
  assert.equal(body.toString(), '{"a":1}');
  assert.equal((await readBody(fakeRequest({ 'content-length': '16' }, ['x'.repeat(16)]), 16)).length, 16);
});

test('a body over the limit is a 413; the rest is drained so the connection stays usable', async () => {
  const big = fakeRequest({ 'transfer-encoding': 'chunked' }, ['x'.repeat(10), 'x'.repeat(10)]);
  await assert.rejects(readBody(big, 16), isApiError(413, 'request body too large: the limit is 16 bytes', false));
  // declared far beyond what is drained: refused at once, and the connection is closed after the answer
  const declared = fakeRequest({ 'content-length': String(BODY_LIMIT + DRAIN_LIMIT + 1) }, []);
  await assert.rejects(readBody(declared), isApiError(413, `request body too large: the limit is ${BODY_LIMIT} bytes`, true));
});

test('a JSON object body: content type, emptiness and the top-level type are checked', async () => {
  const json = { 'content-type': 'application/json', 'transfer-encoding': 'chunked' };
  assert.deepEqual(await readJsonObject(fakeRequest(json, ['{"Image":"bb"}'])), { Image: 'bb' });
  await assert.rejects(readJsonObject(fakeRequest(json, [])), isApiError(400, 'request body is empty: a JSON object is required'));
  await assert.rejects(readJsonObject(fakeRequest(json, ['[1]'])), isApiError(400, 'request body must be a JSON object, not an array'));
  await assert.rejects(readJsonObject(fakeRequest(json, ['null'])), isApiError(400, 'request body must be a JSON object, not null'));
  await assert.rejects(readJsonObject(fakeRequest(json, ['"x"'])), isApiError(400, 'request body must be a JSON object, not a string'));
  await assert.rejects(readJsonObject(fakeRequest({ 'content-type': 'text/plain', 'content-length': '2' }, ['{}'])), isApiError(400, "Content-Type specified (text/plain) must be 'application/json'"));
});
