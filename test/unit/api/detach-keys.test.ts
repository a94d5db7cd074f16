import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DETACH_KEYS, DetachScanner, parseDetachKeys } from '../../../src/api/detach-keys.js';

test("parseDetachKeys: Docker's syntax (ctrl-<letter or @[\\]^_>, single characters, commas); empty is ctrl-p,ctrl-q", () => {
  assert.deepEqual(parseDetachKeys(null), [...DEFAULT_DETACH_KEYS]);
  assert.deepEqual(parseDetachKeys(''), [16, 17]);
  assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
  assert.deepEqual(parseDetachKeys('ctrl-a,x,ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_'), [1, 120, 0, 27, 28, 29, 30, 31]);
  assert.deepEqual(parseDetachKeys('CTRL-X'), [24]);
  for (const bad of ['ctrl-1', 'ctrl-', 'ab', 'ctrl-p,,ctrl-q', 'é']) {
    assert.throws(
      () => parseDetachKeys(bad),
      (err: Error) => err.message.startsWith(`invalid detachKeys ${JSON.stringify(bad)}`),
      bad,
    );
  }
});

test('DetachScanner: the sequence is held back and detaches; a sequence broken off is passed on whole; split across chunks', () => {
  const scan = (chunks: string[], keys = [16, 17]) => {
    const s = new DetachScanner(keys);
    let out = '';
    for (const c of chunks) {
      const r = s.push(Buffer.from(c, 'latin1'));
      out += r.forward.toString('latin1');
      if (r.detached) return { out, detached: true };
    }
    return { out, detached: false };
  };
  assert.deepEqual(scan(['ls\r']), { out: 'ls\r', detached: false });
  assert.deepEqual(scan(['ab\x10\x11cd']), { out: 'ab', detached: true });
  assert.deepEqual(scan(['ab\x10', '\x11']), { out: 'ab', detached: true });
  // ctrl-p alone reaches the container (with the byte after it)
  assert.deepEqual(scan(['\x10x']), { out: '\x10x', detached: false });
  // ctrl-p ctrl-p ctrl-q: the first is passed on, the second begins the sequence
  assert.deepEqual(scan(['\x10\x10\x11']), { out: '\x10', detached: true });
  // held at the end of a chunk, released by the next
  assert.deepEqual(scan(['a\x10', 'b']), { out: 'a\x10b', detached: false });
  // a single key
  assert.deepEqual(scan(['xy\x1dz'], [29]), { out: 'xy', detached: true });
});
