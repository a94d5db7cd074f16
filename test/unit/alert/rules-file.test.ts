import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadRules, watchRules } from '../../../src/alert/rules-file.js';
import { RulesFileError, type Rule } from '../../../src/alert/rules.js';

const GOOD = 'rules:\n  - alert: A\n    type: oom_killed\n    severity: critical\n';

test('a missing rules file is refused naming it', () => {
  assert.throws(
    () => loadRules('/nonexistent/rules.yml'),
    (err: Error) => err instanceof RulesFileError && err.message === '/nonexistent/rules.yml:1:1: cannot read the rules file: ENOENT',
  );
  assert.equal(loadRules(undefined).length, 8);
});

test('a hot reload: a good change is taken, a bad one keeps the rules in force and is reported', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-rules-'));
  const file = path.join(dir, 'rules.yml');
  fs.writeFileSync(file, GOOD);
  const loaded: Rule[][] = [];
  const errors: Error[] = [];
  const watch = await watchRules(file, { onRules: (r) => loaded.push(r), onError: (e) => errors.push(e) });
  try {
    fs.writeFileSync(file, GOOD.replace('alert: A', 'alert: B'));
    for (let i = 0; i < 100 && loaded.length === 0; i++) await sleep(20);
    assert.deepEqual(
      loaded.map((r) => r.map((x) => x.alert)),
      [['B']],
    );
    // an editor's save: a new file renamed over the old one, with a mistake in it
    fs.writeFileSync(`${file}.tmp`, 'rules:\n  - alert: C\n    type: oom\n    severity: x\n');
    fs.renameSync(`${file}.tmp`, file);
    for (let i = 0; i < 100 && errors.length === 0; i++) await sleep(20);
    assert.equal(
      errors[0]?.message,
      `${file}:3:11: rules[0].type: unknown type "oom": expected one of oom_killed, exited_non_zero, memory_near_limit, memory_pressure, cpu_throttled, pids_near_limit, restart_loop, daemon_unreachable`,
    );
    assert.equal(loaded.length, 1);
  } finally {
    await watch.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
