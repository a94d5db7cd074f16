/** Mode detection from mountinfo and /proc/self/cgroup contents (pure). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsupportedError } from '../../../src/errors.js';
import { detectLayout } from '../../../src/cgroups/detect.js';
import { fixture } from '../../helpers/cgroup-fixtures.js';

describe('detectLayout', () => {
  test('this hybrid host (captured): v1, one hierarchy per controller, memory in the process manager cgroup', () => {
    const layout = detectLayout({ root: '/sys/fs/cgroup', mountinfo: fixture('v1', 'proc-self-mountinfo'), procSelfCgroup: fixture('v1', 'proc-self-cgroup') });
    assert.equal(layout.mode, 'v1');
    if (layout.mode !== 'v1') return;
    assert.deepEqual(
      layout.hierarchies.map((h) => h.controllers.join(',')),
      ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids'],
    );
    const memory = layout.hierarchies.find((h) => h.controllers.includes('memory'));
    assert.match(memory?.ownPath ?? '', /^\/process_api\/[0-9a-f]+$/);
    assert.equal(memory?.ownDir, `/sys/fs/cgroup/memory${memory?.ownPath}`);
    assert.deepEqual(
      layout.hierarchies.find((h) => h.controllers.includes('cpu')),
      {
        controllers: ['cpu'],
        mountPoint: '/sys/fs/cgroup/cpu',
        mountRoot: '/',
        ownPath: '/',
        ownDir: '/sys/fs/cgroup/cpu',
      },
    );
  });

  test('co-mounted cpu,cpuacct (a systemd hybrid host): one hierarchy for both', () => {
    const layout = detectLayout({ root: '/sys/fs/cgroup', mountinfo: fixture('v1', 'mountinfo-comounted'), procSelfCgroup: fixture('v1', 'proc-self-cgroup-comounted') });
    assert.equal(layout.mode, 'v1');
    if (layout.mode !== 'v1') return;
    const cpu = layout.hierarchies.filter((h) => h.controllers.includes('cpu') || h.controllers.includes('cpuacct'));
    assert.deepEqual(cpu, [{ controllers: ['cpu', 'cpuacct'], mountPoint: '/sys/fs/cgroup/cpu,cpuacct', mountRoot: '/', ownPath: '/user.slice', ownDir: '/sys/fs/cgroup/cpu,cpuacct/user.slice' }]);
    assert.equal(layout.hierarchies.find((h) => h.controllers.includes('memory'))?.ownDir, '/sys/fs/cgroup/memory/user.slice/user-1000.slice/session-2.scope');
    assert.ok(!layout.hierarchies.some((h) => h.mountPoint.includes('net_cls')), 'unknown controllers are left out');
  });

  test('a pure v2 kernel (captured in the QEMU guest): v2 at the root', () => {
    const layout = detectLayout({
      root: '/sys/fs/cgroup',
      mountinfo: fixture('v2', 'proc-self-mountinfo'),
      procSelfCgroup: fixture('v2', 'proc-self-cgroup'),
      rootControllers: fixture('v2', 'guest-6.1/cgroup.controllers'),
    });
    assert.deepEqual(layout, {
      mode: 'v2',
      mountPoint: '/sys/fs/cgroup',
      mountRoot: '/',
      ownPath: '/',
      ownDir: '/sys/fs/cgroup',
      rootControllers: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'],
    });
  });

  test('v2: a process moved into corral-supervisor counts its parent as its own cgroup', () => {
    const layout = detectLayout({
      root: '/sys/fs/cgroup',
      mountinfo: fixture('v2', 'proc-self-mountinfo'),
      procSelfCgroup: '0::/user.slice/app/corral-supervisor\n',
      rootControllers: 'cpu memory pids',
    });
    assert.equal(layout.mode === 'v2' && layout.ownPath, '/user.slice/app');
    assert.equal(layout.mode === 'v2' && layout.ownDir, '/sys/fs/cgroup/user.slice/app');
  });

  test('v2 in a container that bind-mounts its own cgroup (mount root /docker/abc)', () => {
    const layout = detectLayout({
      root: '/sys/fs/cgroup',
      mountinfo: '31 23 0:28 /docker/abc /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n',
      procSelfCgroup: '0::/docker/abc/sub\n',
      rootControllers: 'cpu memory',
    });
    assert.equal(layout.mode === 'v2' && layout.ownDir, '/sys/fs/cgroup/sub');
  });

  test('an injected root (a temp dir)', () => {
    const layout = detectLayout({ root: '/tmp/x/', mountinfo: '40 1 0:50 / /tmp/x rw - cgroup2 cgroup2 rw\n', procSelfCgroup: '0::/app\n', rootControllers: 'pids' });
    assert.equal(layout.mode === 'v2' && layout.ownDir, '/tmp/x/app');
  });

  test("the hybrid host's unified mount (no controllers) is not chosen over v1", () => {
    const layout = detectLayout({ root: '/sys/fs/cgroup/unified', mountinfo: fixture('v1', 'proc-self-mountinfo'), procSelfCgroup: fixture('v1', 'proc-self-cgroup'), rootControllers: 'hugetlb\n' });
    // /sys/fs/cgroup/unified is cgroup2 with controllers ("hugetlb"): as a root it is v2.
    assert.equal(layout.mode, 'v2');
  });

  test('nothing usable: UnsupportedError that says what the root is', () => {
    assert.throws(
      () =>
        detectLayout({ root: '/sys/fs/cgroup', mountinfo: '31 27 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n', procSelfCgroup: '0::/\n' }),
      (err: unknown) => err instanceof UnsupportedError && err.message === 'no usable cgroup hierarchy at /sys/fs/cgroup: it is a tmpfs mount and no cgroup v1 controller is mounted below it',
    );
  });

  test('own cgroup outside a bind-mounted hierarchy: UnsupportedError', () => {
    assert.throws(() => detectLayout({ root: '/sys/fs/cgroup', mountinfo: '31 27 0:28 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n', procSelfCgroup: '0::/other\n', rootControllers: 'cpu' }), {
      name: 'UnsupportedError',
      message: "the own cgroup v2 cgroup /other is not visible under /sys/fs/cgroup, which mounts /docker/abc: mount the hierarchy's root or use a cgroup namespace",
    });
  });
});
