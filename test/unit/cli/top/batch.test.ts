/**
 * `corral top --batch` as any CLI output: bin/corral run against a fake daemon on a temp socket (no
 * root needed), its frames, its exit codes, its flags' errors, and that a tick costs two requests
 * whatever the number of containers. And that `corral ps`'s bundle does not carry corral top.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parseInterval, parseTopArgs } from '../../../../src/cli/top/command.js';
import { demoContainers, startFakeDaemon, type FakeDaemon } from '../../../helpers/fake-top-daemon.js';

const REPO = fileURLToPath(new URL('../../../../../', import.meta.url));
const CORRAL = path.join(REPO, 'bin', 'corral');
const run = promisify(execFile);

let tmp: string;
let fake: FakeDaemon;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-top-'));
  fake = await startFakeDaemon(path.join(tmp, 'fake.sock'), demoContainers());
});

after(async () => {
  await fake.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function corral(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(CORRAL, args, { env: { ...process.env, COLUMNS: '120', ...env }, timeout: 20_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('--batch --iterations 2: two plain frames (host line + table), exit 0; two requests a tick', async () => {
  fake.requests.clear();
  const r = await corral(['-H', `unix://${fake.socket}`, 'top', '--batch', '--iterations', '2', '--interval', '300ms']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.ok(!r.stdout.includes('\u001b'), 'no escape sequences');
  const frames = r.stdout.split('\n\n');
  assert.equal(frames.length, 2);
  for (const f of frames) {
    const lines = f.trimEnd().split('\n');
    assert.match(lines[0]!, /containers 3 running 1 exited 0 restarting \| oom\/1h 0 \| corral 0\.1\.0-fake cgroup v2/);
    assert.match(lines[1]!, /^NAME +STATE +CPU % CPU\/LIMIT +MEM USAGE \/ LIMIT +MEM % +NET RX \/ TX \/s +BLOCK R \/ W \/s +PIDS$/);
    assert.deepEqual(
      lines.slice(2).map((l) => l.split(/ +/)[0]),
      ['busy', 'web', 'idle'],
    );
    for (const l of lines.slice(1)) assert.ok(l.length <= 120, l);
  }
  assert.match(frames[0]!, /^busy +running +50\.00% \[\|{10}\] +448KiB \/ 64MiB +0\.68% +-- \/ -- +-- \/ -- +1\/64$/m);
  assert.equal(fake.requests.get('GET /containers/stats'), 2);
  assert.equal(fake.requests.get('GET /containers/json'), 2);
  assert.equal(fake.requests.get('GET /containers/{id}/json'), 4, 'each container inspected once');
  assert.equal(fake.requests.get('GET /events'), 1, 'one events stream');
});

test('--batch with --all, --sort name, --filter, and a narrow terminal', async () => {
  const r = await corral(['-H', `unix://${fake.socket}`, 'top', '-b', '-a', '--sort', 'name', '-f', 'e'], { COLUMNS: '60' });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.deepEqual(
    lines.slice(2).map((l) => l.split(/ +/)[0]),
    ['idle', 'stopped', 'web'],
  );
  assert.equal(lines[1], 'NAME              STATE            CPU %   MEM USAGE / LIMIT');
  assert.match(lines[3]!, /^stopped +exited\(0\) +-- +--$/);
});

test("no daemon: exit 1 with the client commands' message; bad flags: 125 naming the flag", async () => {
  const gone = await corral(['-H', `unix://${tmp}/nothing.sock`, 'top', '--batch']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /^corral: cannot connect to the corral daemon at unix:\/\/.*nothing\.sock/);
  const bad = await corral(['top', '--sort', 'size']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid --sort "size": expected one of cpu, mem, name, net, io, pids, oom, restarts/);
  const help = await corral(['top', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: corral top \[OPTIONS\]/);
  const notty = await corral(['-H', `unix://${fake.socket}`, 'top']);
  assert.equal(notty.code, 125);
  assert.match(notty.stderr, /corral top needs a terminal/);
});

test('flags: defaults, durations, --iterations needs --batch', () => {
  assert.deepEqual(parseTopArgs([]), { view: { sort: 'cpu', reverse: false, filter: '', all: false }, interval: 1000, batch: false, iterations: 1, help: false });
  assert.equal(parseTopArgs(['-b', '-n', '3']).iterations, 3);
  assert.equal(parseInterval('500ms'), 500);
  assert.equal(parseInterval('2s'), 2000);
  assert.equal(parseInterval('1.5'), 1500);
  assert.throws(() => parseInterval('5ms'), /invalid --interval "5ms": expected a duration from 100ms to 1h/);
  assert.throws(() => parseTopArgs(['-n', '2']), /--iterations needs --batch/);
  assert.throws(() => parseTopArgs(['-b', '-n', '0']), /invalid --iterations "0"/);
});

test("corral ps's bundle carries neither corral top nor blessed nor systeminformation", () => {
  const quick = fs.readFileSync(path.join(REPO, 'dist', 'src', 'cli', 'corral.cjs'), 'utf8');
  assert.doesNotMatch(quick, /require\("blessed"\)|require\("systeminformation"\)|corral top needs a terminal/);
});
