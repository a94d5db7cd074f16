/** OpenFileCgroupFs: kept descriptors re-read at offset 0, given back by forget() and close(), dropped on failure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OpenFileCgroupFs } from '../../../src/cgroups/open-files.js';

test('a kept descriptor reads the current content each time (a procfs seq_file, and a file rewritten in place)', () => {
  const ofs = new OpenFileCgroupFs();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-openfs-'));
  try {
    // /proc/self/stat changes with every read (utime, state of the reader): the same fd sees it move
    const stat1 = ofs.readSync('/proc/self/stat');
    let spin = 0;
    for (let i = 0; i < 3e7; i++) spin += i;
    assert.ok(spin > 0);
    const stat2 = ofs.readSync('/proc/self/stat');
    assert.equal(ofs.openCount, 1, 'one descriptor for both reads');
    assert.notEqual(stat1, stat2);
    const file = path.join(tmp, 'memory.current');
    fs.writeFileSync(file, '4096\n');
    assert.equal(ofs.readSync(file), '4096\n');
    fs.writeFileSync(file, '123456789\n');
    assert.equal(ofs.readSync(file), '123456789\n');
    fs.writeFileSync(file, '7\n');
    assert.equal(ofs.readSync(file), '7\n', 'a shorter content is not mixed with the longer one before');
    const big = 'x'.repeat(40_000) + '\n';
    fs.writeFileSync(path.join(tmp, 'io.stat'), big);
    assert.equal(ofs.readSync(path.join(tmp, 'io.stat')), big, 'larger than the first buffer');
    assert.equal(ofs.openCount, 3);
    ofs.forget(tmp);
    assert.equal(ofs.openCount, 1, 'forget(dir) closes the files in dir');
    ofs.close();
    assert.equal(ofs.openCount, 0);
  } finally {
    ofs.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a failing read is a CgroupFileError naming the file, and keeps no descriptor', async () => {
  const ofs = new OpenFileCgroupFs();
  const missing = path.join(os.tmpdir(), `corral-openfs-missing-${process.pid}`, 'memory.peak');
  assert.throws(() => ofs.readSync(missing), { code: 'ECGROUPFILE', message: `read ${missing}: ENOENT` });
  await assert.rejects(ofs.read(missing), { message: `read ${missing}: ENOENT` });
  assert.equal(ofs.openCount, 0);
  assert.throws(() => ofs.readSync(os.tmpdir()), { message: `read ${os.tmpdir()}: EISDIR` });
  assert.equal(ofs.openCount, 0, 'the descriptor opened for the failed read is closed');
});
