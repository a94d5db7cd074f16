/** v1 freezer: a freeze that takes longer than runc's 1000 quick attempts still completes; one that never does fails in time, thawed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freeze } from '../../../src/cgroups/v1/freezer.js';
import type { CgroupFs } from '../../../src/cgroups/cgroupfs.js';

/** A freezer.state that reads FREEZING after FROZEN is written, until `stopsAfterMs` have passed (never, for Infinity). */
function slowFreezer(stopsAfterMs: number): { fs: CgroupFs; writes: string[] } {
  const start = performance.now();
  let written = 'THAWED';
  const writes: string[] = [];
  const fs = {
    read: async () => (written === 'FROZEN' ? (performance.now() - start >= stopsAfterMs ? 'FROZEN\n' : 'FREEZING\n') : `${written}\n`),
    write: async (_path: string, value: string) => {
      written = value;
      writes.push(value);
    },
  } as unknown as CgroupFs;
  return { fs, writes };
}

test('a freeze that takes 1.2 s on a busy machine (beyond runc-style 1000 attempts) completes', async () => {
  const { fs, writes } = slowFreezer(1200);
  await freeze(fs, '/fake/freezer/c1');
  assert.equal(writes.at(-1), 'FROZEN');
  assert.ok(writes.length > 1000, `it kept trying: ${writes.length} writes`);
});

test('a freeze that never completes fails after its time, naming the cgroup, and leaves it thawed', async () => {
  const { fs, writes } = slowFreezer(Infinity);
  const started = performance.now();
  await assert.rejects(freeze(fs, '/fake/freezer/c1', 1500), { code: 'EFREEZE', message: /^freeze \/fake\/freezer\/c1: freezer.state still FREEZING after 1500 ms \(\d+ attempts\); thawed again$/ });
  assert.ok(performance.now() - started >= 1500);
  assert.equal(writes.at(-1), 'THAWED');
});
