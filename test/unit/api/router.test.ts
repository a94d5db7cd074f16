import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Router, compareVersions, sendJson, splitTarget } from '../../../src/api/router.js';
import { ApiError } from '../../../src/api/errors.js';
import { createLogger } from '../../../src/log.js';
import { NoSuchContainerError } from '../../../src/container/records.js';
import { parseContainerRef } from '../../../src/api/validate.js';
import { request } from '../../helpers/http.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

test("versions compare as Docker's do: number by number", () => {
  const table: [string, string, number][] = [
    ['1.41', '1.41', 0],
    ['1.41', '1.5', 1],
    ['1.9', '1.10', -1],
    ['1', '1.0', 0],
    ['2', '1.99', 1],
    ['1.41.1', '1.41', 1],
  ];
  for (const [a, b, want] of table) assert.equal(compareVersions(a, b), want, `${a} vs ${b}`);
});

test('request targets: version prefix, decoded segments, query', () => {
  const table: [string, { version?: string; segments: string[]; query: string }][] = [
    ['/_ping', { segments: ['_ping'], query: '' }],
    ['/v1.41/_ping', { version: '1.41', segments: ['_ping'], query: '' }],
    ['/v9.99/containers/json?all=1&limit=2', { version: '9.99', segments: ['containers', 'json'], query: 'all=1&limit=2' }],
    ['/containers/..%2Fx/json', { segments: ['containers', '../x', 'json'], query: '' }],
    ['/containers/a%20b/json', { segments: ['containers', 'a b', 'json'], query: '' }],
    ['/vx/_ping', { segments: ['vx', '_ping'], query: '' }],
    ['/v1.41', { version: '1.41', segments: [], query: '' }],
    ['/', { segments: [''], query: '' }],
  ];
  for (const [target, want] of table) {
    const got = splitTarget(target);
    assert.deepEqual({ ...(got.version !== undefined ? { version: got.version } : {}), segments: got.segments, query: got.query.toString() }, want, target);
  }
  assert.throws(() => splitTarget('/containers/%E0%A4%A/json'), { message: 'invalid percent-encoding in path segment "%E0%A4%A"' });
  assert.throws(() => splitTarget('http://x/_ping'), { message: 'invalid request target "http://x/_ping": expected an absolute path' });
});

// --- a router served over a real socket -----------------------------------------------------------

let dir: string;
let socket: string;
let server: http.Server;
const logged: string[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-router-'));
  socket = path.join(dir, 'api.sock');
  const log = createLogger({ level: 'debug', write: (line) => logged.push(line) });
  const router = new Router({ apiVersion: '1.41', minApiVersion: '1.24', server: 'corral/test (linux)', log })
    .add(['GET', 'HEAD'], '/_ping', (ctx) => sendJson(ctx.res, 200, { version: ctx.version }))
    .add('GET', '/containers/json', (ctx) => sendJson(ctx.res, 200, { route: 'list', all: ctx.query.get('all') }))
    .add('GET', '/containers/{id}/json', (ctx) => sendJson(ctx.res, 200, { route: 'inspect', id: ctx.params.id }), {
      id: (text) => {
        parseContainerRef(text);
        return text;
      },
    })
    .add(
      'DELETE',
      '/containers/{id}',
      (ctx) => {
        throw new NoSuchContainerError(ctx.params.id!);
      },
      { id: (t) => t },
    )
    .add('GET', '/boom', () => {
      throw new TypeError('x is not a function');
    })
    .add('GET', '/teapot', () => {
      throw new ApiError(418, 'short and stout');
    });
  server = http.createServer((req, res) => void router.handle(req, res));
  await new Promise<void>((resolve) => server.listen(socket, resolve));
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('routing: status and body for each request, in the one error shape', async () => {
  const table: [string, string, number, unknown][] = [
    ['GET', '/_ping', 200, { version: '1.41' }],
    ['GET', '/v1.41/_ping', 200, { version: '1.41' }],
    ['GET', '/v1.24/_ping', 200, { version: '1.24' }],
    ['GET', '/v1.30/containers/json?all=1', 200, { route: 'list', all: '1' }],
    ['GET', '/v9.99/_ping', 400, { message: 'client version 9.99 is too new. Maximum supported API version is 1.41' }],
    ['GET', '/v1.42/_ping', 400, { message: 'client version 1.42 is too new. Maximum supported API version is 1.41' }],
    ['GET', '/v1.23/_ping', 400, { message: 'client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version' }],
    ['GET', '/nope', 404, { message: 'page not found' }],
    ['GET', '/v1.41/nope', 404, { message: 'page not found' }],
    ['GET', '/_ping/', 404, { message: 'page not found' }],
    ['GET', '/containers//json', 404, { message: 'page not found' }],
    ['GET', '/containers/json', 200, { route: 'list', all: null }], // the literal route wins over {id}
    ['GET', '/containers/web/json', 200, { route: 'inspect', id: 'web' }],
    ['GET', '/containers/%2Fweb/json', 200, { route: 'inspect', id: '/web' }],
    [
      'GET',
      '/containers/..%2Fx/json',
      400,
      { message: 'invalid container name or ID "../x": expected a container ID (64 hex digits), a unique prefix of one, or a name matching [a-zA-Z0-9][a-zA-Z0-9_.-]+' },
    ],
    ['GET', '/containers/../x/json', 404, { message: 'page not found' }],
    ['GET', '/containers/%E0%A4%A/json', 400, { message: 'invalid percent-encoding in path segment "%E0%A4%A"' }],
    ['DELETE', '/containers/gone', 404, { message: 'No such container: gone' }],
    ['POST', '/_ping', 405, { message: 'method POST is not allowed here: use GET or HEAD' }],
    ['GET', '/teapot', 418, { message: 'short and stout' }],
    ['GET', '/boom', 500, { message: 'x is not a function' }],
  ];
  for (const [method, target, status, body] of table) {
    const r = await request(socket, { method, path: target });
    assert.equal(r.status, status, `${method} ${target}: ${r.body}`);
    assert.deepEqual(JSON.parse(r.body), body, `${method} ${target}`);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['api-version'], '1.41');
    assert.equal(r.headers.ostype, 'linux');
    assert.equal(r.headers.server, 'corral/test (linux)');
    assert.equal(r.headers['docker-experimental'], 'false');
  }
});

test('a 405 says which methods the path has', async () => {
  // "/containers/json" is also "/containers/{id}" for a container named "json", as in Docker
  const r = await request(socket, { method: 'PUT', path: '/containers/json' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'GET, DELETE');
  assert.equal((await request(socket, { method: 'DELETE', path: '/containers/json' })).body, '{"message":"No such container: json"}');
});

test('only real bugs are logged as errors; every request is logged at debug', async () => {
  logged.length = 0;
  await request(socket, { path: '/boom' });
  await request(socket, { path: '/nope' });
  await new Promise((resolve) => setTimeout(resolve, 20)); // the server logs on 'finish'
  const lines = logged.map((l) => JSON.parse(l) as Record<string, unknown>);
  const errors = lines.filter((l) => l.level === 'error');
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.msg, 'request failed');
  assert.equal((errors[0]!.err as { message: string }).message, 'x is not a function');
  assert.deepEqual(
    lines.filter((l) => l.msg === 'request').map((l) => [l.method, l.path, l.status]),
    [
      ['GET', '/boom', 500],
      ['GET', '/nope', 404],
    ],
  );
});

test('a body the route does not read is drained before the answer ends: a client still sending gets the answer, not EPIPE', async () => {
  // the client in its own process, so that it sends while this process's server answers and closes
  const helper = new URL('../../helpers/http.js', import.meta.url).href;
  const script = `import { requestTolerant } from ${JSON.stringify(helper)};
    const out = [];
    for (const size of [2, 64 * 1024, 3 << 20]) {
      try {
        const r = await requestTolerant(${JSON.stringify(socket)}, { method: 'GET', path: '/_ping', headers: { 'Content-Type': 'application/json' }, body: Buffer.alloc(size, 0x20) });
        out.push([size, r.status, r.body]);
      } catch (err) {
        out.push([size, err.message]);
      }
    }
    console.log(JSON.stringify(out));`;
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script]);
  assert.deepEqual(
    JSON.parse(stdout),
    [2, 64 * 1024, 3 << 20].map((size) => [size, 200, '{"version":"1.41"}']),
  );
});

test('{name*} takes several segments (an image name with a registry and a path), the segments after it stay literal', () => {
  const log = createLogger({ level: 'error', write: () => {} });
  const any = (t: string) => t;
  const r = new Router({ apiVersion: '1.41', minApiVersion: '1.24', server: 's', log })
    .add('GET', '/images/json', () => {})
    .add('GET', '/images/{name*}/json', () => {}, { name: any })
    .add('POST', '/images/{name*}/tag', () => {}, { name: any })
    .add('DELETE', '/images/{name*}', () => {}, { name: any });
  const at = (method: string, p: string) => {
    const m = r.match(method, p.slice(1).split('/'));
    return 'route' in m ? m.raw : m.status;
  };
  assert.deepEqual(at('GET', '/images/json'), {});
  assert.deepEqual(at('GET', '/images/busybox/json'), { name: 'busybox' });
  assert.deepEqual(at('GET', '/images/127.0.0.1:5000/a/b:v1/json'), { name: '127.0.0.1:5000/a/b:v1' });
  assert.deepEqual(at('POST', '/images/a/b/tag'), { name: 'a/b' });
  assert.deepEqual(at('DELETE', '/images/localhost:5000/app:1'), { name: 'localhost:5000/app:1' });
  assert.equal(at('GET', '/images//json'), 404, 'an empty segment is no name');
  assert.equal(at('PUT', '/images/a/json'), 405);
  assert.throws(() => r.add('GET', '/x/{a*}/{b*}', () => {}, { a: any, b: any }), /at most one/);
});
