/**
 * The generated data modules against their sources: the syscall table against this machine's
 * kernel headers, Docker's profile module against the JSON file (scripts/gen-seccomp-tables.mjs
 * writes both).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DOCKER_DEFAULT_PROFILE } from '../../../../src/isolate/seccomp/docker-default.js';
import { HEADER_SYSCALLS_X86_64 } from '../../../../src/isolate/seccomp/syscalls-x86-64.js';
import { NEWER_SYSCALLS_X86_64, syscallNumber } from '../../../../src/isolate/seccomp/syscalls.js';
import { REPO_ROOT } from '../../../helpers/promtool.js';

const HEADER = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';

test(`the syscall table is ${HEADER}'s (Debian's linux-libc-dev), and the newer syscalls are not in it under other numbers`, () => {
  assert.ok(fs.existsSync(HEADER), `${HEADER} is missing: install the Debian package linux-libc-dev (gcc's libc6-dev depends on it)`);
  const header = Object.fromEntries([...fs.readFileSync(HEADER, 'utf8').matchAll(/^#define __NR_([a-z0-9_]+)\s+(\d+)\s*$/gm)].map((m) => [m[1]!, Number(m[2])]));
  assert.ok(Object.keys(header).length > 300);
  // every syscall of the header, with its number (a newer header has more: they must be the newer ones')
  const differ = Object.entries(header).filter(([name, nr]) => syscallNumber(name) !== nr);
  assert.deepEqual(differ, []);
  // every generated entry comes from a header: this one, or an older one a newer one extends
  const notInHeader = Object.keys(HEADER_SYSCALLS_X86_64).filter((name) => !(name in header));
  assert.deepEqual(notInHeader, []);
  const all = { ...HEADER_SYSCALLS_X86_64, ...NEWER_SYSCALLS_X86_64 };
  assert.equal(Object.keys(all).length, Object.keys(HEADER_SYSCALLS_X86_64).length + Object.keys(NEWER_SYSCALLS_X86_64).length, 'the newer ones are not in the header table');
  const numbers = Object.values(all);
  assert.equal(new Set(numbers).size, numbers.length, 'no two syscalls share a number');
});

test('docker-default.ts is docker-default.json, the profile as moby/profiles ships it', () => {
  const dir = path.join(REPO_ROOT, 'src/isolate/seccomp');
  const json: unknown = JSON.parse(fs.readFileSync(path.join(dir, 'docker-default.json'), 'utf8'));
  assert.deepEqual(DOCKER_DEFAULT_PROFILE, json);
  const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  const sha = /sha256 ([0-9a-f]{64})/.exec(readme)?.[1];
  assert.equal(
    createHash('sha256')
      .update(fs.readFileSync(path.join(dir, 'docker-default.json')))
      .digest('hex'),
    sha,
    'the README names the file by its hash',
  );
});
