/**
 * Interactive containers as Docker's clients drive them: `docker run -it` under a real terminal
 * (tmux), its size and Ctrl-C, the detach keys and `docker attach`; `docker run -i` with piped
 * input; dockerode's hijacked attach with stdin and its resize; and what an attacker's input can do.
 */
import { test as nodeTest, before, after, afterEach, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { apiCall, daemonScratch, forceRemoveContainers, startTestDaemon, until, type DaemonScratch, type TestDaemon } from '../helpers/daemon.js';
import { CORRAL_BIN, TEST_CGROUP_PARENT, stopAllCorrals } from '../helpers/corral.js';
import { TmuxTerminal } from '../helpers/tmux.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const execFileAsync = promisify(execFile);
const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { timeout: 120_000 }, fn);

let scratch: DaemonScratch;
let daemon: TestDaemon | undefined;
const term = new TmuxTerminal('corral-tty-test');

before(async () => {
  scratch = await daemonScratch('corral-tty-');
  daemon = await startTestDaemon(scratch.root, scratch.socket);
});

afterEach(
  async () => {
    term.close();
    if (daemon !== undefined) await forceRemoveContainers(scratch.socket);
  },
  { timeout: 120_000 },
);

after(async () => {
  term.close();
  await daemon?.stop();
  await stopAllCorrals();
  fs.rmSync(scratch.tmp, { recursive: true, force: true });
});

function dockerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(scratch.tmp, 'docker-config') };
  for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_API_VERSION', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[k];
  return env;
}

/** The docker CLI command line a terminal types. */
function dockerLine(args: string): string {
  return `DOCKER_CONFIG=${path.join(scratch.tmp, 'docker-config')} docker -H unix://${scratch.socket} ${args}`;
}

/**
 * A line of the pane that ends with `text`: a command's output, which may follow a prompt (input
 * typed ahead is echoed before the shell prints its prompt). Each `text` is computed by the command
 * (`$((6*7))`), so the echo of the command typed never ends with it.
 */
const shows = (text: string) => (lines: string[]) => lines.some((l) => l.trimEnd().endsWith(text));

/** Type into the shell the terminal runs now and wait for it to answer (the container's, or an exec's). */
async function shellAnswers(what: string): Promise<void> {
  term.line('echo "ready=$((6*7))"');
  await term.until(what, shows('ready=42'));
}

/** Leave the inner shell with `code` and check that the outer shell's $? is it. */
async function exitWith(code: number, what = 'the exit code'): Promise<void> {
  term.line(`exit ${code}`);
  await term.until("the outer shell's prompt", (l) => term.atPrompt(l));
  term.line('echo "rc=$?"');
  await term.until(what, shows(`rc=${code}`));
}

/** Ctrl-C interrupts the foreground command, not the shell (the terminal sends SIGINT to its group). */
async function interruptSleep(): Promise<void> {
  term.line('sleep 60; echo "after=$((1+1))"');
  await new Promise((resolve) => setTimeout(resolve, 500));
  term.keys('C-c');
  term.line('echo "alive=$((2+2))"');
  const afterInt = await term.until('the shell alive after Ctrl-C', shows('alive=4'), 5000);
  assert.ok(!shows('after=2')(afterInt), 'the interrupted list did not go on');
}

/** The terminal's size as the shell in it sees it, after a resize of the window. */
async function resizedTo(cols: number, rows: number): Promise<void> {
  term.resize(cols, rows);
  // the new size travels (SIGWINCH to the client, a resize request, the daemon, the launcher's
  // ioctl) while the shell may already answer the first echo with the old one: ask until it shows
  const deadline = Date.now() + 20_000;
  for (;;) {
    term.line('echo "size=$(stty size)"');
    try {
      await term.until('the new size', shows(`size=${rows} ${cols}`), Math.min(3000, Math.max(500, deadline - Date.now())));
      return;
    } catch (err) {
      if (Date.now() >= deadline) throw err;
    }
  }
}

async function inspect(ref: string): Promise<{ status: number; json: Record<string, unknown> & { State?: { Running: boolean } } }> {
  const r = await apiCall(scratch.socket, 'GET', `/containers/${ref}/json`);
  return { status: r.status, json: r.status === 200 ? r.json() : {} };
}

test('docker run -it: a shell on a terminal of its own, its size following the window, Ctrl-C reaching it, the exit code; --rm removes it', async () => {
  await term.open(80, 24);
  term.line(dockerLine(`run -it --rm --name tty1 --cgroup-parent ${TEST_CGROUP_PARENT} host sh`));
  await shellAnswers("the container's shell");
  term.line('tty; echo "size=$(stty size)"');
  await term.until('its terminal and size', (l) => shows('/dev/pts/0')(l) && shows('size=24 80')(l));
  assert.equal((await inspect('tty1')).json.Config && ((await inspect('tty1')).json.Config as { Tty: boolean }).Tty, true);

  await resizedTo(100, 30);

  await interruptSleep();

  await exitWith(7, 'the exit code');
  await until('the container removed', async () => (await inspect('tty1')).status === 404);
});

test('the detach keys leave it running; docker attach takes over its terminal; a bad detachKeys is a 400', async () => {
  await term.open(80, 24);
  term.line(dockerLine(`run -it --name det --cgroup-parent ${TEST_CGROUP_PARENT} host sh`));
  await shellAnswers("the container's shell");
  term.keys('C-p', 'C-q');
  await term.until('the prompt after the detach', (l) => term.atPrompt(l));
  assert.equal((await inspect('det')).json.State?.Running, true);

  term.line(dockerLine('attach det'));
  term.line('echo "back=$((40+2))"');
  await term.until('the attached shell answering', shows('back=42'));
  await exitWith(3, 'the exit code');

  const bad = await apiCall(scratch.socket, 'POST', '/containers/det/attach?stream=1&stdin=1&detachKeys=ctrl-1');
  assert.equal(bad.status, 400, bad.body);
  assert.match(bad.json().message, /detachKeys/);
});

test('docker run -i: piped input reaches the command, whose stdin ends with it (StdinOnce)', async () => {
  const cmd = `printf 'one\\ntwo\\n' | ${dockerLine(`run -i --rm --cgroup-parent ${TEST_CGROUP_PARENT} host sh -c 'cat; echo done'`)}`;
  const { stdout } = await execFileAsync('sh', ['-c', cmd], { env: dockerEnv(), timeout: 30_000, killSignal: 'SIGKILL' });
  assert.equal(stdout, 'one\ntwo\ndone\n');
});

test("dockerode: a hijacked attach with stdin before the start, raw terminal output, resize; the log is the terminal's", async () => {
  const docker = new Docker({ socketPath: scratch.socket });
  const c = await docker.createContainer({
    Image: scratch.rootfs,
    Cmd: ['sh'],
    Tty: true,
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    HostConfig: { CgroupParent: TEST_CGROUP_PARENT },
  });
  const conn = (await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as unknown as net.Socket;
  const chunks: Buffer[] = [];
  conn.on('data', (d: Buffer) => chunks.push(d));
  const ended = new Promise<void>((resolve) => conn.once('end', () => resolve()));
  await c.start();
  await c.resize({ h: 40, w: 100 });
  conn.write('echo "size=$(stty size)"\nexit 5\n');
  await ended;
  const text = Buffer.concat(chunks).toString();
  assert.match(text, /size=40 100\r\n/);
  assert.notEqual(Buffer.concat(chunks)[0], 1, 'no frame header: a terminal is one raw stream');
  assert.equal((await c.wait()).StatusCode, 5);
  const logs = (await c.logs({ stdout: true, stderr: true })) as Buffer;
  assert.match(logs.toString(), /size=40 100\r\n/);
  const resizeStopped = await apiCall(scratch.socket, 'POST', `/containers/${c.id}/resize?h=10&w=10`);
  assert.equal(resizeStopped.status, 409, resizeStopped.body);
  const info = await c.inspect();
  assert.deepEqual([info.Config.Tty, info.Config.OpenStdin, info.Config.StdinOnce], [true, true, true]);
  await c.remove();
});

test('as an attacker: 32 MiB of input to a container that never reads it holds neither the daemon nor its memory', async () => {
  const docker = new Docker({ socketPath: scratch.socket });
  const c = await docker.createContainer({ Image: scratch.rootfs, Cmd: ['sleep', '600'], OpenStdin: true, HostConfig: { CgroupParent: TEST_CGROUP_PARENT } });
  await c.start();
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${daemon!.pid}/status`, 'utf8'))![1]) * 1024;
  const before = rss();
  const conn = (await c.attach({ stream: true, stdin: true, stdout: true, hijack: true })) as unknown as net.Socket;
  conn.on('data', () => {});
  const source = new PassThrough();
  source.pipe(conn);
  const block = Buffer.alloc(1 << 20, 0x61);
  let written = 0;
  const closed = new Promise((resolve) => conn.once('close', resolve));
  const writer = (async () => {
    for (; written < 32 && !conn.destroyed; written++) if (!source.write(block)) await Promise.race([new Promise((resolve) => source.once('drain', resolve)), closed]);
  })();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  // the daemon answers while the input is stuck
  const t0 = Date.now();
  const ping = await apiCall(scratch.socket, 'GET', '/_ping');
  assert.equal(ping.status, 200);
  assert.ok(Date.now() - t0 < 2000, `a ping took ${Date.now() - t0} ms`);
  assert.ok(written < 32, `all 32 MiB were taken by a container that reads nothing (${written})`);
  assert.ok(rss() - before < 24 * 1024 * 1024, `the daemon grew by ${((rss() - before) / 1048576).toFixed(1)} MiB`);
  conn.destroy();
  await writer.catch(() => {});
  assert.equal((await inspect(c.id)).json.State?.Running, true, 'the container goes on');
  await c.remove({ force: true });
});

test('docker exec -it: a second terminal in a running container, sized and resized, its exit code; exec -i takes piped input', async () => {
  const docker = new Docker({ socketPath: scratch.socket });
  const c = await docker.createContainer({ Image: scratch.rootfs, Cmd: ['sleep', '600'], name: 'execit', HostConfig: { CgroupParent: TEST_CGROUP_PARENT } });
  await c.start();
  await term.open(80, 24);
  term.line(dockerLine('exec -it execit sh'));
  await shellAnswers("the exec's shell");
  term.line('tty; echo "size=$(stty size)"');
  await term.until('its terminal and size', (l) => l.some((x) => /^\/dev\/pts\/\d+$/.test(x.trimEnd())) && shows('size=24 80')(l));
  await resizedTo(90, 20);
  await exitWith(4, 'the exit code');

  const cmd = `printf 'one\\ntwo\\n' | ${dockerLine("exec -i execit sh -c 'cat; echo done'")}`;
  const { stdout } = await execFileAsync('sh', ['-c', cmd], { env: dockerEnv(), timeout: 30_000, killSignal: 'SIGKILL' });
  assert.equal(stdout, 'one\ntwo\ndone\n');
  await c.remove({ force: true });
});

test("corral's own CLI: run -it (the front's foreground launcher), exec -it and attach, each on a terminal of its own", async () => {
  const corral = (args: string) => `${CORRAL_BIN} -H unix://${scratch.socket} ${args}`;
  await term.open(80, 24);
  term.line(corral(`run -it --name crun --cgroup-parent ${TEST_CGROUP_PARENT} sh`));
  await shellAnswers("the container's shell");
  term.line('tty; echo "size=$(stty size)"');
  await term.until('its own terminal and our size', (l) => l.some((x) => /^\/dev\/pts\/\d+$/.test(x.trimEnd())) && shows('size=24 80')(l));
  await resizedTo(100, 30);
  await interruptSleep();
  await exitWith(6, 'the exit code');
  // the terminal is ours again: line editing and echo back
  term.line('stty -a | grep -o -e " icanon" -e " echo " | tr -d " " | sort | tr "\\n" ,; echo');
  await term.until('icanon and echo restored', shows('echo,icanon,'));

  const docker = new Docker({ socketPath: scratch.socket });
  const c = await docker.createContainer({ Image: scratch.rootfs, Cmd: ['sh'], name: 'cattach', Tty: true, OpenStdin: true, HostConfig: { CgroupParent: TEST_CGROUP_PARENT } });
  await c.start();
  term.line(corral('exec -it cattach sh'));
  term.line('echo "in-exec=$((6*7))"');
  await term.until('the exec answering', shows('in-exec=42'));
  await exitWith(2, "the exec's exit code");
  term.line(corral('attach cattach'));
  term.line('echo "attached=$((5+5))"');
  await term.until('the attached shell answering', shows('attached=10'));
  term.keys('C-p', 'C-q');
  await term.until('the prompt after the detach', (l) => term.atPrompt(l));
  assert.equal((await inspect('cattach')).json.State?.Running, true);
  await c.remove({ force: true });
});

test("the terminal is the launcher's: it outlives a SIGKILLed daemon, and the next daemon's attach types into the same shell", async () => {
  const docker = new Docker({ socketPath: scratch.socket });
  const c = await docker.createContainer({ Image: scratch.rootfs, Cmd: ['sh'], Tty: true, OpenStdin: true, HostConfig: { CgroupParent: TEST_CGROUP_PARENT } });
  await c.start();
  // a variable set in the shell before the daemon dies is there after
  const first = (await c.attach({ stream: true, stdin: true, stdout: true, hijack: true })) as unknown as net.Socket;
  first.on('data', () => {});
  first.write('kept=before-restart\n');
  await new Promise((resolve) => setTimeout(resolve, 500));
  await daemon!.stop('SIGKILL');
  daemon = await startTestDaemon(scratch.root, scratch.socket);
  const again = new Docker({ socketPath: scratch.socket }).getContainer(c.id);
  const conn = (await again.attach({ stream: true, stdin: true, stdout: true, hijack: true })) as unknown as net.Socket;
  let text = '';
  conn.on('data', (d: Buffer) => (text += d.toString()));
  conn.write('echo "value=$kept"\n');
  await until('the shell answering after the restart', () => /value=before-restart\r\n/.test(text), 10_000);
  conn.destroy();
  await again.remove({ force: true });
});
