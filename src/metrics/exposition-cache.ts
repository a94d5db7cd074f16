/**
 * What a scrape is answered with: the exposition rendered at most once per version of the exporter's
 * source, and gzipped at most once per version for clients that ask for it.
 *
 * Everything a scrape shows changes only when the sampler finishes a tick or follows a container
 * event (the version then changes: see ExporterSource.version), so scrapes between two changes are
 * answered with the same bytes, rendered lazily by the first scrape after the change (nothing is
 * rendered while nobody scrapes). The daemon's process_* and nodejs_* metrics come with that text, so
 * they are as of that first scrape, at most one sample interval old. A source without a version is
 * rendered for every scrape.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Registry } from 'prom-client';
import { exposition } from './prometheus.js';

const gzip = promisify(zlib.gzip);

/** zlib level 1: 3 MB of exposition (500 containers) in ~10 ms to ~6% of its size; level 6 takes twice as long for ~15% less. */
const GZIP_LEVEL = 1;

export class ExpositionCache {
  private version: number | undefined;
  private text: Promise<Buffer> | undefined;
  private gzipped: Promise<Buffer> | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly source: { readonly version?: number },
  ) {}

  /** The exposition as UTF-8 bytes, or gzipped; a failed rendering is not kept. */
  body(gzipped: boolean): Promise<Buffer> {
    const version = this.source.version;
    if (this.text === undefined || version === undefined || version !== this.version) {
      this.version = version;
      this.gzipped = undefined;
      const text = exposition(this.registry).then((t) => Buffer.from(t, 'utf8'));
      this.text = text;
      text.catch(() => {
        if (this.text === text) this.text = undefined;
      });
    }
    if (!gzipped) return this.text;
    if (this.gzipped === undefined) {
      const zipped = this.text.then((b) => gzip(b, { level: GZIP_LEVEL }));
      this.gzipped = zipped;
      zipped.catch(() => {
        if (this.gzipped === zipped) this.gzipped = undefined;
      });
    }
    return this.gzipped;
  }
}

/** Whether an Accept-Encoding header accepts gzip (RFC 9110 12.5.3: a listed coding, not with q=0; `*` counts). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}
