/**
 * (The folder is named z-final because node --test sorts the files it is given: this one must run last.)
 * Runs last: after the whole suite, nothing corral made may remain: no container cgroup under
 * corral's parent, no launcher process, no overlay or other mount from a corral state directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { defaultParentCgroups, launcherProcesses, mountPoints } from '../helpers/corral.js';

test("no container cgroup is left under corral's default parent cgroup", async () => {
  assert.deepEqual(await defaultParentCgroups(), []);
});

test('no test cgroup parent (corral-test-<pid>) of a finished test process is left in any hierarchy', () => {
  const own = fs
    .readFileSync('/proc/self/cgroup', 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(':'));
  const roots = fs.existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? [`/sys/fs/cgroup${own.find((f) => f[0] === '0')![2]}`]
    : own.filter((f) => f[1] && !f[1].startsWith('name=')).map((f) => `/sys/fs/cgroup/${f[1]!.split(',')[0]}${f[2]}`);
  // A parent whose test process still runs belongs to a test run in progress elsewhere on this
  // machine (v1 hierarchies rooted at / are shared); one whose process is gone was leaked.
  const alive = (pid: number) => fs.existsSync(`/proc/${pid}`);
  const left = roots.flatMap((r) =>
    fs.existsSync(r)
      ? fs
          .readdirSync(r)
          .filter((d) => d.startsWith('corral-test-') && !alive(Number(d.slice('corral-test-'.length))))
          .map((d) => `${r}/${d}`)
      : [],
  );
  assert.deepEqual(left, []);
});

test('no launcher process is left', () => {
  assert.deepEqual(launcherProcesses(), []);
});

test('no mount from a corral state directory is left on the host', () => {
  assert.deepEqual(
    mountPoints().filter((m) => /corral/.test(m)),
    [],
  );
});
