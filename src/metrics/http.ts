/**
 * The daemon's Prometheus endpoint: `GET /metrics` (and `/`, pointing there) on --metrics-addr, plain
 * HTTP, separate from the API socket so that a scraper gets no control over containers. The registry
 * reads only the sampler's cache; its text is rendered once per sampler tick or container event and
 * reused by every scrape until the next (ExpositionCache), gzipped when the client asks.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { CorralError } from '../errors.js';
import type { Logger } from '../log.js';
import { ExpositionCache, acceptsGzip } from './exposition-cache.js';
import { EXPOSITION_CONTENT_TYPE } from './prometheus.js';

export const DEFAULT_METRICS_ADDR = '127.0.0.1:9338';

export interface MetricsServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/** `source`: what says when the registry's content changed (the sampler); without it every scrape renders anew. */
export async function startMetricsServer(addr: { host: string; port: number }, registry: Registry, log: Logger, source: { readonly version?: number } = {}): Promise<MetricsServer> {
  const cache = new ExpositionCache(registry, source);
  const server = http.createServer({ requestTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const url = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (url !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    const gzipped = acceptsGzip(req.headers['accept-encoding']);
    cache.body(gzipped).then(
      (body) => {
        res
          .writeHead(200, {
            'Content-Type': EXPOSITION_CONTENT_TYPE,
            'Content-Length': body.length,
            Vary: 'Accept-Encoding',
            ...(gzipped ? { 'Content-Encoding': 'gzip' } : {}),
          })
          .end(body);
      },
      (err: Error) => {
        log.error('metrics scrape failed', { err });
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`scrape failed: ${err.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `${addr.host}:${addr.port}`;
      reject(
        new CorralError(
          'EMETRICSADDR',
          err.code === 'EADDRINUSE'
            ? `--metrics-addr ${where} is already in use by another process: choose another address with --metrics-addr HOST:PORT, or disable the endpoint with --metrics-addr none`
            : `--metrics-addr ${where}: cannot listen (${err.code ?? err.message})`,
          { cause: err },
        ),
      );
    };
    server.once('error', onError);
    server.listen(addr.port, addr.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  log.info('metrics listening', { address: `${address.address}:${address.port}`, path: '/metrics' });
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
