#!/usr/bin/env node
// The whole test suite, as `npm test` runs it (as root): unit tests, the integration tests on this
// host's cgroup mode, the same integration tests inside a pure cgroup v2 QEMU guest
// (test/vm/guest-suite.test.ts), and a final check that nothing leaked. The host's files run in one
// `node --test`, one at a time, because the enforcement tests measure CPU time and must not compete
// with each other; the first guest (one emulated CPU; the guests are most of the suite's time) starts
// in the background at once, guest-suite.test.ts adds a second when the host's tests are done, both
// taking files from one queue, and reports them in the same run, so there is one summary.
// The enforcement tests are written for a busy second core (they pass with `stress-ng --cpu 1`
// beside them). CORRAL_GUEST_BESIDE=0 runs the guest after the host's tests instead.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  const again = spawnSync(
    sudo,
    ['--preserve-env=PATH,CORRAL_TEST_CGROUP_MODE,CORRAL_GUEST_FUZZ_RUNS,CORRAL_GUEST_BESIDE,CI', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  process.exit(again.status ?? 1);
}

const env = { ...process.env, CORRAL_TEST_CGROUP_MODE: process.env.CORRAL_TEST_CGROUP_MODE ?? 'v1' };
const files = ['dist/test/unit', 'dist/test/integration', 'dist/test/vm', 'dist/test/z-final/leaks.test.js'];
const only = process.argv.slice(2);

// the guest beside the host's tests, for the whole suite only
let guest;
let resultDir;
if (only.length === 0 && process.env.CORRAL_GUEST_BESIDE !== '0') {
  resultDir = mkdtempSync(join(tmpdir(), 'corral-guest-'));
  env.CORRAL_GUEST_SUITE_RESULT = join(resultDir, 'result.json');
  // in this process group: Ctrl-C reaches it too (it kills its qemu on SIGINT and SIGTERM)
  guest = spawn(process.execPath, ['dist/test/vm/guest-background.js', env.CORRAL_GUEST_SUITE_RESULT], { stdio: ['ignore', 'inherit', 'inherit'], env });
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...(only.length ? only : files)], { stdio: 'inherit', env });
if (guest && guest.exitCode === null && guest.signalCode === null) {
  // the host's run ended first (it failed or was interrupted): the guest's result has no reader
  guest.kill('SIGTERM');
}
if (resultDir) rmSync(resultDir, { recursive: true, force: true });
process.exit(result.status ?? 1);
