import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerSummary, dockerCommand, dockerStatus, parseListQuery, selectContainers } from '../../../src/api/containers.js';
import { ApiError } from '../../../src/api/errors.js';
import type { ContainerRecord } from '../../../src/container/records.js';
import { dockerFixture } from '../../helpers/http.js';

const NOW = new Date('2026-11-23T12:10:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);

function record(id: string, over: Partial<ContainerRecord>): ContainerRecord {
  return { id: id.repeat(64 / id.length), created: ago(3_600_000), command: ['true'], network: 'none', volumes: [], status: 'exited', oomKilled: false, ...over };
}

const RUNNING = record('a', { name: 'web', status: 'running', pid: 42, startedAt: ago(5 * 60_000), rootfs: '/srv/bb' });
const EXITED = record('b', { name: 'batch', status: 'exited', exitCode: 3, finishedAt: ago(2 * 3_600_000) });
const CREATED = record('c', { status: 'created' });
const DEAD = record('d', { name: 'db', status: 'dead' });
const ALL = [RUNNING, EXITED, CREATED, DEAD];

test("Status is Docker's State.String()", () => {
  assert.equal(dockerStatus(RUNNING, NOW), 'Up 5 minutes');
  assert.equal(dockerStatus(EXITED, NOW), 'Exited (3) 2 hours ago');
  assert.equal(dockerStatus(CREATED, NOW), 'Created');
  assert.equal(dockerStatus(DEAD, NOW), 'Dead');
  assert.equal(dockerStatus({ ...EXITED, finishedAt: ago(500) }, NOW), 'Exited (3) Less than a second ago');
  // docker ps's wording for a paused container (moby State.String)
  assert.equal(dockerStatus({ ...RUNNING, paused: true, startedAt: ago(5_000) }, NOW), 'Up 5 seconds (Paused)');
});

test('a paused container: State "paused" (compare v1.41-containers-paused-json.json), listed without -a, found by status=paused only', () => {
  const paused = record('e', { name: 'frozen', status: 'running', paused: true, pid: 43, startedAt: ago(60_000) });
  const inspectState = (JSON.parse(dockerFixture('v1.41-containers-paused-json.json')) as { State: { Status: string } }).State.Status;
  const entry = containerSummary(paused, NOW);
  assert.equal(entry.State, inspectState);
  assert.equal(entry.Status, 'Up About a minute (Paused)');
  const ids = (q: string) => selectContainers([RUNNING, paused, EXITED], parseListQuery(new URLSearchParams(q))).map((r) => r.id[0]);
  assert.deepEqual(ids(''), ['a', 'e'], 'a paused container runs: docker ps lists it');
  assert.deepEqual(ids(`filters=${JSON.stringify({ status: ['paused'] })}`), ['e']);
  assert.deepEqual(ids(`filters=${JSON.stringify({ status: ['running'] })}`), ['a'], "Docker's running state is not paused");
  assert.deepEqual(ids(`filters=${JSON.stringify({ status: ['running', 'paused'] })}`), ['a', 'e']);
});

test("Command quotes the arguments with spaces, as Docker's list does", () => {
  assert.equal(dockerCommand(['sleep', '3600']), 'sleep 3600');
  // compare the "busy" container in v1.41-containers-json-21-running.json
  assert.equal(dockerCommand(['sh', '-c', 'x=aaaaaaaa; x=$x$x$x$x$x$x$x$x; while :; do :; done']), "sh -c 'x=aaaaaaaa; x=$x$x$x$x$x$x$x$x; while :; do :; done'");
  assert.equal(dockerCommand(['/bin/my prog', 'a']), '/bin/my prog a');
});

test("a list entry has the fields of Docker's, with corral's values", () => {
  const docker = (JSON.parse(dockerFixture('v1.41-containers-json.json')) as Record<string, unknown>[])[0]!;
  const entry = containerSummary({ ...RUNNING, volumes: [{ source: '/data', target: '/d', readOnly: true }] }, NOW);
  assert.deepEqual(Object.keys(entry).sort(), Object.keys(docker).sort());
  assert.deepEqual(
    {
      Id: entry.Id,
      Names: entry.Names,
      Image: entry.Image,
      Command: entry.Command,
      Created: entry.Created,
      State: entry.State,
      Status: entry.Status,
      HostConfig: entry.HostConfig,
      Ports: entry.Ports,
      Labels: entry.Labels,
    },
    {
      Id: 'a'.repeat(64),
      Names: ['/web'],
      Image: '/srv/bb',
      Command: 'true',
      Created: Math.floor(ago(3_600_000).getTime() / 1000),
      State: 'running',
      Status: 'Up 5 minutes',
      HostConfig: { NetworkMode: 'none' },
      Ports: [],
      Labels: {},
    },
  );
  assert.deepEqual(containerSummary({ ...RUNNING, labels: { tier: 'front' } }, NOW).Labels, { tier: 'front' });
  assert.deepEqual(entry.Mounts, [{ Type: 'bind', Source: '/data', Destination: '/d', Mode: 'ro', RW: false, Propagation: 'rprivate' }]);
  assert.deepEqual(
    Object.keys((entry.NetworkSettings as { Networks: { none: object } }).Networks.none).sort(),
    Object.keys((docker.NetworkSettings as { Networks: { none: object } }).Networks.none).sort(),
  );
  const nameless = containerSummary(CREATED, NOW);
  assert.deepEqual([nameless.Names, nameless.Image], [[], 'host']);
});

test('list queries select as Docker does', () => {
  const ids = (q: string) => selectContainers(ALL, parseListQuery(new URLSearchParams(q))).map((r) => r.id[0]);
  const table: [string, string[]][] = [
    ['', ['a']],
    ['all=1', ['a', 'b', 'c', 'd']],
    ['all=0', ['a']],
    ['limit=2', ['a', 'b']], // a limit includes stopped containers
    ['limit=-1', ['a']],
    ['all=1&limit=0', ['a', 'b', 'c', 'd']],
    [`filters=${JSON.stringify({ status: ['exited'] })}`, ['b']], // a status filter implies all
    [`filters=${JSON.stringify({ status: { running: true, dead: true } })}`, ['a', 'd']],
    [`all=1&filters=${JSON.stringify({ name: ['web'] })}`, ['a']],
    [`all=1&filters=${JSON.stringify({ name: ['^/b'] })}`, ['b']],
    [`all=1&filters=${JSON.stringify({ name: ['b$'] })}`, ['a', 'd']], // "/web" and "/db"
    [`all=1&filters=${JSON.stringify({ name: ['^/db$'] })}`, ['d']],
    [`all=1&filters=${JSON.stringify({ name: ['web', 'db'] })}`, ['a', 'd']],
    [`all=1&filters=${JSON.stringify({ id: ['bbbb'] })}`, ['b']],
    [`all=1&filters=${JSON.stringify({ id: ['cc'], name: ['web'] })}`, []],
    [`all=1&filters=${JSON.stringify({ exited: ['3'] })}`, ['b']],
    [`all=1&filters=${JSON.stringify({ exited: ['0'] })}`, []],
    [`all=1&filters=${JSON.stringify({ label: ['a=b'] })}`, []],
  ];
  for (const [q, want] of table) assert.deepEqual(ids(q), want, q);
});

test("the label filter: key or key=value, every one must match (Docker's MatchKVList)", () => {
  const labelled = [
    record('a', { status: 'running', labels: { 'corral.workloads.project': 'shop', 'corral.workloads.service': 'web' } }),
    record('b', { status: 'exited', labels: { 'corral.workloads.project': 'shop', 'corral.workloads.service': 'db' } }),
    record('c', { status: 'running', labels: { 'corral.workloads.project': 'shop-2' } }),
    record('d', { status: 'running' }),
  ];
  const ids = (labels: string[]) => selectContainers(labelled, parseListQuery(new URLSearchParams(`all=1&filters=${JSON.stringify({ label: labels })}`))).map((r) => r.id[0]);
  const table: [string[], string[]][] = [
    [['corral.workloads.project'], ['a', 'b', 'c']],
    [['corral.workloads.project=shop'], ['a', 'b']],
    [['corral.workloads.project=sho'], []],
    [['corral.workloads.project=shop', 'corral.workloads.service=db'], ['b']],
    [['corral.workloads.service'], ['a', 'b']],
    [['corral.workloads.project='], []],
  ];
  for (const [labels, want] of table) assert.deepEqual(ids(labels), want, labels.join(' '));
});

test('bad list queries are a 400 naming what is wrong', () => {
  const table: [string, string][] = [
    ['limit=x', 'invalid value "x" for query parameter "limit": expected an integer from -1 to 1000000'],
    [`filters=${JSON.stringify({ colour: ['red'] })}`, 'Invalid filter "colour"'],
    [`filters=${JSON.stringify({ status: ['sleeping'] })}`, "Invalid filter 'status=sleeping'"],
    [`filters=${JSON.stringify({ exited: ['x'] })}`, "Invalid filter 'exited=x': expected an exit code"],
    [`filters=${JSON.stringify({ ancestor: ['busybox'] })}`, 'the "ancestor" filter is not supported by corral yet (supported: exited, id, label, name, status)'],
    ['filters=[', 'invalid filters: '],
  ];
  for (const [q, message] of table) {
    assert.throws(
      () => parseListQuery(new URLSearchParams(q)),
      (err: unknown) => err instanceof ApiError && err.status === 400 && err.message.startsWith(message),
      q,
    );
  }
});
