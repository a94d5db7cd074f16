/**
 * FileBatch: a chunk's activity files read in one go on the descriptors OpenFileCgroupFs keeps, with
 * the native corral_preads (native/libcorral-sample.so, built by `npm run build`) and with its
 * fs.readSync stand-in, which must agree byte for byte and errno for errno.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileBatch, BatchFiles, preadsWithNode } from '../../../src/cgroups/file-batch.js';
import { OpenFileCgroupFs } from '../../../src/cgroups/open-files.js';
import { loadPreads, SAMPLE_LIBRARY } from '../../../src/sys/preads.js';
import type { Preads } from '../../../src/sys/preads.js';

let dir: string;
let ofs: OpenFileCgroupFs;
const file = (name: string) => path.join(dir, name);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-batch-'));
  fs.writeFileSync(file('cpuacct.usage'), '162540060\n');
  fs.writeFileSync(file('memory.usage_in_bytes'), '602112\n');
  // past one pread's SURELY_WHOLE: read on to the end
  fs.writeFileSync(file('memory.stat'), `${'total_cache 131072\n'.repeat(200)}`);
  ofs = new OpenFileCgroupFs();
});

afterEach(() => {
  ofs.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function native(): Promise<Preads> {
  assert.ok(fs.existsSync(SAMPLE_LIBRARY), `${SAMPLE_LIBRARY} is missing: run npm run build (make -C native builds it)`);
  return loadPreads();
}

const implementations: [string, () => Promise<Preads>][] = [
  ['native corral_preads', native],
  ['fs.readSync', async () => preadsWithNode],
];

for (const [name, load] of implementations) {
  describe(`FileBatch with ${name}`, () => {
    test('reads the kept files of each source, compares them, and copies a reading out', async () => {
      const batch = new FileBatch(ofs, await load());
      const a = new BatchFiles([file('cpuacct.usage'), file('memory.usage_in_bytes')]);
      const b = new BatchFiles([file('memory.stat')]);
      for (const f of [...a.files, ...b.files]) ofs.readBytesSync(f); // kept from a first reading
      batch.read([a, undefined, b]);
      assert.equal(batch.has(0), true);
      assert.equal(batch.has(1), false, 'no source: not in the batch');
      assert.equal(batch.has(2), true);
      const first = batch.reading(0);
      assert.equal(first.files, a.files);
      assert.equal(Buffer.from(first.bytes).toString(), '162540060\n602112\n');
      assert.deepEqual(first.ends, [10, 17]);
      assert.equal(Buffer.from(batch.reading(2).bytes).toString(), fs.readFileSync(file('memory.stat'), 'utf8'));
      assert.equal(batch.same(0, first), true);

      fs.writeFileSync(file('memory.usage_in_bytes'), '606208\n');
      batch.read([a, undefined, b]);
      assert.equal(batch.same(0, first), false, 'the memory charge moved');
      assert.equal(batch.same(2, first), false, 'other files');
      fs.writeFileSync(file('memory.usage_in_bytes'), '60211\n');
      batch.read([a]);
      assert.equal(batch.same(0, first), false, 'shorter, with the same first bytes');
    });

    test('a source whose files are not all kept is left out until they are', async () => {
      const batch = new FileBatch(ofs, await load());
      const a = new BatchFiles([file('cpuacct.usage'), file('memory.usage_in_bytes')]);
      ofs.readBytesSync(file('cpuacct.usage'));
      batch.read([a]);
      assert.equal(batch.has(0), false);
      ofs.readBytesSync(file('memory.usage_in_bytes')); // what the reader's activity() does meanwhile
      batch.read([a]);
      assert.equal(batch.has(0), true);
      ofs.forget(dir); // the container went away: its descriptors are closed, and not used again
      batch.read([a]);
      assert.equal(batch.has(0), false);
    });

    test('a file that fails is not in the batch; a file larger than its buffer neither, until it has grown', async () => {
      const batch = new FileBatch(ofs, await load());
      fs.writeFileSync(file('big'), 'x'.repeat(40_000));
      const big = new BatchFiles([file('big')]);
      ofs.readBytesSync(file('big'));
      batch.read([big]);
      assert.equal(batch.has(0), false, 'ENOBUFS');
      batch.read([big]);
      batch.read([big]);
      assert.equal(batch.has(0), true, 'the buffer grew');
      assert.equal(batch.reading(0).bytes.length, 40_000);
    });
  });
}

test('the native corral_preads and its fs.readSync stand-in agree, errnos included', async () => {
  const preads = await native();
  const dirFd = fs.openSync(dir, 'r');
  try {
    const fds = Int32Array.from([fs.openSync(file('cpuacct.usage'), 'r'), -1, dirFd, fs.openSync(file('memory.stat'), 'r')]);
    const run = (p: Preads, cap: number) => {
      const buf = Buffer.alloc(cap);
      const ends = new Int32Array(4);
      const errnos = new Int32Array(4);
      const used = p(fds, 4, buf, ends, errnos);
      return { used, ends: [...ends], errnos: [...errnos], bytes: buf.subarray(0, used).toString('latin1') };
    };
    for (const cap of [64 * 1024, 3000, 12]) assert.deepEqual(run(preads, cap), run(preadsWithNode, cap), `a buffer of ${cap} bytes`);
    const { errnos } = run(preads, 64 * 1024);
    assert.deepEqual(errnos, [0, os.constants.errno.EBADF, os.constants.errno.EISDIR, 0]);
    for (const fd of [fds[0]!, fds[3]!]) fs.closeSync(fd);
  } finally {
    fs.closeSync(dirFd);
  }
});
