import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPlan, planDown, planReconcile, type Action, type ReconcileTarget, type StepReport } from '../../../src/workloads/reconcile.js';
import type { ExistingContainer } from '../../../src/workloads/service.js';
import type { DesiredService } from '../../../src/workloads/service.js';

const want = (service: string, hash = `h-${service}`): DesiredService => ({ service, name: `p-${service}-1`, hash, body: { Cmd: [service] }, restart: 'no' });
const have = (service: string | undefined, status: string, hash = `h-${service}`, name = `p-${service}-1`, id = `id-${service}-${status}`): ExistingContainer => ({
  id,
  name,
  status,
  hash,
  ...(service !== undefined ? { service } : {}),
});

/** An action as a short line: "create web", "recreate web (changed)", "remove old (not in the file)". */
const show = (a: Action) => (a.kind === 'remove' ? `remove ${a.old.name} (${a.why})` : a.kind === 'recreate' ? `recreate ${a.want.service} (${a.why})` : `${a.kind} ${a.want.service}`);

test('the plan: create the missing, recreate the changed and the dead, start the never started, keep the rest, remove the others first', () => {
  const desired = [want('web'), want('db', 'new'), want('cache'), want('batch'), want('queue'), want('dead')];
  const existing = [
    have('web', 'running'),
    have('db', 'running', 'old'),
    have('batch', 'exited'),
    have('queue', 'created'),
    have('dead', 'dead'),
    have('gone', 'running'),
    have(undefined, 'running', 'x', 'p-stray-1'),
  ];
  assert.deepEqual(planReconcile(desired, existing).map(show), [
    'remove p-gone-1 (not in the file)',
    'remove p-stray-1 (not in the file)',
    'keep web',
    'recreate db (changed)',
    'create cache',
    // an unchanged container that exited stays exited: a file save does not re-run a batch job
    'keep batch',
    'start queue',
    'recreate dead (dead)',
  ]);
});

test('the plan: duplicates of a service go, the one with the expected name stays; a renamed container is recreated', () => {
  const existing = [have('web', 'running', 'h-web', 'p-web-2', 'a'), have('web', 'running', 'h-web', 'p-web-1', 'b')];
  const plan = planReconcile([want('web')], existing);
  assert.deepEqual(plan.map(show), ['remove p-web-2 (duplicate)', 'keep web']);
  assert.equal((plan[1] as { old: ExistingContainer }).old.id, 'b');
  assert.deepEqual(planReconcile([want('web')], [have('web', 'running', 'h-web', 'other')]).map(show), ['recreate web (changed)']);
});

test('the plan: nothing to do is all keeps; --force-recreate recreates; down removes everything; an empty file removes everything', () => {
  const existing = [have('web', 'running'), have('db', 'exited')];
  assert.deepEqual(planReconcile([want('web'), want('db')], existing).map(show), ['keep web', 'keep db']);
  assert.deepEqual(planReconcile([want('web'), want('db')], existing, { forceRecreate: true }).map(show), ['recreate web (forced)', 'recreate db (forced)']);
  assert.deepEqual(planDown(existing).map(show), ['remove p-web-1 (down)', 'remove p-db-1 (down)']);
  assert.deepEqual(planReconcile([], existing).map(show), ['remove p-web-1 (not in the file)', 'remove p-db-1 (not in the file)']);
  assert.deepEqual(planReconcile([want('web')], []).map(show), ['create web']);
});

/** A target that records calls and can be told to fail one. */
function fakeTarget(failOn?: string): { target: ReconcileTarget; calls: string[] } {
  const calls: string[] = [];
  let n = 0;
  const step = async (call: string) => {
    calls.push(call);
    if (call === failOn) throw new Error(`cannot ${call}`);
  };
  return {
    calls,
    target: {
      list: async () => [],
      create: async (name) => {
        await step(`create ${name}`);
        return `new-${++n}`;
      },
      start: (id) => step(`start ${id}`),
      stop: (id, seconds) => step(`stop ${id} ${seconds}`),
      remove: (id) => step(`remove ${id}`),
    },
  };
}

test('apply: each action through the target, reported as Compose words; a running container is stopped before removal', async () => {
  const { target, calls } = fakeTarget();
  const steps: StepReport[] = [];
  const plan = planReconcile([want('web', 'new'), want('db'), want('q')], [have('web', 'running', 'old'), have('gone', 'exited'), have('db', 'running'), have('q', 'created')]);
  const outcome = await applyPlan(plan, target, { stopSeconds: 3, report: (s) => steps.push(s) });
  assert.deepEqual(calls, ['remove id-gone-exited', 'stop id-web-running 3', 'remove id-web-running', 'create p-web-1', 'start new-1', 'start id-q-created']);
  assert.deepEqual(
    steps.map((s) => `${s.container} ${s.status}`),
    ['p-gone-1 Removed', 'p-web-1 Stopped', 'p-web-1 Recreated', 'p-web-1 Started', 'p-db-1 Running', 'p-q-1 Started'],
  );
  assert.deepEqual(outcome, { counts: { create: 0, recreate: 1, start: 1, keep: 1, remove: 1 }, failures: [] });
});

test('apply: a failed action is reported and the others still run', async () => {
  const { target, calls } = fakeTarget('create p-a-1');
  const steps: StepReport[] = [];
  const outcome = await applyPlan(planReconcile([want('a'), want('b')], []), target, { stopSeconds: 10, report: (s) => steps.push(s) });
  assert.deepEqual(calls, ['create p-a-1', 'create p-b-1', 'start new-1']);
  assert.deepEqual(
    steps.map((s) => `${s.container} ${s.status}${s.error ? `: ${s.error}` : ''}`),
    ['p-a-1 Error: cannot create p-a-1', 'p-b-1 Created', 'p-b-1 Started'],
  );
  assert.deepEqual(outcome.failures, [{ container: 'p-a-1', error: 'cannot create p-a-1' }]);
  assert.equal(outcome.counts.create, 1);
});
