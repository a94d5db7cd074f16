import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseDaemonArgs } from '../../../src/cli/daemon.js';
import { parseUpArgs } from '../../../src/cli/up.js';

test('up and down flags: -f, -p, -t, --force-recreate (up only), --help', () => {
  assert.deepEqual(parseUpArgs(['-f', 'w.yml'], 'up'), { file: 'w.yml', timeout: 10, forceRecreate: false, help: false });
  assert.deepEqual(parseUpArgs(['--file=w.yml', '-p', 'shop', '-t', '0', '--force-recreate'], 'up'), { file: 'w.yml', project: 'shop', timeout: 0, forceRecreate: true, help: false });
  assert.deepEqual(parseUpArgs(['--project-name', 'shop'], 'down'), { project: 'shop', timeout: 10, forceRecreate: false, help: false });
  assert.equal(parseUpArgs(['--help'], 'up').help, true);
  const table: [string[], 'up' | 'down', string][] = [
    [[], 'up', 'corral up needs the workloads file: corral up -f FILE'],
    [[], 'down', 'corral down needs the workloads file: corral down -f FILE'],
    [['-f'], 'up', 'flag needs an argument: -f'],
    [['-f', 'w.yml', '-t', '1.5'], 'up', 'invalid value "1.5" for -t: expected whole seconds from 0 to 99999'],
    [['-f', 'w.yml', '--force-recreate'], 'down', "unknown flag: --force-recreate (see 'corral down --help')"],
    [['-f', 'w.yml', 'web'], 'up', "unknown flag: web (see 'corral up --help')"],
  ];
  for (const [argv, command, message] of table) assert.throws(() => parseUpArgs(argv, command), { message }, argv.join(' '));
});

test("daemon --config takes the file as an absolute path; --project follows Compose's rule", () => {
  assert.deepEqual(parseDaemonArgs(['--config', 'w.yml', '--project', 'shop']), { logLevel: 'info', config: path.resolve('w.yml'), project: 'shop', help: false });
  assert.deepEqual(parseDaemonArgs(['--config=/etc/corral/w.yml']), { logLevel: 'info', config: '/etc/corral/w.yml', help: false });
  assert.throws(() => parseDaemonArgs(['--project', 'Shop']), { message: 'invalid value "Shop" for --project: a project name matching [a-z0-9][a-z0-9_-]* (Compose\'s rule)' });
});
