/** Manifest, index and config parsing; platform selection; chain IDs (the OCI image spec's own example values). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainIds, MEDIA_TYPES, parseImageConfig, parseManifestOrIndex, selectManifest } from '../../../src/images/manifest.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;

test('a Docker schema 2 manifest and an OCI one; an index by mediaType, by Content-Type and by shape', () => {
  const m = parseManifestOrIndex(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.dockerManifest,
      config: { mediaType: MEDIA_TYPES.dockerConfig, digest: d('c'), size: 10 },
      layers: [{ mediaType: MEDIA_TYPES.dockerLayerGzip, digest: d('1'), size: 5 }],
    }),
    'm',
  );
  assert.equal(m.kind, 'manifest');
  const oci = parseManifestOrIndex(
    JSON.stringify({ schemaVersion: 2, config: { mediaType: MEDIA_TYPES.ociConfig, digest: d('c'), size: 1 }, layers: [] }),
    'o',
    `${MEDIA_TYPES.ociManifest}; charset=utf-8`,
  );
  assert.equal(oci.kind, 'manifest');
  const entries = [{ mediaType: MEDIA_TYPES.ociManifest, digest: d('a'), size: 1, platform: { os: 'linux', architecture: 'amd64' } }];
  assert.equal(parseManifestOrIndex(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifestList, manifests: entries }), 'i').kind, 'index');
  assert.equal(parseManifestOrIndex(JSON.stringify({ schemaVersion: 2, manifests: entries }), 'i', MEDIA_TYPES.ociIndex).kind, 'index');
  assert.equal(parseManifestOrIndex(JSON.stringify({ schemaVersion: 2, manifests: entries }), 'i').kind, 'index');
});

test('refusals name the document and the field', () => {
  assert.throws(() => parseManifestOrIndex('{"schemaVersion":1}', 'the manifest of x'), /the manifest of x has schemaVersion 1/);
  assert.throws(() => parseManifestOrIndex('nope', 'm'), /m is not JSON/);
  assert.throws(
    () => parseManifestOrIndex(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'x', digest: 'sha256:12', size: 1 }, layers: [] }), 'm'),
    /m.config.digest "sha256:12" is not a sha256 digest/,
  );
  assert.throws(
    () => parseManifestOrIndex(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'x', digest: d('c'), size: 1 }, layers: [{ mediaType: 'application/x-foo', digest: d('1'), size: 1 }] }), 'm'),
    /m.layers\[0\] has media type application\/x-foo: not a layer corral can unpack/,
  );
  assert.throws(() => parseImageConfig('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["x"]}}', 'c'), /c.rootfs.diff_ids\[0\] "x" is not a sha256 digest/);
  assert.throws(() => parseImageConfig('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"},"config":{"Env":"A=1"}}', 'c'), /c.config.Env is not a list of strings/);
});

test('the platform: linux/amd64 here; arm64 with or without its v8; attestations never', () => {
  const e = (digest: string, platform: object, annotations?: object) => ({ mediaType: MEDIA_TYPES.ociManifest, digest, size: 1, platform, ...(annotations ? { annotations } : {}) });
  const index = parseManifestOrIndex(
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        e(d('0'), { os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest' }),
        e(d('1'), { os: 'linux', architecture: 'arm', variant: 'v6' }),
        e(d('2'), { os: 'linux', architecture: 'arm', variant: 'v7' }),
        e(d('3'), { os: 'linux', architecture: 'arm64', variant: 'v8' }),
        e(d('4'), { os: 'linux', architecture: 'amd64' }),
        e(d('5'), { os: 'windows', architecture: 'amd64' }),
      ],
    }),
    'i',
  );
  assert.equal(index.kind, 'index');
  if (index.kind !== 'index') return;
  assert.equal(selectManifest(index, { os: 'linux', architecture: 'amd64' })?.digest, d('4'));
  assert.equal(selectManifest(index, { os: 'linux', architecture: 'arm64' })?.digest, d('3'));
  assert.equal(selectManifest(index, { os: 'linux', architecture: 'arm', variant: 'v7' })?.digest, d('2'));
  assert.equal(selectManifest(index, { os: 'linux', architecture: 's390x' }), undefined);
});

test('chain IDs: the first is the diff ID, each next sha256 of "parent diff"', () => {
  // printf 'sha256:aaa… sha256:bbb…' | sha256sum
  assert.deepEqual(chainIds([d('a'), d('b')]), [d('a'), 'sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c']);
});
