/** The procfs parsers on real captured files (test/fixtures/proc). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { isReportedInterface, parseNetDev, parseOpenFilesLimit, parseProcStatCpuTotal } from '../../../src/metrics/procfs.js';

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

/** net/dev's rule before the in-place column reader: split on blanks, 16 unsigned numbers. */
function generalNetDevLine(line: string): number[] | undefined {
  const fields = line.trim().split(/\s+/);
  return fields.length === 16 && fields.every((f) => /^\d+$/.test(f)) ? fields.map(Number) : undefined;
}

test('net/dev: the in-place column reader agrees with splitting on blanks', () => {
  const header = 'Inter-|   Receive\n face |bytes\n';
  const token = fc.constantFrom('0', '7', '123456', '18446744073709551615', '-1', 'x', ' ', '   ', '\t', '\r');
  const columns = fc.array(token, { maxLength: 40 }).map((t) => t.join(' '));
  fc.assert(
    fc.property(columns, (cols) => {
      const line = `  eth0: ${cols}`;
      const want = generalNetDevLine(cols);
      let got: number[] | undefined;
      try {
        const c = parseNetDev(`${header}${line}\n`).get('eth0')!;
        got = [c.rxBytes, c.rxPackets, c.rxErrors, c.rxDropped, c.txBytes, c.txPackets, c.txErrors, c.txDropped];
      } catch {
        got = undefined;
      }
      assert.deepEqual(got, want === undefined ? undefined : [0, 1, 2, 3, 8, 9, 10, 11].map((i) => want[i]));
    }),
    { numRuns: 3000 },
  );
});

test('parseOpenFilesLimit: the Max open files line of /proc/<pid>/limits (a Node process; a shell with ulimit -Sn 1024 -Hn 4096)', () => {
  assert.deepEqual(parseOpenFilesLimit(read('limits-node')), { soft: 20000, hard: 20000 });
  assert.deepEqual(parseOpenFilesLimit(read('limits-low')), { soft: 1024, hard: 4096 });
  assert.deepEqual(parseOpenFilesLimit('Max open files            unlimited            unlimited            files     \n'), { soft: 'unlimited', hard: 'unlimited' });
  assert.throws(() => parseOpenFilesLimit(read('limits-node').replace(/^Max open files.*$/m, ''), '/proc/self/limits'), { code: 'EPARSE', message: /\/proc\/self\/limits/ });
  assert.throws(() => parseOpenFilesLimit('Max open files  many  4096  files\n'), /Max open files/);
});
