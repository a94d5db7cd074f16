import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ContainerDirsBusyError,
  describeHostSystemDirs,
  ensureHostSkeleton,
  HostSkeletonError,
  mountPointsUnder,
  prepareContainerDirs,
  removeContainerDirs,
  skeletonPath,
  volumeSourceKind,
} from '../../../src/isolate/rootfs.js';
import type { ContainerPaths, HostSystemDir, IsolationOptions } from '../../../src/isolate/types.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'corral-rootfs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const mergedUsr: HostSystemDir[] = [
  { name: 'usr', kind: 'dir' },
  { name: 'etc', kind: 'dir' },
  { name: 'bin', kind: 'symlink', target: 'usr/bin' },
  { name: 'lib', kind: 'symlink', target: 'usr/lib' },
  { name: 'lib64', kind: 'symlink', target: 'usr/lib64' },
];

test('describeHostSystemDirs reports directories and symlinks, leaves out the missing', async (t) => {
  const host = await tempDir(t);
  await mkdir(join(host, 'usr'));
  await mkdir(join(host, 'etc'));
  await mkdir(join(host, 'lib32'));
  await symlink('usr/bin', join(host, 'bin'));
  await mkdir(join(host, 'home')); // never a system dir
  assert.deepEqual(await describeHostSystemDirs(host), [
    { name: 'usr', kind: 'dir' },
    { name: 'etc', kind: 'dir' },
    { name: 'bin', kind: 'symlink', target: 'usr/bin' },
    { name: 'lib32', kind: 'dir' },
  ]);
  await writeFile(join(host, 'sbin'), '');
  await assert.rejects(describeHostSystemDirs(host), { name: 'UnsupportedError', message: `host system directory ${join(host, 'sbin')} is neither a directory nor a symlink` });
});

test('ensureHostSkeleton builds the skeleton once, with the host symlinks and mount points', async (t) => {
  const root = await tempDir(t);
  const skeleton = await ensureHostSkeleton(root, mergedUsr);
  assert.equal(skeleton, join(root, 'skeleton'));
  assert.equal(skeletonPath(root), skeleton);
  for (const name of ['proc', 'sys', 'dev', 'tmp', 'run', 'var', 'root', 'home', 'mnt', 'etc', 'usr']) {
    assert.ok((await lstat(join(skeleton, name))).isDirectory(), name);
  }
  assert.equal((await stat(join(skeleton, 'tmp'))).mode & 0o7777, 0o1777);
  assert.equal((await stat(join(skeleton, 'root'))).mode & 0o7777, 0o700);
  assert.equal((await stat(join(skeleton, 'usr'))).mode & 0o7777, 0o755);
  assert.equal(await readlink(join(skeleton, 'bin')), 'usr/bin');
  assert.equal(await readlink(join(skeleton, 'lib64')), 'usr/lib64');
  await assert.rejects(lstat(join(skeleton, 'sbin')), { code: 'ENOENT' });
  // a second call keeps it, and concurrent calls agree
  const again = await Promise.all([ensureHostSkeleton(root, mergedUsr), ensureHostSkeleton(root, mergedUsr)]);
  assert.deepEqual(again, [skeleton, skeleton]);
});

test('ensureHostSkeleton makes mount points for real system directories (split /usr)', async (t) => {
  const root = await tempDir(t);
  const skeleton = await ensureHostSkeleton(root, [
    { name: 'usr', kind: 'dir' },
    { name: 'bin', kind: 'dir' },
    { name: 'lib64', kind: 'dir' },
  ]);
  assert.ok((await lstat(join(skeleton, 'bin'))).isDirectory());
  assert.ok((await lstat(join(skeleton, 'lib64'))).isDirectory());
});

test('a skeleton that no longer matches the host is an error, never rewritten', async (t) => {
  const root = await tempDir(t);
  await ensureHostSkeleton(root, mergedUsr);
  await assert.rejects(ensureHostSkeleton(root, [{ name: 'bin', kind: 'dir' }]), (error: unknown) => {
    assert.ok(error instanceof HostSkeletonError);
    assert.equal(error.message, `host skeleton ${join(root, 'skeleton')}: bin is not a directory, but /bin is one on the host; remove it while no container runs and it is rebuilt`);
    return true;
  });
  await assert.rejects(ensureHostSkeleton(root, [{ name: 'sbin', kind: 'symlink', target: 'usr/sbin' }]), /sbin is missing, but the host has \/sbin/);
});

test('prepareContainerDirs creates dir, upper, work, merged; tolerates existing ones; checks --rootfs', async (t) => {
  const root = await tempDir(t);
  const dir = join(root, 'containers', 'c1');
  const paths: ContainerPaths = { dir, upper: join(dir, 'upper'), work: join(dir, 'work'), merged: join(dir, 'rootfs'), spec: join(dir, 'launch.spec') };
  const opts = { rootfs: undefined } as IsolationOptions;
  await prepareContainerDirs(paths, opts);
  await prepareContainerDirs(paths, opts);
  for (const p of [paths.dir, paths.upper, paths.work, paths.merged]) assert.ok((await stat(p)).isDirectory(), p);
  assert.equal((await stat(paths.upper)).mode & 0o777, 0o700);
  await assert.rejects(prepareContainerDirs(paths, { rootfs: join(root, 'nope') } as IsolationOptions), {
    flag: '--rootfs',
    message: `invalid value "${join(root, 'nope')}" for --rootfs: ${join(root, 'nope')} does not exist; expected an absolute path to an existing directory`,
  });
  await writeFile(join(root, 'file'), '');
  await assert.rejects(prepareContainerDirs(paths, { rootfs: join(root, 'file') } as IsolationOptions), /is not a directory/);
});

test('removeContainerDirs removes recursively, tolerates a missing dir, refuses while mounted', async (t) => {
  const root = await tempDir(t);
  const dir = join(root, 'c1');
  const paths: ContainerPaths = { dir, upper: join(dir, 'upper'), work: join(dir, 'work'), merged: join(dir, 'rootfs'), spec: join(dir, 'launch.spec') };
  await mkdir(join(paths.upper, 'root', 'etc'), { recursive: true });
  await writeFile(join(paths.upper, 'root', 'etc', 'x'), 'x');
  const mountinfo = join(root, 'mountinfo');
  await writeFile(mountinfo, '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n');
  await removeContainerDirs(paths, mountinfo);
  await assert.rejects(stat(dir), { code: 'ENOENT' });
  await removeContainerDirs(paths, mountinfo); // already gone

  await mkdir(paths.merged, { recursive: true });
  await writeFile(mountinfo, `22 1 8:1 / / rw - ext4 /dev/sda1 rw\n90 22 0:50 / ${paths.merged.replace(/ /g, '\\040')} rw - overlay overlay rw\n`);
  await assert.rejects(removeContainerDirs(paths, mountinfo), (error: unknown) => error instanceof ContainerDirsBusyError && error.mountPoints[0] === paths.merged);
  assert.ok((await stat(paths.merged)).isDirectory(), 'nothing removed');
});

test('mountPointsUnder: prefix by path component, octal escapes undone', () => {
  const info = [
    '1 0 8:1 / / rw - ext4 /dev/sda1 rw',
    '2 1 0:5 / /var/lib/corral/c1/rootfs rw - overlay overlay rw',
    '3 1 0:6 / /var/lib/corral/c10 rw - tmpfs tmpfs rw',
    '4 1 0:7 / /var/lib/corral/c1/with\\040space rw - tmpfs tmpfs rw',
  ].join('\n');
  assert.deepEqual(mountPointsUnder('/var/lib/corral/c1', info), ['/var/lib/corral/c1/rootfs', '/var/lib/corral/c1/with space']);
});

test('volumeSourceKind: dir, file (symlinks followed), missing is a --volume error', async (t) => {
  const root = await tempDir(t);
  await writeFile(join(root, 'f'), '');
  await symlink(root, join(root, 'link'));
  assert.equal(await volumeSourceKind({ source: root, target: '/d', readOnly: false }), 'dir');
  assert.equal(await volumeSourceKind({ source: join(root, 'f'), target: '/f', readOnly: false }), 'file');
  assert.equal(await volumeSourceKind({ source: join(root, 'link'), target: '/l', readOnly: false }), 'dir');
  await assert.rejects(volumeSourceKind({ source: join(root, 'gone'), target: '/g', readOnly: true }), {
    message: `invalid value "${join(root, 'gone')}:/g:ro" for --volume: the host path ${join(root, 'gone')} does not exist`,
  });
});
