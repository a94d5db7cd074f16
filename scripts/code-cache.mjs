// Makes dist/src/cli/corral.cjs.cache, V8's code cache of the CLI (src/cli/start.cts reads it): the
// client commands run here, in this process, against a stand-in daemon answering real Docker answers
// (test/fixtures/docker-api) on a unix socket, so that the cache holds the code they run. Their output
// goes to this process's stdout, which scripts/bundle.mjs discards; a command that fails fails the build.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { loadCli } = require('../dist/src/cli/start.cjs');
const fixture = (name) => fs.readFileSync(`test/fixtures/docker-api/${name}`, 'utf8');

const ps = fixture('v1.41-containers-json.json');
const id = JSON.parse(ps)[0].Id;
const inspect = JSON.stringify({ Id: id, Name: '/train', State: { Status: 'running', Running: true } });
const stats = JSON.stringify([{ ...JSON.parse(fixture('v1.41-containers-id-stats-stream-false.json')), id }]);

function answer(target) {
  const p = target.replace(/^\/v[\d.]+/, '');
  if (p.startsWith('/containers/json')) return [200, ps];
  if (p.startsWith('/containers/stats')) return [200, stats];
  if (p === '/containers/train/json') return [200, inspect];
  return [404, fixture('v1.41-containers-notfound.json')];
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-code-cache-'));
const socket = path.join(dir, 'daemon.sock');
const server = net.createServer((conn) => {
  let head = '';
  conn.on('data', (d) => {
    head += d.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    const [status, body] = answer(head.split(' ')[1]);
    conn.end(`HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
});
await new Promise((resolve) => server.listen(socket, resolve));
try {
  const { cli, script } = loadCli(path.resolve('dist/src/cli'));
  const host = ['--host', `unix://${socket}`];
  for (const argv of [['version'], ['ps'], ['ps', '-a', '--no-trunc'], ['inspect', 'train'], ['stats', '--no-stream', 'train'], ['stats', '--no-stream']]) {
    const code = await cli.main([...host, ...argv], () => Promise.reject(new Error('no heavy command here')));
    if (code !== 0) throw new Error(`corral ${argv.join(' ')} exited ${code} against the stand-in daemon`);
  }
  fs.writeFileSync('dist/src/cli/corral.cjs.cache', script.createCachedData());
} finally {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
