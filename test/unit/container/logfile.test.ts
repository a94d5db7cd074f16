import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatLogTime, logFiles, parseLogRecord, parseLogTime, readLog, type LogRecord, type ReadLogOptions } from '../../../src/container/logfile.js';

// this file runs from dist/test/unit/container/; the fixtures stay in the source tree (README.md there)
const FIXTURES = fileURLToPath(new URL('../../../../test/unit/container/fixtures/', import.meta.url));
const LOG = path.join(FIXTURES, 'logfile', 'container.log');
const BAD = path.join(FIXTURES, 'logfile-bad', 'container.log');

/** 2026-11-23T14:00:SS plus `ns` nanoseconds, in nanoseconds since the epoch. */
function at(seconds: number, ns = 0): bigint {
  return BigInt(Date.UTC(2026, 10, 23, 14, 0, seconds)) * 1_000_000n + BigInt(ns);
}

const ALL: LogRecord[] = [
  { stream: 'stdout', time: at(0, 1), line: 'one\n' },
  { stream: 'stderr', time: at(0, 500_000_000), line: 'two\n' },
  { stream: 'stdout', time: at(1), line: 'three "quoted" back\\slash\ttab\u0001\ufffd é\n' },
  { stream: 'stdout', time: at(2), line: 'a long line, its first record ' },
  { stream: 'stdout', time: at(2), line: 'and its last\n' },
  { stream: 'stderr', time: at(3, 250_000_000), line: 'four\n' },
  { stream: 'stdout', time: at(4), line: 'five\n' },
  { stream: 'stdout', time: at(5), line: 'no newline at the end' },
];

async function collect(file: string, options?: ReadLogOptions): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const record of readLog(file, options)) out.push(record);
  return out;
}

test('logFiles: rotated files oldest first, then the current one; other files ignored', async () => {
  assert.deepEqual(
    await logFiles(LOG),
    ['container.log.3', 'container.log.2', 'container.log.1', 'container.log'].map((n) => path.join(FIXTURES, 'logfile', n)),
  );
});

test('logFiles: NAME.10 sorts before NAME.9 (older), by number, not by name', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'corral-logfile-'));
  try {
    for (const name of ['c.log', 'c.log.1', 'c.log.9', 'c.log.10', 'c.log.01', 'c.log.2.gz']) await fs.writeFile(path.join(dir, name), '');
    assert.deepEqual(
      await logFiles(path.join(dir, 'c.log')),
      ['c.log.10', 'c.log.9', 'c.log.1', 'c.log'].map((n) => path.join(dir, n)),
    );
  } finally {
    await fs.rm(dir, { recursive: true });
  }
});

test('a log that was never written has no files and no records', async () => {
  assert.deepEqual(await logFiles(path.join(FIXTURES, 'no-such-dir', 'container.log')), []);
  assert.deepEqual(await logFiles(path.join(FIXTURES, 'logfile', 'never.log')), []);
  assert.deepEqual(await collect(path.join(FIXTURES, 'no-such-dir', 'container.log')), []);
});

test('readLog: every record across the rotated files, in order; blank and unfinished lines are not records', async () => {
  assert.deepEqual(await collect(LOG), ALL);
});

test('readLog tail: the last N records, across files; 0 gives none; more than there are gives all', async () => {
  const table: [number, LogRecord[]][] = [
    [0, []],
    [1, ALL.slice(-1)],
    [3, ALL.slice(-3)],
    [5, ALL.slice(-5)],
    [7, ALL.slice(-7)],
    [8, ALL],
    [100, ALL],
  ];
  for (const [tail, expected] of table) assert.deepEqual(await collect(LOG, { tail }), expected, `tail ${tail}`);
});

test('readLog since: records at or after the time, inclusive', async () => {
  assert.deepEqual(await collect(LOG, { since: at(2) }), ALL.slice(3));
  assert.deepEqual(await collect(LOG, { since: at(2, 1) }), ALL.slice(5));
  assert.deepEqual(await collect(LOG, { since: at(6) }), []);
  assert.deepEqual(await collect(LOG, { since: 0n }), ALL);
});

test('readLog tail and since: the last N first, then since among them (as docker logs)', async () => {
  assert.deepEqual(await collect(LOG, { tail: 6, since: at(3) }), ALL.slice(5));
  assert.deepEqual(await collect(LOG, { tail: 2, since: at(0) }), ALL.slice(-2));
});

test('readLog refuses a tail that is not a whole number', async () => {
  for (const tail of [-1, 1.5, Number.NaN]) {
    await assert.rejects(collect(LOG, { tail }), { name: 'RangeError', message: `tail must be a whole number of records, got ${tail}` });
  }
});

test('readLog: a line that is not a record is a ParseError naming the file, forwards and backwards', async () => {
  const message = `parse log record (${BAD}): unexpected line "{"log":"x\\n","stream":"stdin","time":"2026-11-23T14:00:01.000000000Z"}"`;
  await assert.rejects(collect(BAD), { code: 'EPARSE', message });
  await assert.rejects(collect(BAD, { tail: 2 }), { code: 'EPARSE', message });
  // the last record alone is fine
  assert.deepEqual(await collect(BAD, { tail: 1 }), [{ stream: 'stdout', time: at(2), line: 'fine\n' }]);
});

test('readLog: backwards and forwards agree over many chunks, long lines and files', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'corral-logfile-'));
  try {
    const log = path.join(dir, 'c.log');
    const all: LogRecord[] = [];
    for (let file = 3; file >= 0; file--) {
      let text = '';
      for (let i = 0; i < 700; i++) {
        const n = all.length;
        // mostly short lines, every 97th one longer than the 64 KiB read chunk
        const line = `${n} ${'x'.repeat(n % 97 === 0 ? 70_000 + n : n % 13)}é\n`;
        const record: LogRecord = { stream: n % 3 === 0 ? 'stderr' : 'stdout', time: at(0, n), line };
        all.push(record);
        text += `${JSON.stringify({ log: line, stream: record.stream, time: formatLogTime(record.time) })}\n`;
      }
      await fs.writeFile(file === 0 ? log : `${log}.${file}`, text);
    }
    assert.deepEqual(await collect(log), all);
    for (const tail of [1, 2, 699, 700, 701, 1500, 2800, 5000]) {
      assert.deepEqual(await collect(log, { tail }), all.slice(-tail), `tail ${tail}`);
    }
  } finally {
    await fs.rm(dir, { recursive: true });
  }
});

test('parseLogTime: RFC 3339 with 0 to 9 fractional digits, Z or an offset', () => {
  const table: [string, bigint][] = [
    ['2026-11-23T14:00:00Z', at(0)],
    ['2026-11-23T14:00:00.123456789Z', at(0, 123_456_789)],
    ['2026-11-23T14:00:00.5Z', at(0, 500_000_000)],
    ['2026-11-23T15:00:00.000000001+01:00', at(0, 1)],
    ['2026-11-23T13:30:00-00:30', at(0)],
    ['1970-01-01T00:00:00.000000000Z', 0n],
    ['1969-12-31T23:59:59.999999999Z', -1n],
  ];
  for (const [text, ns] of table) assert.equal(parseLogTime(text), ns, text);
});

test('parseLogTime: anything else is a ParseError quoting the text', () => {
  for (const text of ['', '2026-11-23 14:00:00Z', '2026-11-23T14:00:00', '2026-11-23T14:00:00.1234567890Z', '2026-02-30T00:00:00Z', '2026-11-23T24:00:00Z', '2026-11-23T14:00:00+25:00']) {
    assert.throws(() => parseLogTime(text), { code: 'EPARSE', message: `parse log time: unexpected line "${text}"` }, text);
  }
});

test('formatLogTime: UTC, nine fractional digits; parseLogTime reads it back', () => {
  assert.equal(formatLogTime(0n), '1970-01-01T00:00:00.000000000Z');
  assert.equal(formatLogTime(at(0, 123_456_789)), '2026-11-23T14:00:00.123456789Z');
  assert.equal(formatLogTime(-1n), '1969-12-31T23:59:59.999999999Z');
  for (const ns of [0n, 1n, -1n, at(59, 999_999_999), at(0, 10)]) assert.equal(parseLogTime(formatLogTime(ns)), ns);
});

test('parseLogRecord: the three fields; anything else is a ParseError', () => {
  assert.deepEqual(parseLogRecord('{"log":"hi\\n","stream":"stderr","time":"2026-11-23T14:00:00Z","attrs":{}}'), {
    stream: 'stderr',
    time: at(0),
    line: 'hi\n',
  });
  for (const text of ['', 'null', '[]', '{"log":1,"stream":"stdout","time":"2026-11-23T14:00:00Z"}', '{"log":"","stream":"stdout"}', '{"log":"","stream":"stdout","time":"yesterday"}', '{"log":"x"']) {
    assert.throws(() => parseLogRecord(text, '/x/c.log'), { code: 'EPARSE', message: `parse log record (/x/c.log): unexpected line "${text}"` }, text);
  }
  const long = `{"log":"${'y'.repeat(300)}"`;
  assert.throws(() => parseLogRecord(long), { message: `parse log record: unexpected line "${long.slice(0, 200)}…"` });
});
