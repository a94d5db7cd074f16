import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCpuTicks, parseKiBField } from '../../../bench/proc.js';

const fixture = (name: string) => fs.readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/proc/${name}`, import.meta.url)), 'utf8');

test('KiB fields of /proc/<pid>/status and smaps_rollup, as captured from a kernel', () => {
  assert.equal(parseKiBField(fixture('status.txt'), 'VmRSS'), 1780);
  assert.equal(parseKiBField(fixture('smaps_rollup.txt'), 'Rss'), 1776);
  assert.equal(parseKiBField(fixture('smaps_rollup.txt'), 'Pss'), 205);
  assert.equal(parseKiBField(fixture('status.txt'), 'VmNothing'), undefined);
  // a field name that is a prefix of another does not match it
  assert.equal(parseKiBField('VmRSSX:\t 5 kB\n', 'VmRSS'), undefined);
});

test('utime + stime of a stat line, a comm with spaces and parentheses included', () => {
  const line = '4242 (we (ird) name) S 1 4242 4242 0 -1 4194560 120 0 0 0 37 5 0 0 20 0 1 0 12345 1000 100 18446744073709551615';
  assert.equal(parseCpuTicks(line), 42);
  assert.throws(() => parseCpuTicks('garbage'), /not a \/proc\/<pid>\/stat line/);
});
