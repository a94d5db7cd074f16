/** ExpositionCache: one rendering per source version, gzip once per version; acceptsGzip's reading of Accept-Encoding. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { ExpositionCache, acceptsGzip } from '../../../src/metrics/exposition-cache.js';
import { createRegistry, exposition, type ExporterSource } from '../../../src/metrics/prometheus.js';
import type { TrackedContainer } from '../../../src/metrics/sample.js';

/** Two running containers with a few counters each. */
function containers(): TrackedContainer[] {
  return ['1', '2'].map((digit, i) => ({
    id: digit.repeat(64),
    name: `c${i}`,
    image: '/srv/busybox',
    network: 'none',
    spec: { memoryLimit: 64 << 20 },
    status: 'running',
    startedAt: 1_700_000_000_000,
    pid: 4242 + i,
    restarts: 0,
    readErrors: new Map(),
    latest: {
      time: 1_700_000_060_000,
      cgroup: { cpu: { usageUsec: 2_500_000 + i }, memory: { current: 10_485_760, stat: { total_inactive_file: 2_097_152 } }, pids: { current: 3 }, errors: [] },
      errors: [],
    },
  }));
}

/** A source whose list() calls are counted (one rendering lists the containers once) and whose version the test moves. */
function countingSource(): ExporterSource & { version: number; lists: number; containers: TrackedContainer[] } {
  const source = {
    version: 1,
    lists: 0,
    containers: containers(),
    health: { ticks: 10, cpuSeconds: 0.25, lastTickSeconds: 0.002, lastTickContainers: 2, fullReads: 15, quietReads: 5, openFiles: 24, unkeptReads: 0 },
    intervalMs: 1000,
    idleIntervalMs: 10_000,
    list() {
      source.lists++;
      return [...source.containers];
    },
  };
  return source;
}

describe('ExpositionCache', () => {
  test('scrapes of one version get the same bytes, rendered once; a new version renders anew', async () => {
    const source = countingSource();
    const cache = new ExpositionCache(createRegistry(source), source);
    const first = await cache.body(false);
    assert.equal(first.toString('utf8'), await exposition(createRegistry(source)));
    const rendersSoFar = source.lists;
    assert.equal(await cache.body(false), first, 'the same Buffer');
    assert.equal(source.lists, rendersSoFar, 'nothing rendered for the second scrape');
    source.containers.pop();
    source.version++;
    await new Promise((resolve) => setTimeout(resolve, 25)); // past the registry's per-scrape snapshot
    const second = await cache.body(false);
    assert.notEqual(second, first);
    assert.ok(second.length < first.length, 'one container fewer');
    assert.ok(source.lists > rendersSoFar);
  });

  test('gzip: the same text, compressed once per version', async () => {
    const source = countingSource();
    const cache = new ExpositionCache(createRegistry(source), source);
    const zipped = await cache.body(true);
    assert.equal(zlib.gunzipSync(zipped).toString('utf8'), (await cache.body(false)).toString('utf8'));
    assert.ok(zipped.length < (await cache.body(false)).length / 3);
    assert.equal(await cache.body(true), zipped, 'the same Buffer');
    source.version++;
    assert.notEqual(await cache.body(true), zipped);
  });

  test('concurrent scrapes of one version share one rendering', async () => {
    const source = countingSource();
    const cache = new ExpositionCache(createRegistry(source), source);
    const [a, b] = await Promise.all([cache.body(false), cache.body(false)]);
    assert.equal(a, b);
  });

  test('a source without a version is rendered for every scrape', async () => {
    const source = countingSource();
    const unversioned: ExporterSource = { list: () => source.list(), health: source.health, intervalMs: 1000, idleIntervalMs: 10_000 };
    const cache = new ExpositionCache(createRegistry(unversioned), unversioned);
    const first = await cache.body(false);
    await new Promise((resolve) => setTimeout(resolve, 25));
    assert.notEqual(await cache.body(false), first);
  });

  test('a failed rendering is not kept', async () => {
    const source = countingSource();
    let fail = true;
    const failing: ExporterSource & { version: number } = {
      version: 1,
      health: source.health,
      intervalMs: 1000,
      idleIntervalMs: 10_000,
      list: () => {
        if (fail) throw new Error('boom');
        return source.list();
      },
    };
    const cache = new ExpositionCache(createRegistry(failing), failing);
    await assert.rejects(cache.body(false), /boom/);
    fail = false;
    await new Promise((resolve) => setTimeout(resolve, 25));
    assert.match((await cache.body(false)).toString('utf8'), /container_cpu_usage_seconds_total/);
  });
});

describe('acceptsGzip', () => {
  for (const [header, want] of [
    [undefined, false],
    ['', false],
    ['gzip', true],
    ['gzip, deflate, br', true],
    ['deflate, br', false],
    ['identity', false],
    ['GZIP', true],
    ['x-gzip', true],
    ['gzip;q=0', false],
    ['gzip; q=0.5', true],
    ['*', true],
    ['*;q=0', false],
    ['br;q=1.0, gzip;q=0.8, *;q=0.1', true],
  ] as const) {
    test(`${JSON.stringify(header)} -> ${want}`, () => assert.equal(acceptsGzip(header), want));
  }
});
