/** OpenFileCgroupFs: kept descriptors re-read at offset 0, given back by forget() and close(), dropped on failure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keptFilesBudget, OpenFileCgroupFs } from '../../../src/cgroups/open-files.js';
import { ownKeptFilesBudget } from '../../../src/metrics/sampler.js';

test('a kept descriptor reads the current content each time (a procfs seq_file, and a file rewritten in place)', () => {
  const ofs = new OpenFileCgroupFs();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-openfs-'));
  try {
    // /proc/self/stat changes with every read (utime, state of the reader): the same fd sees it move
    const stat1 = ofs.readSync('/proc/self/stat');
    // spin until this process has used 30 ms of CPU, not a fixed count of rounds that a fast CPU may
    // finish within one clock tick (10 ms, the resolution of utime in /proc/PID/stat)
    const cpu0 = process.cpuUsage();
    let spin = 0;
    do {
      for (let i = 0; i < 1e6; i++) spin += i;
    } while (process.cpuUsage(cpu0).user < 30_000);
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

test('past maxKept descriptors, a file is opened, read and closed each time: the reads stay right, the kept count stays at the bound', () => {
  const ofs = new OpenFileCgroupFs({ maxKept: 2 });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-openfs-'));
  const fdsOpen = () => fs.readdirSync('/proc/self/fd').length;
  try {
    const files = ['cpu.stat', 'memory.current', 'pids.current'].map((f) => path.join(tmp, f));
    files.forEach((f, i) => {
      fs.writeFileSync(f, `${i}\n`);
    });
    const before = fdsOpen();
    assert.deepEqual(
      files.map((f) => ofs.readSync(f)),
      ['0\n', '1\n', '2\n'],
    );
    assert.equal(ofs.openCount, 2);
    assert.equal(ofs.unkeptReads, 1);
    assert.equal(fdsOpen(), before + 2, 'the third file was closed after its read');
    fs.writeFileSync(files[2]!, '42\n');
    assert.equal(ofs.readSync(files[2]!), '42\n', 'an unkept file is read afresh');
    assert.equal(ofs.unkeptReads, 2);
    // a kept slot given back is taken by the next file opened
    ofs.forget(tmp);
    assert.equal(ofs.openCount, 0);
    assert.equal(ofs.readSync(files[2]!), '42\n');
    assert.equal(ofs.openCount, 1);
    assert.equal(ofs.unkeptReads, 2);
  } finally {
    ofs.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('keptFilesBudget: half the soft open-files limit; no bound when unlimited; this process has one', () => {
  assert.equal(keptFilesBudget(1024), 512);
  assert.equal(keptFilesBudget(4097), 2048);
  assert.equal(keptFilesBudget('unlimited'), Infinity);
  const own = ownKeptFilesBudget();
  assert.ok(Number.isInteger(own) && own > 0, `budget ${own}`);
  assert.equal(ownKeptFilesBudget('/nonexistent/limits'), Infinity, 'unreadable: no bound');
});
