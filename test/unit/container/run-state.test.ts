import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRunState, readRunState, writeRunState } from '../../../src/container/run-state.js';
import { dockerState, readContainerRecord } from '../../../src/container/records.js';

const ID = 'c'.repeat(64);
const F = '/r/state.json';

test('state.json is parsed field by field; a broken one names the problem', () => {
  const good = {
    status: 'restarting',
    restartCount: 2,
    manuallyStopped: false,
    startedAt: '2026-11-23T12:00:00.000Z',
    lastExit: { exitCode: 137, signal: 9, oomKilled: true, finishedAt: '2026-11-23T12:00:01.000Z' },
  };
  assert.deepEqual(parseRunState(JSON.stringify(good), F), good);
  assert.deepEqual(parseRunState('{"status":"running","restartCount":0}', F), { status: 'running', restartCount: 0, manuallyStopped: false });
  assert.throws(() => parseRunState('{"status":"runn', F), /container record \/r\/state\.json: not JSON/);
  assert.throws(() => parseRunState('[]', F), /not a JSON object/);
  assert.throws(() => parseRunState('{"status":"paused","restartCount":0}', F), /bad status "paused"/);
  assert.throws(() => parseRunState('{"status":"running","restartCount":-1}', F), /restartCount is not a count/);
  assert.throws(() => parseRunState('{"status":"exited","restartCount":0}', F), /status exited without lastExit/);
  assert.throws(() => parseRunState('{"status":"running","restartCount":0,"startedAt":"yesterday"}', F), /startedAt is not a time/);
});

test('state.json: paused only on a running run, as a boolean; false is the same as absent', () => {
  assert.deepEqual(parseRunState('{"status":"running","restartCount":0,"paused":true}', F), { status: 'running', restartCount: 0, manuallyStopped: false, paused: true });
  assert.deepEqual(parseRunState('{"status":"running","restartCount":0,"paused":false}', F), { status: 'running', restartCount: 0, manuallyStopped: false });
  assert.throws(() => parseRunState('{"status":"running","restartCount":0,"paused":"yes"}', F), /container record \/r\/state\.json: paused is not a boolean/);
  const exited = '{"status":"exited","restartCount":0,"paused":true,"lastExit":{"exitCode":0,"finishedAt":"2026-11-23T12:00:01.000Z"}}';
  assert.throws(() => parseRunState(exited, F), /paused with status exited: only a running container can be paused/);
});

test('records: a paused run of a live workload is running and paused (dockerState "paused"); once the workload is gone, not paused', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-runstate-'));
  try {
    const dir = path.join(root, 'containers', ID);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ id: ID, config: { isolation: { command: ['sleep', '9'], network: 'none' } } }));
    await writeRunState(dir, { status: 'running', restartCount: 0, manuallyStopped: false, paused: true, startedAt: '2026-11-23T12:00:02.000Z' });
    fs.writeFileSync(path.join(dir, 'pid'), '4242 777\n');
    const stat = '4242 (sleep) S 1 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 777 1000 10\n';
    let r = await readContainerRecord(root, ID, { readProcStat: async () => stat });
    assert.deepEqual([r?.status, r?.paused, r?.pid, r && dockerState(r)], ['running', true, 4242, 'paused']);
    r = await readContainerRecord(root, ID, { readProcStat: async () => undefined });
    assert.deepEqual([r?.status, r?.paused, r && dockerState(r)], ['dead', undefined, 'dead']);
    await writeRunState(dir, { status: 'running', restartCount: 0, manuallyStopped: false, startedAt: '2026-11-23T12:00:02.000Z' });
    r = await readContainerRecord(root, ID, { readProcStat: async () => stat });
    assert.deepEqual([r?.status, r?.paused, r && dockerState(r)], ['running', undefined, 'running']);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('records read state.json: restarting with the last exit and the restart count; running falls back to the pid and exit files', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-runstate-'));
  try {
    const dir = path.join(root, 'containers', ID);
    fs.mkdirSync(dir, { recursive: true });
    // an older record's end in config.json must not hide a run the daemon started again
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ id: ID, config: { isolation: { command: ['true'], network: 'none' } }, state: { status: 'exited', exitCode: 9, oomKilled: false } }),
    );
    await writeRunState(dir, { status: 'restarting', restartCount: 3, manuallyStopped: false, lastExit: { exitCode: 137, oomKilled: true, finishedAt: '2026-11-23T12:00:01.000Z' } });
    let r = await readContainerRecord(root, ID);
    assert.equal(r?.status, 'restarting');
    assert.equal(r?.exitCode, 137);
    assert.equal(r?.oomKilled, true);
    assert.equal(r?.restartCount, 3);
    assert.equal(r?.finishedAt?.toISOString(), '2026-11-23T12:00:01.000Z');
    await writeRunState(dir, { status: 'running', restartCount: 3, manuallyStopped: false, startedAt: '2026-11-23T12:00:02.000Z' });
    fs.writeFileSync(path.join(dir, 'exit'), 'exited 4 2026-11-23T12:00:03.000000000Z\n');
    r = await readContainerRecord(root, ID);
    assert.equal(r?.status, 'exited');
    assert.equal(r?.exitCode, 4);
    assert.equal(r?.startedAt?.toISOString(), '2026-11-23T12:00:02.000Z');
    assert.deepEqual(await readRunState(dir), { status: 'running', restartCount: 3, manuallyStopped: false, startedAt: '2026-11-23T12:00:02.000Z' });
    assert.equal(await readRunState(path.join(root, 'nowhere')), undefined);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
