import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSizeExact, formatSizeRounded, humanDuration } from '../../../src/container/format.js';

test('formatSizeRounded prints limits the way Docker does', () => {
  const table: [number, string][] = [
    [0, '0B'],
    [512, '512B'],
    [32 * 1024 * 1024, '32MiB'],
    [1536 * 1024 * 1024, '1.5GiB'],
    [6 * 1024 * 1024 + 1, '6MiB'],
    [1024 ** 4, '1TiB'],
  ];
  for (const [bytes, text] of table) assert.equal(formatSizeRounded(bytes), text, String(bytes));
});

test('humanDuration is go-units\' HumanDuration, as in "Up 5 minutes"', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  const table: [number, string][] = [
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [s, '1 second'],
    [59 * s, '59 seconds'],
    [60 * s, 'About a minute'],
    [119 * s, 'About a minute'],
    [2 * m, '2 minutes'],
    [59 * m, '59 minutes'],
    [60 * m, 'About an hour'],
    [89 * m, 'About an hour'],
    [90 * m, '2 hours'],
    [47 * h, '47 hours'],
    [48 * h, '2 days'],
    [13 * d, '13 days'],
    [14 * d, '2 weeks'],
    [59 * d, '8 weeks'],
    [60 * d, '2 months'],
    [729 * d, '24 months'],
    [730 * d, '2 years'],
  ];
  for (const [ms, text] of table) assert.equal(humanDuration(ms), text, String(ms));
});

test('formatSizeExact names whole binary units, else bytes', () => {
  const KiB = 1024;
  const MiB = 1024 * KiB;
  const GiB = 1024 * MiB;
  const cases: [number, string][] = [
    [0, '0 bytes'],
    [1, '1 byte'],
    [1023, '1023 bytes'],
    [KiB, '1KiB'],
    [1536, '1536 bytes'],
    [6 * MiB, '6MiB'],
    [1536 * MiB, '1536MiB'],
    [2 * GiB, '2GiB'],
    [2 ** 50, '1PiB'],
  ];
  for (const [bytes, text] of cases) assert.equal(formatSizeExact(bytes), text);
});
