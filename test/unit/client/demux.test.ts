import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamDemuxer } from '../../../src/client/demux.js';
import { frame } from '../../../src/api/stream-routes.js';
import { ParseError } from '../../../src/errors.js';

const stream = Buffer.concat([frame(1, Buffer.from('out 1\n')), frame(2, Buffer.from('err\n')), frame(1, Buffer.alloc(0)), frame(1, Buffer.from('x'.repeat(70_000)))]);
const expected = [
  [1, 'out 1\n'],
  [2, 'err\n'],
  [1, ''],
  [1, 'x'.repeat(70_000)],
];

test("the daemon's frames come back whole, however the transport cuts them", () => {
  for (const size of [1, 3, 7, 8, 9, 1000, stream.length]) {
    const demux = new StreamDemuxer();
    const got: [number, string][] = [];
    for (let at = 0; at < stream.length; at += size) for (const f of demux.push(stream.subarray(at, at + size))) got.push([f.stream, f.payload.toString()]);
    assert.deepEqual(got, expected, `chunks of ${size}`);
    assert.equal(demux.leftover, 0);
  }
});

test("an unfinished frame at the end is counted; a header that is not a frame's is a ParseError", () => {
  const demux = new StreamDemuxer();
  assert.deepEqual(demux.push(stream.subarray(0, 10)), []);
  assert.equal(demux.leftover, 10);
  assert.throws(() => new StreamDemuxer().push(Buffer.from('hello world\n')), ParseError);
});
