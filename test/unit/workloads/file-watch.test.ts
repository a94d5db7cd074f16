/** The workloads file watch on a real temp directory (inotify through chokidar): each way editors save. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchFile } from '../../../src/workloads/file-watch.js';

async function until(what: string, fn: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Inotify watches of this process: one line per watch in /proc/self/fdinfo of each inotify fd. */
function inotifyWatches(): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:inotify') continue;
      n += fs
        .readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('inotify ')).length;
    } catch {
      // the fd closed while we looked
    }
  }
  return n;
}

test('in-place writes, rename-over saves, delete and re-create: each burst is one change; other files are ignored; close ends it without leaks', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-watch-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'w.yml');
  fs.writeFileSync(file, 'a\n');
  const watchesBefore = inotifyWatches();
  let changes = 0;
  const errors: Error[] = [];
  const watch = await watchFile(file, { onChange: () => changes++, onError: (e) => errors.push(e), debounceMs: 100 });
  try {
    assert.ok(inotifyWatches() > watchesBefore, 'the watch is an inotify watch (so that the leak check below means something)');
    // in place, twice in one burst: one change
    fs.writeFileSync(file, 'b\n');
    fs.appendFileSync(file, 'c\n');
    await until('a change after an in-place write', () => changes === 1);
    // an editor's atomic save: write a temp file, rename it over
    fs.writeFileSync(`${file}.tmp`, 'd\n');
    fs.renameSync(`${file}.tmp`, file);
    await until('a change after a rename-over', () => changes === 2);
    // delete and re-create (unlink + add)
    fs.unlinkSync(file);
    fs.writeFileSync(file, 'e\n');
    await until('a change after delete + create', () => changes === 3);
    // another file in the directory is not the workloads file
    fs.writeFileSync(path.join(dir, 'other.yml'), 'x\n');
    await sleep(400);
    assert.equal(changes, 3);
    // removal alone is a change too (the reconcile then reports the file missing)
    fs.unlinkSync(file);
    await until('a change after removal', () => changes === 4);
    assert.deepEqual(errors, []);
  } finally {
    await watch.close();
    await watch.close(); // idempotent
  }
  fs.writeFileSync(file, 'f\n');
  await sleep(300);
  assert.equal(changes, 4, 'no change after close');
  assert.equal(inotifyWatches(), watchesBefore, 'close removed its inotify watches');
});
