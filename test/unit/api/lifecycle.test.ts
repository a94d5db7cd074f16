import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSignal } from '../../../src/container/signals.js';
import { commandFromBody, inputFromBody } from '../../../src/container/config/body.js';
import { parseWaitCondition } from '../../../src/api/lifecycle-routes.js';
import { frame, logFramer } from '../../../src/api/stream-routes.js';
import { parseTimestampNanos } from '../../../src/api/validate.js';

test("Docker's create body read as corral run's configuration; 0 means unset; NanoCpus exactly, shown as --cpus", () => {
  const body = {
    Image: 'host',
    Entrypoint: ['sh'],
    Cmd: ['-c', 'echo hi'],
    Env: ['A=1'],
    HostConfig: { Memory: 67108864, MemorySwap: -1, CpuShares: 0, NanoCpus: 1500000000, PidsLimit: 20, NetworkMode: 'default', AutoRemove: true, Binds: ['/a:/b:ro'] },
  };
  // Cmd alone: Entrypoint is its own field, put before it by run's rules
  assert.deepEqual(commandFromBody(body), ['-c', 'echo hi']);
  assert.deepEqual(inputFromBody(body, 'web'), {
    name: 'web',
    rm: true,
    env: ['A=1'],
    entrypoint: ['sh'],
    memory: { flag: '--memory', text: '67108864', value: 67108864 },
    memorySwap: { flag: '--memory-swap', text: '-1', value: 'unlimited' },
    cpus: { flag: '--cpus', text: '1.500000000', value: 1_500_000_000 },
    pidsLimit: { flag: '--pids-limit', text: '20', value: 20 },
    volume: ['/a:/b:ro'],
  });
  assert.deepEqual(inputFromBody({ HostConfig: { NanoCpus: 5000 } }, undefined).cpus, { flag: '--cpus', text: '0.000005000', value: 5000 });
  assert.equal(inputFromBody({ Image: '/srv/rootfs', HostConfig: { NetworkMode: 'host' } }, undefined).rootfs, '/srv/rootfs');
  assert.throws(() => inputFromBody({ HostConfig: { Memory: 1.5 } }, undefined), /HostConfig\.Memory/);
});

test('signals by name, SIG name or number', () => {
  assert.equal(parseSignal('KILL'), 9);
  assert.equal(parseSignal('SIGTERM'), 15);
  assert.equal(parseSignal('sigusr1'), 10);
  assert.equal(parseSignal('2'), 2);
  assert.throws(() => parseSignal('NOPE'), /invalid signal/);
  assert.throws(() => parseSignal('99'), /invalid signal/);
});

test('the multiplexed stream frame: stream, three zero bytes, big-endian length', () => {
  assert.deepEqual([...frame(2, Buffer.from('hi\n'))], [2, 0, 0, 0, 0, 0, 0, 3, 0x68, 0x69, 0x0a]);
});

test('wait conditions: not-running by default, next-exit, removed; anything else a 400', () => {
  assert.equal(parseWaitCondition(null), 'not-running');
  assert.equal(parseWaitCondition(''), 'not-running');
  assert.equal(parseWaitCondition('not-running'), 'not-running');
  assert.equal(parseWaitCondition('next-exit'), 'next-exit');
  assert.equal(parseWaitCondition('removed'), 'removed');
  assert.throws(() => parseWaitCondition('soon'), { status: 400, message: 'invalid condition: "soon": expected not-running, next-exit or removed' });
});

test("Docker's Blkio fields read as --blkio-weight and --device-* values; a malformed list is a 400 naming the field", () => {
  const input = inputFromBody(
    { HostConfig: { BlkioWeight: 300, BlkioDeviceReadBps: [{ Path: '/dev/sda', Rate: 1048576 }], BlkioDeviceWriteIOps: [{ Path: '/dev/sdb', Rate: 50 }], BlkioDeviceWriteBps: [] } },
    undefined,
  );
  assert.deepEqual(input, {
    blkioWeight: { flag: '--blkio-weight', text: '300', value: 300 },
    deviceReadBps: [{ flag: '--device-read-bps', text: '/dev/sda:1048576', value: { path: '/dev/sda', rate: 1048576 } }],
    deviceWriteIops: [{ flag: '--device-write-iops', text: '/dev/sdb:50', value: { path: '/dev/sdb', rate: 50 } }],
  });
  assert.throws(() => inputFromBody({ HostConfig: { BlkioDeviceReadBps: '/dev/sda:1m' } }, undefined), /invalid HostConfig\.BlkioDeviceReadBps/);
  assert.throws(() => inputFromBody({ HostConfig: { BlkioDeviceReadIOps: [{ Path: '/dev/sda', Rate: '5' }] } }, undefined), /invalid HostConfig\.BlkioDeviceReadIOps/);
});

test('logFramer: the streams asked for, records at or after since and before until (0 lets all through), with timestamps', () => {
  const rec = (stream: 'stdout' | 'stderr', sec: number, line: string) => ({ stream, time: BigInt(sec) * 1_000_000_000n + 5n, line });
  const payload = (f: Buffer | undefined) => (f === undefined ? undefined : `${f[0]}:${f.subarray(8).toString()}`);
  const all = logFramer({ stdout: true, stderr: true, timestamps: false });
  assert.equal(payload(all(rec('stdout', 100, 'a\n'))), '1:a\n');
  assert.equal(payload(all(rec('stderr', 100, 'b\n'))), '2:b\n');
  const outOnly = logFramer({ stdout: true, stderr: false, timestamps: false });
  assert.equal(outOnly(rec('stderr', 100, 'b\n')), undefined);
  const since = logFramer({ stdout: true, stderr: true, timestamps: false, since: 100_000_000_005n });
  assert.equal(since(rec('stdout', 99, 'old\n')), undefined);
  assert.equal(payload(since(rec('stdout', 100, 'at\n'))), '1:at\n');
  assert.equal(payload(logFramer({ stdout: true, stderr: true, timestamps: false, since: 0n })(rec('stdout', 1, 'x\n'))), '1:x\n');
  const until = logFramer({ stdout: true, stderr: true, timestamps: false, until: 100_000_000_005n });
  assert.equal(payload(until(rec('stdout', 99, 'before\n'))), '1:before\n');
  assert.equal(until(rec('stdout', 100, 'at\n')), undefined);
  assert.equal(payload(logFramer({ stdout: true, stderr: true, timestamps: false, until: 0n })(rec('stdout', 1, 'x\n'))), '1:x\n');
  const stamped = logFramer({ stdout: true, stderr: true, timestamps: true });
  assert.equal(payload(stamped(rec('stdout', 1_795_435_798, 'hi\n'))), '1:2026-11-23T12:09:58.000000005Z hi\n');
});

test('parseTimestampNanos: unix seconds with up to 9 fraction digits, exactly; anything else is a 400 naming the parameter', () => {
  assert.equal(parseTimestampNanos('1795435798.635691070', 'since'), 1_795_435_798_635_691_070n);
  assert.equal(parseTimestampNanos('12', 'since'), 12_000_000_000n);
  assert.equal(parseTimestampNanos(null, 'since'), undefined);
  assert.equal(parseTimestampNanos('', 'since'), undefined);
  assert.throws(() => parseTimestampNanos('10m', 'since'), /invalid since "10m": expected unix seconds/);
  assert.throws(() => parseTimestampNanos('1.1234567891', 'since'), /invalid since/);
});

test('HostConfig.LogConfig read as --log-opt key=value pairs; another driver or a non-string option is a 400 naming the field', async () => {
  const { logOptsFromJson } = await import('../../../src/container/config/body.js');
  assert.deepEqual(logOptsFromJson({ Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } }), [
    { key: 'max-size', value: '10m', text: 'max-size=10m' },
    { key: 'max-file', value: '3', text: 'max-file=3' },
  ]);
  assert.deepEqual(logOptsFromJson({ Type: '', Config: {} }), []);
  assert.deepEqual(logOptsFromJson(undefined), []);
  assert.throws(() => logOptsFromJson({ Type: 'syslog' }), /HostConfig.LogConfig.Type: logging driver "syslog" is not supported/);
  assert.throws(() => logOptsFromJson({ Config: { 'max-file': 3 } }), /HostConfig.LogConfig.Config.max-file: expected a string/);
  assert.throws(() => logOptsFromJson('json-file'), /HostConfig.LogConfig: expected an object/);
});

test("logFramer with details: moby's attributes (none in corral's records) and a space before the line, after the time", () => {
  const rec = { stream: 'stdout' as const, line: 'hello\n', time: 1_700_000_000_123_456_789n };
  const text = (o: Parameters<typeof logFramer>[0]) => logFramer(o)(rec)!.subarray(8).toString();
  assert.equal(text({ stdout: true, stderr: true, timestamps: false, details: true }), ' hello\n');
  assert.equal(text({ stdout: true, stderr: true, timestamps: true, details: true }), '2023-11-14T22:13:20.123456789Z  hello\n');
  assert.equal(text({ stdout: true, stderr: true, timestamps: false }), 'hello\n');
});
