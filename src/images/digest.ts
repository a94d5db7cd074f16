/**
 * Content digests (OCI image spec, descriptor.md): `sha256:` and 64 lower-case hex digits, the only
 * algorithm registries and Docker use in practice. A blob is trusted only after its bytes hashed to
 * the digest that named it and its length matched the descriptor's size.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { CorralError } from '../errors.js';

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

/** The 64 hex digits of a sha256 digest: the file and directory names of the store. */
export function digestHex(digest: string): string {
  if (!isDigest(digest)) throw new CorralError('EDIGEST', `"${digest}" is not a sha256 digest`);
  return digest.slice('sha256:'.length);
}

export function sha256Digest(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A blob's bytes did not match what named it: the digest or the size differs. */
export class DigestMismatchError extends CorralError {
  readonly expected: string;
  readonly actual: string;
  constructor(what: string, expected: string, actual: string) {
    super('EDIGESTMISMATCH', `${what}: expected ${expected}, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * A pass-through that hashes and counts what flows through it, and fails the stream at its end
 * if the bytes are not the expected digest and size (more bytes than the size fail at once).
 * `what` names the blob in the error (e.g. "layer sha256:… of busybox:latest").
 */
export class VerifyingStream extends Transform {
  readonly #hash: Hash = createHash('sha256');
  #bytes = 0;
  constructor(
    private readonly what: string,
    private readonly expected: { digest: string; size?: number },
  ) {
    super();
  }

  get bytes(): number {
    return this.#bytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#bytes += chunk.length;
    const size = this.expected.size;
    if (size !== undefined && this.#bytes > size) {
      done(new DigestMismatchError(`${this.what} is longer than its descriptor says`, `${size} bytes`, `more than ${size}`));
      return;
    }
    this.#hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const size = this.expected.size;
    if (size !== undefined && this.#bytes !== size) {
      done(new DigestMismatchError(`${this.what} is shorter than its descriptor says`, `${size} bytes`, `${this.#bytes} bytes`));
      return;
    }
    const actual = `sha256:${this.#hash.digest('hex')}`;
    if (actual !== this.expected.digest) done(new DigestMismatchError(`${this.what} does not match its digest`, this.expected.digest, actual));
    else done();
  }
}

/**
 * A pass-through that only hashes (the uncompressed layer's diff ID is known at the end, and
 * checked against the image config by the caller).
 */
export class HashingStream extends Transform {
  readonly #hash: Hash = createHash('sha256');
  #digest: string | undefined;
  #bytes = 0;

  /** the digest of everything that passed, once the stream ended */
  get digest(): string {
    if (this.#digest === undefined) throw new Error('HashingStream: digest read before the end');
    return this.#digest;
  }

  get bytes(): number {
    return this.#bytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#bytes += chunk.length;
    this.#hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.#digest = `sha256:${this.#hash.digest('hex')}`;
    done();
  }
}
