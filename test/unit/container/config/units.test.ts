import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../../../src/errors.js';
import { MAX_SIZE, parseByteSize, SIZE_SYNTAX, tryParseByteSize } from '../../../../src/container/config/units.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

// Docker's go-units RAMInBytes: binary multiples, case-insensitive, optional b / ib after the unit.
const good: [string, number][] = [
  ['0', 0],
  ['1', 1],
  ['123456', 123456],
  ['32b', 32],
  ['32B', 32],
  ['1k', KiB],
  ['1K', KiB],
  ['1kb', KiB],
  ['1KB', KiB],
  ['1kib', KiB],
  ['1KiB', KiB],
  ['32m', 32 * MiB],
  ['32M', 32 * MiB],
  ['32mb', 32 * MiB],
  ['32MiB', 32 * MiB],
  ['2g', 2 * GiB],
  ['2gb', 2 * GiB],
  ['2GiB', 2 * GiB],
  ['1t', 1024 * GiB],
  ['1tb', 1024 * GiB],
  ['1p', 2 ** 50],
  ['1.5k', 1536],
  ['0.1k', 102], // Docker truncates to whole bytes
  ['.5m', MiB / 2],
  ['1.', 1],
  ['1.5', 1], // a fraction of a byte is truncated, as Docker does
  ['32 m', 32 * MiB], // Docker allows one space before the unit
  ['007m', 7 * MiB],
  ['7p', 7 * 2 ** 50],
  [String(MAX_SIZE), MAX_SIZE],
];

for (const [text, bytes] of good) {
  test(`size "${text}" is ${bytes} bytes`, () => {
    assert.deepEqual(tryParseByteSize(text), { ok: true, bytes });
    assert.equal(parseByteSize('--memory', text), bytes);
  });
}

const bad: [string, string][] = [
  ['', 'not a size'],
  ['m', 'not a size'],
  ['abc', 'not a size'],
  ['1.2.3', 'not a size'],
  ['1e6', 'not a size'], // go-units' ParseFloat reads an exponent; corral does not
  ['0x10', 'not a size'],
  ['32x', 'unknown unit "x"'],
  ['32mm', 'unknown unit "mm"'],
  ['32mbb', 'unknown unit "mbb"'],
  ['32bb', 'unknown unit "bb"'],
  ['32kB2', 'not a size'],
  ['32  m', 'not a size'],
  [' 32m', 'not a size'],
  ['-1', 'a size cannot be negative'],
  ['-32m', 'a size cannot be negative'],
  ['+32m', 'not a size'],
  ['8p', `too large: the largest size allowed is ${MAX_SIZE} bytes`],
  ['9007199254740992', `too large: the largest size allowed is ${MAX_SIZE} bytes`],
  ['99999999999999999999999g', `too large: the largest size allowed is ${MAX_SIZE} bytes`],
];

for (const [text, reason] of bad) {
  test(`size "${text}" is refused: ${reason}`, () => {
    assert.deepEqual(tryParseByteSize(text), { ok: false, reason });
    assert.throws(
      () => parseByteSize('--memory', text),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.equal(error.message, `invalid value "${text}" for --memory: ${reason}; expected ${SIZE_SYNTAX}`);
        assert.equal(error.flag, '--memory');
        assert.equal(error.value, text);
        assert.equal(error.code, 'EINVALIDARG');
        return true;
      },
    );
  });
}

test('"32 " with a trailing space is 32 bytes, as in Docker', () => {
  assert.deepEqual(tryParseByteSize('32 '), { ok: true, bytes: 32 });
});

test("parseByteSize puts the caller's expectation in the message", () => {
  assert.throws(() => parseByteSize('--memory-swap', '1q', 'a size or -1'), {
    message: 'invalid value "1q" for --memory-swap: unknown unit "q"; expected a size or -1',
  });
});
