import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, parseExecArgs } from '../../../src/cli/exec.js';
import { frame } from '../../../src/api/stream-routes.js';

const env = (k: string) => ({ TERM: 'xterm' })[k];

test('parseExecArgs: options up to the container, then the command with its own options untouched', () => {
  assert.deepEqual(parseExecArgs(['-e', 'A=1', '--env=B=2', '-w', '/tmp', '--user', '1000:1000', '-d', 'web', 'ls', '-l', '-e'], env), {
    container: 'web',
    command: ['ls', '-l', '-e'],
    env: ['A=1', 'B=2'],
    workdir: '/tmp',
    user: '1000:1000',
    detach: true,
    interactive: false,
    tty: false,
    help: false,
  });
  assert.deepEqual(parseExecArgs(['--', '-odd-name', 'true'], env).container, '-odd-name');
  assert.deepEqual(parseExecArgs(['web', 'true'], env), { container: 'web', command: ['true'], env: [], detach: false, interactive: false, tty: false, help: false });
  // -i, -t and together, as Docker's CLI takes them
  for (const flags of [['-it'], ['-ti'], ['-i', '-t'], ['--interactive', '--tty']]) {
    const args = parseExecArgs([...flags, 'web', 'sh', '-i'], env);
    assert.deepEqual([args.interactive, args.tty, args.command], [true, true, ['sh', '-i']], flags.join(' '));
  }
  assert.equal(parseExecArgs(['--help'], env).help, true);
});

test("parseExecArgs: -e KEY takes corral's own value, else stays bare (the daemon then removes KEY)", () => {
  assert.deepEqual(parseExecArgs(['-e', 'TERM', '-e', 'NOPE', 'web', 'env'], env).env, ['TERM=xterm', 'NOPE']);
});

test('parseExecArgs: usage errors name the problem', () => {
  const table: [string[], string][] = [
    [[], "exec needs a container and a command (see 'corral exec --help')"],
    [['web'], "exec needs a command to run in web (see 'corral exec --help')"],
    [['-x', 'web', 'sh'], "unknown flag: -x (see 'corral exec --help')"],
    [['-itx', 'web', 'sh'], "unknown flag: -itx (see 'corral exec --help')"],
    [['-e'], 'flag needs an argument: -e'],
    [['--workdir'], 'flag needs an argument: --workdir'],
  ];
  for (const [argv, message] of table) assert.throws(() => parseExecArgs(argv, env), { code: 'EUSAGE', message }, argv.join(' '));
});

test('FrameDecoder: frames split anywhere across chunks come out whole and in order', () => {
  const stream = Buffer.concat([frame(1, Buffer.from('out1\n')), frame(2, Buffer.from('err\n')), frame(1, Buffer.alloc(0)), frame(1, Buffer.from('ü2'))]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const d = new FrameDecoder();
    const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
    assert.deepEqual(
      frames.map((f) => [f.stream, f.payload.toString()]),
      [
        [1, 'out1\n'],
        [2, 'err\n'],
        [1, ''],
        [1, 'ü2'],
      ],
      `cut at ${cut}`,
    );
    assert.equal(d.pending, 0);
  }
  const d = new FrameDecoder();
  d.push(stream.subarray(0, 11));
  assert.equal(d.pending, 11, 'a partial frame (13 bytes in all) is kept');
});

test('FrameDecoder: a malformed header is an error naming its bytes', () => {
  assert.throws(() => new FrameDecoder().push(Buffer.from('HTTP/1.1 200 OK\r\n')), { code: 'EFRAME', message: 'malformed output stream from the daemon: frame header 485454502f312e31' });
});
