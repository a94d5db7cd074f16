/**
 * rename, top and Docker's generated names end to end, as root on the real kernel: `corral daemon` as
 * a child process (temp socket, temp --root, a free loopback port for the metrics), busybox
 * containers under this test process's cgroup parent, and real clients: Docker's CLI, dockerode,
 * docker-py and corral's own CLI. Every client call has a 30 s SIGKILL timeout, so that a hang fails
 * the test instead of stalling it. The same file runs on the host (cgroup v1) and in the QEMU guest (v2).
 */
import { test as nodeTest, before, after, afterEach, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { apiCall, daemonScratch, forceRemoveContainers, startTestDaemon, subscribeEvents, until, type ApiJson, type TestDaemon } from '../helpers/daemon.js';
import { TEST_CGROUP_PARENT, corral, stopAllCorrals, testDriver } from '../helpers/corral.js';
import { freePort } from '../helpers/ports.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const execFileAsync = promisify(execFile);
const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { timeout: 120_000 }, fn);
/** Docker's generated name: adjective_surname, one digit after a collision. */
const GENERATED = /^[a-z]+_[a-z]+[0-9]?$/;

let tmp: string;
let root: string;
let socket: string;
let rootfs: string;
let metricsPort: number;
let daemon: TestDaemon | undefined;

function api(method: string, p: string, body?: unknown) {
  return apiCall(socket, method, p, body);
}

interface ClientResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A client program with a 30 s SIGKILL timeout (a hung client fails the test: code -1). */
async function client(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ClientResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { env, timeout: 30_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${file} is not installed`);
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Docker's own CLI against the daemon's socket (its config in the temp dir, no DOCKER_* from outside). */
function docker(...args: string[]): Promise<ClientResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(tmp, 'docker-config') };
  for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_API_VERSION', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[k];
  return client('docker', ['-H', `unix://${socket}`, ...args], env);
}

/** A docker-py script: argv[1] is the socket, the rest `args`; it prints one JSON object. */
async function dockerPy(script: string, ...args: string[]): Promise<ApiJson> {
  const prelude = "import docker, json, sys\nc = docker.DockerClient(base_url='unix://' + sys.argv[1], version='1.41', timeout=20)\n";
  const r = await client('python3', ['-c', prelude + script, socket, ...args]);
  assert.equal(r.code, 0, `docker-py: ${r.stderr}`);
  return JSON.parse(r.stdout) as ApiJson;
}

/** corral's own CLI against the daemon. */
function corralCli(...args: string[]) {
  return corral(['--host', `unix://${socket}`, ...args]);
}

/** A busybox container (not started) with this name (none: a generated one); its id. */
async function created(name: string | undefined, cmd: string[] = ['sh', '-c', 'sleep 3001 & sleep 3002 & wait']): Promise<string> {
  const r = await api('POST', `/containers/create${name === undefined ? '' : `?name=${name}`}`, { Image: rootfs, Cmd: cmd, HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none' } });
  assert.equal(r.status, 201, r.body);
  return r.json().Id as string;
}

/** A started container whose three processes (sh and two sleeps) all run. */
async function running(name: string | undefined): Promise<string> {
  const id = await created(name);
  const r = await api('POST', `/containers/${id}/start`);
  assert.equal(r.status, 204, r.body);
  const driver = await testDriver();
  await until(
    'the container runs its three processes',
    async () =>
      (
        await driver
          .open(id)
          .pids()
          .catch(() => [])
      ).length === 3,
  );
  return id;
}

async function inspect(ref: string): Promise<ApiJson> {
  const r = await api('GET', `/containers/${ref}/json`);
  assert.equal(r.status, 200, r.body);
  return r.json();
}

/** Every name of <root>/names and the container it points to. */
function nameLinks(): Record<string, string> {
  const dir = path.join(root, 'names');
  return Object.fromEntries(fs.readdirSync(dir).map((n) => [n, path.basename(fs.readlinkSync(path.join(dir, n)))]));
}

async function metrics(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
}

before(async () => {
  ({ tmp, root, socket, rootfs } = await daemonScratch('corral-rename-top-'));
  metricsPort = await freePort();
  daemon = await startTestDaemon(root, socket, { args: ['--metrics-addr', `127.0.0.1:${metricsPort}`, '--sample-interval', '200ms'] });
});

// A test that failed before its removal must not leave its containers for the later tests.
// Bounded: a hung daemon fails the test instead of hanging the file.
afterEach(
  async () => {
    if (daemon !== undefined) await forceRemoveContainers(socket);
  },
  { timeout: 120_000 },
);

after(async () => {
  await daemon?.stop();
  await stopAllCorrals();
  fs.rmSync(tmp, { recursive: true, force: true });
});

// --- generated names ---------------------------------------------------------------------------------

test("a container created without a name gets Docker's adjective_surname, from every client; inspect, ps and lookups by it work", async () => {
  // the API (as dockerode and docker-py create without a name)
  const viaApi = await created(undefined, ['true']);
  const name = ((await inspect(viaApi)).Name as string).slice(1);
  assert.match(name, GENERATED);
  assert.equal((await inspect(name)).Id, viaApi, 'the generated name resolves');
  assert.equal(nameLinks()[name], viaApi);
  const listed = (await api('GET', '/containers/json?all=1')).json() as unknown as { Id: string; Names: string[] }[];
  assert.deepEqual(listed.find((c) => c.Id === viaApi)?.Names, [`/${name}`]);

  // Docker's CLI: `docker create` without --name, and `docker ps` shows the name
  const cli = await docker('create', '--cgroup-parent', TEST_CGROUP_PARENT, '--network', 'none', 'host', 'true');
  assert.equal(cli.code, 0, cli.stderr);
  const cliId = cli.stdout.trim();
  const ps = await docker('ps', '-a', '--no-trunc', '--filter', `id=${cliId}`, '--format', '{{.Names}}');
  assert.equal(ps.code, 0, ps.stderr);
  assert.match(ps.stdout.trim(), GENERATED);

  // corral's CLI: `run -d` through the daemon, and a foreground `run` in the daemon's state root
  const detached = await corral(['--root', root, '--host', `unix://${socket}`, 'run', '-d', '--rootfs', rootfs, '--network', 'none', 'true']);
  assert.equal(detached.code, 0, detached.stderr);
  const detachedId = detached.stdout.trim();
  await until('the detached run ended', async () => (await inspect(detachedId)).State.Status === 'exited');
  const foreground = await corral(['--root', root, '--host', `unix://${socket}`, 'run', '--rootfs', rootfs, '--network', 'none', 'true']);
  assert.equal(foreground.code, 0, foreground.stderr);
  const rows = (await corralCli('ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}}')).stdout.trim().split('\n');
  assert.equal(rows.length, 4, rows.join('\n'));
  for (const row of rows) assert.match(row, /^[0-9a-f]{64} [a-z]+_[a-z]+[0-9]?$/, 'every container has a generated name');
  assert.equal(new Set(rows.map((r) => r.split(' ')[1])).size, 4, 'four different names');
  assert.ok(rows.some((r) => r.startsWith(detachedId)));
});

// --- rename ------------------------------------------------------------------------------------------

test('docker rename of a running container: inspect, ps, /containers/json, stats, metrics and the event say the new name; the old one is free', async () => {
  const id = await running('rt-old');
  const events = await subscribeEvents(socket, { event: ['rename'] });
  try {
    await until('the container in the metrics', async () => (await metrics()).includes(`container_last_seen{id="/corral/${id}",name="rt-old"`));
    const r = await docker('rename', 'rt-old', 'rt-new');
    assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });

    const info = await inspect(id);
    assert.deepEqual([info.Name, info.State.Status], ['/rt-new', 'running'], 'renamed while it runs');
    assert.equal((await api('GET', '/containers/rt-old/json')).status, 404);
    assert.equal((await inspect('rt-new')).Id, id);
    const ps = await docker('ps', '--filter', `id=${id}`, '--format', '{{.Names}}');
    assert.equal(ps.stdout.trim(), 'rt-new', ps.stderr);
    assert.equal((await corralCli('ps', '--format', '{{.Names}}')).stdout.trim(), 'rt-new');
    const listed = (await api('GET', '/containers/json')).json() as unknown as { Id: string; Names: string[] }[];
    assert.deepEqual(listed.find((c) => c.Id === id)?.Names, ['/rt-new']);
    assert.deepEqual(nameLinks(), { 'rt-new': id });

    // Docker's event: the actor's name is the new one, oldName the old one with its "/"
    const e = await events.waitFor((ev) => ev.Actor.ID === id, 'the rename event');
    assert.deepEqual(e.Actor.Attributes, { image: rootfs, name: 'rt-new', oldName: '/rt-old' });

    // `docker stats`' NAME column and the metrics' name label, from the next sample
    await until('docker stats shows the new name', async () => (await docker('stats', '--no-stream', '--format', '{{.Name}}', id)).stdout.trim() === 'rt-new');
    await until('the metrics label the new name', async () => {
      const text = await metrics();
      return text.includes(`container_last_seen{id="/corral/${id}",name="rt-new"`) && !text.includes('name="rt-old"');
    });

    // the old name is free for a new container at once
    const other = await created('rt-old', ['true']);
    assert.equal((await inspect('rt-old')).Id, other);
    // and the renamed container still works by its new name: stop, then its die event names it so
    const died = await subscribeEvents(socket, { event: ['die'], container: [id] });
    try {
      assert.equal((await docker('stop', '-t', '0', 'rt-new')).code, 0);
      assert.equal((await died.waitFor((ev) => ev.Actor.ID === id, 'the die event')).Actor.Attributes.name, 'rt-new');
    } finally {
      died.close();
    }
  } finally {
    events.close();
  }
});

test("rename of stopped containers by dockerode and docker-py; moby's refusals in moby's words and status codes", async () => {
  const dockerode = new Docker({ socketPath: socket });
  const never = await created('dk-old', ['true']);
  await dockerode.getContainer(never).rename({ name: 'dk-new' });
  assert.equal((await dockerode.getContainer(never).inspect()).Name, '/dk-new');

  // an exited container, by docker-py; then a rename to its own name
  const exited = await created('py-old', ['true']);
  assert.equal((await api('POST', `/containers/${exited}/start`)).status, 204);
  assert.equal((await api('POST', `/containers/${exited}/wait`)).status, 200);
  const py = await dockerPy(
    `ct = c.containers.get(sys.argv[2])
ct.rename(sys.argv[3])
ct.reload()
out = {'name': ct.name, 'status': ct.status}
try:
    ct.rename(sys.argv[3])
except docker.errors.APIError as e:
    out['same'] = [e.status_code, e.explanation]
print(json.dumps(out))`,
    'py-old',
    'py-new',
  );
  assert.deepEqual(py, { name: 'py-new', status: 'exited', same: [400, 'Renaming a container with the same name as its current name'] });

  // a name in use: 409 with moby's text, through the API, Docker's CLI and corral's CLI; nothing changes
  const conflict = await api('POST', `/containers/${never}/rename?name=py-new`);
  assert.deepEqual(
    [conflict.status, conflict.json().message],
    [
      409,
      `Error when allocating new name: Conflict. The container name "/py-new" is already in use by container "${exited}". You have to remove (or rename) that container to be able to reuse that name.`,
    ],
  );
  const cli = await docker('rename', 'dk-new', 'py-new');
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /Error response from daemon: Error when allocating new name: Conflict\. The container name "\/py-new" is already in use by container/);
  const own = await corralCli('rename', 'dk-new', 'py-new');
  assert.equal(own.code, 1);
  assert.match(own.stderr, /^Error response from daemon: Error when allocating new name: Conflict\./);
  assert.deepEqual(nameLinks(), { 'dk-new': never, 'py-new': exited });

  const refusals: [string, number, string][] = [
    [`/containers/${never}/rename?name=x`, 400, 'Error when allocating new name: Invalid container name (/x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'],
    [`/containers/${never}/rename?name=a%2Fb`, 400, 'Error when allocating new name: Invalid container name (/a/b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'],
    [`/containers/${never}/rename?name=..`, 400, 'Error when allocating new name: Invalid container name (/..), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'],
    [`/containers/${never}/rename?name=`, 400, 'Neither old nor new names may be empty'],
    [`/containers/${never}/rename`, 400, 'Neither old nor new names may be empty'],
    [`/containers/${never}/rename?name=dk-new`, 400, 'Renaming a container with the same name as its current name'],
    [`/containers/${never}/rename?name=/dk-new`, 400, 'Renaming a container with the same name as its current name'],
    ['/containers/nosuch/rename?name=whatever', 404, 'No such container: nosuch'],
  ];
  for (const [target, status, message] of refusals) {
    const r = await api('POST', target);
    assert.deepEqual([r.status, r.json().message], [status, message], target);
  }
  assert.deepEqual(nameLinks(), { 'dk-new': never, 'py-new': exited }, 'no refusal changed a name');

  // a leading "/" (Docker's form of a name) is accepted; the container starts under its new name
  assert.equal((await api('POST', `/containers/${never}/rename?name=/dk-third`)).status, 204);
  assert.equal((await corralCli('rename', 'dk-third', 'dk-fourth')).code, 0);
  const started = await subscribeEvents(socket, { event: ['start'], container: [never] });
  try {
    assert.equal((await api('POST', '/containers/dk-fourth/start')).status, 204);
    assert.equal((await started.waitFor((e) => e.Actor.ID === never, 'the start event')).Actor.Attributes.name, 'dk-fourth');
  } finally {
    started.close();
  }
});

test('a rename racing a create of the same name: exactly one gets it, the other a 409; the registry stays consistent', async () => {
  const renamed = await created('race-start', ['true']);
  const body = { Image: rootfs, Cmd: ['true'], HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none' } };
  const winners = { rename: 0, create: 0 };
  for (let i = 0; i < 12; i++) {
    const name = `race-${i}`;
    const [r, c] = await Promise.all([api('POST', `/containers/${renamed}/rename?name=${name}`), api('POST', `/containers/create?name=${name}`, body)]);
    assert.ok([204, 409].includes(r.status) && [201, 409].includes(c.status), `${name}: rename ${r.status} ${r.body}, create ${c.status} ${c.body}`);
    assert.equal([r.status === 204, c.status === 201].filter(Boolean).length, 1, `${name}: exactly one of rename (${r.status} ${r.body}) and create (${c.status} ${c.body})`);
    const holder = (await inspect(name)).Id as string;
    if (r.status === 204) {
      winners.rename++;
      assert.equal(holder, renamed);
      assert.match(c.json().message, new RegExp(`^Conflict\\. The container name "/${name}" is already in use by container "${renamed}"`));
    } else {
      winners.create++;
      assert.equal(holder, c.json().Id);
      assert.match(r.json().message, /^Error when allocating new name: Conflict\./);
    }
  }
  // every name points to the container whose record says it, once
  const listed = (await api('GET', '/containers/json?all=1')).json() as unknown as { Id: string; Names: string[] }[];
  const links = nameLinks();
  assert.equal(Object.keys(links).length, listed.length, JSON.stringify({ links, listed }));
  for (const c of listed) assert.equal(links[c.Names[0]!.slice(1)], c.Id);
  assert.equal(winners.rename + winners.create, 12);
});

test('a name an interrupted rename left claimed is given up when the daemon starts again', async () => {
  const id = await created('kept', ['true']);
  await daemon!.stop();
  // as a daemon killed between claiming the new name and writing config.json leaves it
  fs.symlinkSync(`../containers/${id}`, path.join(root, 'names', 'half-renamed'));
  daemon = await startTestDaemon(root, socket, { args: ['--metrics-addr', `127.0.0.1:${metricsPort}`, '--sample-interval', '200ms'] });
  assert.deepEqual(nameLinks(), { kept: id });
  assert.match(daemon.stderr(), /a name an interrupted rename left claimed was released.*half-renamed/);
  assert.equal((await api('GET', '/containers/half-renamed/json')).status, 404);
  assert.equal((await created('half-renamed', ['true'])).length, 64, 'the name is free again');
});

// --- top ---------------------------------------------------------------------------------------------

test("top of a running container: its cgroup's processes only, Docker's shape, from the API, Docker's CLI, dockerode, docker-py and corral", async () => {
  const id = await running('tp');
  const topEvents = await subscribeEvents(socket, { event: ['top'], container: [id] });
  const pids = (await (await testDriver()).open(id).pids()).map(String).sort();
  assert.equal(pids.length, 3);

  const r = await api('GET', `/containers/${id}/top`);
  assert.equal(r.status, 200, r.body);
  const top = r.json();
  assert.deepEqual(Object.keys(top), ['Processes', 'Titles'], "Docker's field order");
  assert.deepEqual(top.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  const rows = top.Processes as string[][];
  assert.deepEqual(rows.map((p) => p[1]).sort(), pids, 'exactly the processes of its cgroup');
  for (const p of rows) assert.equal(p.length, 8, `one cell per title: ${JSON.stringify(p)}`);
  const commands = rows.map((p) => p[7]).sort();
  assert.deepEqual(commands, ['sh -c sleep 3001 & sleep 3002 & wait', 'sleep 3001', 'sleep 3002']);
  assert.equal(rows.find((p) => p[7]!.startsWith('sh'))![1], String((await inspect(id)).State.Pid), "pid 1's host pid");

  // Docker's CLI: its table, and ps options after the container
  const table = await docker('top', 'tp');
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^UID +PID +PPID +C +STIME +TTY +TIME +CMD$/);
  assert.equal(lines.length, 4);
  assert.ok(lines.some((l) => / sleep 3001$/.test(l)));
  const custom = await docker('top', 'tp', '-o', 'pid,args');
  assert.equal(custom.code, 0, custom.stderr);
  assert.match(custom.stdout.split('\n')[0]!, /^PID +COMMAND$/);
  assert.equal(custom.stdout.trimEnd().split('\n').length, 4);

  // dockerode and docker-py
  const dockerode = new Docker({ socketPath: socket });
  const viaDockerode = (await dockerode.getContainer(id).top()) as { Titles: string[]; Processes: string[][] };
  assert.deepEqual(viaDockerode.Titles, top.Titles);
  // C (recent CPU %) and TIME move between two calls; the rest is the same
  const steady = (p: readonly string[]) => p.filter((_, i) => i !== 3 && i !== 6);
  assert.deepEqual(viaDockerode.Processes.map(steady), rows.map(steady));
  const aux = (await dockerode.getContainer(id).top({ ps_args: 'aux' })) as { Titles: string[]; Processes: string[][] };
  assert.deepEqual([aux.Titles[0], aux.Titles[1], aux.Titles.at(-1)], ['USER', 'PID', 'COMMAND']);
  assert.deepEqual(aux.Processes.map((p) => p[1]).sort(), pids);
  const py = await dockerPy("ct = c.containers.get(sys.argv[2])\nprint(json.dumps({'top': ct.top(), 'comm': ct.top(ps_args='-o pid,comm')}))", 'tp');
  assert.deepEqual(py.top.Titles, top.Titles);
  assert.deepEqual((py.top.Processes as string[][]).map((p) => p[1]).sort(), pids);
  assert.deepEqual(py.comm.Titles, ['PID', 'COMMAND']);
  assert.deepEqual((py.comm.Processes as string[][]).map((p) => p[0]).sort(), pids);
  assert.deepEqual((py.comm.Processes as string[][]).map((p) => p[1]).sort(), ['sh', 'sleep', 'sleep']);

  // corral's CLI
  const own = await corralCli('top', 'tp', '-o', 'pid,comm');
  assert.equal(own.code, 0, own.stderr);
  const ownLines = own.stdout.trimEnd().split('\n');
  assert.equal(ownLines[0], 'PID                 COMMAND');
  assert.deepEqual(
    ownLines
      .slice(1)
      .map((l) => l.split(/ +/)[0])
      .sort(),
    pids,
  );

  // a `top` event per answer, as Docker emits
  try {
    await topEvents.waitFor(() => topEvents.events.length >= 8, 'the eight top events');
    assert.ok(topEvents.events.every((e) => e.Action === 'top' && e.Actor.Attributes.name === 'tp'));
  } finally {
    topEvents.close();
  }
});

test('top of a container that does not run: 409, as Docker; unknown container 404', async () => {
  const id = await created('tp-stopped', ['true']);
  const r = await api('GET', `/containers/${id}/top`);
  assert.deepEqual([r.status, r.json().message], [409, `Container ${id} is not running`]);
  const cli = await docker('top', 'tp-stopped');
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, new RegExp(`Error response from daemon: Container ${id} is not running`));
  assert.equal((await api('GET', '/containers/nosuch/top')).status, 404);
  assert.equal((await corralCli('top', 'tp-stopped')).code, 1);
});

test('attacker probes: ps_args with shell syntax runs nothing and creates nothing; ps refuses them (500 with its words); a header renamed to PID is a 400', async () => {
  const id = await running('tp-probe');
  const marker = (n: number) => path.join(tmp, `pwned-${n}`);
  const probes = [
    `-ef; touch ${marker(1)}`,
    `$(touch ${marker(2)})`,
    `-ef && touch ${marker(3)}`,
    `\`touch ${marker(4)}\``,
    `-ef | tee ${marker(5)}`,
    `-ef >${marker(6)}`,
    `-ef\ntouch ${marker(7)}`,
    `-e;touch${'\t'}${marker(8)}`,
  ];
  for (const probe of probes) {
    const r = await api('GET', `/containers/${id}/top?ps_args=${encodeURIComponent(probe)}`);
    assert.equal(r.status, 500, `${JSON.stringify(probe)}: ${r.body}`);
    assert.match(r.json().message, /^ps: error: /, 'the first line of what ps said');
  }
  // the same through Docker's CLI and docker-py
  const cli = await docker('top', 'tp-probe', '-ef;', 'touch', marker(9));
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /Error response from daemon: ps: error: /);
  const py = await dockerPy(
    `ct = c.containers.get(sys.argv[2])
try:
    ct.top(ps_args=sys.argv[3])
    out = 'ran'
except docker.errors.APIError as e:
    out = [e.status_code, e.explanation]
print(json.dumps({'out': out}))`,
    'tp-probe',
    `$(touch ${marker(10)})`,
  );
  assert.equal(py.out[0], 500, JSON.stringify(py));
  for (let n = 1; n <= 10; n++) assert.equal(fs.existsSync(marker(n)), false, `${marker(n)} was created`);
  assert.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.startsWith('pwned')),
    [],
  );

  const renamed = await api('GET', `/containers/${id}/top?ps_args=${encodeURIComponent('-o ppid=PID,args')}`);
  assert.deepEqual([renamed.status, renamed.json().message], [400, 'specifying "ppid=PID,args" is not allowed']);
  const nul = await api('GET', `/containers/${id}/top?ps_args=-e%00f`);
  assert.deepEqual([nul.status, nul.json().message], [400, 'invalid ps_args: contains a NUL byte']);
  // output without a PID column: moby's error
  const noPid = await api('GET', `/containers/${id}/top?ps_args=${encodeURIComponent('-o comm')}`);
  assert.deepEqual([noPid.status, noPid.json().message], [500, "Couldn't find PID field in ps output"]);

  // the daemon serves on, and the failures are not logged as its bugs
  assert.equal((await api('GET', `/containers/${id}/top`)).status, 200);
  assert.doesNotMatch(daemon!.stderr(), /"request failed"/);
});
