/** The procfs parsers on real captured files (test/fixtures/proc). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isReportedInterface, parseNetDev, parseProcStatCpuTotal } from '../../../src/metrics/procfs.js';

const dir = fileURLToPath(new URL('../../../../test/fixtures/proc/', import.meta.url));
const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');

test('net/dev of the host: every interface, receive and transmit columns', () => {
  const devs = parseNetDev(read('net-dev-host'), '/proc/self/net/dev');
  assert.deepEqual([...devs.keys()], ['lo', 'ifb0', 'ifb1', 'eth0']);
  assert.deepEqual(devs.get('eth0'), { rxBytes: 353734467, rxPackets: 8727, rxErrors: 0, rxDropped: 0, txBytes: 457927, txPackets: 5160, txErrors: 0, txDropped: 0 });
  assert.deepEqual([...devs.keys()].filter(isReportedInterface), ['ifb0', 'ifb1', 'eth0']);
});

test('net/dev of a network namespace with only the loopback, after 2 pings', () => {
  const devs = parseNetDev(read('net-dev-netns-lo'));
  assert.deepEqual([...devs.keys()], ['lo']);
  assert.equal(devs.get('lo')?.rxBytes, 336);
  assert.equal(devs.get('lo')?.txPackets, 4);
  assert.deepEqual([...devs.keys()].filter(isReportedInterface), []);
});

test('net/dev: a bad line or header is a ParseError quoting it', () => {
  const header = read('net-dev-netns-lo').split('\n').slice(0, 2).join('\n');
  assert.throws(() => parseNetDev(`${header}\n  eth0: 1 2 3\n`, '/proc/7/net/dev'), { message: 'parse net/dev (/proc/7/net/dev): unexpected line "  eth0: 1 2 3"' });
  assert.throws(() => parseNetDev('garbage\n'), { message: 'parse net/dev header: unexpected line "garbage"' });
});

test("/proc/stat: Docker's system_cpu_usage, the first 7 fields of the cpu line in ns", () => {
  // cpu  752518 0 425603 959428 10828 0 1131 5557 0 0: steal (5557) and guest are left out, as moby does
  assert.equal(parseProcStatCpuTotal(read('stat')), (752518 + 0 + 425603 + 959428 + 10828 + 0 + 1131) * 10_000_000);
  assert.throws(() => parseProcStatCpuTotal('cpu0 1 2 3\n', '/proc/stat'), { message: 'parse /proc/stat cpu line (/proc/stat): unexpected line "cpu0 1 2 3"' });
});
