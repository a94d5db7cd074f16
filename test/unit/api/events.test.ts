import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from '../../../src/events.js';
import { eventMatches, parseEventFilters, parseEventTime } from '../../../src/api/event-filters.js';
import { cliTimeToTimestamp } from '../../../src/cli/commands/values.js';
import { ApiError } from '../../../src/api/errors.js';
import { InvalidArgumentError } from '../../../src/errors.js';

const ID = 'a'.repeat(64);

test("a container event has Docker's shape: status/id/from, Actor attributes with image and name, time and timeNano", () => {
  const bus = new EventBus(10, () => 1_795_435_798_635_691_070n);
  const e = bus.container('die', { id: ID, name: 'oomer', image: 'bb' }, { exitCode: 137, skipped: undefined });
  assert.deepEqual(e, {
    status: 'die',
    id: ID,
    from: 'bb',
    Type: 'container',
    Action: 'die',
    Actor: { ID, Attributes: { image: 'bb', name: 'oomer', exitCode: '137' } },
    scope: 'local',
    time: 1795435798,
    timeNano: Number(1795435798635691070n),
  });
});

test('event times strictly increase even when the clock does not', () => {
  const bus = new EventBus(10, () => 5_000_000_000n);
  const a = bus.container('create', { id: ID });
  const b = bus.container('start', { id: ID });
  assert.ok(b.timeNano > a.timeNano);
});

test('the history keeps the newest `capacity` events and between() selects by time', () => {
  let t = 1_000_000_000n;
  const bus = new EventBus(3, () => (t += 1_000_000_000n));
  for (const action of ['create', 'start', 'kill', 'die', 'destroy']) bus.container(action, { id: ID });
  assert.deepEqual(
    bus.between(undefined, undefined).map((e) => e.Action),
    ['kill', 'die', 'destroy'],
  );
  assert.deepEqual(
    bus.between(5_000_000_000, 5_000_000_000).map((e) => e.Action),
    ['die'],
  );
});

test('subscribers get each event once; a throwing subscriber does not stop the others', () => {
  const bus = new EventBus();
  const got: string[] = [];
  bus.subscribe(() => {
    throw new Error('broken');
  });
  const stop = bus.subscribe((e) => got.push(e.Action));
  bus.container('create', { id: ID });
  stop();
  bus.container('start', { id: ID });
  assert.deepEqual(got, ['create']);
});

test("filters: Docker's JSON lists and the old map form; unknown names and bad JSON are 400s", () => {
  assert.deepEqual(parseEventFilters('{"event":["die","oom"],"container":{"web":true}}'), { event: ['die', 'oom'], container: ['web'] });
  assert.deepEqual(parseEventFilters(null), {});
  assert.throws(
    () => parseEventFilters('{"colour":["red"]}'),
    (e: unknown) => e instanceof ApiError && /invalid filter 'colour'/.test(e.message),
  );
  assert.throws(
    () => parseEventFilters('{"event":'),
    (e: unknown) => e instanceof ApiError && e.status === 400,
  );
  assert.throws(() => parseEventFilters('{"event":[1]}'), /expected a list of strings/);
  assert.throws(() => parseEventFilters('[]'), /expected a JSON object/);
});

test('eventMatches: AND across filters, OR within one; container by id, 12+ prefix or name; labels', () => {
  const bus = new EventBus();
  const e = bus.container('die', { id: ID, name: 'web', image: '/srv/rootfs' }, { exitCode: 1 });
  assert.ok(eventMatches(e, {}));
  assert.ok(eventMatches(e, { event: ['start', 'die'], container: ['web'] }));
  assert.ok(eventMatches(e, { container: [ID.slice(0, 12)] }));
  assert.ok(!eventMatches(e, { container: [ID.slice(0, 5)] }));
  assert.ok(!eventMatches(e, { event: ['die'], container: ['db'] }));
  assert.ok(eventMatches(e, { type: ['container'], image: ['/srv/rootfs'], label: ['exitCode=1'] }));
  assert.ok(!eventMatches(e, { label: ['exitCode=0'] }));
  assert.ok(eventMatches(e, { label: ['exitCode'] }));
  const d = bus.daemon('reload-failed', 'corral', { file: 'w.yml' });
  assert.ok(!eventMatches(d, { container: ['corral'] }));
  assert.ok(eventMatches(d, { type: ['daemon'] }));
});

test('parseEventTime: unix seconds with up to 9 fraction digits; anything else is a 400 naming the parameter', () => {
  assert.equal(parseEventTime('1700000000', 'since'), 1_700_000_000_000_000_000);
  assert.equal(parseEventTime('1700000000.5', 'since'), 1_700_000_000_500_000_000);
  assert.equal(parseEventTime(null, 'since'), undefined);
  assert.throws(() => parseEventTime('10m', 'until'), /invalid until "10m"/);
});

test('cliTimeToTimestamp: seconds pass through, durations count back from now, RFC 3339 converts; junk names the flag', () => {
  const now = Date.parse('2026-11-23T10:00:00Z');
  assert.equal(cliTimeToTimestamp('1700000000', '--since', now), '1700000000');
  assert.equal(cliTimeToTimestamp('10m', '--since', now), (now / 1000 - 600).toFixed(9));
  assert.equal(cliTimeToTimestamp('1h30m', '--since', now), (now / 1000 - 5400).toFixed(9));
  assert.equal(cliTimeToTimestamp('2026-11-23T09:00:00Z', '--since', now), (now / 1000 - 3600).toFixed(3));
  assert.throws(
    () => cliTimeToTimestamp('yesterday', '--until', now),
    (e: unknown) => e instanceof InvalidArgumentError && e.flag === '--until',
  );
});

test("an image event has moby's shape (status and id, no from) and matches image= by its ID or name, with or without the tag", () => {
  const bus = new EventBus(10, () => 1_795_435_798_635_691_070n);
  const pull = bus.image('pull', '127.0.0.1:5000/app:v1', { name: '127.0.0.1:5000/app', 'org.example.kind': 'test' });
  assert.deepEqual(pull, {
    status: 'pull',
    id: '127.0.0.1:5000/app:v1',
    Type: 'image',
    Action: 'pull',
    Actor: { ID: '127.0.0.1:5000/app:v1', Attributes: { name: '127.0.0.1:5000/app', 'org.example.kind': 'test' } },
    scope: 'local',
    time: 1795435798,
    timeNano: Number(1795435798635691070n) + 0,
  });
  const tag = bus.image('tag', `sha256:${ID}`, { name: 'again:v2' });
  for (const v of ['127.0.0.1:5000/app:v1', '127.0.0.1:5000/app']) assert.ok(eventMatches(pull, { image: [v] }), v);
  for (const v of ['again:v2', 'again', `sha256:${ID}`]) assert.ok(eventMatches(tag, { image: [v] }), v);
  assert.ok(!eventMatches(tag, { image: ['sha256'] }), 'a digest keeps its algorithm');
  assert.ok(!eventMatches(tag, { image: ['127.0.0.1:5000/app'] }));
  assert.ok(eventMatches(tag, { type: ['image'] }) && !eventMatches(tag, { type: ['container'] }));
});
