/**
 * Property-based fuzzing of every API route of a real `corral daemon` (a child process on a temp
 * socket and a temp --root), with fast-check: random JSON values, malformed JSON and bytes, wrong
 * types, unknown fields, bodies over 1 MiB, random content types, query strings, API version
 * prefixes and methods, and container references that are path-like (`../x`, `%2e%2e%2f`),
 * random, unknown, or those of real containers (one created, one exited). Each answer must come
 * within REQUEST_TIMEOUT_MS, must not be a 5xx, and every 4xx must be Docker's
 * `{"message": string}`; 2xx JSON must parse and a 2xx log stream must be whole frames. After each
 * route the daemon must still answer /_ping; at the end nothing may be left: no container, no
 * cgroup, no launcher, no file outside the state root.
 *
 * Bounded and reproducible: CORRAL_FUZZ_RUNS runs per route (default 200), seed CORRAL_FUZZ_SEED
 * (default below; fast-check prints the seed and the counterexample's path on failure).
 * Random-but-valid creates always get CgroupParent = this test's parent (never an absolute one:
 * that would be a cgroup outside this process's own) and a short-lived command.
 */
import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { TEST_CGROUP_PARENT, containerCgroups, defaultParentCgroups, launcherProcesses, stopAllCorrals } from '../helpers/corral.js';
import { requestTolerant, type HttpResult, type RequestOptions } from '../helpers/http.js';
import { apiRequest, daemonScratch, demux, startDaemonProcess, stopDaemonProcess, until, type DaemonProcess } from '../helpers/daemon.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

function positiveEnv(name: string, fallback: number): number {
  const text = process.env[name];
  const n = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${text}: expected a positive integer`);
  return n;
}
const RUNS = positiveEnv('CORRAL_FUZZ_RUNS', 200);
const SEED = positiveEnv('CORRAL_FUZZ_SEED', 20250611);
/** A request that takes longer hangs, as far as this test is concerned (the guest is slow: generous). */
const REQUEST_TIMEOUT_MS = 30_000;
const KNOWN_CREATED = 'fuzz-created';
const KNOWN_EXITED = 'fuzz-exited';

let tmp: string;
let root: string;
let socket: string;
let rootfs: string;
let cwd: string;
let daemon: DaemonProcess;
let tmpEntries: string[];
let defaultCgroupsBefore: string[];

// --- requests -------------------------------------------------------------------------------------------

/** `request` that fails instead of waiting for ever. */
async function timedRequest(options: RequestOptions): Promise<HttpResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms: ${options.method} ${options.path.slice(0, 200)}`)), REQUEST_TIMEOUT_MS);
  });
  try {
    return await Promise.race([requestTolerant(socket, options), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The answer's contract, whatever the request: see the file's comment. */
function checkAnswer(req: RequestOptions, r: HttpResult): void {
  const what = `${req.method} ${req.path.slice(0, 200)} -> ${r.status} ${r.body.slice(0, 300)}`;
  assert.ok(r.status >= 200 && r.status < 500, `status: ${what}`);
  const type = r.headers['content-type'];
  if (r.status >= 400) {
    assert.equal(type, 'application/json', `content type: ${what}`);
    if (req.method === 'HEAD') return;
    const body = JSON.parse(Buffer.from(r.body, 'latin1').toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['message'], `error shape: ${what}`);
    assert.equal(typeof body.message, 'string', `error message: ${what}`);
    return;
  }
  if (req.method === 'HEAD' || r.body === '') return;
  if (type === 'application/json') assert.doesNotThrow(() => JSON.parse(Buffer.from(r.body, 'latin1').toString('utf8')), `JSON: ${what}`);
  if (type === 'application/vnd.docker.raw-stream') assert.doesNotThrow(() => demux(Buffer.from(r.body, 'latin1')), `frames: ${what}`);
}

async function assertServing(after: string): Promise<void> {
  assert.equal(daemon.child.exitCode, null, `the daemon exited after ${after}:\n${daemon.stderr().slice(-3000)}`);
  const r = await timedRequest({ path: '/_ping' });
  assert.equal(r.status, 200, `ping after ${after}`);
  assert.equal(r.body, 'OK');
}

/** How far (whole lines) the daemon's log has been checked: each logged error fails one test, not every later one too. */
let logChecked = 0;

/** The daemon's log since the last check must hold no "request failed" (a 500 that the status check would also catch). */
function assertNoBugsLogged(): void {
  const log = daemon.stderr();
  const end = log.lastIndexOf('\n') + 1;
  const fresh = log.slice(logChecked, end);
  logChecked = Math.max(logChecked, end);
  const bugs = fresh.split('\n').filter((l) => l.includes('"request failed"') || l.includes('"level":"error"'));
  assert.deepEqual(bugs, [], 'errors in the daemon log');
}

// --- containers the fuzzing may touch ----------------------------------------------------------------------

async function createKnown(name: string, start: boolean): Promise<void> {
  const r = await apiRequest(socket, 'POST', `/containers/create?name=${name}`, { Image: rootfs, Cmd: ['sh', '-c', 'exit 3'], HostConfig: { CgroupParent: TEST_CGROUP_PARENT } });
  assert.equal(r.status, 201, r.body);
  if (!start) return;
  assert.equal((await apiRequest(socket, 'POST', `/containers/${name}/start`)).status, 204);
  assert.deepEqual((await apiRequest(socket, 'POST', `/containers/${name}/wait`)).json(), { StatusCode: 3, Error: null });
}

/** Put the two known containers back in their states (a fuzzed start or delete may have changed them). */
async function restoreKnown(): Promise<void> {
  for (const [name, status] of [
    [KNOWN_CREATED, 'created'],
    [KNOWN_EXITED, 'exited'],
  ] as const) {
    const r = await apiRequest(socket, 'GET', `/containers/${name}/json`);
    if (r.status === 200 && r.json().State.Status === status) continue;
    if (r.status === 200) {
      await apiRequest(socket, 'POST', `/containers/${name}/wait`);
      assert.equal((await apiRequest(socket, 'DELETE', `/containers/${name}?force=1`)).status, 204);
    }
    await createKnown(name, status === 'exited');
  }
}

async function listAll(): Promise<{ Id: string; Names: string[] }[]> {
  const r = await apiRequest(socket, 'GET', '/containers/json?all=1');
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as { Id: string; Names: string[] }[];
}

/** Remove every container (but the known ones, unless `all`). */
async function removeContainers(all: boolean): Promise<void> {
  for (const c of await listAll()) {
    if (!all && (c.Names.includes(`/${KNOWN_CREATED}`) || c.Names.includes(`/${KNOWN_EXITED}`))) continue;
    const r = await apiRequest(socket, 'DELETE', `/containers/${c.Id}?force=1`);
    assert.ok(r.status === 204 || r.status === 404, `delete ${c.Id}: ${r.status} ${r.body}`);
  }
}

// --- arbitraries ---------------------------------------------------------------------------------------------

const anyText = fc.string({ unit: 'binary', maxLength: 40 });

/** Path segments sent exactly as written (already percent-encoded where needed). */
const pathLikeRef = fc.constantFrom(
  '..',
  '.',
  '../x',
  '..%2Fx',
  '%2e%2e%2f',
  '%2E%2E',
  '%2e%2e%2fetc%2fpasswd',
  '..%2F..%2Fetc',
  '%00',
  'x%00',
  '%2F',
  '%2Fx',
  'a%2Fb',
  '%5C..%5C',
  '....',
  '.%2E',
  '%252e%252e%252f',
  '-',
  '_x',
  '%20',
);
const containerRef = fc.oneof(
  { arbitrary: pathLikeRef, weight: 3 },
  { arbitrary: anyText.map(encodeURIComponent), weight: 3 },
  { arbitrary: fc.stringMatching(/^[0-9a-f]{64}$/), weight: 1 },
  { arbitrary: fc.stringMatching(/^[0-9a-f]{1,12}$/), weight: 2 },
  { arbitrary: fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,20}$/), weight: 2 },
  { arbitrary: fc.constantFrom(KNOWN_CREATED, KNOWN_EXITED, `%2F${KNOWN_EXITED}`), weight: 3 },
);

const QUERY_KEYS = ['all', 'limit', 'size', 'filters', 'name', 'signal', 't', 'force', 'v', 'link', 'condition', 'stdout', 'stderr', 'tail', 'timestamps', 'since', 'until', 'follow', 'platform'];
const queryValue = fc.oneof(
  fc.constantFrom(
    '',
    '0',
    '1',
    'true',
    'false',
    'yes',
    '-1',
    '-2',
    '10',
    '99999999999999999999',
    '1.5',
    'all',
    'KILL',
    'SIGTERM',
    '0x10',
    'NaN',
    '{}',
    '[]',
    '{"status":["exited"]}',
    '{"name":["x"]}',
    '{"label":["a=b"]}',
  ),
  anyText,
);
/** A query string: random keys (mostly known ones) with random values, or raw junk. */
const queryString = fc.oneof(
  { arbitrary: fc.constant(''), weight: 2 },
  {
    arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), anyText), queryValue), { maxLength: 5 }).map((pairs) => {
      const q = new URLSearchParams();
      for (const [k, v] of pairs) q.append(k, v);
      return q.toString();
    }),
    weight: 6,
  },
  { arbitrary: fc.constantFrom('%ZZ', '&&&', '==', 'a=%', 'filters=%7B', 'tail=%FF', '%00=%00', 'follow=1&follow=0'), weight: 1 },
);

const versionPrefix = fc.oneof(
  { arbitrary: fc.constant(''), weight: 4 },
  { arbitrary: fc.constantFrom('/v1.41', '/v1.24', '/v1.40', '/v1.23', '/v1.42', '/v9.99', '/v1', '/v1.x', '/v', '/v1..41'), weight: 2 },
);

const strOrJunk = (valid: fc.Arbitrary<unknown>) => fc.oneof({ arbitrary: valid, weight: 4 }, { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 });
const intLike = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 6 * 1024 * 1024, 64 * 1024 * 1024, 2 ** 53, 1.5, -0.5), fc.double());

/** Create bodies of Docker's shape: often valid, with values at and past the edges. */
const createShaped = fc.record(
  {
    Image: strOrJunk(fc.constantFrom('ROOTFS', 'host', '', '/nonexistent', '../x', '/', 'busybox')),
    Cmd: strOrJunk(fc.oneof(fc.constantFrom(['true'], ['sh', '-c', 'exit 3'], [], 'true', ['no-such-command']), fc.array(anyText, { maxLength: 3 }))),
    Entrypoint: strOrJunk(fc.oneof(fc.constant(null), fc.constantFrom(['sh', '-c'], ''), fc.array(anyText, { maxLength: 2 }))),
    Env: strOrJunk(fc.array(fc.oneof(fc.constantFrom('A=1', 'PATH=/bin', '=x', 'NOEQUALS'), anyText), { maxLength: 3 })),
    WorkingDir: strOrJunk(fc.oneof(fc.constantFrom('', '/', '/tmp', 'relative', '/../..'), anyText)),
    User: strOrJunk(fc.oneof(fc.constantFrom('', '0', '0:0', '65534:65534', 'nobody', 'root', '-1', '1:-1', '99999999999'), anyText)),
    Hostname: strOrJunk(fc.oneof(fc.constantFrom('', 'box', 'a'.repeat(70), 'bad host'), anyText)),
    Labels: strOrJunk(fc.dictionary(anyText, anyText, { maxKeys: 2 })),
    Tty: strOrJunk(fc.boolean()),
    StopTimeout: strOrJunk(intLike),
    HostConfig: strOrJunk(
      fc.record(
        {
          Memory: intLike,
          MemorySwap: intLike,
          MemoryReservation: intLike,
          NanoCpus: intLike,
          CpuShares: intLike,
          CpuPeriod: intLike,
          CpuQuota: intLike,
          PidsLimit: fc.oneof(intLike, fc.constant(null)),
          CpusetCpus: fc.oneof(fc.constantFrom('', '0', '0-1', '0,1', '99', '1-0', 'x'), anyText),
          CpusetMems: fc.oneof(fc.constantFrom('', '0', '1', 'x'), anyText),
          Binds: fc.oneof(
            fc.constant(null),
            fc.array(fc.oneof(fc.constantFrom('/tmp:/mnt', '/tmp:/mnt:ro', '/nonexistent:/x', 'relative:/x', '/tmp:relative', '/tmp:/x:zz', '/tmp'), anyText), { maxLength: 2 }),
          ),
          ReadonlyRootfs: fc.boolean(),
          NetworkMode: fc.oneof(fc.constantFrom('none', 'host', 'default', 'bridge', 'container:x', ''), anyText),
          CapAdd: fc.array(fc.oneof(fc.constantFrom('NET_ADMIN', 'CAP_SYS_ADMIN', 'ALL', 'NOPE'), anyText), { maxLength: 2 }),
          CapDrop: fc.array(fc.oneof(fc.constantFrom('ALL', 'CHOWN', 'NOPE'), anyText), { maxLength: 2 }),
          AutoRemove: fc.boolean(),
          CgroupParent: fc.constantFrom('../x', 'a/../b', './a', 'a/./b', '..'),
          RestartPolicy: fc.jsonValue({ maxDepth: 1 }),
          Unknown: fc.jsonValue({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      ),
    ),
    Imagee: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
);

/** Create bodies that are mostly valid, so that random creates succeed too (and are removed after each route). */
const createValid = fc.record(
  {
    Image: fc.constantFrom('ROOTFS', 'host'),
    Cmd: fc.constantFrom(['true'], ['sh', '-c', 'exit 3'], ['no-such-command'], 'true'),
    Env: fc.array(fc.constantFrom('A=1', 'PATH=/bin:/usr/bin', 'EMPTY='), { maxLength: 2 }),
    WorkingDir: fc.constantFrom('', '/', '/tmp'),
    User: fc.constantFrom('', '0', '0:0', '65534:65534'),
    Hostname: fc.constantFrom('', 'box'),
    HostConfig: fc.record(
      {
        Memory: fc.constantFrom(0, 6 * 1024 * 1024, 64 * 1024 * 1024),
        PidsLimit: fc.constantFrom(0, -1, 64, null),
        NanoCpus: fc.constantFrom(0, 500_000_000),
        CpuShares: fc.constantFrom(0, 2, 1024),
        NetworkMode: fc.constantFrom('none', 'host', 'default', ''),
        ReadonlyRootfs: fc.boolean(),
        AutoRemove: fc.boolean(),
        Binds: fc.constantFrom([], null, ['/tmp:/mnt:ro']),
        CapDrop: fc.constantFrom([], ['ALL'], ['CHOWN']),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['Image', 'Cmd'] },
);

/**
 * A body as the counterexample shows it (so kept small: the large ones are a size), made into bytes
 * only when sent.
 */
type BodySpec = { text: string } | { bytes: number[] } | { huge: number } | { deep: number };

function bodyBytesOf(spec: BodySpec): Buffer {
  if ('text' in spec) return Buffer.from(spec.text);
  if ('bytes' in spec) return Buffer.from(spec.bytes);
  if ('huge' in spec) return Buffer.from(`{"Image":"${'x'.repeat(spec.huge)}"}`);
  return Buffer.from('['.repeat(spec.deep));
}

const contentType = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 6 },
  { arbitrary: fc.constantFrom(undefined, 'text/plain', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/jsonx', ''), weight: 1 },
);
const bodySpec: fc.Arbitrary<BodySpec | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 3 },
  { arbitrary: fc.jsonValue().map((v) => ({ text: JSON.stringify(v) ?? 'null' })), weight: 4 },
  { arbitrary: createShaped.map((b) => confine({ text: JSON.stringify(b) })), weight: 4 },
  { arbitrary: createValid.map((b) => confine({ text: JSON.stringify(b) })), weight: 4 },
  { arbitrary: anyText.map((text) => ({ text })), weight: 2 },
  {
    arbitrary: fc
      .constantFrom(
        '{',
        '{"Image":',
        '[',
        '{"a":1}}',
        'nul',
        '"\\ud800"',
        '{"Cmd":["\\u0000"]}',
        '1e999999',
        '{"__proto__":{"x":1}}',
        '{"constructor":{"prototype":{}}}',
        `${'['.repeat(60)}${']'.repeat(60)}`,
      )
      .map((text) => ({ text })),
    weight: 2,
  },
  { arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => ({ bytes: [...a] })), weight: 1 },
  { arbitrary: fc.constant({ deep: 100_000 }), weight: 1 },
  // over 1 MiB: the 413 path, with and without Content-Length
  { arbitrary: fc.integer({ min: (1 << 20) + 1, max: 3 << 20 }).map((huge) => ({ huge })), weight: 1 },
);

/**
 * Keep random-but-valid creates inside this test's own cgroup and short-lived: an object body's
 * HostConfig (if it is an object or absent) gets CgroupParent = TEST_CGROUP_PARENT unless it holds
 * one of the invalid relative values above, and the placeholder ROOTFS becomes the busybox tree.
 */
function confine(spec: { text: string }): { text: string } {
  const o = JSON.parse(spec.text) as Record<string, unknown>;
  if (o.Image === 'ROOTFS') o.Image = rootfs;
  if (o.HostConfig === undefined) o.HostConfig = {};
  if (typeof o.HostConfig === 'object' && o.HostConfig !== null && !Array.isArray(o.HostConfig)) {
    const hc = o.HostConfig as Record<string, unknown>;
    if (!(typeof hc.CgroupParent === 'string' && hc.CgroupParent.split('/').some((c) => c === '.' || c === '..'))) hc.CgroupParent = TEST_CGROUP_PARENT;
  }
  return { text: JSON.stringify(o) };
}

// --- the routes -----------------------------------------------------------------------------------------------

interface Route {
  methods: string[];
  /** the path, with `{id}` where a container reference goes */
  pattern: string;
}
const ROUTES: Route[] = [
  { methods: ['GET', 'HEAD'], pattern: '/_ping' },
  { methods: ['GET'], pattern: '/version' },
  { methods: ['GET'], pattern: '/info' },
  { methods: ['GET'], pattern: '/containers/json' },
  { methods: ['POST'], pattern: '/containers/create' },
  { methods: ['GET'], pattern: '/containers/{id}/json' },
  { methods: ['POST'], pattern: '/containers/{id}/start' },
  { methods: ['POST'], pattern: '/containers/{id}/kill' },
  { methods: ['POST'], pattern: '/containers/{id}/stop' },
  { methods: ['POST'], pattern: '/containers/{id}/wait' },
  { methods: ['DELETE'], pattern: '/containers/{id}' },
  { methods: ['GET'], pattern: '/containers/{id}/logs' },
];
const OTHER_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

interface FuzzRequest {
  method: string;
  path: string;
  contentType?: string;
  body?: BodySpec;
  chunked: boolean;
}

function requestFor(route: Route): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      method: fc.oneof({ arbitrary: fc.constantFrom(...route.methods), weight: 6 }, { arbitrary: fc.constantFrom(...OTHER_METHODS), weight: 1 }),
      version: versionPrefix,
      ref: containerRef,
      trailer: fc.oneof({ arbitrary: fc.constant(''), weight: 9 }, { arbitrary: fc.constantFrom('/', '//', '/.', '/..'), weight: 1 }),
      query: queryString,
      contentType,
      body: bodySpec,
      chunked: fc.boolean(),
    })
    .map(({ method, version, ref, trailer, query, contentType: type, body: b, chunked }) => ({
      method,
      path: `${version}${route.pattern.replace('{id}', ref)}${trailer}${query === '' ? '' : `?${query}`}`,
      ...(type === undefined ? {} : { contentType: type }),
      ...(b === undefined || method === 'HEAD' ? {} : { body: b }),
      chunked: chunked && b !== undefined,
    }));
}

function toRequestOptions(req: FuzzRequest): RequestOptions {
  return {
    method: req.method,
    path: req.path,
    headers: req.contentType === undefined ? {} : { 'Content-Type': req.contentType },
    ...(req.body === undefined ? {} : { body: bodyBytesOf(req.body), chunked: req.chunked }),
  };
}

// --- the test -----------------------------------------------------------------------------------------------

before(async () => {
  ({ tmp, root, socket, rootfs } = await daemonScratch('corral-fuzz-'));
  cwd = path.join(tmp, 'cwd');
  fs.mkdirSync(cwd);
  defaultCgroupsBefore = await defaultParentCgroups();
  daemon = await startDaemonProcess(root, socket, ['--log-level', 'info'], cwd);
  tmpEntries = fs.readdirSync(tmp).sort();
  await restoreKnown();
});

after(async () => {
  if (daemon.child.exitCode === null && daemon.child.signalCode === null) {
    await removeContainers(true).catch(() => undefined);
    await stopDaemonProcess(daemon);
  }
  await stopAllCorrals();
  fs.rmSync(tmp, { recursive: true, force: true });
});

for (const route of ROUTES) {
  nodeTest(`fuzz ${route.methods.join('|')} ${route.pattern}: ${RUNS} random requests, each a 2xx/3xx/4xx in Docker's shape, never a 5xx or a hang`, { timeout: 900_000 }, async (t) => {
    // what a failed run created goes too (the body's own removal below runs only on success); bounded,
    // as the failure may be a daemon that hangs
    t.after(() => removeContainers(false).catch(() => undefined), { timeout: 60_000 });
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(requestFor(route), async (req) => {
        if (req.path.includes('fuzz-')) await restoreKnown();
        const options = toRequestOptions(req);
        try {
          const answer = await timedRequest(options);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          checkAnswer(options, answer);
        } catch (err) {
          if (daemon.child.exitCode === null && daemon.child.signalCode === null) throw err;
          throw new Error(`${(err as Error).message}; the daemon has ended (${daemon.child.exitCode ?? daemon.child.signalCode}):\n${daemon.stderr().slice(-2000)}`);
        }
      }),
      { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
    );
    t.diagnostic(
      `answers (including shrinking): ${[...statuses]
        .sort(([a], [b]) => a - b)
        .map(([status, n]) => `${status}×${n}`)
        .join(' ')}`,
    );
    await assertServing(route.pattern);
    assertNoBugsLogged();
    await removeContainers(false);
  });
}

nodeTest("a container that never started: wait answers at once (Docker's not-running), logs?follow=1 ends at once", { timeout: 60_000 }, async () => {
  await restoreKnown();
  assert.deepEqual((await apiRequest(socket, 'POST', `/containers/${KNOWN_CREATED}/wait`)).json(), { StatusCode: 0, Error: null });
  const logs = await timedRequest({ path: `/containers/${KNOWN_CREATED}/logs?stdout=1&follow=1` });
  assert.equal(logs.status, 200);
  assert.equal(logs.body, '');
  assert.equal((await apiRequest(socket, 'GET', `/containers/${KNOWN_CREATED}/json`)).json().State.Status, 'created');
});

nodeTest('after the fuzzing: the daemon serves, and nothing is left outside the state root or after removing every container', { timeout: 120_000 }, async () => {
  await assertServing('all the fuzzing');
  await removeContainers(true);
  assert.deepEqual(await listAll(), []);
  await until('every container cgroup removed', async () => (await containerCgroups()).length === 0);
  assert.deepEqual(launcherProcesses(root), []);
  assert.deepEqual(fs.readdirSync(path.join(root, 'containers')), []);
  assert.deepEqual(fs.readdirSync(path.join(root, 'names')), []);
  assert.deepEqual(fs.readdirSync(tmp).sort(), tmpEntries, 'the temp dir around the state root');
  assert.deepEqual(fs.readdirSync(cwd), [], "the daemon's working directory");
  assert.deepEqual(await defaultParentCgroups(), defaultCgroupsBefore, "cgroups under corral's default parent");
  assertNoBugsLogged();
});
