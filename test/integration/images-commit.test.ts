/**
 * diff and commit through the daemon, with the real Docker CLI and corral's own: a container made from
 * an image (a registry started here, as the other image tests) changes its root; `docker diff` and
 * `GET /containers/{id}/changes` list exactly those changes in Docker's order and kinds (the captured
 * Docker answer for the same commands is the expected value); `docker commit -c 'ENV X=1'` makes an
 * image whose config and layers carry them, and a container of it sees the changes (a deleted file
 * stays deleted, a directory replaced whole stays replaced: the whiteouts in OCI form).
 */
import { test as nodeTest, before, after, afterEach, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiCall, subscribeEvents, until } from '../helpers/daemon.js';
import { corral, TEST_CGROUP_PARENT } from '../helpers/corral.js';
import { type ImageTestbed, startImageTestbed } from '../helpers/image-testbed.js';
import { busyboxLayer } from '../helpers/oci-layout.js';
import { repoRoot } from '../vm/guest.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const execFileAsync = promisify(execFile);
const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { timeout: 180_000 }, fn);

let bed: ImageTestbed;
let image: string;

before(async () => {
  const base = await busyboxLayer();
  bed = await startImageTestbed('corral-images-commit-', [
    {
      name: 'commit/bb:v1',
      layers: [[...base, { name: 'srv/', type: 'directory', mode: 0o755 }, { name: 'srv/old', body: 'old\n' }], [{ name: 'etc/motd', body: 'motd\n' }]],
      config: { Env: ['PATH=/bin', 'GREETING=from-image'], Cmd: ['/bin/sh'] },
    },
  ]);
  image = bed.refs['commit/bb:v1']!;
});
afterEach(() => bed?.removeContainers(), { timeout: 120_000 });
after(() => bed?.stop());

async function docker(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(bed.scratch.tmp, 'docker-config') };
  for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_API_VERSION']) delete env[k];
  try {
    const { stdout, stderr } = await execFileAsync('docker', ['-H', `unix://${bed.scratch.socket}`, ...args], { env, timeout: 60_000, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the docker CLI is not installed: install the Debian package docker-cli');
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test("docker diff and GET /containers/{id}/changes: Docker's own answer for the same commands", async () => {
  assert.equal((await docker('pull', image)).code, 0);
  const started = await docker('run', '-d', '--name', 'changer', '--cgroup-parent', TEST_CGROUP_PARENT, image, 'sh', '-c', 'echo new > /tmp/added; rm /etc/motd; sleep 60');
  assert.equal(started.code, 0, started.stderr);
  const expected = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/docker-api/v1.41-containers-changes.json'), 'utf8'));
  await until('the changes', async () => (await apiCall(bed.scratch.socket, 'GET', '/containers/changer/changes')).body === JSON.stringify(expected), 10_000);
  const lines = await docker('diff', 'changer');
  assert.equal(lines.stdout, 'C /etc\nD /etc/motd\nC /tmp\nA /tmp/added\n');
  const ours = await corral(['-H', `unix://${bed.scratch.socket}`, 'diff', 'changer']);
  assert.equal(ours.stdout, lines.stdout);
});

test('docker commit -c: a new image with the changes and its config; a container of it sees them, deletions and a replaced directory included', async () => {
  assert.equal((await docker('pull', image)).code, 0);
  const made = await docker('run', '--name', 'maker', '--cgroup-parent', TEST_CGROUP_PARENT, image, 'sh', '-c', 'echo new > /tmp/added; rm /etc/motd; rm -r /srv; mkdir /srv; echo y > /srv/y');
  assert.equal(made.code, 0, made.stderr);
  const diff = await docker('diff', 'maker');
  assert.match(diff.stdout, /^D \/srv$/m, 'the replaced directory is opaque: deleted, then its contents added');
  assert.match(diff.stdout, /^A \/srv\/y$/m);
  const committed = await docker('commit', '-c', 'ENV X=1', '-m', 'the test commit', 'maker', 'local/committed:v1');
  assert.equal(committed.code, 0, committed.stderr);
  assert.match(committed.stdout, /^sha256:[a-f0-9]{64}\n$/);
  const inspect = JSON.parse((await docker('image', 'inspect', 'local/committed:v1')).stdout)[0];
  assert.equal(inspect.RootFS.Layers.length, 3);
  assert.ok(inspect.Config.Env.includes('X=1') && inspect.Config.Env.includes('GREETING=from-image'), JSON.stringify(inspect.Config.Env));
  // Docker's fields of a committed image: the image it was made on, the container, the message
  const parent = JSON.parse((await docker('image', 'inspect', image)).stdout)[0];
  const maker = JSON.parse((await docker('inspect', 'maker')).stdout)[0];
  assert.equal(inspect.Parent, parent.Id);
  assert.equal(inspect.Container, maker.Id);
  assert.equal(inspect.Comment, 'the test commit');
  assert.deepEqual(inspect.ContainerConfig.Cmd, maker.Config.Cmd);
  const history = await docker('history', '--format', '{{.Comment}}', 'local/committed:v1');
  assert.equal(history.stdout.split('\n')[0], 'the test commit');
  const seen = await docker('run', '--rm', '--cgroup-parent', TEST_CGROUP_PARENT, 'local/committed:v1', 'sh', '-c', 'cat /tmp/added; ls /etc/motd 2>&1; ls /srv; echo "$X"');
  assert.equal(seen.code, 0, seen.stderr);
  assert.deepEqual(seen.stdout.trim().split('\n'), ['new', 'ls: /etc/motd: No such file or directory', 'y', '1']);
  // corral's own commit of a host container is refused with the reason
  const host = await corral(['-H', `unix://${bed.scratch.socket}`, 'run', '-d', '--cgroup-parent', TEST_CGROUP_PARENT, '--name', 'onhost', 'sleep', '30']);
  assert.equal(host.code, 0, host.stderr);
  const refused = await corral(['-H', `unix://${bed.scratch.socket}`, 'commit', 'onhost']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /not an image: only a container made from an image can be committed/);
});

test('commit of a running container pauses it while its layer is read (pause, unpause, commit events, as Docker), --pause=false does not; it runs on', async () => {
  assert.equal((await docker('pull', image)).code, 0);
  const started = await docker('run', '-d', '--name', 'busy', '--cgroup-parent', TEST_CGROUP_PARENT, image, 'sh', '-c', 'while :; do date > /tmp/now; sleep 0.1; done');
  assert.equal(started.code, 0, started.stderr);
  const events = await subscribeEvents(bed.scratch.socket, { container: ['busy'] });
  try {
    const paused = await docker('commit', 'busy', 'local/busy:paused');
    assert.equal(paused.code, 0, paused.stderr);
    const commitEvent = await events.waitFor((e) => e.Action === 'commit', 'the commit event');
    assert.equal(commitEvent.Actor.Attributes.imageRef, 'local/busy:paused');
    assert.equal(commitEvent.Actor.Attributes.imageID, paused.stdout.trim());
    assert.deepEqual(
      events.events.map((e) => e.Action),
      ['pause', 'unpause', 'commit'],
    );
    const running = await docker('commit', '--pause=false', 'busy', 'local/busy:running');
    assert.equal(running.code, 0, running.stderr);
    await events.waitFor((e) => e.Action === 'commit' && e.Actor.Attributes.imageRef === 'local/busy:running', 'the second commit event');
    assert.deepEqual(
      events.events.map((e) => e.Action),
      ['pause', 'unpause', 'commit', 'commit'],
    );
    const state = JSON.parse((await docker('inspect', 'busy')).stdout)[0].State;
    assert.equal(state.Status, 'running');
    assert.equal(state.Paused, false);
    // the committed layer has the loop's file
    const seen = await docker('run', '--rm', '--cgroup-parent', TEST_CGROUP_PARENT, 'local/busy:paused', 'cat', '/tmp/now');
    assert.equal(seen.code, 0, seen.stderr);
    assert.notEqual(seen.stdout.trim(), '');
  } finally {
    events.close();
  }
});

test("docker export and corral export -o: the container's root as overlayfs shows it (a deleted file gone, a replaced directory without the base's files), usable as a --rootfs; a host container is refused", async () => {
  assert.equal((await docker('pull', image)).code, 0);
  const made = await docker('run', '--name', 'exporter', '--cgroup-parent', TEST_CGROUP_PARENT, image, 'sh', '-c', 'echo new > /tmp/added; rm /etc/motd; rm -r /srv; mkdir /srv; echo y > /srv/y');
  assert.equal(made.code, 0, made.stderr);
  const theirs = path.join(bed.scratch.tmp, 'docker-export.tar');
  const exported = await docker('export', '-o', theirs, 'exporter');
  assert.equal(exported.code, 0, exported.stderr);
  const names = (await execFileAsync('tar', ['-tf', theirs])).stdout.split('\n');
  for (const kept of ['bin/busybox', 'bin/sh', 'tmp/added', 'srv/y', 'etc/']) assert.ok(names.includes(kept), `${kept} in ${names.join(' ')}`);
  for (const hidden of ['etc/motd', 'srv/old']) assert.ok(!names.includes(hidden), `${hidden} hidden`);
  assert.equal((await execFileAsync('tar', ['-xOf', theirs, 'tmp/added'])).stdout, 'new\n');
  // corral's own command writes the same archive
  const ours = path.join(bed.scratch.tmp, 'corral-export.tar');
  const byCorral = await corral(['-H', `unix://${bed.scratch.socket}`, 'export', '-o', ours, 'exporter']);
  assert.equal(byCorral.code, 0, byCorral.stderr);
  assert.ok(fs.readFileSync(ours).equals(fs.readFileSync(theirs)), 'the same bytes twice');
  // what a user does with it: unpack it and run on it
  const rootfs = path.join(bed.scratch.tmp, 'exported-root');
  fs.mkdirSync(rootfs);
  await execFileAsync('tar', ['-xf', theirs, '-C', rootfs]);
  const ran = await corral(['-H', `unix://${bed.scratch.socket}`, 'run', '--rm', '--cgroup-parent', TEST_CGROUP_PARENT, '--rootfs', rootfs, 'sh', '-c', 'cat /srv/y /tmp/added; ls /etc/motd 2>&1']);
  assert.equal(ran.stdout, 'y\nnew\nls: /etc/motd: No such file or directory\n', ran.stderr);
  const host = await corral(['-H', `unix://${bed.scratch.socket}`, 'run', '-d', '--cgroup-parent', TEST_CGROUP_PARENT, '--name', 'hostexp', 'sleep', '30']);
  assert.equal(host.code, 0, host.stderr);
  const refused = await corral(['-H', `unix://${bed.scratch.socket}`, 'export', '-o', path.join(bed.scratch.tmp, 'no.tar'), 'hostexp']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /runs on the host's directories: it has no root of its own to export/);
  assert.ok(!fs.existsSync(path.join(bed.scratch.tmp, 'no.tar')), 'no file left by a refused export');
});
