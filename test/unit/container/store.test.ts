import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claimName, releaseName, containerPaths } from '../../../src/container/store.js';
import { checkName } from '../../../src/container/ids.js';

test('a name can be claimed once; the second claim names the holder', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-store-'));
  try {
    const a = 'a'.repeat(64);
    await claimName(root, 'web', a);
    await assert.rejects(claimName(root, 'web', 'b'.repeat(64)), { message: 'the container name "web" is already in use by container aaaaaaaaaaaa' });
    await releaseName(root, 'web');
    await claimName(root, 'web', 'b'.repeat(64));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('container paths live under <root>/containers/<id>', () => {
  assert.deepEqual(containerPaths('/s', 'ab'), {
    dir: '/s/containers/ab',
    upper: '/s/containers/ab/upper',
    work: '/s/containers/ab/work',
    merged: '/s/containers/ab/rootfs',
    spec: '/s/containers/ab/launch.spec',
  });
});

test("names follow Docker's rule; path-like names are refused", () => {
  for (const ok of ['web', 'a1', 'my_app.v2-x']) assert.equal(checkName(ok), ok);
  for (const bad of ['a', '../x', '-x', 'a/b', '', 'x y']) {
    assert.throws(() => checkName(bad), { message: `invalid value "${bad}" for --name: a name matching [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at most 128 characters)` });
  }
});
