/**
 * The daemon's pause step (src/daemon/pause.ts) with a real ContainerStore in a temp dir and a fake
 * cgroup: Docker's checks and words, the paused mark written only while the cgroup is frozen, the
 * thaw after a stopping signal only, one operation at a time, and the mark made to agree with the
 * freezer at adopt. The kernel's side is in test/integration/daemon-pause.test.ts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Cgroup, CgroupDriver } from '../../../src/cgroups/types.js';
import { readContainerRecord, type ContainerRecord } from '../../../src/container/records.js';
import type { RunState } from '../../../src/container/run-state.js';
import { ContainerStore } from '../../../src/container/store.js';
import type { DaemonContext } from '../../../src/daemon/context.js';
import { adoptPaused, pause, signalThawing, unpause } from '../../../src/daemon/pause.js';
import { RuntimeTable } from '../../../src/daemon/runtime.js';
import { CorralError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log.js';

const ID = 'f'.repeat(64);
const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

/** A cgroup whose freezer is a boolean; every call is logged with what state.json said at that moment. */
class FakeCgroup {
  isFrozen = false;
  failFreeze: Error | undefined;
  readonly calls: string[] = [];
  constructor(private readonly store: ContainerStore) {}
  private async markNow(): Promise<string> {
    return (await this.store.readRunState(ID))?.paused ? 'marked' : 'unmarked';
  }
  async freeze(): Promise<void> {
    this.calls.push(`freeze (${await this.markNow()})`);
    if (this.failFreeze) throw this.failFreeze;
    this.isFrozen = true;
  }
  async thaw(): Promise<void> {
    this.calls.push(`thaw (${await this.markNow()})`);
    this.isFrozen = false;
  }
  async frozen(): Promise<boolean> {
    return this.isFrozen;
  }
}

async function setup(run: RunState | undefined = { status: 'running', restartCount: 0, manuallyStopped: false }) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-pause-unit-'));
  roots.push(root);
  const store = new ContainerStore(root);
  const dir = store.dir(ID);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ id: ID, name: 'box', created: '2026-11-23T12:00:00.000Z', config: { isolation: { command: ['sleep', '9'], network: 'none' } } }));
  if (run) await store.writeRunState(ID, run);
  const cgroup = new FakeCgroup(store);
  const events: string[] = [];
  const logs: string[] = [];
  let status: ContainerRecord['status'] = 'running';
  const driver = { open: () => cgroup as unknown as Cgroup } as unknown as CgroupDriver;
  const d = {
    store,
    runtimes: new RuntimeTable(),
    log: createLogger({ level: 'debug', write: (line) => logs.push(line) }),
    driver: async () => driver,
    // the record as records.ts reads it, with the workload's liveness decided here
    record: async (id: string) => {
      const r = (await readContainerRecord(root, id))!;
      const run = await store.readRunState(id);
      return { ...r, status, ...(status === 'running' && run?.paused ? { paused: true as const } : {}) };
    },
    emit: async (action: string) => {
      events.push(action);
    },
  } as unknown as DaemonContext;
  return { d, store, cgroup, events, logs, setStatus: (s: ContainerRecord['status']) => (status = s) };
}

const conflict = (message: string) => (e: Error) => e instanceof CorralError && e.code === 'ECONFLICT' && e.message === message;

test('pause: the freeze first, then the mark, then the event; unpause: the mark cleared while still frozen, then the thaw', async () => {
  const { d, store, cgroup, events } = await setup();
  await pause(d, ID);
  assert.equal(cgroup.isFrozen, true);
  assert.equal((await store.readRunState(ID))?.paused, true);
  assert.equal((await d.record(ID)).paused, true);
  await unpause(d, ID);
  assert.equal(cgroup.isFrozen, false);
  assert.deepEqual(await store.readRunState(ID), { status: 'running', restartCount: 0, manuallyStopped: false }, 'no paused key left behind');
  // the mark is only ever written while the cgroup is frozen: the monitor cannot be recording an end then
  assert.deepEqual(cgroup.calls, ['freeze (unmarked)', 'thaw (unmarked)']);
  assert.deepEqual(events, ['pause', 'unpause']);
});

test("Docker's 409s, in moby's order and words", async () => {
  const { d, setStatus, cgroup } = await setup();
  await assert.rejects(unpause(d, ID), conflict(`Container ${ID} is not paused`));
  await pause(d, ID);
  await assert.rejects(pause(d, ID), conflict(`Container ${ID} is already paused`));
  await unpause(d, ID);
  setStatus('restarting');
  await assert.rejects(pause(d, ID), conflict(`Container ${ID} is restarting, wait until the container is running`));
  for (const s of ['created', 'exited', 'dead'] as const) {
    setStatus(s);
    await assert.rejects(pause(d, ID), conflict(`Container ${ID} is not running`), s);
  }
  setStatus('running');
  d.runtimes.of(ID).sigkilled = true;
  await assert.rejects(pause(d, ID), conflict(`Container ${ID} is not running: it was sent SIGKILL and is ending`));
  assert.deepEqual(cgroup.calls, ['freeze (unmarked)', 'thaw (unmarked)'], 'a refused pause touches no cgroup');
});

test('a freeze that fails is undone and reported as Docker words it; nothing is marked', async () => {
  const { d, store, cgroup, events } = await setup();
  cgroup.failFreeze = new CorralError('EFREEZE', 'freeze /sys/fs/cgroup/x: still FREEZING');
  await assert.rejects(pause(d, ID), (e: Error) => e instanceof CorralError && e.code === 'EPAUSE' && e.message === `Cannot pause container ${ID}: freeze /sys/fs/cgroup/x: still FREEZING`);
  assert.deepEqual(cgroup.calls, ['freeze (unmarked)', 'thaw (unmarked)']);
  assert.equal((await store.readRunState(ID))?.paused, undefined);
  assert.deepEqual(events, []);
});

test('a container a client runs in its foreground (no state.json yet) gets one with the mark', async () => {
  const { d, store } = await setup(undefined);
  await pause(d, ID);
  assert.deepEqual(await store.readRunState(ID), { status: 'running', restartCount: 0, manuallyStopped: false, paused: true });
});

test('a signal: sent, and a stopping one to a paused container thawed after it; no thaw otherwise; a gone workload is false', async () => {
  const { d, cgroup, events } = await setup();
  const sent: string[] = [];
  const send =
    (what: string, ok = true) =>
    async () => {
      sent.push(`${what} (${cgroup.isFrozen ? 'frozen' : 'thawed'})`);
      return ok;
    };
  assert.equal(await signalThawing(d, ID, true, send('TERM to a running one')), true);
  await pause(d, ID);
  assert.equal(await signalThawing(d, ID, false, send('USR1')), true);
  assert.equal(cgroup.isFrozen, true, 'a signal that does not stop waits, queued, for the unpause');
  assert.equal(await signalThawing(d, ID, true, send('gone', false)), false);
  assert.equal(cgroup.isFrozen, true, 'no thaw for a signal that was not sent');
  assert.equal(await signalThawing(d, ID, true, send('KILL')), true);
  assert.equal(cgroup.isFrozen, false);
  assert.equal((await d.record(ID)).paused, undefined);
  assert.deepEqual(sent, ['TERM to a running one (thawed)', 'USR1 (frozen)', 'gone (frozen)', 'KILL (frozen)'], 'the signal goes before the thaw');
  assert.deepEqual(events, ['pause', 'unpause']);
});

test('pause, unpause and signals go one at a time per container', async () => {
  const { d, cgroup } = await setup();
  const order: string[] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const slow = signalThawing(d, ID, false, async () => {
    order.push('signal starts');
    await held;
    order.push('signal ends');
    return true;
  });
  const paused = pause(d, ID).then(() => order.push('paused'));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(order, ['signal starts'], 'the pause waits');
  assert.equal(cgroup.isFrozen, false);
  release();
  await Promise.all([slow, paused]);
  assert.deepEqual(order, ['signal starts', 'signal ends', 'paused']);
  assert.equal(d.runtimes.peek(ID)?.freezer, undefined, 'nothing left pending');
});

test('adopt: the mark follows the freezer, with a warning; an agreeing or ended run is left alone', async () => {
  const { d, store, cgroup, logs } = await setup();
  const stored = await store.readConfig(ID);
  await adoptPaused(d, ID, stored);
  assert.deepEqual([logs.length, (await store.readRunState(ID))?.paused], [0, undefined]);
  cgroup.isFrozen = true; // a daemon died between its freeze and its mark
  await adoptPaused(d, ID, stored);
  assert.equal((await store.readRunState(ID))?.paused, true);
  assert.match(logs.join(''), /the cgroup is frozen: the container is shown as paused/);
  cgroup.isFrozen = false; // thawed from outside corral
  await adoptPaused(d, ID, stored);
  assert.equal((await store.readRunState(ID))?.paused, undefined);
  assert.match(logs.join(''), /the cgroup is not frozen: the container is no longer shown as paused/);
  const exited: RunState = { status: 'exited', restartCount: 0, manuallyStopped: false, lastExit: { exitCode: 0, oomKilled: false, finishedAt: '2026-11-23T12:00:01.000Z' } };
  await store.writeRunState(ID, exited);
  cgroup.isFrozen = true;
  await adoptPaused(d, ID, stored);
  assert.deepEqual(await store.readRunState(ID), exited, 'a recorded end is never touched');
});
