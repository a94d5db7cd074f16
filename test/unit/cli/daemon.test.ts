import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDaemonArgs, parseListenAddress } from '../../../src/cli/daemon.js';
import { parseHost } from '../../../src/client/host.js';

test('--host / CORRAL_HOST: unix:// and an absolute path that fits in sun_path', () => {
  assert.equal(parseHost('unix:///run/corral/corral.sock', '--host'), '/run/corral/corral.sock');
  const table: [string, string][] = [
    ['/run/corral/corral.sock', 'unix:///PATH (for TCP, give the daemon --api-listen HOST:PORT)'],
    ['tcp://127.0.0.1:2375', 'unix:///PATH (for TCP, give the daemon --api-listen HOST:PORT)'],
    ['unix://relative.sock', 'unix:///PATH with an absolute path'],
    [`unix:///${'x'.repeat(107)}`, 'a socket path of at most 107 bytes'],
  ];
  for (const [text, expected] of table) assert.throws(() => parseHost(text, 'CORRAL_HOST'), { message: `invalid value "${text}" for CORRAL_HOST: ${expected}` });
});

test('--api-listen: HOST:PORT, [IPv6]:PORT, optionally tcp://', () => {
  const table: [string, { host: string; port: number }][] = [
    ['127.0.0.1:2375', { host: '127.0.0.1', port: 2375 }],
    ['tcp://0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['[::1]:2375', { host: '::1', port: 2375 }],
    ['localhost:2375', { host: 'localhost', port: 2375 }],
  ];
  for (const [text, want] of table) assert.deepEqual(parseListenAddress(text), want, text);
  for (const bad of ['2375', '127.0.0.1', '127.0.0.1:65536', 'unix:///x', 'a b:1', ':2375']) {
    assert.throws(() => parseListenAddress(bad), { message: `invalid value "${bad}" for --api-listen: HOST:PORT, e.g. 127.0.0.1:2375` }, bad);
  }
});

test('daemon flags', () => {
  assert.deepEqual(parseDaemonArgs([]), { logLevel: 'info', help: false });
  assert.deepEqual(parseDaemonArgs(['--log-level', 'debug', '--api-listen=127.0.0.1:2375']), { logLevel: 'debug', help: false, apiListen: { host: '127.0.0.1', port: 2375 } });
  assert.deepEqual(parseDaemonArgs(['--log-level=warn', '--help']), { logLevel: 'warn', help: true });
  assert.throws(() => parseDaemonArgs(['--log-level']), { message: 'flag needs an argument: --log-level' });
  assert.throws(() => parseDaemonArgs(['--log-level', 'loud']), { message: 'invalid value "loud" for --log-level: one of debug, info, warn, error' });
  assert.throws(() => parseDaemonArgs(['--tls']), { message: "unknown flag: --tls (see 'corral daemon --help')" });
});
