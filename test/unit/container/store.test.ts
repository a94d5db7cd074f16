import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claimName, releaseName, containerPaths, ContainerStore } from '../../../src/container/store.js';
import type { RunConfig } from '../../../src/container/config/run-flags.js';
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

const ID = 'c'.repeat(64);
const CONFIG = {
  id: ID,
  name: 'web',
  created: '2026-11-23T12:00:00.000Z',
  config: { isolation: { command: ['true'], network: 'none', volumes: [] }, resources: { memory: { max: 33554432 } } },
};

/** A state root with one container's config.json, and whatever other files `files` names. */
function storeWith(files: Record<string, string> = {}): { root: string; store: ContainerStore; dir: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-store-'));
  const dir = path.join(root, 'containers', ID);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(CONFIG));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return { root, store: new ContainerStore(root), dir };
}

test('ContainerStore reads config.json with hostconfig.json beside it ({} without one)', async () => {
  const { root, store } = storeWith();
  try {
    assert.deepEqual(await store.readConfig(ID), { ...CONFIG, hostConfig: {} });
    await store.writeHostConfig(ID, { Memory: 33554432 });
    assert.deepEqual((await store.readConfig(ID)).hostConfig, { Memory: 33554432 });
    assert.deepEqual(await store.ids(), [ID]);
    assert.deepEqual(await new ContainerStore(path.join(root, 'none')).ids(), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('ContainerStore.writeConfig replaces the configuration and keeps the rest of config.json', async () => {
  const { root, store } = storeWith();
  try {
    const config = { ...CONFIG.config, resources: { memory: { max: 67108864 } } } as unknown as RunConfig;
    await store.writeConfig(ID, config);
    const back = await store.readConfigFile(ID);
    assert.deepEqual(back, { ...CONFIG, config });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a config.json that is not a record is refused with the file named', async () => {
  const { root, store, dir } = storeWith({ 'hostconfig.json': '[1]' });
  try {
    await assert.rejects(store.readConfig(ID), { message: `container record ${path.join(dir, 'hostconfig.json')}: not a JSON object` });
    fs.writeFileSync(path.join(dir, 'config.json'), '{"id": 1}');
    await assert.rejects(store.readConfigFile(ID), { message: /config\.json: no config\.isolation object/ });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("the launcher's exit file is read by its one parser; the run's files are cleared before the next run", async () => {
  const { root, store, dir } = storeWith({ exit: 'signaled 9 2026-11-23T14:00:00.5Z\n', pid: '10 5\n', 'launcher.pid': '9 4\n' });
  try {
    assert.deepEqual(await store.readExit(ID), { exitCode: 137, signal: 9, setupFailed: false, time: '2026-11-23T14:00:00.5Z' });
    await store.clearRunFiles(ID);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json']);
    assert.equal(await store.readExit(ID), undefined);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('at adopt, a foreground run recorded in config.json gets a state.json; a corrupt file is moved aside', async () => {
  const ended = { ...CONFIG, state: { status: 'exited', exitCode: 3, oomKilled: false, finishedAt: '2026-11-23T12:01:00.000Z' } };
  const { root, store, dir } = storeWith({ 'hostconfig.json': '{' });
  try {
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(ended));
    const moved = await store.checkAndMigrate(ID);
    assert.deepEqual(
      moved.map((m) => path.basename(m.file)),
      ['hostconfig.json'],
    );
    assert.deepEqual(await store.readRunState(ID), { status: 'exited', restartCount: 0, manuallyStopped: false, lastExit: { exitCode: 3, oomKilled: false, finishedAt: '2026-11-23T12:01:00.000Z' } });
    // once: a second adopt finds nothing to do
    assert.deepEqual(await store.checkAndMigrate(ID), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
