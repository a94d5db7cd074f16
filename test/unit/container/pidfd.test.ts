import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openVerified, signalVerified, isAlive } from '../../../src/container/pidfd.js';
import { procStatStartTime } from '../../../src/container/records.js';
import { FakeSyscalls } from '../../../src/sys/fake-syscalls.js';
import { SyscallError } from '../../../src/errors.js';

const ownStart = procStatStartTime(fs.readFileSync('/proc/self/stat', 'utf8'))!;

function pidFile(content: string): { file: string; done: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-pidfd-'));
  const file = path.join(dir, 'launcher.pid');
  fs.writeFileSync(file, content);
  return { file, done: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

test('a pid file whose start time does not match is never opened: a reused PID is not mistaken', async () => {
  const sys = new FakeSyscalls();
  const f = pidFile(`${process.pid} ${Number(ownStart) + 1}\n`);
  try {
    assert.equal(await openVerified(f.file, sys), undefined);
    assert.equal(await signalVerified(f.file, 15, sys), false);
    assert.deepEqual(sys.calls, []);
  } finally {
    f.done();
  }
});

test('a matching start time opens a pidfd; signals go through it and it is closed', async () => {
  const sys = new FakeSyscalls();
  const f = pidFile(`${process.pid} ${ownStart}\n`);
  try {
    const handle = await openVerified(f.file, sys);
    assert.deepEqual(handle, { pid: process.pid, fd: 100 });
    assert.equal(isAlive(handle!, sys), true);
    assert.equal(await signalVerified(f.file, 10, sys), true);
    assert.deepEqual(sys.calls, [
      { call: 'pidfdOpen', pid: process.pid },
      { call: 'pidfdSendSignal', pidfd: 100, signal: 0 },
      { call: 'pidfdOpen', pid: process.pid },
      { call: 'pidfdSendSignal', pidfd: 101, signal: 10 },
      { call: 'close', fd: 101 },
    ]);
  } finally {
    f.done();
  }
});

test('ESRCH from the pidfd means gone; other errors propagate; a missing pid file is undefined', async () => {
  const esrch = new (class extends FakeSyscalls {
    override pidfdSendSignal(): void {
      throw new SyscallError('pidfd_send_signal', os.constants.errno.ESRCH, 'ESRCH');
    }
  })();
  assert.equal(isAlive({ pid: 1, fd: 5 }, esrch), false);
  const eperm = new (class extends FakeSyscalls {
    override pidfdSendSignal(): void {
      throw new SyscallError('pidfd_send_signal', os.constants.errno.EPERM, 'EPERM');
    }
  })();
  assert.throws(() => isAlive({ pid: 1, fd: 5 }, eperm), /EPERM/);
  assert.equal(await openVerified('/nonexistent/launcher.pid', new FakeSyscalls()), undefined);
});
