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
    // Docker's wording (moby's nameConflictError), which clients show and match on
    await assert.rejects(claimName(root, 'web', 'b'.repeat(64)), {
      code: 'ENAMEINUSE',
      message: `Conflict. The container name "/web" is already in use by container "${a}". You have to remove (or rename) that container to be able to reuse that name.`,
    });
    // given up only by its holder when the holder is named
    await releaseName(root, 'web', 'b'.repeat(64));
    assert.equal(path.basename(fs.readlinkSync(path.join(root, 'names', 'web'))), a);
    await releaseName(root, 'web', a);
    await claimName(root, 'web', 'b'.repeat(64));
    await releaseName(root, 'web');
    await releaseName(root, 'never-claimed', a);
    assert.deepEqual(fs.readdirSync(path.join(root, 'names')), []);
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

test('ContainerStore.writeConfig replaces the configuration and keeps the rest of config.json, the name included', async () => {
  const { root, store } = storeWith();
  try {
    const config = { ...CONFIG.config, name: 'stale', resources: { memory: { max: 67108864 } } } as unknown as RunConfig;
    await store.writeConfig(ID, config);
    const back = await store.readConfigFile(ID);
    // the name is config.json's own: a rename since the caller read the configuration stands
    assert.deepEqual(back, { ...CONFIG, config: { ...config, name: 'web' } });
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

/** The holder of each name under <root>/names. */
function names(root: string): Record<string, string> {
  const dir = path.join(root, 'names');
  return Object.fromEntries(fs.readdirSync(dir).map((n) => [n, path.basename(fs.readlinkSync(path.join(dir, n)))]));
}

test('rename: the new name claimed, config.json says it, the old one given up; the same name or one in use changes nothing', async () => {
  const { root, store } = storeWith();
  try {
    await claimName(root, 'web', ID);
    const other = 'd'.repeat(64);
    await claimName(root, 'db', other);
    assert.deepEqual(await store.rename(ID, 'front'), { oldName: 'web' });
    assert.deepEqual(names(root), { db: other, front: ID });
    const back = await store.readConfigFile(ID);
    assert.equal(back.name, 'front');
    assert.equal(back.config.name, 'front');
    assert.deepEqual(back.config.resources, CONFIG.config.resources, 'the rest of config.json is kept');

    await assert.rejects(store.rename(ID, 'front'), { code: 'EINVALIDPARAM', message: 'Renaming a container with the same name as its current name' });
    await assert.rejects(store.rename(ID, 'db'), { code: 'ENAMEINUSE', message: /^Conflict\. The container name "\/db" is already in use by container "d{64}"/ });
    assert.deepEqual(names(root), { db: other, front: ID });
    assert.equal((await store.readConfigFile(ID)).name, 'front');
    await assert.rejects(store.rename('e'.repeat(64), 'x1'), { code: 'ENOSUCHCONTAINER' });
    assert.deepEqual(names(root), { db: other, front: ID }, 'nothing claimed for a container that is not there');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('rename racing a create of the same name: exactly one gets it; renames and updates of one container do not undo each other', async () => {
  const { root, store } = storeWith();
  try {
    await claimName(root, 'web', ID);
    const creator = 'd'.repeat(64);
    for (let i = 0; i < 20; i++) {
      const name = `contested${i}`;
      const [renamed, created] = await Promise.allSettled([store.rename(ID, name), claimName(root, name, creator)]);
      assert.equal([renamed, created].filter((r) => r.status === 'fulfilled').length, 1, name);
      const holder = names(root)[name];
      assert.equal(holder, renamed.status === 'fulfilled' ? ID : creator);
      if (renamed.status === 'rejected') assert.equal((renamed.reason as { code: string }).code, 'ENAMEINUSE');
    }
    // two renames and an update at once: one after the other; the last rename's name stands, held once
    const current = (await store.readConfigFile(ID)).name!;
    const config = { ...CONFIG.config, resources: { memory: { max: 1 << 27 } } } as unknown as RunConfig;
    await Promise.all([store.rename(ID, 'first'), store.writeConfig(ID, config), store.rename(ID, 'second')]);
    const back = await store.readConfigFile(ID);
    assert.deepEqual([back.name, back.config.name, back.config.resources], ['second', 'second', config.resources]);
    const mine = Object.entries(names(root)).filter(([, id]) => id === ID);
    assert.deepEqual(mine, [['second', ID]], `${current} and first given up`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('remove gives up the name config.json says (a rename since the caller read it), never a name another container holds', async () => {
  const { root, store } = storeWith();
  try {
    await claimName(root, 'web', ID);
    await store.rename(ID, 'renamed');
    const other = 'd'.repeat(64);
    await claimName(root, 'web', other);
    // the caller read the old name before the rename
    await store.remove(ID, 'web');
    assert.deepEqual(names(root), { web: other });
    assert.equal(fs.existsSync(store.dir(ID)), false);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('at adopt: a name an interrupted rename left claimed (its config.json says another) is given up; others stay', async () => {
  const { root, store } = storeWith();
  try {
    await claimName(root, 'web', ID);
    // a daemon killed between claiming "front" and writing config.json
    await claimName(root, 'front', ID);
    // being created: no config.json yet
    await claimName(root, 'new', 'd'.repeat(64));
    // a dangling name and one that is no container's
    fs.symlinkSync('../containers/x', path.join(root, 'names', 'odd'));
    assert.deepEqual(await store.releaseStaleNames(), ['front']);
    assert.deepEqual(names(root), { new: 'd'.repeat(64), odd: 'x', web: ID });
    assert.deepEqual(await new ContainerStore(path.join(root, 'none')).releaseStaleNames(), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
