/**
 * Pulling from a real registry (Debian's docker-registry on 127.0.0.1, fed by skopeo from OCI layouts
 * built here) into an image store, as root: layers unpacked with their whiteouts, owners and modes;
 * Docker's progress messages; a second pull fetches nothing; an image sharing all but one layer
 * fetches that one; gzip, zstd and plain layers; an index resolved to this host's platform. Then the
 * broken and hostile registries: a blob whose bytes do not match, a truncated gzip, a missing blob,
 * a connection dropped halfway, a hostile layer. Each is refused with a clear message, and the store
 * holds nothing partial afterwards.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { ProgressMessage } from '../../src/images/progress.js';
import { pullImage } from '../../src/images/pull.js';
import { parseReference } from '../../src/images/reference.js';
import { ImageStore } from '../../src/images/store.js';
import { OPAQUE_XATTR } from '../../src/images/unpack.js';
import { loadSyscalls } from '../../src/sys/syscalls.js';
import { busyboxLayer, buildImage, type LayerEntry } from '../helpers/oci-layout.js';
import { skopeoCopy, startRegistry, type TestRegistry } from '../helpers/registry.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const sys = await loadSyscalls();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-pull-'));
let registry: TestRegistry;
let base: LayerEntry[];

/** The second layer of the test image: a whiteout, an opaque directory, links, a device, an xattr, setuid. */
const SECOND_LAYER: LayerEntry[] = [
  { name: 'bin/.wh.ls', body: '' },
  { name: 'etc/motd', body: 'hello from layer 2\n' },
  { name: 'var/', type: 'directory', mode: 0o755 },
  { name: 'var/lib/', type: 'directory', mode: 0o755 },
  { name: 'var/lib/.wh..wh..opq', body: '' },
  { name: 'var/lib/fresh', body: 'only this\n' },
  { name: 'etc/motd.link', type: 'link', linkname: 'etc/motd' },
  { name: 'etc/motd.sym', type: 'symlink', linkname: 'motd' },
  { name: 'dev/', type: 'directory', mode: 0o755 },
  { name: 'dev/kmsg2', type: 'character-device', devmajor: 1, devminor: 11, mode: 0o600 },
  { name: 'usr/bin/tagged', body: 'x', pax: { 'SCHILY.xattr.user.origin': 'corral-test' } },
  { name: 'usr/bin/su-ish', body: '#!/bin/sh\n', mode: 0o4755 },
];

async function push(name: string, layers: LayerEntry[][], config: Record<string, unknown> = {}, compression: 'gzip' | 'zstd' | 'none' = 'gzip') {
  const layout = path.join(scratch, `layout-${name.replace(/[/:]/g, '_')}`);
  const built = await buildImage(layout, 'tag', layers, config, compression);
  await skopeoCopy(`oci:${layout}:tag`, `docker://${registry.host}/${name}`);
  return built;
}

async function freshStore(): Promise<ImageStore> {
  return ImageStore.open(fs.mkdtempSync(path.join(scratch, 'root-')));
}

function pull(store: ImageStore, name: string, messages: ProgressMessage[] = [], host = registry.host) {
  return pullImage(store, sys, parseReference(`${host}/${name}`), { insecureRegistries: [], onProgress: (m) => messages.push(m), credentialsFile: path.join(scratch, 'no-config.json') });
}

/** Nothing partial: tmp/ is empty, and every layer directory has its record. */
function assertNothingPartial(store: ImageStore): void {
  assert.deepEqual(fs.readdirSync(store.path('tmp')), [], 'nothing left in tmp/');
  for (const hex of fs.readdirSync(store.path('layers'))) assert.ok(fs.existsSync(path.join(store.path('layers', hex), 'layer.json')), `layer ${hex} is whole`);
}

before(async () => {
  registry = await startRegistry();
  base = await busyboxLayer();
  await push('test/two-layers:v1', [base, SECOND_LAYER], { Env: ['GREETING=from-image'], Cmd: ['/bin/sh'] });
});
after(async () => {
  await registry?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

test("pull: the layers unpacked as overlay lower directories, the image recorded and named; Docker's progress messages", async () => {
  const store = await freshStore();
  const messages: ProgressMessage[] = [];
  const image = await pull(store, 'test/two-layers:v1', messages);
  assert.equal(image.chainIds.length, 2);
  const names = await store.names();
  assert.equal(names[`${registry.host}/test/two-layers:v1`], image.id);
  assert.match(image.repoDigests[0]!, new RegExp(`^${registry.host}/test/two-layers@sha256:[a-f0-9]{64}$`));
  const top = store.layerDiff(image.chainIds[1]!);
  const lower = store.layerDiff(image.chainIds[0]!);
  assert.ok(fs.lstatSync(path.join(lower, 'bin/busybox')).isFile());
  assert.equal(fs.lstatSync(path.join(lower, 'bin/ls')).ino, fs.lstatSync(path.join(lower, 'bin/busybox')).ino);
  const wh = fs.lstatSync(path.join(top, 'bin/ls'));
  assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'bin/ls is whited out');
  assert.equal(sys.lgetxattr(path.join(top, 'var/lib'), OPAQUE_XATTR)?.toString(), 'y');
  assert.equal(fs.statSync(path.join(top, 'usr/bin/su-ish')).mode & 0o7777, 0o4755);
  assert.equal(fs.readlinkSync(path.join(top, 'etc/motd.sym')), 'motd');
  assert.ok(fs.existsSync(store.path('l', (await store.layer(image.chainIds[1]!)).link, 'etc', 'motd')), 'the short link leads to the layer');

  const statuses = messages.map((m) => m.status);
  assert.equal(statuses[0], 'Pulling from test/two-layers');
  assert.equal(messages[0]?.id, 'v1');
  assert.equal(statuses.filter((s) => s === 'Pulling fs layer').length, 2);
  assert.equal(statuses.filter((s) => s === 'Pull complete').length, 2);
  const downloading = messages.find((m) => m.status === 'Downloading');
  assert.match(downloading?.progress ?? '', /^\[=*>\s*\] +[\d.]+k?M?B\/[\d.]+k?M?B$/);
  assert.match(statuses.at(-2) ?? '', /^Digest: sha256:[a-f0-9]{64}$/);
  assert.equal(statuses.at(-1), `Status: Downloaded newer image for ${registry.host}/test/two-layers:v1`);
  assertNothingPartial(store);

  // again: nothing fetched
  const again: ProgressMessage[] = [];
  await pull(store, 'test/two-layers:v1', again);
  assert.equal(again.filter((m) => m.status === 'Already exists').length, 2);
  assert.equal(again.filter((m) => m.status === 'Downloading').length, 0);
  assert.equal(again.at(-1)?.status, `Status: Image is up to date for ${registry.host}/test/two-layers:v1`);

  // an image sharing the base layer: only its own layer is fetched
  await push('test/shares-base:v1', [base, [{ name: 'etc/other', body: 'other' }]]);
  const third: ProgressMessage[] = [];
  await pull(store, 'test/shares-base:v1', third);
  assert.equal(third.filter((m) => m.status === 'Already exists').length, 1);
  assert.equal(third.filter((m) => m.status === 'Pulling fs layer').length, 1);
  assert.equal(fs.readdirSync(store.path('layers')).length, 3, 'the base layer is stored once');
});

test('zstd and uncompressed layers; an index resolved to this host (linux/amd64)', async () => {
  await push('test/zstd:v1', [[{ name: 'z', body: 'zstd layer' }]], {}, 'zstd');
  await push('test/plain:v1', [[{ name: 'p', body: 'plain layer' }]], {}, 'none');
  const store = await freshStore();
  const z = await pull(store, 'test/zstd:v1');
  assert.equal(fs.readFileSync(path.join(store.layerDiff(z.chainIds[0]!), 'z'), 'utf8'), 'zstd layer');
  const p = await pull(store, 'test/plain:v1');
  assert.equal(fs.readFileSync(path.join(store.layerDiff(p.chainIds[0]!), 'p'), 'utf8'), 'plain layer');
  // a multi-platform index: skopeo --all keeps it; the amd64 entry is the one unpacked
  const layout = path.join(scratch, 'multi');
  const amd = await buildImage(layout, 'amd', [[{ name: 'arch', body: 'amd64' }]]);
  const arm = await buildImage(layout, 'arm', [[{ name: 'arch', body: 'arm64' }]]);
  const blob = (d: string) => fs.readFileSync(path.join(layout, 'blobs/sha256', d.slice(7)));
  const entry = (d: string, architecture: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d, size: blob(d).length, platform: { os: 'linux', architecture } });
  const indexJson = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [entry(arm.manifestDigest, 'arm64'), entry(amd.manifestDigest, 'amd64')] });
  const { createHash } = await import('node:crypto');
  const indexDigest = `sha256:${createHash('sha256').update(indexJson).digest('hex')}`;
  fs.writeFileSync(path.join(layout, 'blobs/sha256', indexDigest.slice(7)), indexJson);
  fs.writeFileSync(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: indexDigest, size: indexJson.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }],
    }),
  );
  await skopeoCopy(`oci:${layout}:multi`, `docker://${registry.host}/test/multi:v1`, ['--all']);
  const m = await pull(store, 'test/multi:v1');
  assert.equal(fs.readFileSync(path.join(store.layerDiff(m.chainIds[0]!), 'arch'), 'utf8'), process.arch === 'x64' ? 'amd64' : 'arm64');
  assert.equal(m.repoDigests[0], `${registry.host}/test/multi@${indexDigest}`, "the repo digest is the index's, as Docker's");
});

/** The registry's file for a blob (distribution's filesystem driver layout). */
function registryBlob(digest: string): string {
  const hex = digest.slice(7);
  return path.join(registry.dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

test('a blob whose bytes do not match its digest: refused, nothing stored', async () => {
  const built = await push('test/corrupt:v1', [[{ name: 'a', body: 'a'.repeat(10_000) }]]);
  const file = registryBlob(built.layerDigests[0]!);
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 20]! ^= 0xff;
  fs.writeFileSync(file, bytes);
  const store = await freshStore();
  await assert.rejects(pull(store, 'test/corrupt:v1'), /layer sha256:[a-f0-9]{64} of .*test\/corrupt:v1 does not match its digest: expected sha256:/);
  assert.deepEqual(fs.readdirSync(store.path('layers')), []);
  assert.equal(store.hasBlob(built.layerDigests[0]!), false);
  assertNothingPartial(store);
});

test('a truncated gzip (its digest matching the cut bytes): refused at the end of the stream, nothing stored', async () => {
  const layout = path.join(scratch, 'truncated');
  const built = await buildImage(layout, 'tag', [[{ name: 'big', body: Buffer.alloc(200_000, 7) }]]);
  // cut the layer blob and re-digest it, so that only the gzip stream is wrong
  const { createHash } = await import('node:crypto');
  const old = built.layerDigests[0]!;
  const cut = fs.readFileSync(path.join(layout, 'blobs/sha256', old.slice(7))).subarray(0, 150);
  assert.throws(() => zlib.gunzipSync(cut), 'the cut really is a broken gzip');
  const cutDigest = `sha256:${createHash('sha256').update(cut).digest('hex')}`;
  fs.writeFileSync(path.join(layout, 'blobs/sha256', cutDigest.slice(7)), cut);
  const manifestFile = path.join(layout, 'blobs/sha256', built.manifestDigest.slice(7));
  const manifest = fs
    .readFileSync(manifestFile, 'utf8')
    .replace(old, cutDigest)
    .replace(/"size":\d+}\]/, `"size":${cut.length}}]`);
  const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  fs.writeFileSync(path.join(layout, 'blobs/sha256', manifestDigest.slice(7)), manifest);
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
  index.manifests[0].digest = manifestDigest;
  index.manifests[0].size = manifest.length;
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index));
  await skopeoCopy(`oci:${layout}:tag`, `docker://${registry.host}/test/truncated:v1`);
  const store = await freshStore();
  await assert.rejects(pull(store, 'test/truncated:v1'), /unexpected end of file/);
  assert.deepEqual(fs.readdirSync(store.path('layers')), []);
  assertNothingPartial(store);
});

test('a manifest naming a blob the registry does not have: the blob is named in the error, nothing stored', async () => {
  const built = await push('test/missing:v1', [[{ name: 'm', body: 'm' }]]);
  fs.rmSync(path.dirname(registryBlob(built.layerDigests[0]!)), { recursive: true });
  const store = await freshStore();
  await assert.rejects(pull(store, 'test/missing:v1'), new RegExp(`GET /v2/test/missing/blobs/${built.layerDigests[0]} on ${registry.host}: 404 blob unknown`));
  assertNothingPartial(store);
  await assert.rejects(pull(store, 'test/no-such-image:v1'), /manifest for .*test\/no-such-image:v1 not found: manifest unknown/);
});

test('a registry that drops the connection halfway through a layer: refused, nothing stored, a later pull succeeds', async () => {
  // random bytes: gzip cannot shrink them below the cut
  await push('test/dropped:v1', [[{ name: 'big', body: randomBytes(400_000) }]]);
  // a proxy that cuts every blob response after 60 kB
  const [rhost, rport] = registry.host.split(':');
  let cut = true;
  const proxy = net.createServer((client) => {
    const upstream = net.connect(Number(rport), rhost);
    let request = '';
    let sent = 0;
    client.on('data', (c) => {
      request += c.toString('latin1');
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      sent += c.length;
      if (cut && /GET \/v2\/[^ ]+\/blobs\//.test(request) && sent > 60_000) {
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(c);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyHost = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  try {
    const store = await freshStore();
    await assert.rejects(pull(store, 'test/dropped:v1', [], proxyHost), /aborted|socket hang up|ECONNRESET|premature close|shorter than/i);
    assertNothingPartial(store);
    assert.deepEqual(fs.readdirSync(store.path('layers')), []);
    cut = false;
    const image = await pull(store, 'test/dropped:v1', [], proxyHost);
    assert.equal(fs.statSync(path.join(store.layerDiff(image.chainIds[0]!), 'big')).size, 400_000);
  } finally {
    proxy.close();
  }
});

test('a hostile layer (a file written through a symlink leading out): refused with the layer and entry, nothing outside touched', async () => {
  const target = fs.mkdtempSync(path.join(scratch, 'outside-'));
  await push('test/hostile:v1', [
    [
      { name: 'escape', type: 'symlink', linkname: target },
      { name: 'escape/pwned', body: 'x' },
    ],
  ]);
  const store = await freshStore();
  await assert.rejects(pull(store, 'test/hostile:v1'), /layer sha256:[a-f0-9]{64}: entry "escape\/pwned" would be written through the symlink "escape" of this layer/);
  assert.deepEqual(fs.readdirSync(target), []);
  assertNothingPartial(store);
});
