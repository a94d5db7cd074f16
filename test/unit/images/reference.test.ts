/** Image references against distribution/reference's normalization (the cases of its normalize_test.go that corral meets). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiHost, canonicalString, familiarString, parseReference } from '../../../src/images/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

test('short names are docker.io/library/NAME:latest; familiar strings drop what was implied', () => {
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/library/busybox:x', 'docker.io/library/busybox:x', 'busybox:x'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/a/b:v1', 'localhost:5000/a/b:v1', 'localhost:5000/a/b:v1'],
    ['127.0.0.1:5000/bb', '127.0.0.1:5000/bb:latest', '127.0.0.1:5000/bb:latest'],
    ['quay.io/org/app-x_y.z', 'quay.io/org/app-x_y.z:latest', 'quay.io/org/app-x_y.z:latest'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`, `busybox:1@${D}`],
  ];
  for (const [input, canonical, familiar] of cases) {
    const ref = parseReference(input);
    assert.equal(canonicalString(ref), canonical, input);
    assert.equal(familiarString(ref), familiar, input);
  }
  assert.equal(apiHost(parseReference('busybox')), 'registry-1.docker.io');
  assert.equal(apiHost(parseReference('127.0.0.1:5000/bb')), '127.0.0.1:5000');
});

test('bad references are refused with the reason, naming the value', () => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['Busybox', /lower case/],
    ['busybox:', /is not a tag/],
    ['busybox:-x', /is not a tag/],
    ['busybox@sha256:abc', /is not a digest/],
    ['a//b', /repository path component/],
    ['a/-b', /repository path component/],
    ['host:port/x', /registry host\[:port\]/],
    ['a'.repeat(64), /image ID, not a repository name/],
    [`x/${'a'.repeat(260)}`, /longer than 255/],
  ];
  for (const [input, reason] of bad) {
    assert.throws(
      () => parseReference(input, '--image'),
      (err: Error) => {
        assert.match(err.message, new RegExp(`^invalid value "${input.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" for --image: `));
        assert.match(err.message, reason);
        return true;
      },
      input,
    );
  }
});
