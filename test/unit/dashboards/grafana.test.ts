/**
 * The Grafana dashboard (dashboards/corral.json): valid JSON, a `datasource` variable used by every panel and
 * query, a `container` variable from container_last_seen, only metric names of src/metrics/names.ts, and every
 * PromQL expression accepted by promtool (each one as a recording rule in a temporary rules file).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ALERT_METRIC_NAMES } from '../../../src/alert/metrics.js';
import { METRIC_NAMES } from '../../../src/metrics/names.js';
import { metricNamesIn } from '../../helpers/promql.js';
import { promtool, REPO_ROOT } from '../../helpers/promtool.js';

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  gridPos?: object;
}
interface Variable {
  name?: string;
  type?: string;
  query?: unknown;
  definition?: string;
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  schemaVersion?: number;
  title?: string;
  uid?: string;
  __inputs?: unknown[];
  panels?: Panel[];
  templating?: { list?: Variable[] };
}

const text = fs.readFileSync(path.join(REPO_ROOT, 'dashboards/corral.json'), 'utf8');
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own variable syntax: the dashboard's datasource uid is the literal text ${datasource}
const DS = { type: 'prometheus', uid: '${datasource}' };

function parse(): Dashboard {
  return JSON.parse(text) as Dashboard;
}
const dashboard = parse();
/** every panel but the rows (which only title a group) */
const panels = (dashboard.panels ?? []).filter((p) => p.type !== 'row');
const rows = (dashboard.panels ?? []).filter((p) => p.type === 'row');
/** the panels of corral alert's own metrics: the sidecar's series, not per container */
const SIDECAR_PANELS = ['Alerts firing', 'Notifications', 'Queue depth', 'Daemon connection and rule evaluation'];
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${p.title} ${t.refId}`, expr: t.expr ?? '', sidecar: SIDECAR_PANELS.includes(p.title ?? '') })));

/** Grafana's variables replaced by values promtool can parse. */
function withoutVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replace(/\$\{?container\}?/g, '.+');
}

test('valid JSON with a title, a uid, __inputs and schemaVersion 39', () => {
  assert.doesNotThrow(parse);
  assert.equal(dashboard.schemaVersion, 39);
  assert.ok(dashboard.title && dashboard.uid);
  assert.ok(Array.isArray(dashboard.__inputs));
});

test('the variables: datasource (prometheus) and container from label_values(container_last_seen, name)', () => {
  const vars = dashboard.templating?.list ?? [];
  const ds = vars.find((v) => v.name === 'datasource');
  assert.deepEqual([ds?.type, ds?.query], ['datasource', 'prometheus']);
  const container = vars.find((v) => v.name === 'container');
  assert.equal(container?.type, 'query');
  assert.equal(container?.definition, 'label_values(container_last_seen, name)');
  assert.deepEqual(container?.datasource, DS);
});

test('the panels of the issue are there, with unique ids and positions', () => {
  assert.deepEqual(
    panels.map((p) => p.title),
    ['CPU usage vs quota', 'CPU throttling', 'Memory working set vs limit', 'OOM kills', 'Restarts', 'State', 'PIDs vs limit', 'Network I/O', 'Block I/O', 'Pressure (PSI)', ...SIDECAR_PANELS],
  );
  assert.deepEqual(
    rows.map((r) => r.title),
    ['corral alert (the alerting sidecar)'],
  );
  const all = dashboard.panels ?? [];
  assert.equal(new Set(all.map((p) => p.id)).size, all.length);
  for (const p of all) assert.ok(p.gridPos, `${p.title}: no gridPos`);
});

describe('every panel and query uses the datasource variable', () => {
  for (const p of panels) {
    test(p.title ?? '', () => {
      assert.deepEqual(p.datasource, DS);
      assert.ok((p.targets ?? []).length > 0);
      for (const t of p.targets ?? []) assert.deepEqual(t.datasource, DS, `${p.title} ${t.refId}`);
    });
  }
});

describe("every expression uses only the metric names of src/metrics/names.ts, filtered by $container (the sidecar's panels: its own names)", () => {
  for (const { where, expr, sidecar } of exprs) {
    test(where, () => {
      const names = metricNamesIn(expr);
      assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
      if (sidecar) {
        for (const n of names) assert.ok(ALERT_METRIC_NAMES.includes(n), `${where}: ${n} is not in src/alert/metrics.ts`);
        return;
      }
      for (const n of names) assert.ok(METRIC_NAMES.includes(n), `${where}: ${n} is not in src/metrics/names.ts`);
      assert.match(expr, /name=~"\$container"/);
    });
  }
});

test('the helper finds metric names and nothing else', () => {
  assert.deepEqual(metricNamesIn('sum by (name) (rate(a_total{name=~"$container"}[$__rate_interval])) / on(id) (b > 0.5e3) and ignoring(x) c'), ['a_total', 'b', 'c']);
});

test('every expression passes promtool check rules (as recording rules)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-grafana-'));
  try {
    const file = path.join(dir, 'exprs.yml');
    const rules = exprs.map(({ expr }, i) => `      - record: corral_dashboard_check_${i}\n        expr: ${JSON.stringify(withoutVariables(expr))}\n`);
    fs.writeFileSync(file, `groups:\n  - name: corral-dashboard-exprs\n    rules:\n${rules.join('')}`);
    const r = promtool(['check', 'rules', file], dir);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, new RegExp(`SUCCESS: ${exprs.length} rules found`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
