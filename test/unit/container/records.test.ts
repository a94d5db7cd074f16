import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listContainerRecords, parseExitFile, parseLabelsFile, parsePidFile, parseRecordFile, procStatStartTime, readContainerRecord, resolveContainerId } from '../../../src/container/records.js';

const A = 'a'.repeat(64);
const AB = 'ab' + 'c'.repeat(62);
const B = 'b'.repeat(64);

function recordText(id: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id,
    name: 'web',
    created: '2026-11-23T12:00:00.000Z',
    config: { isolation: { rootfs: '/srv/bb', command: ['sh', '-c', 'echo hi'], network: 'none', volumes: [{ source: '/data', target: '/d', readOnly: true, kind: 'dir' }] } },
    ...extra,
  });
}

test('config.json records are read field by field', () => {
  assert.deepEqual(parseRecordFile(recordText(A), 'f'), {
    id: A,
    name: 'web',
    created: new Date('2026-11-23T12:00:00.000Z'),
    command: ['sh', '-c', 'echo hi'],
    rootfs: '/srv/bb',
    network: 'none',
    volumes: [{ source: '/data', target: '/d', readOnly: true }],
  });
  const exited = parseRecordFile(recordText(A, { state: { status: 'exited', exitCode: 137, oomKilled: true, finishedAt: '2026-11-23T12:05:00.000Z' } }), 'f');
  assert.deepEqual(exited.state, { status: 'exited', exitCode: 137, oomKilled: true, finishedAt: new Date('2026-11-23T12:05:00.000Z') });
  const table: [string, string][] = [
    ['{', 'container record f: not JSON'],
    ['[]', 'container record f: no config.isolation object'],
    [JSON.stringify({ id: '../x', config: { isolation: { command: [] } } }), 'container record f: bad id "../x"'],
    [JSON.stringify({ id: A, config: { isolation: { command: 'sh' } } }), 'container record f: config.isolation.command is not a list of strings'],
  ];
  for (const [text, start] of table)
    assert.throws(
      () => parseRecordFile(text, 'f'),
      (err: Error) => err.message.startsWith(start),
      text,
    );
});

test("the launcher's pid and exit files, and /proc/PID/stat's start time", () => {
  assert.deepEqual(parsePidFile('1188 466012\n'), { pid: 1188, startTime: '466012' });
  for (const bad of ['', '0 1\n', 'x 1', '1188', '1188 466012 7']) assert.equal(parsePidFile(bad), undefined, bad);
  assert.deepEqual(parseExitFile('exited 0\n'), { exitCode: 0, setupFailed: false });
  assert.deepEqual(parseExitFile('signaled 9\n'), { exitCode: 137, signal: 9, setupFailed: false });
  assert.deepEqual(parseExitFile('failed mount ENOENT\n'), { exitCode: 125, setupFailed: true });
  assert.deepEqual(parseExitFile('failed exec ENOENT\n'), { exitCode: 127, setupFailed: true });
  assert.deepEqual(parseExitFile('failed exec EACCES\n'), { exitCode: 126, setupFailed: true });
  // with the time the launcher records
  assert.deepEqual(parseExitFile('exited 3 2026-11-23T14:00:00.123456789Z\n'), { exitCode: 3, setupFailed: false, time: '2026-11-23T14:00:00.123456789Z' });
  assert.deepEqual(parseExitFile('signaled 15 2026-11-23T14:00:00.5Z\n'), { exitCode: 143, signal: 15, setupFailed: false, time: '2026-11-23T14:00:00.5Z' });
  assert.deepEqual(parseExitFile('failed exec ENOENT 2026-11-23T14:00:00.123456789Z\n'), { exitCode: 127, setupFailed: true, time: '2026-11-23T14:00:00.123456789Z' });
  assert.equal(parseExitFile('gone\n'), undefined);
  // the command name may hold spaces and parentheses
  const stat = '1188 (sh (x) y) S 1 1188 1188 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 466012 1234 56 18446744073709551615';
  assert.equal(procStatStartTime(stat), '466012');
});

/** A state dir with containers: A named "web", exited 0; B running (the fake /proc says so); AB no config.json yet. */
function makeState(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-records-'));
  const mk = (id: string, files: Record<string, string>) => {
    fs.mkdirSync(path.join(root, 'containers', id), { recursive: true });
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(root, 'containers', id, f), text);
  };
  mk(A, { 'config.json': recordText(A, { state: { status: 'exited', exitCode: 0, oomKilled: false, finishedAt: '2026-11-23T12:05:00.000Z' } }), pid: '10 5\n', exit: 'exited 0\n' });
  mk(B, { 'config.json': recordText(B, { name: 'db', created: '2026-11-23T13:00:00.000Z' }), pid: '4242 777\n' });
  mk(AB, {});
  fs.mkdirSync(path.join(root, 'containers', 'not-an-id'));
  fs.mkdirSync(path.join(root, 'names'));
  fs.symlinkSync(`../containers/${A}`, path.join(root, 'names', 'web'));
  fs.symlinkSync(`../containers/${B}`, path.join(root, 'names', 'db'));
  fs.symlinkSync('../containers/' + 'd'.repeat(64), path.join(root, 'names', 'dangling'));
  return root;
}

const fakeProc = (alive: Record<number, string>) => ({ readProcStat: async (pid: number) => (pid in alive ? `${pid} (sh) S 1 ${'0 '.repeat(17)}${alive[pid]} 0` : undefined) });

test('records and states come back from the state dir, newest first', async () => {
  const root = makeState();
  try {
    const { records, errors } = await listContainerRecords(root, fakeProc({ 4242: '777' }));
    assert.deepEqual(errors, []);
    assert.deepEqual(
      records.map((r) => [r.id, r.name, r.status, r.exitCode, r.pid]),
      [
        [B, 'db', 'running', undefined, 4242],
        [A, 'web', 'exited', 0, undefined],
      ],
    );
    assert.deepEqual(records[1]!.finishedAt, new Date('2026-11-23T12:05:00.000Z'));
    // the pid is reused by another process (other start time): the workload is gone unrecorded
    assert.equal((await readContainerRecord(root, B, fakeProc({ 4242: '999' })))?.status, 'dead');
    assert.equal((await readContainerRecord(root, B, fakeProc({})))?.status, 'dead');
    // without a record, no container (yet)
    assert.equal(await readContainerRecord(root, AB), undefined);
    // a broken record is reported, and the others still listed
    fs.writeFileSync(path.join(root, 'containers', B, 'config.json'), '{');
    const broken = await listContainerRecords(root, fakeProc({}));
    assert.deepEqual(
      broken.records.map((r) => r.id),
      [A],
    );
    assert.equal(broken.errors.length, 1);
    assert.equal(broken.errors[0]!.id, B);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('labels.json: an object of strings, read with the record; a broken one is a broken record', async () => {
  assert.deepEqual(parseLabelsFile('{"corral.workloads.service":"web","a":""}\n', 'f'), { 'corral.workloads.service': 'web', a: '' });
  assert.throws(() => parseLabelsFile('{"a":1}', 'f'), { message: 'container record f: not an object of string labels' });
  assert.throws(() => parseLabelsFile('[]', 'f'), { message: 'container record f: not an object of string labels' });
  assert.throws(
    () => parseLabelsFile('{', 'f'),
    (err: Error) => err.message.startsWith('container record f: not JSON'),
  );
  const root = makeState();
  try {
    assert.equal((await readContainerRecord(root, A, fakeProc({})))?.labels, undefined);
    fs.writeFileSync(path.join(root, 'containers', A, 'labels.json'), '{"tier":"front"}\n');
    assert.deepEqual((await readContainerRecord(root, A, fakeProc({})))?.labels, { tier: 'front' });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('an empty or missing state dir lists nothing', async () => {
  assert.deepEqual(await listContainerRecords('/nonexistent/corral-state'), { records: [], errors: [] });
});

test("references resolve in Docker's order: full ID, name, unique prefix", async () => {
  const root = makeState();
  try {
    const table: [{ text: string; idPrefix?: string; name?: string }, string][] = [
      [{ text: A, idPrefix: A }, A],
      [{ text: 'web', name: 'web' }, A],
      [{ text: 'db', name: 'db' }, B],
      [{ text: 'bbb', idPrefix: 'bbb', name: 'bbb' }, B],
      [{ text: 'a', idPrefix: 'a' }, A], // AB has no record, so "a" is unique
    ];
    for (const [ref, want] of table) assert.equal(await resolveContainerId(root, ref), want, ref.text);
    const missing: { text: string; idPrefix?: string; name?: string }[] = [
      { text: 'nope', name: 'nope' },
      { text: 'dangling', name: 'dangling' },
      { text: 'ff', idPrefix: 'ff', name: 'ff' },
      // unvalidated parts are never used, whatever the caller passes
      { text: '../x', name: '../x' },
      { text: '..', idPrefix: '..' },
    ];
    for (const ref of missing) await assert.rejects(resolveContainerId(root, ref), { message: `No such container: ${ref.text}` });
    fs.writeFileSync(path.join(root, 'containers', AB, 'config.json'), recordText(AB));
    await assert.rejects(resolveContainerId(root, { text: 'a', idPrefix: 'a' }), { message: 'multiple IDs found with provided prefix: a' });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
