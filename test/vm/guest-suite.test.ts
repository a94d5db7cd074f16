/**
 * The cgroup v2 tier: the same integration tests that ran on this host run again inside a QEMU
 * guest whose kernel has a pure cgroup v2 hierarchy (cgroup_no_v1=all), with
 * CORRAL_TEST_CGROUP_MODE=v2 so that every test first asserts it really got v2. Each guest test is
 * reported here as a subtest of its own, prefixed "[v2 guest]". Under `npm test` the guest ran in
 * the background since the suite began (guest-suite.ts); run alone, this test runs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTap } from './guest.js';
import { awaitResult, GUEST_TIMEOUT_MS, RESULT_ENV, runGuestSuite } from './guest-suite.js';

test('cgroup v2 guest: the integration suite', { timeout: GUEST_TIMEOUT_MS + 60_000 }, async (t) => {
  const background = process.env[RESULT_ENV];
  const guest = background ? await awaitResult(background, GUEST_TIMEOUT_MS) : await runGuestSuite();
  t.diagnostic(`guest booted in ${guest.bootMs} ms, suite took ${(guest.elapsedMs / 1000).toFixed(0)} s${background ? ' (in the background, beside the host tests)' : ''}`);
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
