/**
 * The koffi-backed syscalls on the real kernel: pidfd_open and pidfd_send_signal on a child we
 * started, statfs magic numbers of known file systems, and errors that name the call and errno.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadSyscalls, FS_MAGIC } from '../../src/sys/syscalls.js';

test('pidfd_open + pidfd_send_signal end a child by its pidfd', async (t) => {
  const sys = await loadSyscalls();
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  // if the pidfd calls fail, the sleep must not outlive the test
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await once(child, 'spawn');
  const pidfd = sys.pidfdOpen(child.pid!);
  try {
    const exited = once(child, 'exit');
    sys.pidfdSendSignal(pidfd, 'SIGTERM');
    const [code, signal] = await exited;
    assert.equal(code, null);
    assert.equal(signal, 'SIGTERM');
    // The process is gone (reaped): signalling through the stale pidfd is ESRCH, never another process.
    assert.throws(() => sys.pidfdSendSignal(pidfd, 0), { code: 'ESYSCALL', message: new RegExp(`^pidfd_send_signal fd ${pidfd} 0: ESRCH$`) });
  } finally {
    sys.close(pidfd);
  }
});

test('pidfd_open of a pid that does not exist names the call, the pid and ESRCH', async () => {
  const sys = await loadSyscalls();
  assert.throws(() => sys.pidfdOpen(2 ** 22 + 1), { message: `pidfd_open pid ${2 ** 22 + 1}: ESRCH` });
});

test('statfs tells proc, tmpfs and cgroup file systems apart', async () => {
  const sys = await loadSyscalls();
  assert.equal(sys.statfsType('/proc'), FS_MAGIC.PROC);
  assert.equal(sys.statfsType('/dev/shm'), FS_MAGIC.TMPFS);
  const cgroupType = sys.statfsType('/sys/fs/cgroup');
  const expected = process.env.CORRAL_TEST_CGROUP_MODE === 'v2' ? FS_MAGIC.CGROUP2 : FS_MAGIC.TMPFS; // v1 hosts mount a tmpfs holding one dir per hierarchy
  assert.equal(cgroupType, expected);
  assert.throws(() => sys.statfsType('/no/such/path'), { message: 'statfs /no/such/path: ENOENT' });
});

test('pipe2 gives a close-on-exec pipe whose ends carry bytes', async () => {
  const { readlinkSync, readFileSync, writeSync, readSync } = await import('node:fs');
  const sys = await loadSyscalls();
  const [r, w] = sys.pipe();
  try {
    assert.match(readlinkSync(`/proc/self/fd/${r}`), /^pipe:\[\d+\]$/);
    assert.equal(readlinkSync(`/proc/self/fd/${r}`), readlinkSync(`/proc/self/fd/${w}`), 'both ends of one pipe');
    for (const fd of [r, w]) {
      const flags = parseInt(/^flags:\s+(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
      assert.equal(flags & 0o2000000, 0o2000000, `fd ${fd} is O_CLOEXEC`);
    }
    writeSync(w, 'through');
    const buf = Buffer.alloc(16);
    assert.equal(buf.subarray(0, readSync(r, buf)).toString(), 'through');
  } finally {
    sys.close(r);
    sys.close(w);
  }
});
