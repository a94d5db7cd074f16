import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BACKOFF_MAX_MS,
  checkRestartPolicy,
  decideRestart,
  formatRestartPolicy,
  parseRestartFlag,
  restartOnDaemonStart,
  restartPolicyFromJson,
  wantsRunning,
  type ExitFacts,
  type RestartPolicy,
} from '../../../src/container/restart-policy.js';
import { parseRunArgs, type HostFacts } from '../../../src/container/config/run-flags.js';

const always: RestartPolicy = { name: 'always', maximumRetryCount: 0 };
const onFailure = (max: number): RestartPolicy => ({ name: 'on-failure', maximumRetryCount: max });
const facts = (f: Partial<ExitFacts>): ExitFacts => ({ policy: always, exitCode: 0, manuallyStopped: false, canceled: false, restartCount: 0, ranMs: 50, backoffMs: 0, ...f });

test('the back-off starts at 100 ms, doubles on each restart, stops at one minute', () => {
  const delays: number[] = [];
  let backoffMs = 0;
  for (let i = 0; i < 14; i++) {
    const d = decideRestart(facts({ backoffMs }));
    assert.equal(d.restart, true);
    delays.push(d.backoffMs);
    backoffMs = d.backoffMs;
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000, 60000, 60000]);
  assert.equal(BACKOFF_MAX_MS, 60_000);
});

test('a run of 10 s or more resets the back-off; a shorter one does not', () => {
  assert.equal(decideRestart(facts({ backoffMs: 6400, ranMs: 10_000 })).backoffMs, 100);
  assert.equal(decideRestart(facts({ backoffMs: 6400, ranMs: 9_999 })).backoffMs, 12800);
});

test('the policy decides: no never; always always; unless-stopped unless stopped by the user; on-failure on a failure below the maximum', () => {
  const cases: [Partial<ExitFacts>, boolean][] = [
    [{ policy: { name: 'no', maximumRetryCount: 0 }, exitCode: 1 }, false],
    [{ policy: always, exitCode: 0 }, true],
    [{ policy: always, exitCode: 0, manuallyStopped: true }, true],
    [{ policy: { name: 'unless-stopped', maximumRetryCount: 0 }, exitCode: 0 }, true],
    [{ policy: { name: 'unless-stopped', maximumRetryCount: 0 }, exitCode: 0, manuallyStopped: true }, false],
    [{ policy: onFailure(0), exitCode: 0 }, false],
    [{ policy: onFailure(0), exitCode: 1, restartCount: 1000 }, true],
    [{ policy: onFailure(2), exitCode: 137, restartCount: 1 }, true],
    [{ policy: onFailure(2), exitCode: 1, restartCount: 2 }, false],
    // a user stop/kill cancels every policy until the next start
    [{ policy: always, canceled: true }, false],
    [{ policy: onFailure(0), exitCode: 143, canceled: true }, false],
  ];
  for (const [f, want] of cases) assert.equal(decideRestart(facts(f)).restart, want, JSON.stringify(f));
});

test('a cancelled or disabled policy keeps the back-off as it was', () => {
  assert.deepEqual(decideRestart(facts({ canceled: true, backoffMs: 400 })), { restart: false, backoffMs: 400 });
  assert.deepEqual(decideRestart(facts({ policy: { name: 'no', maximumRetryCount: 0 }, backoffMs: 0 })), { restart: false, backoffMs: 0 });
});

test('at daemon start: always comes back, unless-stopped and on-failure only when not stopped by the user', () => {
  assert.equal(restartOnDaemonStart(always, { exitCode: 0, manuallyStopped: true, restartCount: 0 }), true);
  assert.equal(restartOnDaemonStart({ name: 'unless-stopped', maximumRetryCount: 0 }, { exitCode: 0, manuallyStopped: true, restartCount: 0 }), false);
  assert.equal(restartOnDaemonStart({ name: 'unless-stopped', maximumRetryCount: 0 }, { exitCode: 0, manuallyStopped: false, restartCount: 0 }), true);
  assert.equal(restartOnDaemonStart(onFailure(3), { exitCode: 1, manuallyStopped: false, restartCount: 2 }), true);
  assert.equal(restartOnDaemonStart(onFailure(3), { exitCode: 1, manuallyStopped: false, restartCount: 3 }), false);
  assert.equal(restartOnDaemonStart(onFailure(3), { exitCode: 137, manuallyStopped: true, restartCount: 0 }), false);
  assert.equal(restartOnDaemonStart({ name: 'no', maximumRetryCount: 0 }, { exitCode: 1, manuallyStopped: false, restartCount: 0 }), false);
});

test('--restart: the CLI syntax and the daemon rules, with messages naming the flag', () => {
  assert.deepEqual(parseRestartFlag('no'), { name: 'no', maximumRetryCount: 0 });
  assert.deepEqual(parseRestartFlag('on-failure'), { name: 'on-failure', maximumRetryCount: 0 });
  assert.deepEqual(parseRestartFlag('on-failure:5'), { name: 'on-failure', maximumRetryCount: 5 });
  assert.deepEqual(parseRestartFlag('unless-stopped'), { name: 'unless-stopped', maximumRetryCount: 0 });
  assert.throws(() => parseRestartFlag('sometimes'), {
    message: 'invalid value "sometimes" for --restart: unknown policy "sometimes"; expected no, always, unless-stopped, on-failure or on-failure:MAX (MAX a whole number of retries, 0 for no limit)',
  });
  assert.throws(() => parseRestartFlag(':3'), /no policy before the colon/);
  assert.throws(() => parseRestartFlag('on-failure:x'), /the maximum retry count must be a whole number/);
  assert.throws(() => parseRestartFlag('always:3'), { message: `invalid value "always:3" for --restart: invalid restart policy: maximum retry count can only be used with 'on-failure'` });
  assert.throws(() => parseRestartFlag('always:-1'), /can only be used with 'on-failure' and cannot be negative/);
  assert.throws(() => parseRestartFlag('on-failure:-1'), /maximum retry count cannot be negative/);
  assert.throws(() => checkRestartPolicy({ name: 'no', maximumRetryCount: 1 }, 'X', 'no:1'), /only be used with 'on-failure'/);
  assert.equal(formatRestartPolicy(onFailure(3)), 'on-failure:3');
  assert.equal(formatRestartPolicy(onFailure(0)), 'on-failure');
});

test("HostConfig.RestartPolicy: Docker's object and its validation messages", () => {
  assert.equal(restartPolicyFromJson(undefined), undefined);
  assert.deepEqual(restartPolicyFromJson({ Name: '', MaximumRetryCount: 5 }), { name: 'no', maximumRetryCount: 0 });
  assert.deepEqual(restartPolicyFromJson({ Name: 'on-failure', MaximumRetryCount: 2 }), onFailure(2));
  assert.deepEqual(restartPolicyFromJson({ Name: 'always' }), always);
  assert.throws(() => restartPolicyFromJson({ Name: 'always', MaximumRetryCount: 2 }), /HostConfig\.RestartPolicy: invalid restart policy: maximum retry count can only be used with 'on-failure'$/);
  assert.throws(
    () => restartPolicyFromJson({ Name: 'never' }),
    /HostConfig\.RestartPolicy\.Name: invalid restart policy: unknown policy 'never'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'/,
  );
  assert.throws(() => restartPolicyFromJson({ Name: 'on-failure', MaximumRetryCount: 1.5 }), /HostConfig\.RestartPolicy\.MaximumRetryCount: expected an integer/);
  assert.throws(() => restartPolicyFromJson({ Name: 7 }), /HostConfig\.RestartPolicy\.Name: expected a string/);
  assert.throws(() => restartPolicyFromJson('always'), /expected an object/);
  assert.throws(() => restartPolicyFromJson({ Name: 'always', Delay: 3 }), /unknown field "Delay"/);
});

test('corral run --restart: in the configuration; with --rm refused', () => {
  const hostFacts: HostFacts = { onlineCpus: 2, effectiveCpus: [0, 1], effectiveMems: [0], deviceNumber: () => undefined, pathKind: () => undefined };
  assert.deepEqual(parseRunArgs(['--restart', 'on-failure:3', 'true'], hostFacts).restartPolicy, onFailure(3));
  assert.equal(parseRunArgs(['true'], hostFacts).restartPolicy, undefined);
  assert.throws(() => parseRunArgs(['--rm', '--restart', 'always', 'true'], hostFacts), /invalid value "always" for --restart: conflicting options: --restart and --rm/);
  assert.doesNotThrow(() => parseRunArgs(['--rm', '--restart', 'no', 'true'], hostFacts));
});

test('wantsRunning: a policy that brings the container back, unless the user stopped it; a one-shot that exited is not down', () => {
  const no: RestartPolicy = { name: 'no', maximumRetryCount: 0 };
  const unlessStopped: RestartPolicy = { name: 'unless-stopped', maximumRetryCount: 0 };
  const table: [RestartPolicy | undefined, { status: string; exitCode?: number; manuallyStopped?: boolean }, boolean][] = [
    [undefined, { status: 'exited', exitCode: 0 }, false],
    [no, { status: 'exited', exitCode: 1 }, false],
    [no, { status: 'running' }, false],
    [always, { status: 'running' }, true],
    [always, { status: 'exited', exitCode: 0 }, true],
    [always, { status: 'exited', exitCode: 143, manuallyStopped: true }, false],
    [always, { status: 'created' }, false],
    [unlessStopped, { status: 'restarting', exitCode: 1 }, true],
    [unlessStopped, { status: 'exited', exitCode: 0, manuallyStopped: true }, false],
    [onFailure(3), { status: 'exited', exitCode: 0 }, false],
    // it gave up after its retries: it should run and does not
    [onFailure(3), { status: 'exited', exitCode: 1 }, true],
    [onFailure(0), { status: 'dead' }, true],
  ];
  for (const [policy, c, want] of table) assert.equal(wantsRunning(policy, c), want, `${policy?.name ?? 'none'} ${JSON.stringify(c)}`);
});
