/**
 * Docker's generated names (moby's namesgenerator): `adjective_surname`, a digit appended on each
 * retry, never boring_wozniak; claimed as moby's generateAndReserveName claims them (six tries, then
 * the short id).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADJECTIVES, GENERATED_NAME_TRIES, SURNAMES, generateName, type RandomIndex } from '../../../src/container/names-generator.js';
import { NAME_PATTERN } from '../../../src/container/ids.js';
import { claimGeneratedName, claimName } from '../../../src/container/store.js';

/** A random source that gives these indexes in turn (then the last one again). */
function scripted(...indexes: number[]): RandomIndex {
  let i = 0;
  return (n) => {
    const v = indexes[Math.min(i++, indexes.length - 1)]!;
    assert.ok(v < n, `index ${v} within ${n}`);
    return v;
  };
}

test("the word lists: lower-case words without digits or underscores, each once, as moby's", () => {
  for (const list of [ADJECTIVES, SURNAMES]) {
    assert.ok(list.length >= 50, `${list.length} words`);
    for (const w of list) assert.match(w, /^[a-z]+$/);
    assert.equal(new Set(list).size, list.length);
  }
  // the two of moby's rule are in the lists, so that the rule matters here too
  assert.ok(ADJECTIVES.includes('boring') && SURNAMES.includes('wozniak'));
});

test('a first name is adjective_surname; a retry appends one digit; every name passes the name rule', () => {
  for (let i = 0; i < 2000; i++) {
    const first = generateName(0);
    const m = /^([a-z]+)_([a-z]+)$/.exec(first);
    assert.ok(m, first);
    assert.ok(ADJECTIVES.includes(m[1]!) && SURNAMES.includes(m[2]!), first);
    assert.match(first, NAME_PATTERN);
    const retried = generateName(1 + (i % 5));
    assert.match(retried, /^[a-z]+_[a-z]+[0-9]$/);
    assert.match(retried, NAME_PATTERN);
  }
  assert.equal(generateName(0, scripted(1, 2)), `${ADJECTIVES[1]}_${SURNAMES[2]}`);
  assert.equal(generateName(3, scripted(0, 0, 7)), `${ADJECTIVES[0]}_${SURNAMES[0]}7`);
});

test('boring_wozniak is never generated: the pair is drawn again', () => {
  const boring = ADJECTIVES.indexOf('boring');
  const wozniak = SURNAMES.indexOf('wozniak');
  assert.equal(generateName(0, scripted(boring, wozniak, 0, 0)), `${ADJECTIVES[0]}_${SURNAMES[0]}`);
  // boring with another surname is fine, as in moby
  assert.equal(generateName(0, scripted(boring, 0)), `boring_${SURNAMES[0]}`);
  assert.equal(generateName(2, scripted(boring, wozniak, boring, wozniak, 1, 1, 4)), `${ADJECTIVES[1]}_${SURNAMES[1]}4`);
});

test('claimGeneratedName: a taken name is retried with a digit; after six taken tries, the short id', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-names-'));
  try {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const c = 'c'.repeat(64);
    const first = `${ADJECTIVES[0]}_${SURNAMES[0]}`;
    await claimName(root, first, a);
    // the first try collides; the second gets the digit
    assert.equal(await claimGeneratedName(root, b, scripted(0, 0, 0, 0, 5)), `${first}5`);
    assert.equal(path.basename(fs.readlinkSync(path.join(root, 'names', `${first}5`))), b);
    // every try the same taken names: the short id, as moby falls back to stringid.TruncateID
    for (let d = 0; d < 10; d++) if (d !== 5) await claimName(root, `${first}${d}`, a);
    assert.equal(GENERATED_NAME_TRIES, 6);
    assert.equal(await claimGeneratedName(root, c, () => 0), c.slice(0, 12));
    assert.equal(path.basename(fs.readlinkSync(path.join(root, 'names', c.slice(0, 12)))), c);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
