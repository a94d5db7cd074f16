import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIELDS, type FieldSpec } from '../../../../src/container/config/fields.js';
import { formatNanoCpus, type Read, type ReaderField, take } from '../../../../src/container/config/readers.js';

/** A Read's outcome: its value and shown text, or its refusal's message. */
function outcome(read: Read<unknown> | undefined): unknown {
  if (read === undefined) return undefined;
  try {
    return { text: read.text, value: take(read) };
  } catch (err) {
    return { refused: (err as Error).message };
  }
}

const spec = (f: FieldSpec) => f as ReaderField & { path: string };

// Before the registry, a body's integer became the flag's text (String(n); NanoCpus as a decimal)
// and was parsed again: the JSON readers must give what that gave, value and refusal alike.
const INTEGERS = [1, 5, 999, 1000, 6 * 1024 * 1024 - 1, 6 * 1024 * 1024, 262_144, 999_999_999, 1e15 - 1, 1e15, Number.MAX_SAFE_INTEGER, 2 ** 53, 1e21, -1, -2, -5, -(2 ** 53)];

test('readers: a body integer reads as its text through the flag would, for every integer field', () => {
  const fields = ['memory', 'memorySwap', 'memoryReservation', 'cpuPeriod', 'cpuQuota', 'cpuShares', 'pidsLimit', 'blkioWeight'] as const;
  for (const name of fields) {
    const f = FIELDS[name];
    for (const n of INTEGERS) {
      assert.deepEqual(outcome(f.parse.json(n, spec(f)) as Read<unknown>), outcome(f.parse.text(String(n), f) as Read<unknown>), `${name} ${n}`);
    }
  }
});

test('readers: NanoCpus reads as its --cpus decimal text would, and is shown as that text', () => {
  const f = FIELDS.cpus;
  for (const n of INTEGERS) {
    const text = formatNanoCpus(n);
    assert.deepEqual(outcome(f.parse.json(n, spec(f))), outcome(f.parse.text(text, f)), `NanoCpus ${n}`);
  }
  assert.equal(formatNanoCpus(1_500_000_000), '1.500000000');
  assert.equal(formatNanoCpus(5), '0.000000005');
  assert.equal(formatNanoCpus(-5), '-5');
  assert.equal(Number.isNaN(take(f.parse.json(-5, spec(f))!)), true);
});

test('readers: a throttle device reads as its DEVICE:RATE text would, refusals included', () => {
  for (const name of ['deviceReadBps', 'deviceWriteIops'] as const) {
    const f = FIELDS[name];
    const devices = [
      { Path: '/dev/sda', Rate: 1048576 },
      { Path: '/dev/sda', Rate: 0 },
      { Path: '/dev/sda', Rate: -5 },
      { Path: 'sda', Rate: 5 },
      { Path: '', Rate: 5 },
      { Path: '/dev/a:b', Rate: 5 },
      { Path: '/dev/sda', Rate: 2 ** 60 },
    ];
    for (const d of devices) {
      const [json] = f.parse.json([d], spec(f))!;
      const [text] = f.parse.text([`${d.Path}:${d.Rate}`], f);
      assert.deepEqual(outcome(json), outcome(text), `${name} ${JSON.stringify(d)}`);
    }
  }
});

test('readers: a restart policy and log options read as their flag text would', () => {
  const r = FIELDS.restart;
  for (const policy of [{ Name: 'always' }, { Name: 'on-failure', MaximumRetryCount: 3 }, { Name: 'on-failure' }, { Name: 'on-failure', MaximumRetryCount: 1234567890 }]) {
    const json = r.parse.json(policy, spec(r))!;
    assert.deepEqual(outcome(json), outcome(r.parse.text(json.text, r)), JSON.stringify(policy));
  }
  assert.equal(r.parse.json({ Name: 'no' }, spec(r)), undefined);
  const l = FIELDS.logOpt;
  assert.deepEqual(l.parse.json({ Type: 'json-file', Config: { 'max-size': '10m', 'a=b': 'c' } }, spec(l)), l.parse.text(['max-size=10m', 'a=b=c'], l));
  assert.throws(() => l.parse.json({ Type: 'syslog' }, spec(l)), /^InvalidParameterError: HostConfig\.LogConfig\.Type: logging driver "syslog" is not supported/);
});

test('readers: a refusal is kept until the value is taken, naming the flag and its text', () => {
  const read = FIELDS.memory.parse.text('12q', FIELDS.memory);
  assert.throws(() => take(read), /^InvalidArgumentError: invalid value "12q" for --memory: unknown unit "q"; expected /);
});

test("readers: a reason mentioning another flag reads with flags by default, and in the caller's names on request", async () => {
  const { InvalidArgumentError } = await import('../../../../src/errors.js');
  const err = new InvalidArgumentError('--memory-swap', '1g', (n) => `set ${n('--memory')} too`);
  assert.equal(err.message, 'invalid value "1g" for --memory-swap: set --memory too');
  assert.equal(
    err.reasonNaming((f) => f.slice(2).toUpperCase()),
    'set MEMORY too',
  );
  assert.equal(
    new InvalidArgumentError('--cpus', 'x', 'plain').reasonNaming(() => 'no'),
    'plain',
  );
});
