/**
 * Layer decompression: gzip by node:zlib, zstd by fzstd (Node 20's zlib has none), plain tar as is.
 * A truncated or corrupt stream is an error at its end, never a short layer taken for whole.
 */
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { CorralError } from '../errors.js';
import type { Compression } from './manifest.js';

class ZstdStream extends Transform {
  readonly #zstd: Decompress;
  #ended = false;
  constructor() {
    super();
    this.#zstd = new Decompress((chunk, final) => {
      this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      if (final) this.#ended = true;
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.#zstd.push(chunk);
      done();
    } catch (err) {
      done(new CorralError('EZSTD', `zstd: ${(err as Error).message}`));
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.#zstd.push(new Uint8Array(0), true);
    } catch (err) {
      done(new CorralError('EZSTD', `zstd: ${(err as Error).message}`));
      return;
    }
    done(this.#ended ? null : new CorralError('EZSTD', 'zstd: the stream ended before its last frame'));
  }
}

export function decompressor(kind: Compression): Transform {
  switch (kind) {
    case 'gzip':
      return zlib.createGunzip();
    case 'zstd':
      return new ZstdStream();
    case 'none':
      return new PassThrough();
  }
}

/** What the first bytes say a blob is (docker save archives do not say): gzip, zstd or plain. */
export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}
