/**
 * corral's own image commands against a real registry (Debian's docker-registry, fed by skopeo):
 * `corral pull` (plain lines when not on a terminal), `images`, `tag`, `history`, `image inspect`,
 * `rmi`, `image prune -a`; `corral run IMAGE` through the daemon (the fast front's prepare, and -d
 * through the API), the image's Cmd when none is given; a run of an image not here pulls it first;
 * a stand-alone `corral run IMAGE` (no daemon) pulls into its own store and runs; a word that is a
 * host program stays a host command.
 */
import { test as nodeTest, before, after, afterEach, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { corral, stopAllCorrals, TEST_CGROUP_PARENT } from '../helpers/corral.js';
import { daemonScratch, forceRemoveContainers, startTestDaemon, type DaemonScratch, type TestDaemon } from '../helpers/daemon.js';
import { busyboxLayer, buildImage } from '../helpers/oci-layout.js';
import { skopeoCopy, startRegistry, type TestRegistry } from '../helpers/registry.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { timeout: 180_000 }, fn);

let scratch: DaemonScratch;
let daemon: TestDaemon | undefined;
let registry: TestRegistry;
let image: string;
let later: string;

before(async () => {
  registry = await startRegistry();
  const layout = path.join(fs.mkdtempSync('/tmp/corral-images-cli-'), 'layout');
  const base = await busyboxLayer();
  await buildImage(layout, 'v1', [base, [{ name: 'etc/motd', body: 'motd of the image\n' }]], { Env: ['PATH=/bin'], Cmd: ['cat', '/etc/motd'] });
  await buildImage(layout, 'later', [base, [{ name: 'etc/later', body: 'pulled on demand\n' }]], { Env: ['PATH=/bin'], Cmd: ['cat', '/etc/later'] });
  image = `${registry.host}/cli/bb:v1`;
  later = `${registry.host}/cli/later:v1`;
  await skopeoCopy(`oci:${layout}:v1`, `docker://${image}`);
  await skopeoCopy(`oci:${layout}:later`, `docker://${later}`);
  fs.rmSync(path.dirname(layout), { recursive: true, force: true });
  scratch = await daemonScratch('corral-images-cli-');
  daemon = await startTestDaemon(scratch.root, scratch.socket);
});

afterEach(
  async () => {
    if (daemon !== undefined) await forceRemoveContainers(scratch.socket);
  },
  { timeout: 120_000 },
);

after(async () => {
  await daemon?.stop();
  await stopAllCorrals();
  await registry?.stop();
  if (scratch) fs.rmSync(scratch.tmp, { recursive: true, force: true });
});

const cli = (...args: string[]) => corral(['-H', `unix://${scratch.socket}`, ...args]);

test('corral pull: plain lines off a terminal, the reference last; images, tag, history, image inspect', async () => {
  const r = await cli('pull', image);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'v1: Pulling from cli/bb');
  assert.ok(
    lines.some((l) => /^[a-f0-9]{12}: Pull complete$/.test(l)),
    r.stdout,
  );
  assert.ok(!lines.some((l) => /Downloading|\[=/.test(l)), 'no progress bars in a log');
  assert.equal(lines.at(-1), image);
  const table = await cli('images');
  assert.match(table.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/m);
  assert.match(table.stdout, new RegExp(`^${registry.host}/cli/bb\\s+v1\\s+[a-f0-9]{12}\\s+\\S.* ago\\s+[\\d.]+MB$`, 'm'));
  assert.equal((await cli('tag', image, 'local/bb:mine')).code, 0);
  assert.match((await cli('images', '--format', '{{.Repository}}:{{.Tag}}')).stdout, /^local\/bb:mine$/m);
  const hist = await cli('history', '--format', '{{.CreatedBy}}', 'local/bb:mine');
  assert.deepEqual(hist.stdout.trim().split('\n'), ['corral test layer 2', 'corral test layer 1']);
  const inspect = JSON.parse((await cli('image', 'inspect', 'local/bb:mine')).stdout);
  assert.deepEqual(inspect[0].Config.Cmd, ['cat', '/etc/motd']);
  const untag = await cli('rmi', 'local/bb:mine');
  assert.equal(untag.stdout, 'Untagged: local/bb:mine\n');
});

test("corral run IMAGE through the daemon: attached (the fast front) and -d; the image's Cmd; a flag's command instead", async () => {
  assert.equal((await cli('pull', '-q', image)).code, 0);
  const attached = await cli('run', '--rm', '--cgroup-parent', TEST_CGROUP_PARENT, image);
  assert.equal(attached.code, 0, attached.stderr);
  assert.equal(attached.stdout, 'motd of the image\n');
  const own = await cli('run', '--rm', '--cgroup-parent', TEST_CGROUP_PARENT, image, 'sh', '-c', 'echo "$PATH"; ls /etc/motd');
  assert.equal(own.stdout, '/bin\n/etc/motd\n');
  const d = await cli('run', '-d', '--cgroup-parent', TEST_CGROUP_PARENT, '--name', 'img-d', image, 'sleep', '30');
  assert.equal(d.code, 0, d.stderr);
  const ps = await cli('ps', '--filter', 'name=img-d', '--format', '{{.Image}}');
  assert.equal(ps.stdout.trim(), image);
  // a word that is a host program stays a host command: the host's root, not an image's
  const host = await cli('run', '--rm', '--cgroup-parent', TEST_CGROUP_PARENT, 'sh', '-c', 'test -e /etc/debian_version && echo host');
  assert.equal(host.stdout, 'host\n');
});

test('corral run of an image not here pulls it first (progress on stderr), then runs it', async () => {
  const r = await cli('run', '--rm', '--cgroup-parent', TEST_CGROUP_PARENT, later);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`Unable to find image '${later.replace(/\./g, '\\.')}' locally`));
  assert.equal(r.stdout, 'pulled on demand\n');
});

test('stand-alone (no daemon on the socket): corral run IMAGE pulls into its own store and runs; rmi and prune through the daemon', async () => {
  const root = fs.mkdtempSync(path.join(scratch.tmp, 'alone-'));
  const r = await corral(['--root', root, '-H', `unix://${scratch.tmp}/nobody.sock`, 'run', '--rm', '--cgroup-parent', TEST_CGROUP_PARENT, image, 'cat', '/etc/motd']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'motd of the image\n');
  assert.match(r.stderr, /running stand-alone/);
  assert.ok(fs.readdirSync(path.join(root, 'images', 'layers')).length >= 2);
  // back on the daemon: its images go
  assert.equal((await cli('pull', '-q', image)).code, 0);
  const prune = await cli('image', 'prune', '-a');
  assert.equal(prune.code, 0, prune.stderr);
  assert.match(prune.stdout, /^deleted: sha256:[a-f0-9]{64}$/m);
  assert.match(prune.stdout, /^Total reclaimed space: [\d.]+[kM]?B$/m);
  assert.equal((await cli('images', '-q')).stdout, '');
});
