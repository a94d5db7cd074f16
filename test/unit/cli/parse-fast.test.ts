/**
 * The client commands read plain command lines without commander (src/cli/commands/parse.ts
 * parseFast), for start-up: whatever the fast reading accepts, commander must read the same way
 * (options, arguments, a value's error); whatever else goes to commander.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCommand, parseFast, toCommander, type CommandSpec } from '../../../src/cli/commands/parse.js';
import { psCommand } from '../../../src/cli/commands/ps.js';
import { inspectCommand } from '../../../src/cli/commands/inspect.js';
import { logsCommand } from '../../../src/cli/commands/logs.js';
import { eventsCommand } from '../../../src/cli/commands/events.js';
import { updateCommand } from '../../../src/cli/commands/update.js';
import { renameCommand } from '../../../src/cli/commands/rename.js';
import { actionCommand } from '../../../src/cli/commands/actions.js';
import { statsCommand } from '../../../src/cli/stats.js';
import { daemonCommand } from '../../../src/cli/daemon.js';
import { upCommand } from '../../../src/cli/up.js';

const SPECS: [string, () => CommandSpec][] = [
  ['ps', psCommand],
  ['inspect', inspectCommand],
  ['logs', logsCommand],
  ['events', eventsCommand],
  ['update', updateCommand],
  ['rename', renameCommand],
  ...['stop', 'restart', 'kill', 'pause', 'unpause', 'rm', 'wait'].map((name): [string, () => CommandSpec] => [name, () => actionCommand(name)]),
  ['stats', statsCommand],
  ['daemon', daemonCommand],
  ['up', () => upCommand('up')],
  ['down', () => upCommand('down')],
];

/** Words of a command line for `spec`: its own flags in every form, values, arguments and strangers. */
function words(spec: CommandSpec): string[] {
  const flags = spec.options.flatMap((o) => o.flags.split(/[ ,]+/).filter((w) => w.startsWith('-')));
  const longs = flags.filter((f) => f.startsWith('--'));
  return [...flags, ...longs.map((f) => `${f}=1s`), ...longs.map((f) => `${f}=`), 'web', 'db', '-', '--', '-1', '10', 'info', '127.0.0.1:9000', 'json', '--help', '-h', '--bogus', '-z', '-aq', '-n5'];
}

/** What a reading gave: its options and arguments, or the message of the error it threw. */
function outcome(read: () => { opts: object; args: string[] } | undefined): unknown {
  try {
    const r = read();
    return r && { opts: { ...r.opts }, args: r.args };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

for (const [name, make] of SPECS) {
  test(`corral ${name}: what the fast reading accepts, commander reads the same`, () => {
    const spec = make();
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...words(spec)), { maxLength: 6 }), (argv) => {
        const fast = outcome(() => parseFast(spec, argv));
        if (fast === undefined) return; // commander's to read
        const slow = outcome(() => {
          const command = toCommander(spec);
          command.parse([...argv], { from: 'user' });
          return { opts: command.opts(), args: command.args };
        });
        assert.deepEqual(fast, slow, argv.join(' '));
      }),
      { numRuns: 400 },
    );
  });
}

test('plain command lines are read without commander; --help and mistakes by commander', () => {
  assert.deepEqual(parseFast(psCommand(), ['-a', '--no-trunc', '--format={{.ID}}', '-f', 'a=1', '--filter', 'b=2']), {
    opts: { all: true, trunc: false, format: '{{.ID}}', filter: ['a=1', 'b=2'] },
    args: [],
  });
  assert.deepEqual(parseFast(inspectCommand(), ['web', '--', '-x']), { opts: {}, args: ['web', '-x'] });
  for (const argv of [['--help'], ['-aq'], ['--bogus'], ['--format'], ['--all=1']]) assert.equal(parseFast(psCommand(), argv), undefined, argv.join(' '));
  assert.equal(parseFast(inspectCommand(), []), undefined, 'a missing argument');
  assert.equal(parseFast(logsCommand(), ['a', 'b']), undefined, 'one argument too many');
  // and parseCommand gives commander's reading of those
  assert.deepEqual(parseCommand(psCommand(), ['-aq']).opts, { all: true, quiet: true, trunc: true });
});
