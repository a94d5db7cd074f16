import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../vm/guest.js';
import { InvalidArgumentError, ParseError } from '../../../../src/errors.js';
import { eventText, formatEvent, parseEventLine, parseEventsFormat } from '../../../../src/cli/format/events.js';

// `docker events --format '{{json .}}'` as Docker 20.10 printed it
const lines = readFileSync(join(repoRoot(), 'test', 'fixtures', 'docker-api', 'events-oom-cli-format-json.jsonl'), 'utf8')
  .trim()
  .split('\n');
const die = lines.find((l) => l.includes('"Action":"die"'))!;
const ID = '047b45f38e8751910b237ff3515daece6c026c2b0c167b78cd716280cebcd84e';

test('the text line: time with nine digits (timeNano exact), type, action, actor, sorted attributes', () => {
  const e = parseEventLine(die);
  assert.equal(e.timeNano, 1795435802968536940n);
  assert.equal(eventText(e), `2026-11-23T12:10:02.968536940Z container die ${ID} (exitCode=137, image=bb, name=oomer)`);
  const network = parseEventLine(lines.find((l) => l.includes('"Action":"connect"'))!);
  assert.match(eventText(network), /^2026-11-23T12:09:58\.775337320Z network connect c03d9da08c81\w+ \(container=047b\w+, name=none, type=null\)$/);
});

test('without attributes there is no parenthesis; without timeNano the time is whole seconds', () => {
  assert.equal(eventText(parseEventLine('{"Type":"daemon","Action":"reload","Actor":{"ID":"d1","Attributes":{}},"time":1700000000}')), '2023-11-14T22:13:20.000000000Z daemon reload d1');
});

test("--format json prints the line as the daemon sent it; templates use events.Message's Go names", () => {
  const e = parseEventLine(die);
  assert.equal(formatEvent(e, parseEventsFormat('json')), die);
  assert.equal(formatEvent(e, parseEventsFormat('{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.TimeNano}} {{.ID}}')), `container die oomer 1795435802968536940 ${ID}`);
  assert.equal(formatEvent(e, parseEventsFormat('{{json .TimeNano}}')), '1795435802968536940');
  assert.equal(parseEventsFormat(undefined), undefined);
  assert.throws(
    () => parseEventsFormat('{{.Foo}}'),
    (err: Error) => err instanceof InvalidArgumentError && err.flag === '--format',
  );
});

test('a line that is not an event is a ParseError quoting it', () => {
  assert.throws(
    () => parseEventLine('not json'),
    (err: Error) => err instanceof ParseError && /not json/.test(err.message),
  );
  assert.throws(() => parseEventLine('{"Type":"container"}'), ParseError);
});
