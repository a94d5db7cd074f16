/**
 * parseTap against real node 20 TAP output (fixtures/node20-reporter-tap.txt was captured with
 * `node --test --test-reporter=tap a.test.mjs b.test.mjs c.test.mjs` on node v20.20.2: a file with
 * passing, failing, skipped, todo, suite and nested tests; a one-test file; and a file that throws
 * while loading). Also covers the guest console parser (markers, partial lines).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GuestConsoleParser, parseTap, repoRoot, shQuote } from '../../vm/guest.js';

const sample = readFileSync(join(repoRoot(), 'test', 'unit', 'vm', 'fixtures', 'node20-reporter-tap.txt'), 'utf8');

test('parseTap returns one record per top-level test, in order', () => {
  const r = parseTap(sample);
  assert.deepEqual(
    r.map((t) => [t.name, t.ok, t.skip, t.todo]),
    [
      ['passes', true, false, false],
      ['fails with a diff', false, false, false],
      ['skipped with reason', true, true, false],
      ['skipped plain', true, true, false],
      ['todo item', true, false, true],
      ['name with # hash and \\ backslash', true, false, false],
      ['logs output', true, false, false],
      ['a suite', false, false, false],
      ['parent with subtests', true, false, false],
      ['from file b', true, false, false],
      ['/tmp/tapsample/c.test.mjs', false, false, false],
    ],
  );
});

test('parseTap reads the YAML diagnostics of a failure', () => {
  const fail = parseTap(sample).find((t) => t.name === 'fails with a diff');
  assert.ok(fail);
  assert.equal(fail.details.failureType, 'testCodeFailure');
  assert.equal(fail.details.code, 'ERR_ASSERTION');
  assert.equal(fail.details.location, '/tmp/tapsample/a.test.mjs:4:1');
  assert.equal(typeof fail.details.durationMs, 'number');
  assert.ok(fail.details.error?.startsWith('Expected values to be strictly deep-equal:\n+ actual - expected\n'), fail.details.error);
  assert.ok(fail.details.error?.includes('+   a: 1\n-   a: 2'), fail.details.error);
  assert.ok(fail.details.stack?.startsWith('TestContext.<anonymous> (file:///tmp/tapsample/a.test.mjs:4:42)\n'));
  assert.equal(fail.details.yaml.operator, 'deepStrictEqual');
  assert.equal(fail.details.yaml.expected, 'a: 2');
  assert.equal(fail.details.yaml.name, 'AssertionError');
});

test('parseTap keeps skip/todo reasons and suite types', () => {
  const r = parseTap(sample);
  assert.equal(r.find((t) => t.name === 'skipped with reason')?.details.reason, 'needs cgroup v2');
  assert.equal(r.find((t) => t.name === 'skipped plain')?.details.reason, undefined);
  assert.equal(r.find((t) => t.name === 'todo item')?.details.reason, 'later');
  const suite = r.find((t) => t.name === 'a suite');
  assert.equal(suite?.details.type, 'suite');
  assert.equal(suite?.details.error, '1 subtest failed');
  assert.equal(suite?.details.failureType, 'subtestsFailed');
});

test('parseTap attaches nested subtest output to its parent, de-indented', () => {
  const suite = parseTap(sample).find((t) => t.name === 'a suite');
  const nested = suite?.details.subtestOutput ?? '';
  assert.match(nested, /^# Subtest: inner ok\nok 1 - inner ok\n/);
  assert.match(nested, /\nnot ok 2 - inner fails\n/);
  assert.match(nested, /\n {4}inner boom\n {4}second line\n/);
  const parent = parseTap(sample).find((t) => t.name === 'parent with subtests');
  assert.match(parent?.details.subtestOutput ?? '', /ok 1 - child 1[\s\S]*ok 2 - child 2/);
  assert.equal(parseTap(sample).find((t) => t.name === 'passes')?.details.subtestOutput, '');
});

test('parseTap keeps top-level comments: console output and a file that failed to load', () => {
  const r = parseTap(sample);
  assert.deepEqual(r[0]?.details.comments, ['hello from test']);
  const crashed = r.find((t) => t.name === '/tmp/tapsample/c.test.mjs');
  assert.ok(crashed?.details.comments.includes('Error: load failure'), JSON.stringify(crashed?.details.comments));
  assert.equal(crashed?.details.yaml.exitCode, '1');
  assert.equal(crashed?.details.error, 'test failed');
});

test('parseTap ignores text before "TAP version" and copes with CRLF', () => {
  const noisy = 'ok 99 - not a test, build noise\r\nnpm run build\r\n' + sample.replace(/\n/g, '\r\n');
  const r = parseTap(noisy);
  assert.equal(r.length, 11);
  assert.equal(r[0]?.name, 'passes');
});

test('parseTap reads runs one after another (a guest runs a file at a time) as one, without the summaries between', () => {
  const r = parseTap(`${sample}\n${sample}`);
  assert.equal(r.length, 22);
  assert.equal(r[11]?.name, 'passes');
  assert.ok(!r[11]?.details.comments.some((c) => /^(tests|pass|fail) \d+$/.test(c)), "the first run's summary is not the second run's first comment");
});

test('parseTap on empty or non-TAP text returns no records', () => {
  assert.deepEqual(parseTap(''), []);
  assert.deepEqual(parseTap('hello\nworld\n'), []);
});

function feed(chunks: string[], nonce = 'n0nce'): { parser: GuestConsoleParser; streamed: string[]; events: string[] } {
  const streamed: string[] = [];
  const events: string[] = [];
  const parser = new GuestConsoleParser(
    nonce,
    (c) => streamed.push(c),
    () => events.push('start'),
    () => events.push('exit'),
  );
  for (const c of chunks) parser.push(c);
  return { parser, streamed, events };
}

test('console parser: drops firmware noise, passes output, reads the exit status', () => {
  const { parser, streamed, events } = feed([
    '\x1bc\x1b[?7l\x1b[2JSeaBIOS\nBooting from ROM..@@CORRAL-VM-START n0nce@@\n',
    'line one\nline t',
    'wo\n@@CORRAL-VM-EXIT n0nce 42@@\n[ 3.1] reboot: Power down\n',
  ]);
  assert.equal(parser.output, 'line one\nline two\n');
  assert.equal(streamed.join(''), parser.output);
  assert.equal(parser.exitCode, 42);
  assert.deepEqual(events, ['start', 'exit']);
});

test('console parser: output without a final newline, marker split across chunks', () => {
  const { parser, streamed } = feed(['@@CORRAL-VM-START n0nce@@\n', 'no newline@@CORR', 'AL-VM-EXIT n0nce 0@@\n']);
  assert.equal(parser.output, 'no newline');
  assert.equal(streamed.join(''), 'no newline');
  assert.equal(parser.exitCode, 0);
});

test('console parser: partial lines are streamed before their newline', () => {
  const { streamed } = feed(['@@CORRAL-VM-START n0nce@@\n', 'progress...', 'done\n']);
  assert.deepEqual(streamed, ['progress...', 'done\n']);
});

test('console parser: markers with another nonce are output, not markers', () => {
  const { parser } = feed(['@@CORRAL-VM-START n0nce@@\n', '@@CORRAL-VM-EXIT other 1@@\n', '@@CORRAL-VM-EXIT n0nce 5@@\n']);
  assert.equal(parser.output, '@@CORRAL-VM-EXIT other 1@@\n');
  assert.equal(parser.exitCode, 5);
});

test('console parser: a guest setup error before the start marker', () => {
  const { parser, events } = feed(['boot\n@@CORRAL-VM-ERROR n0nce mounting the checkout failed@@\n']);
  assert.equal(parser.guestError, 'mounting the checkout failed');
  assert.equal(parser.started, false);
  assert.deepEqual(events, ['exit']);
  assert.deepEqual(parser.consoleTail, ['boot', '@@CORRAL-VM-ERROR n0nce mounting the checkout failed@@']);
});

test('shQuote makes one shell word of anything', () => {
  assert.equal(shQuote(`it's`), `'it'\\''s'`);
  assert.equal(shQuote(''), `''`);
  assert.equal(shQuote('$HOME `x` "y"'), `'$HOME \`x\` "y"'`);
});
