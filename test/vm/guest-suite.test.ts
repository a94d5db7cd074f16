/**
 * The cgroup v2 tier: the same integration tests that ran on this host run again inside QEMU guests
 * whose kernel has a pure cgroup v2 hierarchy (cgroup_no_v1=all), with CORRAL_TEST_CGROUP_MODE=v2
 * so that every test first asserts it really got v2. Each guest test is reported here as a subtest
 * of its own, prefixed "[v2 guest]". Under `npm test` the first guest ran in the background since
 * the suite began, and a second one joins it here, the host's tests being done (guest-suite.ts);
 * run alone, this test boots both at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseTap } from './guest.js';
import { awaitResult, closeQueue, GUEST_TIMEOUT_MS, type GuestSuiteResult, guestQueue, queueHasWork, queueIdOf, RESULT_ENV, runGuestWorker } from './guest-suite.js';

test('cgroup v2 guest: the integration suite', { timeout: GUEST_TIMEOUT_MS + 60_000 }, async (t) => {
  const background = process.env[RESULT_ENV];
  const queue = await guestQueue(background ? queueIdOf(background) : `alone-${process.pid}-${randomBytes(4).toString('hex')}`);
  const first = background ? awaitResult(background, GUEST_TIMEOUT_MS) : runGuestWorker(queue);
  // the first guest may have emptied the queue already (a slow host); then a second has nothing to do
  const second = (await queueHasWork(queue)) ? runGuestWorker(queue) : undefined;
  const settled = await Promise.allSettled([first, ...(second ? [second] : [])]);
  const unfinished = await closeQueue(queue);
  const guests: GuestSuiteResult[] = [];
  for (const s of settled) {
    if (s.status === 'rejected') throw s.reason;
    guests.push(s.value);
  }
  for (const [i, g] of guests.entries()) {
    const how = i === 0 && background ? ' (in the background, beside the host tests)' : '';
    t.diagnostic(`guest ${i + 1}: booted in ${g.bootMs} ms, its share took ${(g.elapsedMs / 1000).toFixed(0)} s${how}`);
  }
  const results = guests.flatMap((g) => parseTap(g.output));
  assert.ok(results.length >= 20, `the guests ran too few tests (${results.length}); the first one's output ends:\n${guests[0]?.output.slice(-3000)}`);
  for (const r of results) {
    await t.test(`[v2 guest] ${r.name}`, { skip: r.skip ? (r.details.reason ?? 'skipped in the guest') : false }, () => {
      if (!r.ok && !r.todo) {
        // the guest's own stack and location: the host's would only point here
        const where = [r.details.location, r.details.stack].filter((x) => x !== undefined).join('\n');
        assert.fail(`${r.details.error ?? 'failed'}\n${where}\n${r.details.subtestOutput}\n${r.details.comments.join('\n')}`.trim());
      }
    });
  }
  assert.deepEqual(unfinished, [], 'files no guest finished (a guest died in the first)');
  for (const [i, g] of guests.entries()) assert.equal(g.exitCode, 0, `guest ${i + 1}'s test loop exited ${g.exitCode}`);
});
