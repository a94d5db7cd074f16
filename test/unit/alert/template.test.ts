import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePromDuration, formatPromDuration } from '../../../src/alert/duration.js';
import { compileTemplate, goG4, humanize, humanize1024, humanizeDuration, TemplateError } from '../../../src/alert/template.js';

test('durations as Prometheus writes them', () => {
  const table: [string, number | undefined][] = [
    ['0', 0],
    ['0s', 0],
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1w', 604_800_000],
    ['5', undefined],
    ['5 m', undefined],
    ['30m1h', undefined],
    ['1.5m', undefined],
    ['', undefined],
    ['-1s', undefined],
  ];
  for (const [text, ms] of table) assert.equal(parsePromDuration(text), ms, text);
  assert.equal(formatPromDuration(90_000), '1m30s');
  assert.equal(formatPromDuration(0), '0s');
});

test("Go's %.4g and Prometheus' humanize functions", () => {
  assert.equal(goG4(93), '93');
  assert.equal(goG4(93.456), '93.46');
  assert.equal(goG4(123_456), '1.235e+05');
  assert.equal(goG4(0.00001), '1e-05');
  assert.equal(humanize(12345), '12.35k');
  assert.equal(humanize(0.5), '500m');
  assert.equal(humanize(0), '0');
  assert.equal(humanize1024(1048576), '1Mi');
  assert.equal(humanize1024(1536), '1.5Ki');
  assert.equal(humanizeDuration(90), '1m 30s');
  assert.equal(humanizeDuration(3661), '1h 1m 1s');
  assert.equal(humanizeDuration(5), '5s');
});

test('templates render labels, the value with a function, and details', () => {
  const t = compileTemplate('Container {{ $labels.name }} ({{ $labels.image }}) at {{ $value | humanizePercentage }}; {{ $details }}; raw {{$value}}');
  assert.equal(t.render({ labels: { name: 'web', image: 'host' }, value: 0.934, details: 'top: anon 30MiB' }), 'Container web (host) at 93.4%; top: anon 30MiB; raw 0.934');
  // a missing label renders empty, as in Prometheus; no value renders nothing rather than 0
  assert.equal(compileTemplate('[{{ $labels.nope }}][{{ $value }}]').render({ labels: {}, value: undefined, details: '' }), '[][]');
});

test('a template outside the subset is refused with the reason', () => {
  const reason = (source: string) => {
    try {
      compileTemplate(source);
    } catch (err) {
      assert.ok(err instanceof TemplateError);
      return err.reason;
    }
    assert.fail(`accepted ${source}`);
  };
  assert.equal(reason('{{ $labels.name '), 'unclosed action "{{ $labels.name ": every {{ needs its }}');
  assert.equal(reason('{{ $value | upper }}'), '{{ $value | upper }}: unknown function "upper" (known: humanize, humanize1024, humanizePercentage, humanizeDuration)');
  assert.equal(reason('{{ .Name }}'), '{{ .Name }}: expected $labels.NAME, $value or $details');
  assert.equal(reason('{{ $labels.name | humanize }}'), '{{ $labels.name | humanize }}: functions apply to $value only');
});
