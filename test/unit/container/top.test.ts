/**
 * top's pure part, as moby's daemon/top_unix.go: ps_args become argv words (no shell: a word is never
 * more than one argument of ps), a header renamed to PID is refused, and ps's output is narrowed to
 * the rows whose PID column is one of the container's processes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PS_ARGS, parsePsOutput, psArgv, psPidsArg } from '../../../src/container/top.js';
import { InvalidParameterError, SystemError } from '../../../src/errors.js';

// `ps -ef` on a host running a container (pids 2551, 2580) beside host processes (procps-ng 4.0.2)
const PS_EF = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 12:00 ?        00:00:02 /sbin/init
root        2529       1  0 12:06 ?        00:00:00 corral-launch /var/lib/corral/containers/abc/launch.spec
root        2551    2529  0 12:06 ?        00:00:00 sleep 3600
root        2580    2551  0 12:07 ?        00:00:00 sh -c while :; do sleep 1; done
root        2600    1156  0 12:08 pts/0    00:00:00 ps -ef
`;

test("ps -ef: the header and the rows of the container's pids, in Docker's shape (a command with spaces in one cell)", () => {
  assert.deepEqual(parsePsOutput(PS_EF, [2551, 2580]), {
    Processes: [
      ['root', '2551', '2529', '0', '12:06', '?', '00:00:00', 'sleep 3600'],
      ['root', '2580', '2551', '0', '12:07', '?', '00:00:00', 'sh -c while :; do sleep 1; done'],
    ],
    Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
  });
  // Docker's field order, as the fixture v1.41-containers-id-top.json
  assert.deepEqual(Object.keys(parsePsOutput(PS_EF, [2551])), ['Processes', 'Titles']);
  // no process left (it ended between the cgroup's read and ps): null, as Docker's nil slice
  assert.deepEqual(parsePsOutput(PS_EF, [9999]).Processes, null);
  // the launcher (the workload's parent, outside the cgroup) and host processes are never shown
  assert.ok(!JSON.stringify(parsePsOutput(PS_EF, [2551, 2580])).includes('corral-launch'));
});

test('the PID column is found by its title wherever it is; thread lines ("-") follow the process above them', () => {
  const threads = `USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root        2551  0.0  0.0   2300   780 ?        -    12:06   0:00 sleep 3600
root           -  0.0    -      -     - -        S    12:06   0:00 -
root        3000  0.0  0.0   2300   780 ?        -    12:06   0:00 host-thing
root           -  0.0    -      -     - -        S    12:06   0:00 -
`;
  assert.deepEqual(parsePsOutput(threads, [2551]).Processes, [
    ['root', '2551', '0.0', '0.0', '2300', '780', '?', '-', '12:06', '0:00', 'sleep 3600'],
    ['root', '-', '0.0', '-', '-', '-', '-', 'S', '12:06', '0:00', '-'],
  ]);
  const last = 'CMD PID\nsleep 2551\nother 7\n';
  assert.deepEqual(parsePsOutput(last, [2551]), { Processes: [['sleep', '2551']], Titles: ['CMD', 'PID'] });
});

test("no PID column, or a PID that is not a number: moby's errors, 500s", () => {
  assert.throws(
    () => parsePsOutput('UID CMD\nroot sleep\n', [1]),
    (e: Error) => e instanceof SystemError && e.message === "Couldn't find PID field in ps output",
  );
  assert.throws(() => parsePsOutput('', [1]), { message: "Couldn't find PID field in ps output" });
  assert.throws(
    () => parsePsOutput('PID CMD\nabc sleep\n', [1]),
    (e: Error) => e instanceof SystemError && e.message === `Unexpected pid 'abc' in ps output line "abc sleep"`,
  );
});

test('ps_args: whitespace-separated argv words, -ef by default; shell syntax stays literal words of ps', () => {
  assert.deepEqual(psArgv(null), [DEFAULT_PS_ARGS]);
  assert.deepEqual(psArgv(''), ['-ef']);
  assert.deepEqual(psArgv('  \t '), ['-ef']);
  assert.deepEqual(psArgv('aux'), ['aux']);
  assert.deepEqual(psArgv(' -o  pid,comm\t-L '), ['-o', 'pid,comm', '-L']);
  // an attacker's ps_args: each piece one argument of ps, executed without a shell
  assert.deepEqual(psArgv('-ef; touch /tmp/x'), ['-ef;', 'touch', '/tmp/x']);
  assert.deepEqual(psArgv('$(id)'), ['$(id)']);
  assert.deepEqual(psArgv('-ef && reboot | sh `id` >/tmp/y'), ['-ef', '&&', 'reboot', '|', 'sh', '`id`', '>/tmp/y']);
  // Unicode spaces are not separators (moby's fieldsASCII)
  assert.deepEqual(psArgv('-e\u00a0f'), ['-e\u00a0f']);
  assert.equal(psPidsArg([1, 22, 333]), '-q1,22,333');
});

test('ps_args: a header renamed to PID, a NUL byte or an overlong value is a 400', () => {
  const refused = (text: string, message: string) =>
    assert.throws(
      () => psArgv(text),
      (e: Error) => e instanceof InvalidParameterError && e.message === message,
      text,
    );
  refused('-o ppid=PID', 'specifying "ppid=PID" is not allowed');
  refused('-ef -o user=PIDX', 'specifying "user=PIDX" is not allowed');
  refused('-o pid,user= PID', 'specifying "pid,user=PID" is not allowed');
  // the first word too (moby only looks after whitespace)
  refused('-oppid=PID', 'specifying "-oppid=PID" is not allowed');
  refused('-e\0f', 'invalid ps_args: contains a NUL byte');
  refused('x'.repeat(4097), 'invalid ps_args: longer than 4096 characters');
  // naming the pid column PID is what it is called anyway
  assert.deepEqual(psArgv('-o pid=PID,comm'), ['-o', 'pid=PID,comm']);
  assert.deepEqual(psArgv('-opid=PID'), ['-opid=PID']);
  assert.deepEqual(psArgv('-o user=pid'), ['-o', 'user=pid']);
});
