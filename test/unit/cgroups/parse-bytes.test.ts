/**
 * The byte parsers (parse-bytes.ts) give what their string parsers give, value or error, on every
 * captured kernel file (test/fixtures/cgroup) and on each of them bent out of the kernel's own form
 * (blanks, blank lines, a missing or doubled newline, signs, leading zeros, long numbers), with and
 * without a memo of keys, a memo carried from another file included.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { integerIn, latin1, parseBlkioStatBytes, parseCpuacctUsageAllBytes, parseFlatKeyedBytes, parseNumberBytes, parseSingleValueBytes, viaText } from '../../../src/cgroups/parse-bytes.js';
import { integerAt, parseBlkioStat, parseCpuacctUsageAll, parseFlatKeyed, parseNumber, parsePressure, parseSingleValue } from '../../../src/cgroups/parse.js';
import { FIXTURES } from '../../helpers/cgroup-fixtures.js';

/** Every captured file, by its path under test/fixtures/cgroup. */
function capturedFiles(dir = FIXTURES): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...capturedFiles(p));
    else if (e.name !== 'README.md') out.push({ name: path.relative(FIXTURES, p), text: fs.readFileSync(p, 'latin1') });
  }
  return out;
}

/** The text bent out of the kernel's form in the ways the string parsers accept or refuse. */
function variants(text: string): string[] {
  const lines = text.split('\n');
  return [
    text,
    text.replace(/\n$/, ''),
    `${text}\n`,
    `\n${text}`,
    text.replace(/ /g, '\t'),
    text.replace(/ /g, '  '),
    text.replace(/\n/g, ' \n'),
    lines.map((l) => ` ${l}`).join('\n'),
    lines.slice(0, 2).join('\n\n') + (lines.length > 2 ? `\n${lines.slice(2).join('\n')}` : ''),
    text.replace(/(\d+)/, '-$1'),
    text.replace(/(\d+)/, '0$1'),
    text.replace(/ (\d+)/, ' 12345678901234567890123'),
    text.replace(/(\d+)/, '$1x'),
    text.replace(/(\d+)\n/, 'max\n'),
    text.replace(/[0-9]/g, (d) => String((Number(d) + 3) % 10)),
    `${lines[0]}\n`,
    '',
    '\n',
  ];
}

/** The value, or the error's class and message. */
function outcome(fn: () => unknown): unknown {
  try {
    return { value: fn() };
  } catch (err) {
    return { error: (err as Error).constructor.name, message: (err as Error).message };
  }
}

/** The bytes of `text` inside a larger buffer, as a pread leaves them (a view at an offset). */
function bytesOf(text: string): Uint8Array {
  const whole = Buffer.from(`xx${text}yy`, 'latin1');
  return whole.subarray(2, 2 + text.length);
}

const captured = capturedFiles();

const pairs: [string, (b: Uint8Array, p?: string) => unknown, (t: string, p?: string) => unknown][] = [
  ['parseSingleValueBytes', parseSingleValueBytes, parseSingleValue],
  ['parseNumberBytes', parseNumberBytes, parseNumber],
  ['parseFlatKeyedBytes', (b, p) => parseFlatKeyedBytes(b, p), (t, p) => parseFlatKeyed(t, p)],
  ['parseCpuacctUsageAllBytes', parseCpuacctUsageAllBytes, parseCpuacctUsageAll],
  ['parseBlkioStatBytes', (b, p) => parseBlkioStatBytes(b, p), parseBlkioStat],
  ['viaText(parsePressure)', viaText(parsePressure), parsePressure],
];

describe('the byte parsers equal the string parsers', () => {
  test(`on the ${captured.length} captured files`, () => assert.ok(captured.length >= 50));
  for (const [name, bytesParser, textParser] of pairs) {
    test(`${name}: every captured file, as captured and bent`, () => {
      for (const file of captured) {
        for (const text of variants(file.text)) {
          assert.deepEqual(
            outcome(() => bytesParser(bytesOf(text), file.name)),
            outcome(() => textParser(text, file.name)),
            `${file.name}: ${JSON.stringify(text.slice(0, 80))}`,
          );
        }
      }
    });
  }

  test('parseFlatKeyedBytes and parseBlkioStatBytes with a memo carried from file to file (the sampler re-reads with one)', () => {
    const keys: string[] = [];
    const ops: string[] = [];
    for (const file of captured) {
      for (const text of variants(file.text)) {
        // twice: the memo filled by the first reading serves the second
        for (let i = 0; i < 2; i++) {
          assert.deepEqual(
            outcome(() => parseFlatKeyedBytes(bytesOf(text), file.name, keys)),
            outcome(() => parseFlatKeyed(text, file.name)),
            file.name,
          );
          assert.deepEqual(
            outcome(() => parseBlkioStatBytes(bytesOf(text), file.name, ops)),
            outcome(() => parseBlkioStat(text, file.name)),
            file.name,
          );
        }
      }
    }
  });

  test('a memo key found again at its line is the same string: no new string per reading', () => {
    const keys: string[] = [];
    const text = fs.readFileSync(path.join(FIXTURES, 'v1', 'memory.stat'), 'latin1');
    const first = Object.keys(parseFlatKeyedBytes(bytesOf(text), undefined, keys));
    assert.deepEqual(first, keys);
    const again = parseFlatKeyedBytes(bytesOf(text.replace(/\d+/g, '7')), undefined, keys);
    assert.deepEqual(Object.keys(again), first);
    assert.ok(Object.values(again).every((v) => v === 7));
  });
});

describe('integerIn', () => {
  test('is integerAt on bytes, for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789-+ x.\n') }), fc.nat(30), fc.nat(30), (text, a, b) => {
        const start = Math.min(a, b, text.length);
        const end = Math.min(Math.max(a, b), text.length);
        assert.ok(Object.is(integerIn(Buffer.from(text, 'latin1'), start, end), integerAt(text, start, end)));
      }),
    );
  });

  test('long numbers round once, as Number() does', () => {
    assert.equal(integerIn(Buffer.from('9223372036854771712'), 0, 19), Number('9223372036854771712'));
    assert.equal(latin1(Buffer.from('abc'), 1), 'bc');
  });
});
