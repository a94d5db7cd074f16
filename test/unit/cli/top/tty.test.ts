/**
 * corral top's dashboard in a real terminal without root: bin/corral top inside tmux (a private
 * server, -L, killed at the end) against the fake daemon. What the daemon-backed integration test
 * (test/integration/top.test.ts) cannot check cheaply: colours and NO_COLOR, the help and logs views,
 * and the terminal given back after each way out.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { demoContainers, startFakeDaemon, type FakeDaemon } from '../../../helpers/fake-top-daemon.js';

const CORRAL = fileURLToPath(new URL('../../../../../bin/corral', import.meta.url));
/** a tmux server of its own for every terminal (a server being killed refuses a new session for a moment) */
let servers = 0;
const server = () => `corral-top-unit-${process.pid}-${servers}`;
const PROMPT = 'tty-test$ ';
const ESC = String.fromCharCode(27);

let tmp: string;
let fake: FakeDaemon;

const tmux = (...args: string[]) => execFileSync('tmux', ['-L', server(), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const pane = (escapes = false) => tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', 'tty');
const keys = (...k: string[]) => tmux('send-keys', '-t', 'tty', ...k);

async function paneUntil(what: string, pred: (text: string) => boolean, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  let text = '';
  while (Date.now() < deadline) {
    text = pane();
    if (pred(text)) return text;
    await sleep(30);
  }
  throw new Error(`timed out waiting for ${what}; the pane:\n${text}`);
}

/** corral top in a fresh 80x24 terminal, with `env` before it on the command line. */
async function startTop(env = ''): Promise<void> {
  servers++;
  tmux('new-session', '-d', '-s', 'tty', '-x', '80', '-y', '24', '-e', 'LANG=C.UTF-8', '-e', 'TERM=xterm-256color', 'sh');
  // the shell's own prompt, set by hand (sh and bash take no PS1 from the environment as root)
  keys('-l', `PS1='${PROMPT}'`);
  keys('Enter');
  await paneUntil('the prompt', (t) => t.includes(PROMPT));
  keys('-l', `${env} ${CORRAL} -H unix://${fake.socket} top`);
  keys('Enter');
  await paneUntil('the table', (t) => /^busy +running/m.test(t));
}

async function expectRestored(how: string): Promise<void> {
  await paneUntil(`the prompt after ${how}`, (t) => t.trimEnd().split('\n').at(-1)?.endsWith(PROMPT.trimEnd()) === true);
  assert.equal(tmux('display-message', '-p', '-t', 'tty', '#{alternate_on} #{cursor_flag}').trim(), '0 1', `${how}: the normal screen, the cursor shown`);
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-top-tty-'));
  fake = await startFakeDaemon(path.join(tmp, 'fake.sock'), demoContainers());
});

afterEach(() => {
  try {
    tmux('kill-server');
  } catch {
    // none
  }
});

after(async () => {
  await fake.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('colours by tone; NO_COLOR: none (bold headers and the inverse selection stay)', async () => {
  await startTop();
  await paneUntil('the bars', (t) => /busy .*\[\|{10}\]/.test(t));
  assert.match(pane(true), new RegExp(`${ESC}\\[(?:[0-9;]*;)?3[12]m`), 'green or red in the pane');
  keys('q');
  await expectRestored('q');
  tmux('kill-server');
  await startTop('NO_COLOR=1');
  await paneUntil('the bars', (t) => /busy .*\[\|{10}\]/.test(t));
  const escaped = pane(true);
  assert.doesNotMatch(escaped, new RegExp(`${ESC}\\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;5;\\d+)m`), 'no foreground colour');
  assert.match(escaped, new RegExp(`${ESC}\\[(?:[0-9;]*;)?7m`), 'the selected row in inverse');
  keys('Escape');
  await expectRestored('Esc');
});

test('h shows the keys; l follows the logs (t: timestamps); Ctrl-C quits from any view', async () => {
  await startTop();
  keys('h');
  await paneUntil('the help', (t) => t.includes('corral top: keys') && /q, Esc, Ctrl-C +quit/.test(t));
  keys('x');
  await paneUntil('the table again', (t) => /^NAME +STATE/m.test(t));
  keys('l');
  const logs = await paneUntil('the logs', (t) => /^logs of busy/m.test(t) && /^log line 30 of 010101010101$/m.test(t));
  assert.match(logs, /^log line 9 of 010101010101$/m, 'the last lines that fit');
  keys('t');
  await paneUntil('timestamps', (t) => /^2026-12-07T05:00:00\.000000000Z log line 30/m.test(t));
  keys('C-c');
  await expectRestored('Ctrl-C');
  // each setting on a line of its own, marked (a prompt may share the line with what follows it)
  keys('-l', 'stty -a | tr " ;" "\\n\\n" | grep -x -e echo -e -echo | sed "s/^/stty:/"');
  keys('Enter');
  const stty = await paneUntil('stty', (t) => /stty:-?echo$/m.test(t));
  assert.match(stty, /stty:echo$/m);
  assert.doesNotMatch(stty, /stty:-echo$/m);
});
