/** The alert rules' shape (dashboards/alerts.yml): every rule has for, severity, summary and description, uses $labels.name, and only corral's metric names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../helpers/promtool.js';
import { metricNamesIn } from '../../helpers/promql.js';
import { METRIC_NAMES } from '../../../src/metrics/names.js';

const text = fs.readFileSync(path.join(REPO_ROOT, 'dashboards/alerts.yml'), 'utf8');
// No YAML parser is installed: split the file at each `- alert:` and read the few keys we check.
const rules = text.split(/\n\s*- alert: /).slice(1);

test('the six alerts of the issue are there', () => {
  assert.deepEqual(rules.map((r) => r.split('\n')[0]?.trim()).sort(), [
    'ContainerCPUThrottled',
    'ContainerDown',
    'ContainerMemoryNearLimit',
    'ContainerOOMKilled',
    'ContainerPidsNearLimit',
    'ContainerRestartLoop',
  ]);
});

for (const rule of rules) {
  const name = rule.split('\n')[0]?.trim() ?? '';
  test(`${name}: for, severity, summary and description naming $labels.name; known metrics only`, () => {
    assert.match(rule, /\n\s+for: \d+[smh]\n/);
    assert.match(rule, /\n\s+severity: (critical|warning)\n/);
    assert.match(rule, /\n\s+summary: '[^\n]*\{\{ \$labels\.name \}\}[^\n]*'\n/);
    assert.match(rule, /\n\s+description: '[^\n]*\{\{ \$labels\.name \}\}[^\n]*'/);
    const expr = /expr: (\|\n(?:\s{10}.*\n)+|.*\n)/.exec(rule)?.[1] ?? '';
    assert.ok(metricNamesIn(expr).length > 0, `${name}: no metric found in ${expr}`);
    for (const m of metricNamesIn(expr)) assert.ok(METRIC_NAMES.includes(m), `${name}: unknown metric ${m}`);
  });
}
