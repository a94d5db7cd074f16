/** WWW-Authenticate challenges, Docker's config.json and X-Registry-Auth; Docker's pull progress text; PAX records with binary xattrs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../vm/guest.js';
import { credentialsFromConfig, credentialsFromHeader, parseChallenges } from '../../../src/images/auth.js';
import { progressText } from '../../../src/images/progress.js';
import { decodePax, encodePax } from '../../../src/images/tar.js';

test("challenges: Docker Hub's Bearer, a Basic realm, two in one header, quoted commas and escapes", () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  assert.deepEqual(parseChallenges('Basic realm="a, b", Bearer realm="x\\"y",scope=s'), [
    { scheme: 'basic', params: { realm: 'a, b' } },
    { scheme: 'bearer', params: { realm: 'x"y', scope: 's' } },
  ]);
  assert.deepEqual(parseChallenges(''), []);
});

test("credentials: Docker's config.json by host (Docker Hub under its v1 URL); X-Registry-Auth; none is undefined", () => {
  const config = JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw:with:colons').toString('base64') },
      '127.0.0.1:5000': { auth: Buffer.from('me:secret').toString('base64') },
    },
  });
  assert.deepEqual(credentialsFromConfig(config, 'docker.io', 'f'), { username: 'hub', password: 'pw:with:colons' });
  assert.deepEqual(credentialsFromConfig(config, '127.0.0.1:5000', 'f'), { username: 'me', password: 'secret' });
  assert.equal(credentialsFromConfig(config, 'quay.io', 'f'), undefined);
  assert.throws(() => credentialsFromConfig('{', 'f', '/root/.docker/config.json'), /\/root\/.docker\/config.json is not JSON/);
  const header = Buffer.from(JSON.stringify({ username: 'u', password: 'p', serveraddress: 'x' })).toString('base64url');
  assert.deepEqual(credentialsFromHeader(header), { username: 'u', password: 'p' });
  assert.equal(credentialsFromHeader(Buffer.from('{}').toString('base64')), undefined);
  assert.equal(credentialsFromHeader(undefined), undefined);
});

test("progress text: byte for byte the bars of a real Docker pull's stream", () => {
  const lines = readFileSync(join(repoRoot(), 'test', 'fixtures', 'docker-api', 'v1.41-images-create-pull.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { progress?: string; progressDetail?: { current?: number; total?: number } });
  const bars = lines.filter((l) => l.progress !== undefined);
  assert.ok(bars.length >= 3);
  for (const l of bars) assert.equal(progressText(l.progressDetail!.current!, l.progressDetail!.total!), l.progress);
});

test('PAX: an xattr value is its bytes both ways (binary, and UTF-8 as its bytes); other records are UTF-8; lengths count bytes', () => {
  const cap = Buffer.from([1, 0, 0, 2, 0xff, 0x80, 0, 0]);
  const encoded = encodePax({ name: 'dir/é', pax: { 'SCHILY.xattr.security.capability': cap.toString('latin1'), 'SCHILY.xattr.user.x': Buffer.from('ü').toString('latin1') } });
  // each record's length prefix is its byte length
  let rest = encoded;
  while (rest.length) {
    const len = Number(rest.subarray(0, rest.indexOf(0x20)).toString());
    assert.equal(rest[len - 1], 0x0a);
    rest = rest.subarray(len);
  }
  const decoded = decodePax(encoded);
  assert.equal(decoded.path, 'dir/é');
  assert.deepEqual(Buffer.from(decoded['SCHILY.xattr.security.capability']!, 'latin1'), cap);
  assert.equal(Buffer.from(decoded['SCHILY.xattr.user.x']!, 'latin1').toString('utf8'), 'ü');
});
