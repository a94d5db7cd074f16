/** The image routes' shapes against Docker's own answers (test/fixtures/docker-api, Docker 20.10, the same two-layer image). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageHistory, imageInspect, imageSummary, type ImageFacts } from '../../../src/api/images.js';
import { repoRoot } from '../../vm/guest.js';

const fixture = (name: string) => JSON.parse(readFileSync(join(repoRoot(), 'test', 'fixtures', 'docker-api', name), 'utf8'));
const summary = fixture('v1.41-images-json.json')[0];
const inspect = fixture('v1.41-images-name-json.json');
const history = fixture('v1.41-images-name-history.json');

/** The facts of the image Docker answered about, as corral's store would hold them. */
const facts: ImageFacts = {
  record: {
    id: summary.Id,
    manifest: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: summary.RepoDigests[0].split('@')[1], size: 1 },
    layers: [],
    chainIds: [],
    repoDigests: summary.RepoDigests,
    size: summary.Size,
    stored: '2026-12-06T21:30:00Z',
  },
  config: {
    architecture: 'amd64',
    os: 'linux',
    created: inspect.Created,
    config: { Env: ['GREETING=from-image'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: inspect.RootFS.Layers },
    history: [
      { created: new Date(history[2].Created * 1000).toISOString(), created_by: 'umoci repack' },
      { created: new Date(history[1].Created * 1000).toISOString(), created_by: 'umoci repack' },
      { created: new Date(history[0].Created * 1000).toISOString(), created_by: 'umoci config', empty_layer: true },
    ],
  },
  tags: summary.RepoTags,
  layerSizes: [history[2].Size, history[1].Size],
  layerDirs: [
    '/var/lib/docker/overlay2/5c5c70d77dd4c2eb9186ff39e09396e9f65adeade9a5518a7587db842c632e23/diff',
    '/var/lib/docker/overlay2/d34c407f8f4eda1117a490d748be5b4c17a154858cb65a6f2252663c9987bf85/diff',
  ],
};

test("GET /images/json: the summary is Docker's, key for key and value for value", () => {
  assert.deepEqual(imageSummary(facts), summary);
});

test("GET /images/{name}/json: the keys in Docker's order, the values corral knows equal to Docker's", () => {
  const ours = imageInspect(facts);
  assert.deepEqual(Object.keys(ours), Object.keys(inspect));
  for (const key of ['Id', 'RepoTags', 'RepoDigests', 'Parent', 'Comment', 'Created', 'Container', 'ContainerConfig', 'Config', 'Architecture', 'Os', 'Size', 'VirtualSize', 'RootFS', 'Metadata']) {
    assert.deepEqual(ours[key], inspect[key], key);
  }
  assert.deepEqual(Object.keys((ours.GraphDriver as { Data: object }).Data).sort(), Object.keys(inspect.GraphDriver.Data).sort());
});

test('GET /images/{name}/history: newest first, the empty config step 0 bytes, the layers their sizes, the ID and tags on the newest only', () => {
  assert.deepEqual(
    imageHistory(facts).map((h) => ({ ...h, Comment: '' })),
    history,
  );
});
