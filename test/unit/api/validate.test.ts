import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkFields,
  dropUnknownFields,
  rejectNulBytes,
  checkNewContainerName,
  matchesFilterPattern,
  parseContainerRef,
  parseFilters,
  queryBool,
  queryInt,
  type ObjectSchema,
} from '../../../src/api/validate.js';
import { ApiError } from '../../../src/api/errors.js';

const ID = 'fb8a59bd6942b32e57ece47de8430cf42e39b92c285a971b208838ab7156f0e1';

function rejects(fn: () => unknown, status: number, message: string) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    assert.equal(err.status, status);
    assert.equal(err.message, message);
    return true;
  });
}

test('container references: IDs, ID prefixes, names (with an optional leading slash)', () => {
  const table: [string, { idPrefix?: string; name?: string }][] = [
    [ID, { idPrefix: ID, name: ID }], // hex digits are also a name; resolution tries the full ID first
    ['fb8a', { idPrefix: 'fb8a', name: 'fb8a' }],
    ['a', { idPrefix: 'a' }], // a one-character prefix, but too short for a name
    ['web', { name: 'web' }],
    ['/web', { name: 'web' }],
    ['my_app.v2-x', { name: 'my_app.v2-x' }],
    ['FB8A', { name: 'FB8A' }], // IDs are lower case; this can only be a name
    ['x'.repeat(128), { name: 'x'.repeat(128) }],
  ];
  for (const [text, want] of table) assert.deepEqual(parseContainerRef(text), { text, ...want }, text);
});

test('path-like and other impossible references are a 400 before any file is touched', () => {
  const expected = (shown: string) => `invalid container name or ID ${shown}: expected a container ID (64 hex digits), a unique prefix of one, or a name matching [a-zA-Z0-9][a-zA-Z0-9_.-]+`;
  for (const bad of ['..', '../x', '.', '/', '//web', 'a/b', 'x y', '-x', '_x', '.x', 'web\0', '', 'x'.repeat(129), 'ü1', 'web%2F']) {
    rejects(() => parseContainerRef(bad), 400, expected(JSON.stringify(bad.length > 80 ? `${bad.slice(0, 80)}...` : bad)));
  }
});

test("create names follow Docker's rule, with Docker's message", () => {
  assert.equal(checkNewContainerName('web'), 'web');
  assert.equal(checkNewContainerName('/web'), 'web');
  for (const bad of ['a', '../x', 'a b', '']) rejects(() => checkNewContainerName(bad), 400, `Invalid container name (${bad}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
});

test("boolean query parameters: Docker's BoolValue", () => {
  const table: [string, boolean][] = [
    ['', false],
    ['all=', false],
    ['all=0', false],
    ['all=no', false],
    ['all=FALSE', false],
    ['all=none', false],
    ['all=%20false%20', false],
    ['all=1', true],
    ['all=true', true],
    ['all=yes', true],
    ['all=anything', true],
  ];
  for (const [q, want] of table) assert.equal(queryBool(new URLSearchParams(q), 'all'), want, q);
});

test('integer query parameters: in range, or a 400 naming the parameter', () => {
  const table: [string, number | undefined][] = [
    ['', undefined],
    ['limit=', undefined],
    ['limit=0', 0],
    ['limit=-1', -1],
    ['limit=%2B5', 5],
    ['limit=25', 25],
  ];
  for (const [q, want] of table) assert.equal(queryInt(new URLSearchParams(q), 'limit', -1, 100), want, q);
  for (const bad of ['x', '1.5', '1e3', '-2', '101', '99999999999999999', ' 1']) {
    rejects(() => queryInt(new URLSearchParams({ limit: bad }), 'limit', -1, 100), 400, `invalid value ${JSON.stringify(bad)} for query parameter "limit": expected an integer from -1 to 100`);
  }
});

test("filters: both of Docker's JSON forms", () => {
  const table: [string | null, [string, string[]][]][] = [
    [null, []],
    ['', []],
    ['{}', []],
    ['{"name":{"web":true}}', [['name', ['web']]]],
    ['{"name":["web","db"]}', [['name', ['web', 'db']]]],
    ['{"status":{"exited":true,"running":false}}', [['status', ['exited']]]],
    ['{"id":[]}', []],
  ];
  for (const [text, want] of table) assert.deepEqual([...parseFilters(text)], want, String(text));
});

test('bad filters are a 400 with the reason', () => {
  const table: [string, string][] = [
    ['[1]', 'invalid filters: expected a JSON object, not an array'],
    ['"x"', 'invalid filters: expected a JSON object, not a string'],
    ['{"name":"web"}', 'invalid filters: "name" must be an object or an array of strings, not a string'],
    ['{"name":[1]}', 'invalid filters: the values of "name" must be strings'],
    ['{"name":{"web":1}}', 'invalid filters: the values of "name" must map to true'],
    [JSON.stringify({ name: Array.from({ length: 257 }, (_, i) => `n${i}`) }), 'invalid filters: more than 256 values'],
  ];
  for (const [text, message] of table) rejects(() => parseFilters(text), 400, message);
  assert.throws(
    () => parseFilters('{'),
    (err: unknown) => err instanceof ApiError && err.status === 400 && err.message.startsWith('invalid filters: '),
  );
});

test('name and ID filter patterns: literal substrings with ^ and $ anchors, never a regular expression', () => {
  const table: [string, string, boolean][] = [
    ['web', '/web', true],
    ['eb', '/web', true],
    ['^/web$', '/web', true],
    ['^/web$', '/web2', false],
    ['^web', '/web', false], // Docker's names start with "/"
    ['^/we', '/web', true],
    ['eb$', '/web', true],
    ['w.b', '/web', false], // "." is literal
    ['(a+)+$', '/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', false], // no backtracking
    ['', '/web', true],
  ];
  for (const [pattern, value, want] of table) assert.equal(matchesFilterPattern(pattern, value), want, `${pattern} ~ ${value}`);
});

const SCHEMA: ObjectSchema = { Image: 'string', Cmd: 'strslice', Env: 'string[]', Tty: 'boolean', StopTimeout: 'integer', Labels: 'map<string>', HostConfig: 'object' };

test('object fields: known names (any case, as Go decodes), right types, nulls dropped', () => {
  const out = checkFields({ image: 'bb', CMD: 'true', Env: ['A=1'], Tty: false, StopTimeout: 10, Labels: { a: 'b' }, HostConfig: {}, Healthcheck: null }, { ...SCHEMA, Healthcheck: 'object' });
  assert.deepEqual({ ...out }, { Image: 'bb', Cmd: 'true', Env: ['A=1'], Tty: false, StopTimeout: 10, Labels: { a: 'b' }, HostConfig: {} });
  assert.equal(Object.getPrototypeOf(out), null);
  assert.deepEqual({ ...checkFields({ Cmd: ['sh', '-c', 'x'], Env: null }, SCHEMA) }, { Cmd: ['sh', '-c', 'x'] });
});

test('object fields: unknown fields, wrong types and duplicates are a 400 naming the field', () => {
  const table: [Record<string, unknown>, string][] = [
    [{ Foo: 1 }, 'unknown field "Foo" in the request body'],
    [{ __proto__x: 1 }, 'unknown field "__proto__x" in the request body'],
    [{ Image: 1 }, 'invalid value for field "Image" in the request body: expected a string, not a number'],
    [{ Cmd: [1] }, 'invalid value for field "Cmd" in the request body: expected a string or an array of strings, not an array'],
    [{ Env: 'A=1' }, 'invalid value for field "Env" in the request body: expected an array of strings, not a string'],
    [{ Tty: 'yes' }, 'invalid value for field "Tty" in the request body: expected a boolean, not a string'],
    [{ StopTimeout: 1.5 }, 'invalid value for field "StopTimeout" in the request body: expected an integer, not a number'],
    [{ Labels: { a: 1 } }, 'invalid value for field "Labels" in the request body: expected an object with string values, not an object'],
    [{ HostConfig: [] }, 'invalid value for field "HostConfig" in the request body: expected an object, not an array'],
    [{ Image: 'a', image: null }, 'field "Image" is given twice in the request body'],
  ];
  for (const [body, message] of table) rejects(() => checkFields(body, SCHEMA), 400, message);
  // a "__proto__" key from JSON.parse is an own property, and unknown like any other
  rejects(() => checkFields(JSON.parse('{"__proto__":{"x":1}}') as Record<string, unknown>, SCHEMA), 400, 'unknown field "__proto__" in the request body');
});

test('object fields: integer[] (exec ConsoleSize) takes an array of whole numbers only', () => {
  const schema: ObjectSchema = { ConsoleSize: 'integer[]' };
  assert.deepEqual({ ...checkFields({ ConsoleSize: [24, 80] }, schema) }, { ConsoleSize: [24, 80] });
  assert.deepEqual({ ...checkFields({ ConsoleSize: [] }, schema) }, { ConsoleSize: [] });
  for (const bad of [[1.5], ['24'], 24, [null]]) {
    rejects(
      () => checkFields({ ConsoleSize: bad }, schema),
      400,
      `invalid value for field "ConsoleSize" in the request body: expected an array of integers, not ${Array.isArray(bad) ? 'an array' : 'a number'}`,
    );
  }
});

test('a NUL byte anywhere in a body is a 400 naming the field; everything else passes', () => {
  const body = { Cmd: ['sh', '-c', 'echo'], Env: ['A=1'], HostConfig: { Binds: ['/a:/b'], Memory: 1, AutoRemove: true, X: null } };
  assert.doesNotThrow(() => rejectNulBytes(body, ''));
  const table: [unknown, string][] = [
    [{ Cmd: ['sh', 'a\0b'] }, 'invalid value for field "Cmd[1]" in the request body: contains a NUL byte'],
    [{ HostConfig: { Binds: ['/a:/b', '/x\0:/y'] } }, 'invalid value for field "HostConfig.Binds[1]" in the request body: contains a NUL byte'],
    [{ Labels: { 'k\0': 'v' } }, 'invalid field name "Labels.k\\u0000" in the request body: contains a NUL byte'],
    [{ Image: '\0' }, 'invalid value for field "Image" in the request body: contains a NUL byte'],
  ];
  for (const [value, message] of table)
    assert.throws(
      () => rejectNulBytes(value, ''),
      (err: ApiError) => err.status === 400 && err.message === message,
      message,
    );
});

test("dropUnknownFields: the schema's fields kept (any case), the others named, except the quiet ones", () => {
  const schema: ObjectSchema = { Image: 'string', Cmd: 'strslice' };
  const { known, unknown } = dropUnknownFields({ image: 'x', Cmd: ['true'], name: 'web', VOLUMESFROM: [], Bogus: 1 }, schema, ['name', 'VolumesFrom']);
  assert.deepEqual({ ...known }, { image: 'x', Cmd: ['true'] });
  assert.deepEqual(unknown, ['Bogus']);
  assert.deepEqual({ ...checkFields(known, schema) }, { Image: 'x', Cmd: ['true'] });
});
