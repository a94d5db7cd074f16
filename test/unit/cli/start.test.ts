/**
 * The Node CLI as the front runs it (dist/src/cli/start.cjs): the build's code cache fits this node,
 * the CLI runs without it or with one V8 refuses, and the client commands answer a stand-in daemon
 * (real Docker answers) exactly as the ES module bundle does, without loading node:http or commander.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dockerFixture } from '../../helpers/http.js';
import { HEAVY_COMMANDS as MAIN_HEAVY_COMMANDS } from '../../../src/cli/main.js';

const CLI_DIR = fileURLToPath(new URL('../../../src/cli/', import.meta.url));
const START = path.join(CLI_DIR, 'start.cjs');
const ESM_MAIN = path.join(CLI_DIR, 'corral.mjs');

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-start-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function node(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test("start.cjs sends main.ts's heavy commands, typed first, straight to the ES module bundle", () => {
  const { HEAVY_COMMANDS } = createRequire(import.meta.url)(START) as { HEAVY_COMMANDS: string[] };
  assert.deepEqual(new Set(HEAVY_COMMANDS), MAIN_HEAVY_COMMANDS);
});

test("the build's code cache of corral.cjs is one this node takes", () => {
  const { loadCli } = createRequire(import.meta.url)(START) as { loadCli: () => { script: { cachedDataRejected?: boolean } } };
  assert.equal(loadCli().script.cachedDataRejected, false);
});

test('without the code cache, or with one V8 refuses, the CLI runs as before', async (t) => {
  const dir = tempDir(t);
  for (const f of ['start.cjs', 'corral.cjs']) fs.copyFileSync(path.join(CLI_DIR, f), path.join(dir, f));
  const version = await node([START, 'version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^corral \S+\n$/);
  assert.deepEqual(await node([path.join(dir, 'start.cjs'), 'version']), version);
  fs.writeFileSync(path.join(dir, 'corral.cjs.cache'), 'not a code cache');
  assert.deepEqual(await node([path.join(dir, 'start.cjs'), 'version']), version);
});

test('client commands answer as the ES module bundle does, without node:http or commander', async (t) => {
  const ps = dockerFixture('v1.41-containers-json.json');
  const id = (JSON.parse(ps) as { Id: string }[])[0]!.Id;
  const stats = JSON.stringify([{ ...JSON.parse(dockerFixture('v1.41-containers-id-stats-stream-false.json')), id }]);
  const answers: Record<string, [number, string]> = {
    '/v1.41/containers/json': [200, ps],
    '/v1.41/containers/json?all=1': [200, ps],
    '/v1.41/containers/web/json': [200, JSON.stringify({ Id: id, Name: '/web' })],
    '/v1.41/containers/stats?all=1': [200, stats],
  };
  const socket = path.join(tempDir(t), 'daemon.sock');
  const server = net.createServer((conn) => {
    let head = '';
    conn.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const [status, body] = answers[head.split(' ')[1]!] ?? [404, dockerFixture('v1.41-containers-notfound.json')];
      conn.end(`HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.after(() => server.close());

  const probe = path.join(tempDir(t), 'probe.cjs');
  // at exit, on stderr: the modules that should not have been loaded but were
  fs.writeFileSync(
    probe,
    `process.on('exit', () => { const loaded = process.moduleLoadList.filter((m) => /^NativeModule (http|_http_client|_http_agent)$/.test(m)).concat(Object.keys(require.cache).filter((f) => f.includes('/commander/'))); if (loaded.length) process.stderr.write('LOADED ' + loaded.join(', ') + '\\n'); });\n`,
  );
  const env = { CORRAL_HOST: `unix://${socket}` };
  for (const argv of [['ps'], ['ps', '-a', '--no-trunc'], ['inspect', 'web'], ['stats', '--no-stream', 'web'], ['inspect', 'nosuch'], ['version']]) {
    const quick = await node(['--require', probe, START, ...argv], env);
    const esm = await node(['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(ESM_MAIN)}); process.exitCode = await main(${JSON.stringify(argv)});`], env);
    assert.deepEqual(quick, esm, argv.join(' '));
    assert.ok(quick.stdout.length > 0 || quick.code !== 0, argv.join(' '));
  }
});
