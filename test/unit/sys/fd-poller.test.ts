/**
 * The fd poller with a scripted stand-in for the kernel: one epoll wait at a time whatever the
 * number of fds, each ready eventfd drained before its handler runs, the wait released (and the
 * epoll and wake fds closed) when the last fd goes, and close() ending a wait in progress.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FdPoller } from '../../../src/sys/fd-poller.js';

/** epollWait calls wait until the test says which fds are ready; a wake write makes the wake fd ready. */
class ScriptedEpoll {
  readonly log: string[] = [];
  private nextFd = 10;
  pendingWaits = 0;
  private release: ((fds: number[]) => void) | undefined;
  wakeFd: number | undefined;
  readonly open = new Set<number>();

  eventfd(): number {
    const fd = this.nextFd++;
    this.open.add(fd);
    this.wakeFd ??= fd;
    return fd;
  }
  epollCreate(): number {
    const fd = this.nextFd++;
    this.open.add(fd);
    this.log.push(`epoll_create ${fd}`);
    return fd;
  }
  epollCtl(_epfd: number, op: 'add' | 'del', fd: number): void {
    this.log.push(`${op} ${fd}`);
  }
  eventfdRead(fd: number): bigint | undefined {
    this.log.push(`read ${fd}`);
    return 1n;
  }
  eventfdWrite(fd: number): void {
    this.log.push(`wake ${fd}`);
    this.ready([fd]);
  }
  epollWait(): Promise<number[]> {
    this.pendingWaits++;
    assert.equal(this.pendingWaits, 1, 'one wait at a time');
    return new Promise((resolve) => {
      this.release = (fds) => {
        this.pendingWaits--;
        this.release = undefined;
        resolve(fds);
      };
    });
  }
  close(fd: number): void {
    this.open.delete(fd);
    this.log.push(`close ${fd}`);
  }
  ready(fds: number[]): void {
    this.release?.(fds);
  }
}

const tick = () => new Promise((r) => setImmediate(r));

test('one wait for many eventfds; a ready fd is drained, then its handler runs', async () => {
  const sys = new ScriptedEpoll();
  const poller = new FdPoller(sys);
  const seen: number[] = [];
  for (const fd of [100, 101, 102]) poller.register(fd, () => seen.push(fd));
  await tick();
  assert.equal(sys.pendingWaits, 1);
  sys.ready([101, 102]);
  await tick();
  assert.deepEqual(seen, [101, 102]);
  assert.deepEqual(
    sys.log.filter((l) => l.startsWith('read')),
    ['read 101', 'read 102'],
  );
  assert.equal(sys.pendingWaits, 1, 'waiting again');
  await poller.close();
});

test('the last unregister ends the wait and closes the epoll and wake fds; a new register starts again', async () => {
  const sys = new ScriptedEpoll();
  const poller = new FdPoller(sys);
  poller.register(100, () => {});
  await tick();
  poller.unregister(100);
  await tick();
  await tick();
  assert.equal(sys.pendingWaits, 0, 'no thread held when nothing is watched');
  assert.deepEqual(sys.open, new Set(), 'epoll and wake fds closed');
  assert.deepEqual(sys.log.slice(0, 3), ['epoll_create 10', 'add 11', 'add 100']);
  assert.ok(sys.log.includes('del 100'));
  let called = 0;
  poller.register(200, () => called++);
  await tick();
  assert.equal(sys.pendingWaits, 1);
  sys.ready([200]);
  await tick();
  assert.equal(called, 1);
  await poller.close();
  assert.equal(sys.pendingWaits, 0);
  assert.deepEqual(sys.open, new Set());
});

test('a ready fd unregistered while the wait ran is ignored; a throwing handler does not stop the others', async () => {
  const sys = new ScriptedEpoll();
  const errors: Error[] = [];
  const poller = new FdPoller(sys, (e) => errors.push(e));
  const seen: number[] = [];
  poller.register(100, () => {
    throw new Error('boom');
  });
  poller.register(101, () => seen.push(101));
  poller.register(102, () => seen.push(102));
  await tick();
  poller.unregister(102);
  sys.ready([100, 101, 102]);
  await tick();
  assert.deepEqual(seen, [101]);
  assert.deepEqual(
    errors.map((e) => e.message),
    ['boom'],
  );
  await poller.close();
  assert.throws(() => poller.register(103, () => {}), /closed/);
});

test('a pidfd is reported once: dropped from the set before its handler, never read', async () => {
  const sys = new ScriptedEpoll();
  const poller = new FdPoller(sys);
  let ended = 0;
  let eventfdSignals = 0;
  poller.register(100, () => ended++, 'pidfd');
  poller.register(101, () => eventfdSignals++);
  await tick();
  sys.ready([100]);
  await tick();
  assert.equal(ended, 1);
  assert.equal(poller.size, 1, 'only the eventfd is left');
  const afterEnd = sys.log.slice(sys.log.indexOf('del 100'));
  assert.ok(afterEnd.length > 0, 'the pidfd left the epoll set');
  assert.ok(!sys.log.includes('read 100'), 'a pidfd is not read');
  // level-triggered: a pidfd left in the set would be reported again at every wait
  sys.ready([101]);
  await tick();
  assert.equal(ended, 1);
  assert.equal(eventfdSignals, 1);
  await poller.close();
});

test('sharedPoller: one poller per syscalls object', async () => {
  const { sharedPoller } = await import('../../../src/sys/fd-poller.js');
  const a = new ScriptedEpoll();
  const b = new ScriptedEpoll();
  assert.equal(
    sharedPoller(a, () => {}),
    sharedPoller(a, () => {}),
  );
  assert.notEqual(
    sharedPoller(a, () => {}),
    sharedPoller(b, () => {}),
  );
});
