import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSignal, rawOptionsFromBody } from '../../../src/api/lifecycle.js';
import { frame, parseWaitCondition } from '../../../src/api/lifecycle-routes.js';

test('Docker\'s create body becomes corral run\'s flags; 0 means unset; NanoCpus exactly', () => {
  const { options, command } = rawOptionsFromBody(
    {
      Image: 'host',
      Entrypoint: ['sh'],
      Cmd: ['-c', 'echo hi'],
      Env: ['A=1'],
      HostConfig: { Memory: 67108864, MemorySwap: -1, CpuShares: 0, NanoCpus: 1500000000, PidsLimit: 20, NetworkMode: 'default', AutoRemove: true, Binds: ['/a:/b:ro'] },
    },
    'web',
  );
  assert.deepEqual(command, ['sh', '-c', 'echo hi']);
  assert.deepEqual(options, { name: 'web', rm: true, env: ['A=1'], memory: '67108864', memorySwap: '-1', cpus: '1.500000000', pidsLimit: '20', volume: ['/a:/b:ro'] });
  assert.equal(rawOptionsFromBody({ HostConfig: { NanoCpus: 5000 } }, undefined).options.cpus, '0.000005000');
  assert.equal(rawOptionsFromBody({ Image: '/srv/rootfs', HostConfig: { NetworkMode: 'host' } }, undefined).options.rootfs, '/srv/rootfs');
  assert.throws(() => rawOptionsFromBody({ HostConfig: { Memory: 1.5 } }, undefined), /HostConfig\.Memory/);
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

test('wait conditions: not-running by default, next-exit; removed and anything else a 400', () => {
  assert.equal(parseWaitCondition(null), 'not-running');
  assert.equal(parseWaitCondition(''), 'not-running');
  assert.equal(parseWaitCondition('not-running'), 'not-running');
  assert.equal(parseWaitCondition('next-exit'), 'next-exit');
  assert.throws(() => parseWaitCondition('removed'), { status: 400, message: 'invalid condition: "removed" is not supported yet (use not-running or next-exit)' });
  assert.throws(() => parseWaitCondition('soon'), { status: 400, message: 'invalid condition: "soon": expected not-running, next-exit or removed' });
});
