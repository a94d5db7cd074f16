// Records the demo for the README, from a real run: `npm start` (examples/demo.yml, with a daemon of
// its own on a temp socket and state root) inside tmux, the screen captured every half second into an
// asciicast (docs/top-demo.cast, asciinema's v2 format), the last screen as text (docs/top-screen.txt)
// and as a PNG in its colours (docs/top.png, by scripts/screen-png.mjs). Stops once leaky has been
// OOM-killed and 40 s have passed (at most 120 s), then quits the dashboard, which brings the demo
// down and stops its daemon. Needs root, as corral does; run it holding the test lock:
//
//   flock /tmp/corral-test.lock node scripts/record-demo.mjs
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { screenPng } from './screen-png.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [WIDTH, HEIGHT] = [100, 30];
const server = `corral-record-${process.pid}`;
const tmux = (...args) => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-record-'));

const frames = [];
const started = Date.now();
let stopped = false;
try {
  tmux('new-session', '-d', '-s', 'demo', '-x', String(WIDTH), '-y', String(HEIGHT), '-e', 'LANG=C.UTF-8', '-e', 'TERM=xterm-256color', 'sh');
  tmux('send-keys', '-t', 'demo', '-l', `clear; cd ${repo} && CORRAL_ROOT=${tmp}/root CORRAL_HOST=unix://${tmp}/corral.sock npm start`);
  tmux('send-keys', '-t', 'demo', 'Enter');
  let last = '';
  let oomAt;
  while (Date.now() - started < 120_000) {
    const screen = tmux('capture-pane', '-p', '-e', '-t', 'demo');
    if (screen !== last) {
      frames.push([(Date.now() - started) / 1000, `\x1b[H\x1b[2J${screen.replace(/\n$/, '').replace(/\n/g, '\r\n')}`]);
      last = screen;
    }
    if (oomAt === undefined && /OOM KILL demo-leaky-1/.test(screen)) oomAt = Date.now();
    if (oomAt !== undefined && Date.now() - started > 40_000 && Date.now() - oomAt > 3000) break;
    await sleep(500);
  }
  if (oomAt === undefined) throw new Error(`no OOM kill of demo-leaky-1 within 120 s; the screen:\n${tmux('capture-pane', '-p', '-t', 'demo')}`);
  const text = tmux('capture-pane', '-p', '-t', 'demo').replace(/\s+$/, '\n');
  fs.writeFileSync(path.join(repo, 'docs', 'top-screen.txt'), text);
  try {
    screenPng(tmux('capture-pane', '-p', '-e', '-t', 'demo'), path.join(repo, 'docs', 'top.png'), WIDTH, HEIGHT);
  } catch (err) {
    console.error(`no picture: ${err.message}`);
  }
  tmux('send-keys', '-t', 'demo', 'q');
  for (let i = 0; i < 120 && !stopped; i++) {
    stopped = tmux('capture-pane', '-p', '-t', 'demo').includes('stopped the corral daemon');
    await sleep(500);
  }
  const header = { version: 2, width: WIDTH, height: HEIGHT, timestamp: Math.floor(started / 1000), title: 'corral top on examples/demo.yml (npm start)', env: { TERM: 'xterm-256color' } };
  fs.writeFileSync(path.join(repo, 'docs', 'top-demo.cast'), [JSON.stringify(header), ...frames.map(([t, data]) => JSON.stringify([Number(t.toFixed(3)), 'o', data]))].join('\n') + '\n');
  console.log(`recorded ${frames.length} frames over ${((Date.now() - started) / 1000).toFixed(0)} s: docs/top-demo.cast, docs/top-screen.txt, docs/top.png`);
} finally {
  try {
    tmux('kill-server');
  } catch {
    // gone
  }
  // a daemon that did not stop may still hold mounts under its root: then it is left for a look
  if (stopped) fs.rmSync(tmp, { recursive: true, force: true });
  else console.error(`the demo's daemon did not stop: its state is in ${tmp}`);
}
