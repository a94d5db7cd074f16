/**
 * The cgroup v2 tier: the same integration tests that ran on this host run again inside a QEMU
 * guest whose kernel has a pure cgroup v2 hierarchy (cgroup_no_v1=all), with
 * CORRAL_TEST_CGROUP_MODE=v2 so that every test first asserts it really got v2. Each guest test is
 * reported here as a subtest of its own, prefixed "[v2 guest]".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInGuest, parseTap } from './guest.js';

const GUEST_FILES = ['dist/test/integration', 'dist/test/z-final/leaks.test.js'];
// about 15 minutes on an idle build machine; a hang detector only, so with room for a loaded host
// (emulation has no second core to spare)
const GUEST_TIMEOUT_MS = 40 * 60_000;

test('cgroup v2 guest: the integration suite', { timeout: GUEST_TIMEOUT_MS + 60_000 }, async (t) => {
  const started = Date.now();
  const guest = await runInGuest(`node --test --test-reporter=tap --test-concurrency=1 ${GUEST_FILES.join(' ')}`, {
    // the route fuzz runs its full 200 cases a route on the host; under emulation each case costs
    // ~10x, so the guest runs a 50-case sample of the same generators (same fixed seed)
    env: { CORRAL_TEST_CGROUP_MODE: 'v2', CORRAL_FUZZ_RUNS: process.env.CORRAL_GUEST_FUZZ_RUNS ?? '50' },
    timeoutMs: GUEST_TIMEOUT_MS,
  });
  t.diagnostic(`guest booted in ${guest.bootMs} ms, suite took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const results = parseTap(guest.output);
  assert.ok(results.length >= 20, `the guest ran too few tests (${results.length}); its output ends:\n${guest.output.slice(-3000)}`);
  for (const r of results) {
    await t.test(`[v2 guest] ${r.name}`, { skip: r.skip ? (r.details.reason ?? 'skipped in the guest') : false }, () => {
      if (!r.ok && !r.todo) {
        assert.fail(`${r.details.error ?? 'failed'}\n${r.details.subtestOutput}\n${r.details.comments.join('\n')}`.trim());
      }
    });
  }
  assert.equal(guest.exitCode, 0, `the guest's node --test exited ${guest.exitCode}`);
});
