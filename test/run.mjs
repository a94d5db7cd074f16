#!/usr/bin/env node
// The whole test suite, as `npm test` runs it (as root): unit tests, the integration tests on this
// host's cgroup mode, the same integration tests inside a pure cgroup v2 QEMU guest
// (test/vm/guest-suite.test.ts), and a final check that nothing leaked. Everything runs in one
// `node --test` so there is one summary; files run one at a time because the enforcement tests
// measure CPU time and must not compete with each other.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The integration tests create namespaces, mounts and cgroups, so the suite runs as root: a user
// with sudo gets it re-run through sudo (as pasted from the README), root runs it directly.
if (process.getuid() !== 0) {
  const sudo = ['/usr/bin/sudo', '/bin/sudo', '/usr/local/bin/sudo'].find((p) => existsSync(p));
  if (!sudo) {
    console.error('npm test must run as root (the integration tests create namespaces, mounts and cgroups), and sudo is not installed');
    process.exit(1);
  }
  console.error('npm test: the suite needs root; running it again through sudo');
  const again = spawnSync(sudo, ['--preserve-env=PATH,CORRAL_TEST_CGROUP_MODE,CORRAL_GUEST_FUZZ_RUNS,CI', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(again.status ?? 1);
}

const env = { ...process.env, CORRAL_TEST_CGROUP_MODE: process.env.CORRAL_TEST_CGROUP_MODE ?? 'v1' };
const files = ['dist/test/unit', 'dist/test/integration', 'dist/test/vm', 'dist/test/z-final/leaks.test.js'];
const only = process.argv.slice(2);
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...(only.length ? only : files)], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
