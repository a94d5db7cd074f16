/**
 * The OOM watcher's logic on a fake cgroup v2 directory in a temp dir (memory.events and
 * memory.stat written by the test; chokidar's inotify sees the writes as it sees the kernel's):
 * one call per kill whatever the notifications, the baselines, the last re-read of unwatch, the
 * end when the directory goes. The real kernel paths are test/integration/oom-watch.test.ts.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OomWatcher, type OomKill } from '../../../src/metrics/oom-watch.js';
import type { Logger } from '../../../src/api/log.js';
import { fixture } from '../../helpers/cgroup-fixtures.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, enabled: () => false } as unknown as Logger;
const dirs: string[] = [];
let watcher: OomWatcher | undefined;

afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function fakeCgroup(events: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-oomwatch-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'memory.events'), events);
  fs.writeFileSync(path.join(dir, 'memory.stat'), fixture('v2', 'oom/memory.stat.first-notification'));
  fs.writeFileSync(path.join(dir, 'memory.current'), '33554432\n');
  fs.writeFileSync(path.join(dir, 'memory.max'), '33554432\n');
  return dir;
}

const events = (oom: number, oomKill: number, max = oom * 50) => `low 0\nhigh 0\nmax ${max}\noom ${oom}\noom_kill ${oomKill}\noom_group_kill 0\n`;

async function until(what: string, fn: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('baseline zero: a kill before the first read is reported; later kills once each, numbered as the kernel counted them', async () => {
  const dir = fakeCgroup(events(1, 1));
  const kills: OomKill[] = [];
  watcher = new OomWatcher({ log: quiet });
  watcher.watch('c1', { dir, paths: { unified: dir } }, (k) => kills.push(k), { baseline: 'zero' });
  await until('the first kill', () => kills.length === 1);
  assert.equal(kills[0]!.killNumber, 1);
  assert.equal(kills[0]!.attributes.oom_kill, '1');
  assert.equal(kills[0]!.attributes['memory.limit'], '33554432');
  assert.match(kills[0]!.attributes['memory.anon'] ?? '', /^\d+$/);

  // two kills in one write: one notification (or several), two calls
  fs.writeFileSync(path.join(dir, 'memory.events'), events(3, 3));
  await until('kills 2 and 3', () => kills.length === 3);
  assert.deepEqual(kills.map((k) => k.killNumber), [1, 2, 3]);
  assert.equal(kills[2]!.attributes.oom, '3');
  // notifications without a counter change report nothing
  fs.writeFileSync(path.join(dir, 'memory.events'), events(3, 3));
  fs.writeFileSync(path.join(dir, 'memory.events'), events(3, 3, 400));
  await sleep(300);
  assert.equal(kills.length, 3);
  assert.equal(watcher.killCount('c1'), 3);

  assert.equal(await watcher.unwatch('c1'), 3);
  assert.deepEqual(watcher.active(), []);
  fs.writeFileSync(path.join(dir, 'memory.events'), events(4, 4));
  await sleep(300);
  assert.equal(kills.length, 3, 'nothing after unwatch');
});

test('baseline current (an adopted container): earlier kills are not reported, new ones are', async () => {
  const dir = fakeCgroup(events(2, 2));
  const kills: OomKill[] = [];
  watcher = new OomWatcher({ log: quiet });
  watcher.watch('c2', { dir, paths: { unified: dir } }, (k) => kills.push(k), { baseline: 'current' });
  await until('the baseline read', () => watcher!.killCount('c2') === 2);
  await sleep(200);
  assert.equal(kills.length, 0);
  fs.writeFileSync(path.join(dir, 'memory.events'), events(3, 3));
  await until('the new kill', () => kills.length === 1);
  assert.equal(kills[0]!.killNumber, 3);
});

test('unwatch re-reads once more: a kill no notification announced is reported before it resolves', async () => {
  const dir = fakeCgroup(events(0, 0));
  const kills: OomKill[] = [];
  watcher = new OomWatcher({ log: quiet, backstopMs: 3_600_000 });
  watcher.watch('c3', { dir, paths: { unified: dir } }, (k) => kills.push(k), { baseline: 'zero' });
  await until('the first read', () => watcher!.killCount('c3') === 0);
  // a new file in place of the watched one: the watch on the old inode hears nothing
  fs.writeFileSync(path.join(dir, 'memory.events.new'), events(1, 1));
  fs.renameSync(path.join(dir, 'memory.events.new'), path.join(dir, 'memory.events'));
  assert.equal(await watcher.unwatch('c3'), 1);
  assert.deepEqual(kills.map((k) => k.killNumber), [1]);
});

test('the watch ends by itself when the cgroup directory is gone', async () => {
  const dir = fakeCgroup(events(0, 0));
  watcher = new OomWatcher({ log: quiet, backstopMs: 50 });
  watcher.watch('c4', { dir, paths: { unified: dir } }, () => assert.fail('no kill'), { baseline: 'zero' });
  await until('the first read', () => watcher!.killCount('c4') === 0);
  assert.deepEqual(watcher.active(), ['c4']);
  fs.rmSync(dir, { recursive: true });
  await until('the watch ended', () => watcher!.active().length === 0);
  assert.equal(await watcher.unwatch('c4'), 0, 'the last count read stays known');
});

test('a directory without memory.events (no memory controller) is not watched, and says so', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-oomwatch-'));
  dirs.push(dir);
  const warnings: string[] = [];
  watcher = new OomWatcher({ log: { ...quiet, warn: (msg: string) => warnings.push(msg) } as Logger });
  watcher.watch('c5', { dir, paths: { unified: dir } }, () => {}, { baseline: 'zero' });
  assert.equal(await watcher.unwatch('c5'), undefined);
  assert.deepEqual(warnings, ['cannot watch the cgroup for OOM kills']);
});
