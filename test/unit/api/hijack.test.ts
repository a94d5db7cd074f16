import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { hijackedSocket, serveUpgrade, upgradeHead, wantsUpgrade } from '../../../src/api/hijack.js';
import { readJsonObject } from '../../../src/api/body.js';

test("upgradeHead is moby's 101 with the response's own headers after the upgrade ones", () => {
  assert.equal(
    upgradeHead('application/vnd.docker.raw-stream', { 'api-version': '1.41', server: 'corral/0.1.0 (linux)', 'content-type': 'application/json', 'content-length': 3 }),
    'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n' + 'api-version: 1.41\r\nserver: corral/0.1.0 (linux)\r\n\r\n',
  );
  assert.equal(upgradeHead('x', { a: 'line\r\nInjected: 1' }), 'HTTP/1.1 101 UPGRADED\r\nContent-Type: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\na: line  Injected: 1\r\n\r\n');
});

test('wantsUpgrade: only Upgrade: tcp, in any case', () => {
  assert.equal(wantsUpgrade({ upgrade: 'tcp' }), true);
  assert.equal(wantsUpgrade({ upgrade: 'TCP' }), true);
  assert.equal(wantsUpgrade({ upgrade: 'websocket' }), false);
  assert.equal(wantsUpgrade({}), false);
});

/** A server whose upgrade requests go through serveUpgrade to `handle`; raw exchanges over a unix socket. */
async function withServer(handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>, fn: (socketPath: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-hijack-'));
  const socketPath = path.join(dir, 's.sock');
  const server = http.createServer((req, res) => void handle(req, res));
  server.on('upgrade', (req, socket, head) => serveUpgrade(handle, req, socket, head));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  try {
    await fn(socketPath);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Send `request` in pieces, optionally half-close, and collect everything until the server closes. */
function exchange(socketPath: string, pieces: string[], halfClose: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socketPath);
    let out = '';
    c.on('data', (d) => (out += d.toString()));
    c.on('close', () => resolve(out));
    c.on('error', reject);
    c.on('connect', async () => {
      for (const p of pieces) {
        c.write(p);
        await new Promise((r) => setTimeout(r, 20));
      }
      if (halfClose) c.end();
    });
  });
}

const head = (length: number) => `POST /exec/x/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

test("serveUpgrade: the body reaches the handler (in pieces), the socket is the handler's, and stays writable after the client half-closes", async () => {
  await withServer(
    async (req) => {
      const body = await readJsonObject(req);
      const socket = hijackedSocket(req)!;
      assert.ok(socket, 'an upgraded request has its socket');
      await new Promise((r) => setTimeout(r, 100)); // the client has half-closed by now
      socket.write(`HTTP/1.1 101 UPGRADED\r\n\r\ngot ${JSON.stringify(body)}`);
      socket.end();
    },
    async (socketPath) => {
      const body = '{"Detach":false}';
      const out = await exchange(socketPath, [head(body.length), body.slice(0, 5), body.slice(5)], true);
      assert.equal(out, 'HTTP/1.1 101 UPGRADED\r\n\r\ngot {"Detach":false}');
    },
  );
});

test('serveUpgrade: an answer that is not hijacked is an ordinary response, and the connection closes', async () => {
  await withServer(
    async (req, res) => {
      assert.equal(hijackedSocket(req) !== undefined, req.headers.upgrade !== undefined);
      res.statusCode = 404;
      res.setHeader('Content-Type', 'application/json');
      res.end('{"message":"No such exec instance: x"}');
    },
    async (socketPath) => {
      const out = await exchange(socketPath, [head(2) + '{}'], false);
      assert.match(out, /^HTTP\/1\.1 404 Not Found\r\n/);
      assert.match(out, /\r\nConnection: close\r\n/i);
      assert.ok(out.endsWith('{"message":"No such exec instance: x"}'), out);
    },
  );
});
