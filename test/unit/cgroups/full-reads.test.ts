/**
 * A stats reader on kept descriptors reads its last full reading's files ahead in one go (FullReads,
 * fullReadBatch): reading after reading, with its activity counters or without, with a file gone and
 * back or unreadable, it gives what the same reader gives on NodeCgroupFs (a file at a time, open-read-close), with
 * the native corral_preads and with its fs.readSync stand-in.
 */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeCgroupFs } from '../../../src/cgroups/cgroupfs.js';
import { fullReadBatch, preadsWithNode } from '../../../src/cgroups/file-batch.js';
import { OpenFileCgroupFs } from '../../../src/cgroups/open-files.js';
import type { CgroupStats } from '../../../src/cgroups/types.js';
import { V1StatsReader } from '../../../src/cgroups/v1/stats.js';
import { V2StatsReader } from '../../../src/cgroups/v2/stats.js';
import { loadPreads } from '../../../src/sys/preads.js';
import { fixtureDir } from '../../helpers/cgroup-fixtures.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-full-reads-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A copy of captured files, plus pids.current and pids.max. */
function tree(from: string): string {
  for (const e of fs.readdirSync(from, { withFileTypes: true })) if (e.isFile()) fs.copyFileSync(path.join(from, e.name), path.join(dir, e.name));
  fs.writeFileSync(path.join(dir, 'pids.current'), '3\n');
  fs.writeFileSync(path.join(dir, 'pids.max'), '16\n');
  return dir;
}

/** The errors without their messages' wording of the same failure (open vs read). */
const errorFiles = (s: CgroupStats) => ({ ...s, errors: s.errors.map((e) => e.file) });

for (const [name, preads] of [
  ['native corral_preads', loadPreads],
  ['fs.readSync', async () => preadsWithNode],
] as const) {
  for (const mode of ['v1', 'v2'] as const) {
    test(`${mode} reader, ${name}: reading after reading equal to a file at a time`, async () => {
      const root = tree(mode === 'v1' ? fixtureDir('v1') : path.join(fixtureDir('v2'), 'guest-6.1'));
      if (mode === 'v2') {
        fs.writeFileSync(path.join(root, 'cgroup.controllers'), 'cpu memory pids\n');
        fs.writeFileSync(path.join(root, 'memory.max'), '33554432\n');
        fs.writeFileSync(path.join(root, 'memory.current'), '4096\n');
      }
      const kept = new OpenFileCgroupFs();
      const p = await preads();
      let batched = 0;
      fullReadBatch(kept).preads = (...args) => {
        batched++;
        return p(...args);
      };
      const reader = (on: NodeCgroupFs | OpenFileCgroupFs) =>
        mode === 'v1' ? new V1StatsReader(on, { cpuacct: root, cpu: root, memory: root, pids: root, blkio: root }) : new V2StatsReader(on, root);
      const fast = reader(kept);
      const plain = reader(new NodeCgroupFs());
      try {
        for (let i = 0; i < 3; i++) {
          assert.deepEqual(fast.read(), plain.read(), `reading ${i + 1}`);
          const a = fast.activity();
          assert.ok(a, 'the activity files are read');
          assert.deepEqual(fast.read(a), plain.read(), `reading ${i + 1} with its activity counters`);
        }
        fs.writeFileSync(path.join(root, 'memory.stat'), 'cache 7\n');
        assert.deepEqual(fast.read(), plain.read(), 'memory.stat changed');
        const failcnt = mode === 'v1' ? 'memory.failcnt' : 'memory.events';
        const text = fs.readFileSync(path.join(root, failcnt));
        fs.writeFileSync(path.join(root, failcnt), 'garbage\n');
        for (let i = 0; i < 2; i++) assert.deepEqual(fast.read(), plain.read(), `${failcnt} unreadable, reading ${i + 1}`);
        // gone (a kept descriptor would still read a removed regular file: cgroupfs answers ENODEV instead)
        fs.rmSync(path.join(root, failcnt));
        kept.forget(root);
        for (let i = 0; i < 2; i++) {
          const [f, p] = [fast.read(), plain.read()];
          assert.equal(f.errors.length, 1, `${failcnt} gone`);
          assert.deepEqual(errorFiles(f), errorFiles(p), `${failcnt} gone, reading ${i + 1}`);
        }
        fs.writeFileSync(path.join(root, failcnt), text);
        for (let i = 0; i < 2; i++) assert.deepEqual(fast.read(), plain.read(), `${failcnt} back, reading ${i + 1}`);
        assert.ok(batched >= 10, `the readings after the first read ahead in one go (${batched} batches)`);
      } finally {
        kept.close();
      }
    });
  }
}
