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
import { corral, TEST_CGROUP_PARENT } from '../helpers/corral.js';
import type { DaemonScratch } from '../helpers/daemon.js';
import { type ImageTestbed, startImageTestbed } from '../helpers/image-testbed.js';
import { busyboxLayer } from '../helpers/oci-layout.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { timeout: 180_000 }, fn);

let bed: ImageTestbed;
let scratch: DaemonScratch;
let image: string;
let later: string;

before(async () => {
  const base = await busyboxLayer();
  bed = await startImageTestbed('corral-images-cli-', [
    { name: 'cli/bb:v1', layers: [base, [{ name: 'etc/motd', body: 'motd of the image\n' }]], config: { Env: ['PATH=/bin'], Cmd: ['cat', '/etc/motd'] } },
    { name: 'cli/later:v1', layers: [base, [{ name: 'etc/later', body: 'pulled on demand\n' }]], config: { Env: ['PATH=/bin'], Cmd: ['cat', '/etc/later'] } },
  ]);
  scratch = bed.scratch;
  image = bed.refs['cli/bb:v1']!;
  later = bed.refs['cli/later:v1']!;
});

afterEach(() => bed?.removeContainers(), { timeout: 120_000 });
after(() => bed?.stop());

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
  assert.match(table.stdout, new RegExp(`^${bed.registry.host}/cli/bb\\s+v1\\s+[a-f0-9]{12}\\s+\\S.* ago\\s+[\\d.]+MB$`, 'm'));
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
