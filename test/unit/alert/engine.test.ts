/**
 * The engine with scripted samples: each rule's for, hysteresis and resolution, event rules and
 * their quiet time, the daemon rule, selectors, reloads and restores. Times are ms from 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, oomDetails, type Alert, type ContainerView } from '../../../src/alert/engine.js';
import { fingerprint } from '../../../src/alert/fingerprint.js';
import { defaultRules, parseRules, type Rule } from '../../../src/alert/rules.js';

const S = 1000;
const M = 60 * S;
const ID = 'c0ffee';
const rule = (name: string) => defaultRules().find((r) => r.alert === name)!;
const engine = (...rules: Rule[]) => new Engine(rules, { instance: 'unix:///run/corral/corral.sock' });
const view = (over: Partial<ContainerView> = {}): ContainerView => ({ id: ID, name: 'web', image: 'host', labels: { team: 'a' }, running: true, ...over });
/** What the transitions say, compactly: "firing ContainerX 0.95" */
const said = (alerts: Alert[]) => alerts.map((a) => `${a.status} ${a.rule}${a.value !== undefined ? ` ${Math.round(a.value * 1000) / 1000}` : ''}`);

/** Feed samples every `step` ms from `from`; return the transitions with their times. */
function script(e: Engine, from: number, step: number, views: Partial<ContainerView>[]): string[] {
  const out: string[] = [];
  views.forEach((v, i) => {
    for (const s of said(e.sample(from + i * step, [view(v)]))) out.push(`${(from + i * step) / S}s ${s}`);
  });
  return out;
}

test('memory near limit: pending for 5m, fires above 90%, stays down to 80% (hysteresis), resolves below it', () => {
  const e = engine(rule('ContainerMemoryNearLimit'));
  const mem = (pct: number) => ({ memoryWorkingSet: pct, memoryLimit: 100 });
  // 95% for 4 minutes then 85%: pending breaks (85% is not above 90%), nothing sent
  assert.deepEqual(script(e, 0, M, [mem(95), mem(95), mem(95), mem(95), mem(85)]), []);
  // 95% for 5 minutes: fires at the sample 5m after the first
  assert.deepEqual(script(e, 10 * M, M, [mem(95), mem(92), mem(99), mem(95), mem(91), mem(96)]), ['900s firing ContainerMemoryNearLimit 0.96']);
  // 85% keeps it firing (above 80%); 79% resolves it
  assert.deepEqual(script(e, 16 * M, M, [mem(85), mem(81), mem(80), mem(79)]), ['1140s resolved ContainerMemoryNearLimit 0.8']);
  assert.deepEqual(e.firing(), []);
});

test('memory near limit: a container without a limit, or not running, never fires; the alert has the container labels and the rendered annotations', () => {
  const e = engine({ ...rule('ContainerMemoryNearLimit'), forMs: 0 });
  assert.deepEqual(e.sample(0, [view({ memoryWorkingSet: 99 })]), []);
  assert.deepEqual(e.sample(1, [view({ memoryWorkingSet: 99, memoryLimit: 100, running: false })]), []);
  const [a] = e.sample(2, [view({ memoryWorkingSet: 93.4, memoryLimit: 100 })]);
  assert.deepEqual(a!.labels, { alertname: 'ContainerMemoryNearLimit', severity: 'warning', id: `/corral/${ID}`, name: 'web', image: 'host', container_label_team: 'a' });
  assert.equal(a!.annotations.description, 'Container web (host) has used 93.4% of its memory limit for 5 minutes; an OOM kill may follow.');
  assert.equal(a!.fingerprint, fingerprint(a!.labels));
  assert.equal(a!.startsAt, 2);
  // the container is removed: its alert resolves
  assert.deepEqual(said(e.sample(3, [])), ['resolved ContainerMemoryNearLimit 0.934']);
});

test('memory pressure: PSI some avg10 above 10% for 1m; none without PSI', () => {
  const e = engine(rule('ContainerMemoryPressure'));
  assert.deepEqual(script(e, 0, 30 * S, [{}, { memoryPressureSome10: 12 }, { memoryPressureSome10: 40 }, { memoryPressureSome10: 25 }, { memoryPressureSome10: 10 }]), [
    '90s firing ContainerMemoryPressure 25',
    '120s resolved ContainerMemoryPressure 25',
  ]);
});

test('pids near limit: 90% for 5m', () => {
  const e = engine({ ...rule('ContainerPidsNearLimit'), forMs: 2 * M });
  assert.deepEqual(
    script(e, 0, M, [
      { pidsCurrent: 95, pidsLimit: 100 },
      { pidsCurrent: 95, pidsLimit: 100 },
      { pidsCurrent: 99, pidsLimit: 100 },
      { pidsCurrent: 50, pidsLimit: 100 },
    ]),
    ['120s firing ContainerPidsNearLimit 0.99', '180s resolved ContainerPidsNearLimit 0.99'],
  );
});

test('cpu throttled: the throttled share of CFS periods over the 5m window, above 25% for 10m', () => {
  const e = engine({ ...rule('ContainerCPUThrottled'), forMs: 2 * M });
  // 100 periods a minute, 50 of them throttled: 50% over any window
  const at = (minute: number, throttledPerMinute = 50) => ({ cpuPeriods: 100 * minute, cpuThrottledPeriods: throttledPerMinute * minute });
  assert.deepEqual(script(e, 0, M, [at(0), at(1), at(2), at(3)]), ['180s firing ContainerCPUThrottled 0.5']);
  // then no throttling at all: the 5-minute window's share falls to 20% at 6m (100 throttled of 500 periods): resolved, with the last firing value
  const steady = (minute: number) => ({ cpuPeriods: 100 * minute, cpuThrottledPeriods: 150 });
  const out = script(e, 4 * M, M, [steady(4), steady(5), steady(6), steady(7), steady(8), steady(9)]);
  assert.deepEqual(out, ['360s resolved ContainerCPUThrottled 0.3']);
});

test('restart loop: more than 3 restarts within 15m, held 5m; a counter reset starts over', () => {
  const e = engine({ ...rule('ContainerRestartLoop'), forMs: M });
  assert.deepEqual(script(e, 0, M, [{ restartCount: 0 }, { restartCount: 2 }, { restartCount: 4 }, { restartCount: 5 }, { restartCount: 0 }]), [
    '180s firing ContainerRestartLoop 5',
    '240s resolved ContainerRestartLoop 5',
  ]);
  // 4 restarts spread over more than 15 minutes: at most 3 in any window, never fires
  const e2 = engine({ ...rule('ContainerRestartLoop'), forMs: 0 });
  assert.deepEqual(script(e2, 0, 6 * M, [{ restartCount: 0 }, { restartCount: 1 }, { restartCount: 2 }, { restartCount: 3 }, { restartCount: 4 }, { restartCount: 5 }]), []);
});

const OOM_ATTRS = {
  oom_kill: '1',
  'memory.anon': String(30 << 20),
  'memory.file': String(1 << 20),
  'memory.kernel': '524288',
  'memory.usage': String(32 << 20),
  'memory.limit': String(32 << 20),
  'memory.stat_when': 'before-kill',
};

test('OOM killed: fires at the event with the memory.stat top consumers; another kill updates it; resolves after 5m of quiet', () => {
  const e = engine(rule('ContainerOOMKilled'));
  e.sample(0, [view()]);
  const [a] = e.event({ action: 'oom', time: 1000, id: ID, attributes: OOM_ATTRS });
  assert.equal(a!.status, 'firing');
  assert.equal(a!.startsAt, 1000);
  assert.equal(a!.labels.container_label_team, 'a');
  assert.equal(a!.annotations.memory, 'top: anon 30.0MiB, file 1.0MiB, kernel 512.0KiB; usage 32.0MiB of 32.0MiB; read before-kill');
  assert.equal(a!.value, 1);
  assert.deepEqual(said(e.event({ action: 'oom', time: 2 * M, id: ID, attributes: { ...OOM_ATTRS, oom_kill: '2' } })), ['firing ContainerOOMKilled 2']);
  assert.equal(e.firing()[0]!.startsAt, 1000, 'the same alert: startsAt kept');
  assert.deepEqual(said(e.sample(6 * M, [view()])), []);
  assert.deepEqual(said(e.sample(7 * M, [view()])), ['resolved ContainerOOMKilled 2']);
  assert.equal(oomDetails({ oom_kill: '1' }), 'memory.stat: not in the event');
});

test('exited non-zero: fires at a die with a code other than 0, resolves at the next start', () => {
  const e = engine(rule('ContainerExitedNonZero'));
  assert.deepEqual(e.event({ action: 'die', time: 0, id: ID, name: 'job', image: 'host', exitCode: 0 }), []);
  const [a] = e.event({ action: 'die', time: 1, id: ID, name: 'job', image: 'host', exitCode: 3 });
  assert.equal(a!.annotations.summary, 'Container job exited with code 3');
  assert.deepEqual(said(e.event({ action: 'start', time: 2, id: ID })), ['resolved ContainerExitedNonZero 3']);
});

test('daemon unreachable: pending for 30s, fires with the time unreachable, resolves at the first answer', () => {
  const e = engine(rule('CorralDaemonUnreachable'));
  assert.deepEqual(e.daemonUnreachable(0), []);
  assert.deepEqual(e.daemonUnreachable(20 * S), []);
  const [a] = e.daemonUnreachable(31 * S);
  assert.equal(a!.status, 'firing');
  assert.deepEqual(a!.labels, { alertname: 'CorralDaemonUnreachable', severity: 'critical', instance: 'unix:///run/corral/corral.sock' });
  assert.equal(a!.annotations.description, 'corral alert could not reach the daemon at unix:///run/corral/corral.sock for 31s: containers are not supervised, and no other alert can fire.');
  assert.deepEqual(said(e.sample(40 * S, [])), ['resolved CorralDaemonUnreachable 31']);
  // a short outage (under for) sends nothing
  e.daemonUnreachable(50 * S);
  assert.deepEqual(e.sample(55 * S, []), []);
});

test('selectors pick containers by name pattern and label; a reload keeps kept rules and resolves dropped ones; restore brings firing alerts back', () => {
  const [sel] = parseRules("rules:\n  - alert: DbMem\n    type: memory_near_limit\n    for: 0s\n    severity: page\n    selector: { name: 'db-*' }\n", 'r.yml');
  const e = engine(sel!);
  assert.deepEqual(e.sample(0, [view({ memoryWorkingSet: 99, memoryLimit: 100 })]), []);
  const [a] = e.sample(1, [view({ id: 'd1', name: 'db-1', memoryWorkingSet: 99, memoryLimit: 100 })]);
  assert.equal(a!.labels.name, 'db-1');
  // reloaded with the same rule: still firing, nothing sent
  assert.deepEqual(e.setRules([sel!], 2), []);
  assert.equal(e.firing().length, 1);
  // a restarted sidecar restores it, and resolves it as usual (a resolved alert carries its last firing value, as Prometheus')
  const e2 = engine(sel!);
  e2.restore(e.firing());
  assert.deepEqual(said(e2.sample(3, [view({ id: 'd1', name: 'db-1', memoryWorkingSet: 10, memoryLimit: 100 })])), ['resolved DbMem 0.99']);
  // reloaded without it: resolved at once
  assert.deepEqual(said(e.setRules([], 4)), ['resolved DbMem 0.99']);
});

test("the fingerprint is Alertmanager's (FNV-1a 64 over sorted labels)", () => {
  // as Alertmanager 0.25 answered GET /api/v2/alerts for an alert posted with these labels
  assert.equal(fingerprint({ alertname: 'X', name: 'a' }), 'cae9c4d376296026');
  // FNV-1a's offset basis: no labels, nothing hashed
  assert.equal(fingerprint({}), 'cbf29ce484222325');
  assert.equal(fingerprint({ alertname: 'A' }), fingerprint({ alertname: 'A' }));
  assert.notEqual(fingerprint({ a: 'bc' }), fingerprint({ ab: 'c' }));
});
