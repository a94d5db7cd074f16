import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { containerSummary } from '../../../../src/api/containers.js';
import type { ContainerRecord } from '../../../../src/container/records.js';
import { ellipsis, goQuote, goTimeString, parsePsFormat, psFields, renderPs, type ContainerSummary } from '../../../../src/cli/format/ps.js';

const NOW = new Date('2026-11-23T10:00:00Z');
const at = (secondsAgo: number) => Math.floor(NOW.getTime() / 1000) - secondsAgo;

function summary(over: Partial<ContainerSummary>): ContainerSummary {
  return { Id: '2812ec667c0a' + 'f'.repeat(52), Names: ['/hello'], Image: 'host', Command: 'echo hi', Created: at(2), State: 'exited', Status: 'Exited (0) 1 second ago', ...over };
}

test("the default table is what the Docker CLI printed against corral's API (README)", () => {
  const rows = [summary({}), summary({ Id: '4f544fe1ece3' + '0'.repeat(52), Names: ['/batch'], Image: '/tmp/corral-test-busybox', Command: "sh -c 'exit 3'", Status: 'Exited (3) 1 second ago' })];
  assert.equal(
    renderPs(rows, parsePsFormat(undefined, false), true, NOW),
    [
      'CONTAINER ID   IMAGE                      COMMAND            CREATED         STATUS                    PORTS     NAMES',
      '2812ec667c0a   host                       "echo hi"          2 seconds ago   Exited (0) 1 second ago             hello',
      '4f544fe1ece3   /tmp/corral-test-busybox   "sh -c \'exit 3\'"   2 seconds ago   Exited (3) 1 second ago             batch',
      '',
    ].join('\n'),
  );
});

test("CREATED and STATUS with a fixed now: Docker's go-units HumanDuration texts", () => {
  const record = (over: Partial<ContainerRecord>): ContainerRecord =>
    ({ id: 'a'.repeat(64), created: new Date(NOW.getTime() - 90_000), command: ['sleep', '60'], status: 'running', volumes: [], network: 'none', oomKilled: false, ...over }) as ContainerRecord;
  const line = (r: ContainerRecord) => renderPs([containerSummary(r, NOW) as unknown as ContainerSummary], parsePsFormat('{{.RunningFor}}|{{.Status}}', false), true, NOW);
  assert.equal(line(record({ startedAt: new Date(NOW.getTime() - 5_000) })), 'About a minute ago|Up 5 seconds\n');
  assert.equal(line(record({ status: 'exited', exitCode: 3, finishedAt: new Date(NOW.getTime() - 125_000) })), 'About a minute ago|Exited (3) 2 minutes ago\n');
  assert.equal(line(record({ status: 'created', created: new Date(NOW.getTime() - 3 * 3_600_000) })), '3 hours ago|Created\n');
  // Created is whole seconds in the API: 400 ms before a whole second is "1 second ago"
  assert.equal(line(record({ created: NOW, startedAt: new Date(NOW.getTime() - 300) })), 'Less than a second ago|Up Less than a second\n');
  assert.equal(line(record({ created: new Date(NOW.getTime() - 400) })).split('|')[0], '1 second ago');
});

test('truncation: 12-character ids, commands of at most 20 characters, quoted; --no-trunc gives them whole', () => {
  const c = summary({ Command: 'sh -c while true; do sleep 1; done', Names: ['/a', '/b/link'] });
  const short = psFields(c, true, NOW);
  assert.equal(short.ID, '2812ec667c0a');
  assert.equal(short.Command, '"sh -c while true; d…"');
  assert.equal(short.Names, 'a');
  const full = psFields(c, false, NOW);
  assert.equal(full.ID!.length, 64);
  assert.equal(full.Command, '"sh -c while true; do sleep 1; done"');
  assert.equal(full.Names, 'a,b/link');
});

test('--format json: one object a line, keys sorted as Go marshals a map', () => {
  const out = renderPs([summary({ Mounts: [{ Source: '/srv/data/very-long-name' }], NetworkSettings: { Networks: { none: {} } } })], parsePsFormat('json', false), true, NOW);
  assert.equal(out.split('\n').length, 2);
  const obj = JSON.parse(out) as Record<string, string>;
  assert.deepEqual(Object.keys(obj), ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Ports', 'RunningFor', 'Size', 'State', 'Status']);
  assert.equal(obj.CreatedAt, '2026-11-23 09:59:58 +0000 UTC');
  assert.equal(obj.Mounts, '/srv/data/very…');
  assert.equal(obj.Networks, 'none');
  assert.equal(obj.RunningFor, '2 seconds ago');
});

test('-q prints the ids only, whatever --format says', () => {
  assert.equal(renderPs([summary({})], parsePsFormat('{{.Names}}', true), true, NOW), '2812ec667c0a\n');
  assert.equal(renderPs([], parsePsFormat(undefined, true), true, NOW), '');
});

test("Go's strconv.Quote, docker/cli's Ellipsis and time.String", () => {
  assert.equal(goQuote('a "b" \\ \n\t\x01é'), '"a \\"b\\" \\\\ \\n\\t\\x01é"');
  assert.equal(ellipsis('12345', 5), '12345');
  assert.equal(ellipsis('123456', 5), '1234…');
  assert.equal(goTimeString(0), '1970-01-01 00:00:00 +0000 UTC');
});

test('time.String from the date fields is the ISO text it replaced, for every time (and the same RangeError for none)', () => {
  const iso = (s: number) => `${new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
  // years 0-9999 (from the fields), and far beyond (the ISO text)
  const times = fc.oneof(fc.integer({ min: -62167219200, max: 253402300799 }), fc.integer({ min: -8.64e12, max: 8.64e12 }));
  fc.assert(
    fc.property(times, (s) => goTimeString(s) === iso(s)),
    { numRuns: 5000 },
  );
  for (const s of [-62167219200, -62167219201, 253402300799, 253402300800, 1.5]) assert.equal(goTimeString(s), iso(s), String(s));
  assert.throws(() => goTimeString(Number.NaN), RangeError);
});
