import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, formatLine, parseLogLevel } from '../../src/log.js';
import { CorralError } from '../../src/errors.js';

const T = new Date('2026-11-23T12:00:00.000Z');

test('one JSON object per line: time, level, msg, then the fields', () => {
  assert.equal(
    formatLine(T, 'info', 'listening', { socket: '/run/corral/corral.sock', n: 1 }, false),
    '{"time":"2026-11-23T12:00:00.000Z","level":"info","msg":"listening","socket":"/run/corral/corral.sock","n":1}\n',
  );
  // reserved names do not overwrite the entry's own; undefined fields are left out
  assert.equal(formatLine(T, 'warn', 'm', { msg: 'x', level: 'y', gone: undefined }, false), '{"time":"2026-11-23T12:00:00.000Z","level":"warn","msg":"m","field.msg":"x","field.level":"y"}\n');
  // errors: message and code; the stack only at debug level
  const err = new CorralError('EX', 'it broke');
  assert.deepEqual(JSON.parse(formatLine(T, 'error', 'm', { err }, false)).err, { message: 'it broke', code: 'EX' });
  assert.ok(JSON.parse(formatLine(T, 'error', 'm', { err }, true)).err.stack.includes('it broke'));
  // a field that cannot be serialised does not lose the line
  const loop: Record<string, unknown> = {};
  loop.self = loop;
  assert.match(formatLine(T, 'info', 'm', { loop }, false), /^\{"time":"2026-11-23T12:00:00.000Z","level":"info","msg":"m","logError":"fields not serialisable: .*\}\n$/);
});

test('levels: lines below the threshold are dropped; child loggers add fields', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'warn', write: (l) => lines.push(l), now: () => T });
  log.debug('d');
  log.info('i');
  log.warn('w');
  log.child({ req: 7 }).error('e', { x: 1 });
  assert.deepEqual(
    lines.map((l) => JSON.parse(l)),
    [
      { time: T.toISOString(), level: 'warn', msg: 'w' },
      { time: T.toISOString(), level: 'error', msg: 'e', req: 7, x: 1 },
    ],
  );
  assert.equal(log.enabled('debug'), false);
  assert.equal(log.enabled('error'), true);
});

test('--log-level takes the four levels, in any case', () => {
  for (const l of ['debug', 'info', 'warn', 'error']) assert.equal(parseLogLevel(l), l);
  assert.equal(parseLogLevel('DEBUG'), 'debug');
  assert.throws(() => parseLogLevel('verbose'), { message: 'invalid value "verbose" for --log-level: one of debug, info, warn, error' });
});
