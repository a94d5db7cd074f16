import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../../../src/errors.js';
import { asGoMap, goValue, parseDockerFormat, parseTemplate, renderTemplate, TemplateError } from '../../../../src/cli/format/template.js';

test('fields, nested fields, the dot, json, and the text between', () => {
  const data = { ID: 'abc', Actor: { ID: 'x', Attributes: asGoMap({ name: 'web' }) }, N: 3 };
  assert.equal(renderTemplate(parseTemplate('{{.ID}}\t{{ .Actor.Attributes.name }}!'), data), 'abc\tweb!');
  assert.equal(renderTemplate(parseTemplate('{{json .Actor}}'), data), '{"ID":"x","Attributes":{"name":"web"}}');
  assert.equal(renderTemplate(parseTemplate('{{json .N}} {{.N}}'), data), '3 3');
  assert.equal(renderTemplate(parseTemplate('plain'), data), 'plain');
  // a map without the key prints <no value>, as Go does; a struct without the field is an error
  assert.equal(renderTemplate(parseTemplate('{{.Actor.Attributes.exitCode}}'), data), '<no value>');
  assert.throws(
    () => renderTemplate(parseTemplate('{{.Nope}}'), data),
    (e: Error) => e instanceof TemplateError && /can't evaluate field Nope/.test(e.message),
  );
});

test('{{- and -}} trim the white space beside them', () => {
  assert.equal(renderTemplate(parseTemplate('a  {{- .X -}}  b'), { X: 1 }), 'a1b');
});

test('malformed and unsupported actions are TemplateErrors that quote them', () => {
  assert.throws(() => parseTemplate('{{.ID'), /unclosed action: \{\{\.ID/);
  assert.throws(() => parseTemplate('{{range .Names}}'), /unsupported action \{\{range \.Names\}\}/);
  assert.throws(() => parseTemplate('{{ID}}'), /cannot parse action \{\{ID\}\}/);
});

test('values print as Go prints them', () => {
  assert.equal(goValue(['a', 'b']), '[a b]');
  assert.equal(goValue({ b: 2, a: 'x' }), 'map[a:x b:2]');
  assert.equal(goValue(null), '<nil>');
  assert.equal(goValue(true), 'true');
  assert.equal(goValue(12n), '12');
});

test('--format: json, table, table TEMPLATE with \\t escapes, a template; a bad one names --format', () => {
  const sample = { ID: '', Names: '' };
  assert.deepEqual(parseDockerFormat('--format', 'json', 'D', sample).template.source, '{{json .}}');
  const table = parseDockerFormat('--format', 'table', '{{.ID}}', sample);
  assert.equal(table.table, true);
  assert.equal(table.template.source, '{{.ID}}');
  const custom = parseDockerFormat('--format', 'table {{.ID}}\\t{{.Names}} ', 'D', sample);
  assert.equal(custom.table, true);
  assert.equal(custom.template.source, '{{.ID}}\t{{.Names}}');
  const plain = parseDockerFormat('--format', '{{.ID}}\\n', 'D', sample);
  assert.equal(plain.table, false);
  assert.equal(plain.template.source, '{{.ID}}\n');
  assert.throws(
    () => parseDockerFormat('--format', '{{.Id}}', 'D', sample),
    (e: Error) => e instanceof InvalidArgumentError && e.flag === '--format' && /invalid value "\{\{\.Id\}\}" for --format: can't evaluate field Id/.test(e.message),
  );
});
