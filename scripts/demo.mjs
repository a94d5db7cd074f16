// `npm start`: corral's demo. Starts a daemon if none answers (CORRAL_HOST, else the default socket),
// brings examples/demo.yml up, opens `corral top` on it, and on quit brings the demo down and stops
// the daemon it started (SIGTERM: the daemon removes its socket). Needs root, as corral does.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corral = path.join(repo, 'bin', 'corral');
const demo = path.join(repo, 'examples', 'demo.yml');

/** A corral command, its output shown; its exit code. */
function run(args, quiet = false) {
  return spawnSync(corral, args, { stdio: quiet ? 'ignore' : 'inherit' }).status ?? 1;
}

const answers = () => run(['ps'], true) === 0;

// corral needs root (namespaces, mounts, cgroups): a user with sudo gets the demo re-run through
// sudo (as pasted from the README), root runs it directly
if (process.getuid?.() !== 0) {
  const sudo = ['/usr/bin/sudo', '/bin/sudo', '/usr/local/bin/sudo'].find((p) => fs.existsSync(p));
  if (!sudo) {
    console.error('npm start: corral needs root (namespaces, mounts, cgroups), and sudo is not installed: run it as root');
    process.exit(1);
  }
  console.error('npm start: corral needs root; running it again through sudo');
  const again = spawnSync(sudo, ['--preserve-env=PATH,TERM,NO_COLOR,CORRAL_HOST,CORRAL_ROOT', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(again.status ?? 1);
}

let daemon;
if (!answers()) {
  const log = path.join(os.tmpdir(), 'corral-demo-daemon.log');
  const fd = fs.openSync(log, 'a');
  daemon = spawn(corral, ['daemon'], { stdio: ['ignore', 'ignore', fd], detached: false });
  console.log(`started corral daemon (pid ${daemon.pid}, log ${log})`);
  for (let i = 0; !answers(); i++) {
    if (daemon.exitCode !== null || i > 100) {
      console.error(`npm start: the daemon did not come up; its log:\n${fs.readFileSync(log, 'utf8').slice(-2000)}`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

let code = run(['up', '-f', demo]);
if (code === 0) {
  // the dashboard owns the terminal until q; our own SIGINT/SIGTERM wait for it
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  const top = spawn(corral, ['top', '--sort', 'name'], { stdio: 'inherit' });
  code = await new Promise((resolve) => top.on('exit', (c) => resolve(c ?? 1)));
  process.off('SIGINT', ignore);
}
console.log('bringing the demo down...');
run(['down', '-f', demo, '-t', '2']);
if (daemon) {
  daemon.kill('SIGTERM');
  await new Promise((resolve) => daemon.on('exit', resolve));
  console.log('stopped the corral daemon');
}
process.exit(code);
