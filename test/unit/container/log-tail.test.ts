/** LogTail: the complete records appended since the last read, from a held descriptor, across a rotation and an unlink. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogTail } from '../../../src/container/log-tail.js';

const rec = (log: string, stream = 'stdout') => `${JSON.stringify({ log, stream, time: '2026-12-07T04:00:00.000000001Z' })}\n`;

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-log-tail-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'container.log');
}

test('from the end: only what is appended afterwards, a line being written once it is whole', async (t) => {
  const file = scratch(t);
  const unfinished = rec('b\n');
  fs.writeFileSync(file, rec('a\n') + unfinished.slice(0, 10));
  const tail = await LogTail.open(file, 'end');
  t.after(() => tail.close());
  assert.deepEqual(await tail.read(), []);
  fs.appendFileSync(file, unfinished.slice(10) + rec('c\n', 'stderr'));
  assert.deepEqual(
    (await tail.read()).map((r) => [r.stream, r.line]),
    [
      ['stdout', 'b\n'],
      ['stderr', 'c\n'],
    ],
  );
  assert.deepEqual(await tail.read(), []);
});

test('from the start; a file that does not exist yet is created empty, and read as the launcher appends', async (t) => {
  const file = scratch(t);
  const tail = await LogTail.open(file, 'start');
  t.after(() => tail.close());
  assert.equal(fs.statSync(file).size, 0);
  fs.appendFileSync(file, rec('x\n'));
  assert.deepEqual(
    (await tail.read()).map((r) => r.line),
    ['x\n'],
  );
});

test('a rotation: the old file to its end, then the new one from its start; an unlinked file is still read', async (t) => {
  const file = scratch(t);
  fs.writeFileSync(file, rec('1\n'));
  const tail = await LogTail.open(file, 'start');
  t.after(() => tail.close());
  assert.equal((await tail.read()).length, 1);
  fs.appendFileSync(file, rec('2\n'));
  fs.renameSync(file, `${file}.1`);
  fs.writeFileSync(file, rec('3\n'));
  assert.deepEqual(
    (await tail.read()).map((r) => r.line),
    ['2\n', '3\n'],
  );
  // AutoRemove unlinks the directory: what was appended before is still read
  fs.appendFileSync(file, rec('4\n'));
  fs.rmSync(path.dirname(file), { recursive: true });
  assert.deepEqual(
    (await tail.read()).map((r) => r.line),
    ['4\n'],
  );
});

test('a file that is not a log: the bad record is an error naming the file', async (t) => {
  const file = scratch(t);
  const tail = await LogTail.open(file, 'start');
  t.after(() => tail.close());
  fs.appendFileSync(file, 'not json\n');
  await assert.rejects(tail.read(), (err: Error) => err.message.includes(file));
});
