/**
 * Docker's multiplexed stream (application/vnd.docker.raw-stream), read incrementally: frames of an
 * 8-byte header (stream 0 stdin, 1 stdout, 2 stderr; three zero bytes; big-endian payload length)
 * and the payload, cut anywhere by the transport (docker/docker pkg/stdcopy). The inverse of the
 * daemon's `frame()`.
 */
import { ParseError } from '../errors.js';

export interface StreamFrame {
  stream: 0 | 1 | 2;
  payload: Buffer;
}

const HEADER = 8;

export class StreamDemuxer {
  private pending: Buffer = Buffer.alloc(0);

  /** The frames completed by `chunk`; a header that is not a frame's throws a ParseError. */
  push(chunk: Buffer): StreamFrame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: StreamFrame[] = [];
    let at = 0;
    while (this.pending.length - at >= HEADER) {
      const stream = this.pending[at]!;
      if (stream > 2 || this.pending[at + 1] !== 0 || this.pending[at + 2] !== 0 || this.pending[at + 3] !== 0) {
        throw new ParseError('stream frame header', this.pending.subarray(at, at + HEADER).toString('hex'));
      }
      const length = this.pending.readUInt32BE(at + 4);
      if (this.pending.length - at - HEADER < length) break;
      frames.push({ stream: stream as 0 | 1 | 2, payload: this.pending.subarray(at + HEADER, at + HEADER + length) });
      at += HEADER + length;
    }
    this.pending = this.pending.subarray(at);
    return frames;
  }

  /** Bytes of an unfinished frame left at the end of the stream (0 when it ended on a frame boundary). */
  get leftover(): number {
    return this.pending.length;
  }
}
