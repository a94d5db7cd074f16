import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExitPoller, type ContainerEnd, type PollerIo } from '../../../src/daemon/exit-poller.js';

/** A fake file system and process table: files by path, live pids with their /proc stat line. */
function fakeIo() {
  const files = new Map<string, string>();
  const procs = new Map<number, string>();
  const calls = { exists: 0, readText: 0, processExists: 0 };
  const io: PollerIo = {
    exists: (f) => {
      calls.exists++;
      return files.has(f);
    },
    readText: (f) => {
      calls.readText++;
      const m = /^\/proc\/(\d+)\/stat$/.exec(f);
      return m ? procs.get(Number(m[1])) : files.get(f);
    },
    processExists: (pid) => {
      calls.processExists++;
      return procs.has(pid);
    },
  };
  return { files, procs, calls, io };
}

/** A stat line whose starttime (field 22) is `start`. */
const stat = (pid: number, start: number) => `${pid} (corral-launch) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${start} 1000 100`;

function settled(p: Promise<ContainerEnd>): { value?: ContainerEnd } {
  const out: { value?: ContainerEnd } = {};
  void p.then((v) => (out.value = v));
  return out;
}

const flush = () => new Promise((r) => setImmediate(r));

test('an exit file ends the container at the next tick; one promise per dir; liveness only every N ticks', async () => {
  const { files, procs, calls, io } = fakeIo();
  const poller = new ExitPoller(io, 1_000_000, 4);
  files.set('/c/a/launcher.pid', '100 555\n');
  procs.set(100, stat(100, 555));
  const a = poller.ended('/c/a');
  assert.equal(poller.ended('/c/a'), a);
  const got = settled(a);
  for (let i = 0; i < 8; i++) poller.check();
  await flush();
  assert.equal(got.value, undefined);
  assert.equal(calls.processExists, 2, 'two liveness checks in eight ticks');
  assert.equal(calls.readText, 3, 'launcher.pid read once, /proc stat at each liveness check');
  files.set('/c/a/exit', 'exited 0\n');
  poller.check();
  await flush();
  assert.equal(got.value, 'exit-file');
  assert.equal(poller.size, 0);
  poller.close();
});

test('a launcher gone without an exit file: ended after two liveness checks in a row; a reused pid counts as gone', async () => {
  const { files, procs, io } = fakeIo();
  const poller = new ExitPoller(io, 1_000_000, 1);
  files.set('/c/b/launcher.pid', '200 777\n');
  procs.set(200, stat(200, 777));
  files.set('/c/c/launcher.pid', '300 888\n');
  procs.set(300, stat(300, 999)); // another process got pid 300
  const b = settled(poller.ended('/c/b'));
  const c = settled(poller.ended('/c/c'));
  poller.check();
  await flush();
  assert.deepEqual([b.value, c.value], [undefined, undefined]);
  procs.delete(200);
  poller.check();
  await flush();
  assert.deepEqual([b.value, c.value], [undefined, 'launcher-gone']);
  poller.check();
  await flush();
  assert.equal(b.value, 'launcher-gone');
  poller.close();
});

test('a launcher that comes back alive resets the count; a missing launcher.pid is a miss too', async () => {
  const { files, procs, io } = fakeIo();
  const poller = new ExitPoller(io, 1_000_000, 1);
  const d = settled(poller.ended('/c/d'));
  poller.check(); // no launcher.pid yet: one miss
  files.set('/c/d/launcher.pid', '400 1\n');
  procs.set(400, stat(400, 1));
  poller.check(); // alive: the count starts again
  procs.delete(400);
  poller.check();
  await flush();
  assert.equal(d.value, undefined);
  files.set('/c/d/exit', 'signaled 9\n'); // written before it ended: found on the re-look
  poller.check();
  await flush();
  assert.equal(d.value, 'exit-file');
  poller.close();
});

test('after close nothing resolves and no timer keeps the process alive', async () => {
  const { files, io } = fakeIo();
  const poller = new ExitPoller(io, 5, 1);
  const e = settled(poller.ended('/c/e'));
  poller.close();
  files.set('/c/e/exit', 'exited 1\n');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(e.value, undefined);
});

test('the timer ticks by itself', async () => {
  const { files, io } = fakeIo();
  const poller = new ExitPoller(io, 5, 100);
  files.set('/c/f/exit', 'exited 1\n');
  // the poller's timer is unref'd (the daemon's server keeps the process alive): hold it here
  const keepAlive = setTimeout(() => {}, 10_000);
  assert.equal(await poller.ended('/c/f'), 'exit-file');
  clearTimeout(keepAlive);
  poller.close();
});

test('a container whose exit file is already there when it is followed ends at once, without a tick; poke looks now', async () => {
  const { files, io } = fakeIo();
  const poller = new ExitPoller(io, 1_000_000, 4);
  files.set('/c/done/exit', 'exited 3\n');
  const got = settled(poller.ended('/c/done'));
  await flush();
  assert.equal(got.value, 'exit-file');
  assert.equal(poller.size, 0);
  const later = settled(poller.ended('/c/later'));
  poller.poke('/c/later');
  await flush();
  assert.equal(later.value, undefined, 'no exit file yet: a poke changes nothing');
  files.set('/c/later/exit', 'exited 0\n');
  poller.poke('/c/later');
  await flush();
  assert.equal(later.value, 'exit-file');
  poller.close();
});
