import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compactJson, JsonSyntaxError, parseJsonExact } from '../../../../src/isolate/seccomp/json.js';

/** JSON.parse, with the integers written in digits beyond 2^53 - 1 as bigints. */
const exactly = (text: string) => JSON.parse(text, (_key, v) => (typeof v === 'number' && !Number.isSafeInteger(v) && /^-?\d+$/.test(String(v)) ? BigInt(String(v)) : v));

test('parseJsonExact reads what JSON.parse reads', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const text = JSON.stringify(value);
      assert.deepEqual(parseJsonExact(text), exactly(text));
      const pretty = JSON.stringify(value, null, 2);
      assert.deepEqual(parseJsonExact(pretty), exactly(pretty));
    }),
    { numRuns: 500 },
  );
  assert.deepEqual(parseJsonExact(' {"a": [1, -2.5e3, "x\\u00e9\\n", true, false, null], "a": {}} '), { a: {} });
  assert.deepEqual(Object.keys(parseJsonExact('{"__proto__": 1}') as object), ['__proto__']);
});

test('integers beyond 2^53 - 1 are bigints, exactly; fractions stay numbers', () => {
  assert.deepEqual(parseJsonExact('[9007199254740991, 9007199254740992, 18446744073709551615, -9223372036854775808, 1e300, 1.5]'), [
    9007199254740991,
    9007199254740992n,
    18446744073709551615n,
    -9223372036854775808n,
    1e300,
    1.5,
  ]);
});

test('bad JSON is a JsonSyntaxError saying what and where', () => {
  const table: [string, string][] = [
    ['', 'expected a value: unexpected end of the text at offset 0'],
    ['{"a": 1,}', 'expected a string key: unexpected "}" at offset 8'],
    ['[1 2]', 'expected "," or "]": unexpected "2" at offset 3'],
    ['{"a" 1}', 'expected ":": unexpected "1" at offset 5'],
    ['"a\tb"', 'bad string: unexpected "\\"" at offset 0'],
    ['01', 'expected the end of the text: unexpected "1" at offset 1'],
    ['{} x', 'expected the end of the text: unexpected "x" at offset 3'],
    ['nul', 'expected a value: unexpected "n" at offset 0'],
  ];
  for (const [text, message] of table) {
    assert.throws(
      () => parseJsonExact(text),
      (err: unknown) => err instanceof JsonSyntaxError && err.message === message,
      text,
    );
  }
  assert.throws(() => parseJsonExact('['.repeat(600)), /nested too deeply/);
});

test("compactJson drops the whitespace between tokens, as Go's json.Compact, keeping strings and numbers as written", () => {
  assert.equal(compactJson('{\n  "a" : [ 1 , 18446744073709551615, 1.50 ],\r\n\t"b c": "x \\" y" }\n'), '{"a":[1,18446744073709551615,1.50],"b c":"x \\" y"}');
  assert.throws(() => compactJson('{"a": }'), JsonSyntaxError);
});
