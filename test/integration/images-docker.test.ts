/**
 * Images through the daemon's socket, driven by the real Docker CLI (and docker-py for its own
 * pull): `docker pull` from a registry started here (Debian's docker-registry, fed by skopeo), its
 * progress as the CLI prints it; `docker images`, `image inspect`, `history`, `tag`; `docker run`
 * stacking the layers (the whiteout hides /bin/ls, the opaque directory hides the lower layer's
 * files, the image's Env and Cmd apply, flags override them); `docker run` of an image not pulled
 * yet (the CLI pulls on the create's 404, as with dockerd); `docker rmi` refused while a container
 * uses the image, then accepted; the layers go with the last image that uses them.
 */
import { test as nodeTest, before, after, afterEach, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiCall, type DaemonScratch, subscribeEvents } from '../helpers/daemon.js';
import { corral, TEST_CGROUP_PARENT } from '../helpers/corral.js';
import { type ImageTestbed, startImageTestbed } from '../helpers/image-testbed.js';
import { busyboxLayer, type LayerEntry } from '../helpers/oci-layout.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const execFileAsync = promisify(execFile);
const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { timeout: 180_000 }, fn);

let bed: ImageTestbed;
let scratch: DaemonScratch;
let registry: { host: string };
let image: string;
let other: string;

const SECOND: LayerEntry[] = [
  { name: 'bin/.wh.ls', body: '' },
  { name: 'etc/motd', body: 'hello from layer 2\n' },
  { name: 'srv/', type: 'directory', mode: 0o755 },
  { name: 'srv/.wh..wh..opq', body: '' },
  { name: 'srv/new', body: 'new\n' },
];

before(async () => {
  const base = await busyboxLayer();
  bed = await startImageTestbed('corral-images-docker-', [
    {
      name: 'test/bb:v1',
      layers: [[...base, { name: 'srv/', type: 'directory', mode: 0o755 }, { name: 'srv/old', body: 'old\n' }], SECOND],
      config: { Env: ['PATH=/bin', 'GREETING=from-image'], Cmd: ['sh', '-c', 'echo "cmd of the image: $GREETING"'], WorkingDir: '/srv', Labels: { 'org.example.kind': 'test' } },
    },
    { name: 'test/other:v1', layers: [base, [{ name: 'etc/other', body: 'other\n' }]], config: { Cmd: ['cat', '/etc/other'] } },
  ]);
  scratch = bed.scratch;
  registry = bed.registry;
  image = bed.refs['test/bb:v1']!;
  other = bed.refs['test/other:v1']!;
});

afterEach(() => bed?.removeContainers(), { timeout: 120_000 });
after(() => bed?.stop());

async function docker(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(scratch.tmp, 'docker-config') };
  for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_API_VERSION', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[k];
  try {
    const { stdout, stderr } = await execFileAsync('docker', ['-H', `unix://${scratch.socket}`, ...args], { env, timeout: 60_000, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the docker CLI is not installed: install the Debian package docker-cli (or docker-ce-cli)');
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const run = (...args: string[]) => docker('run', '--rm', '--cgroup-parent', TEST_CGROUP_PARENT, ...args);

test("docker pull: the CLI's progress and digest; docker images and image inspect show it; a second pull is up to date", async () => {
  const pulled = await docker('pull', image);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.match(pulled.stdout, /^v1: Pulling from test\/bb$/m);
  assert.match(pulled.stdout, /^[a-f0-9]{12}: Pull complete$/m);
  assert.match(pulled.stdout, /^Digest: sha256:[a-f0-9]{64}$/m);
  assert.match(pulled.stdout, new RegExp(`^Status: Downloaded newer image for ${image}$`, 'm'));
  assert.equal(pulled.stdout.trim().split('\n').at(-1), image, 'the CLI prints the reference last');

  const images = await docker('images', '--format', '{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}');
  assert.match(images.stdout, new RegExp(`^${registry.host}/test/bb v1 [a-f0-9]{12} [\\d.]+MB$`, 'm'));
  const inspect = JSON.parse((await docker('image', 'inspect', image)).stdout)[0];
  assert.deepEqual(inspect.RepoTags, [image]);
  assert.deepEqual(inspect.Config.Env, ['PATH=/bin', 'GREETING=from-image']);
  assert.equal(inspect.RootFS.Layers.length, 2);
  assert.equal(inspect.Config.Labels['org.example.kind'], 'test');
  const history = await docker('history', '--format', '{{.CreatedBy}}', image);
  assert.deepEqual(history.stdout.trim().split('\n'), ['corral test layer 2', 'corral test layer 1']);

  const again = await docker('pull', image);
  assert.match(again.stdout, new RegExp(`^Status: Image is up to date for ${image}$`, 'm'));
});

test("docker run IMAGE: the layers stacked (a whiteout, an opaque directory), the image's Cmd, Env and WorkingDir; flags override them", async () => {
  assert.equal((await docker('pull', image)).code, 0);
  const plain = await run(image);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, 'cmd of the image: from-image\n');
  const look = await run(image, 'sh', '-c', 'cat /etc/motd; ls /bin/ls 2>&1; ls /srv; pwd; echo "$GREETING"');
  assert.equal(look.code, 0, look.stderr);
  assert.deepEqual(look.stdout.trim().split('\n'), ['hello from layer 2', 'ls: /bin/ls: No such file or directory', 'new', '/srv', 'from-image']);
  const over = await run('-e', 'GREETING=from-flag', '-w', '/etc', image, 'sh', '-c', 'echo "$GREETING $(pwd)"');
  assert.equal(over.stdout, 'from-flag /etc\n');
  const entry = await run('--entrypoint', 'cat', image, '/etc/motd');
  assert.equal(entry.stdout, 'hello from layer 2\n');
  // what the container writes stays in its own layer
  assert.equal((await run(image, 'sh', '-c', 'echo changed > /etc/motd; cat /etc/motd')).stdout, 'changed\n');
  assert.equal((await run(image, 'cat', '/etc/motd')).stdout, 'hello from layer 2\n');
  const ps = await docker('create', '--cgroup-parent', TEST_CGROUP_PARENT, '--name', 'shows-image', image);
  assert.equal(ps.code, 0, ps.stderr);
  const row = await docker('ps', '-a', '--filter', 'name=^/shows-image$', '--format', '{{.Image}}');
  assert.equal(row.stdout.trim(), image);
  const c = JSON.parse((await docker('inspect', 'shows-image')).stdout)[0];
  assert.match(c.Image, /^sha256:[a-f0-9]{64}$/);
  assert.equal(c.Config.Image, image);
});

test("docker run of an image not here: the CLI pulls it on the 404, as from dockerd; a name nobody has fails with the registry's words", async () => {
  const r = await run(other);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`Unable to find image '${other.replace(/[.]/g, '\\.')}' locally`));
  assert.equal(r.stdout, 'other\n');
  const missing = await run(`${registry.host}/test/nosuch:v1`);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /manifest for .*test\/nosuch:v1 not found: manifest unknown/);
});

test('docker tag and rmi: a second name is only untagged; an image a container uses is refused, then removed with its layers', async () => {
  assert.equal((await docker('pull', image)).code, 0);
  assert.equal((await docker('tag', image, 'mine:latest')).code, 0);
  assert.match((await docker('images', '--format', '{{.Repository}}:{{.Tag}}')).stdout, /^mine:latest$/m);
  const untag = await docker('rmi', 'mine');
  assert.equal(untag.code, 0, untag.stderr);
  assert.equal(untag.stdout.trim(), 'Untagged: mine:latest');
  assert.equal((await docker('create', '--cgroup-parent', TEST_CGROUP_PARENT, '--name', 'user', image)).code, 0);
  const refused = await docker('rmi', image);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /conflict: unable to remove repository reference .* \(must force\) - container [a-f0-9]{12} is using its referenced image [a-f0-9]{12}/);
  assert.equal((await docker('rm', 'user')).code, 0);
  const layersBefore = fs.readdirSync(path.join(scratch.root, 'images', 'layers')).length;
  const gone = await docker('rmi', image);
  assert.equal(gone.code, 0, gone.stderr);
  assert.match(gone.stdout, /^Untagged: /m);
  assert.match(gone.stdout, /^Deleted: sha256:[a-f0-9]{64}$/m);
  const layersAfter = fs.readdirSync(path.join(scratch.root, 'images', 'layers')).length;
  assert.ok(layersAfter < layersBefore, `layers ${layersBefore} -> ${layersAfter}`);
  const nothing = await docker('image', 'inspect', image);
  assert.equal(nothing.code, 1);
  assert.match(nothing.stderr, /No such image/);
});

test('docker events --filter type=image: pull, tag, untag and delete, in the order they happened, named as Docker names them; --filter image= picks one', async () => {
  const events = await subscribeEvents(scratch.socket, { type: ['image'] });
  // the CLI's stream ends at --until (a duration would count back from now, as --since does)
  const until = String(Math.floor(Date.now() / 1000) + 15);
  const cli = docker('events', '--filter', 'type=image', '--filter', 'image=again', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}', '--until', until);
  try {
    assert.equal((await docker('pull', image)).code, 0);
    const id = JSON.parse((await docker('image', 'inspect', image)).stdout)[0].Id as string;
    assert.equal((await docker('tag', image, 'again:v2')).code, 0);
    assert.equal((await docker('rmi', 'again:v2')).code, 0);
    assert.equal((await docker('rmi', image)).code, 0);
    await events.waitFor((e) => e.Action === 'delete', 'the delete event');
    const familiar = image.replace(/:v1$/, '');
    assert.deepEqual(
      events.events.map((e) => [e.Action, e.Actor.ID, e.Actor.Attributes.name]),
      [
        ['pull', image, familiar],
        ['tag', id, 'again:v2'],
        // the name, then its digest (docker rmi prints both Untagged lines)
        ['untag', id, id],
        ['untag', id, id],
        ['untag', id, id],
        ['delete', id, id],
      ],
    );
    // the image's own label rides along, as moby copies the config's labels
    assert.equal(events.events[0]!.Actor.Attributes['org.example.kind'], 'test');
    // Docker's deprecated top-level fields of an image event
    assert.equal(events.events[0]!.status, 'pull');
    assert.equal(events.events[0]!.id, image);
  } finally {
    events.close();
  }
  // the docker CLI, filtering by the tag's repository, saw the tag only
  const seen = await cli;
  assert.equal(seen.code, 0, seen.stderr);
  assert.equal(seen.stdout, 'image tag again:v2\n');
});

test('docker system df and docker ps -s: the image, its container and the bytes the container wrote, as Docker counts them', async () => {
  assert.equal((await docker('pull', image)).code, 0);
  // exactly 1 MiB written in the container's layer
  const wrote = await docker('run', '--name', 'writer', '--cgroup-parent', TEST_CGROUP_PARENT, image, 'sh', '-c', 'dd if=/dev/zero of=/srv/mib bs=1024 count=1024 2>/dev/null');
  assert.equal(wrote.code, 0, wrote.stderr);
  const df = JSON.parse((await apiCall(scratch.socket, 'GET', '/system/df')).body);
  assert.deepEqual(Object.keys(df), ['LayersSize', 'Images', 'Containers', 'Volumes', 'BuildCache', 'BuilderSize']);
  const img = df.Images.find((i: { RepoTags: string[] }) => i.RepoTags.includes(image));
  assert.equal(img.Containers, 1);
  const writer = df.Containers.find((c: { Names: string[] }) => c.Names[0] === '/writer');
  assert.equal(writer.SizeRw, 1024 * 1024);
  assert.equal(writer.SizeRootFs, 1024 * 1024 + img.Size);
  // the docker CLI's own table and sums (units are decimal, as Docker's HumanSize)
  const table = await docker('system', 'df');
  assert.equal(table.code, 0, table.stderr);
  const rows = Object.fromEntries(
    table.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => {
        const cells = l.split(/ {2,}/);
        return [cells[0], cells.slice(1)];
      }),
  );
  assert.deepEqual(rows.Containers, ['1', '0', '1.049MB', '1.049MB (100%)']);
  assert.equal(rows.Images![0], String(df.Images.length));
  assert.equal(rows.Images![1], String(df.Images.filter((i: { Containers: number }) => i.Containers > 0).length));
  assert.deepEqual(rows['Local Volumes'], ['0', '0', '0B', '0B']);
  // corral's own command prints the docker CLI's table, byte for byte
  const ours = await corral(['-H', `unix://${scratch.socket}`, 'system', 'df']);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(ours.stdout, table.stdout);
  // -v: one row per image and per container
  const verbose = await docker('system', 'df', '-v');
  assert.equal(verbose.code, 0, verbose.stderr);
  assert.match(verbose.stdout, /^writer\b|\swriter$/m);
  const ps = await docker('ps', '-a', '-s', '--filter', 'name=writer', '--format', '{{.Size}}');
  assert.match(ps.stdout.trim(), /^1\.05MB \(virtual \d[\d.]*[kM]B\)$/);
});
