import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { corruptName, quarantineUnparsable } from '../../../src/state/quarantine.js';

test('a file its parser refuses is renamed aside with the error; good and missing files are left alone', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-quarantine-'));
  try {
    fs.writeFileSync(path.join(dir, 'config.json'), '{"id": "abc');
    fs.writeFileSync(path.join(dir, 'state.json'), '{"ok":true}');
    const now = new Date('2026-11-23T14:00:00.123Z');
    const json = (text: string) => JSON.parse(text) as unknown;
    const moved = await quarantineUnparsable(dir, { 'config.json': json, 'state.json': json, 'hostconfig.json': json }, () => now);
    assert.equal(moved.length, 1);
    assert.equal(moved[0]!.file, path.join(dir, 'config.json'));
    assert.equal(moved[0]!.movedTo, path.join(dir, 'config.json.corrupt-20261123T140000.123Z'));
    assert.match(moved[0]!.error, /JSON/);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json.corrupt-20261123T140000.123Z', 'state.json']);
    assert.equal(fs.readFileSync(moved[0]!.movedTo, 'utf8'), '{"id": "abc');
    assert.deepEqual(await quarantineUnparsable(dir, { 'state.json': json }, () => now), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('corrupt names carry the time without colons', () => {
  assert.equal(corruptName('/a/config.json', new Date('2026-01-02T03:04:05.006Z')), '/a/config.json.corrupt-20260102T030405.006Z');
});
