/**
 * Labels end to end against a real `corral daemon` (temp socket and --root, a free loopback port for
 * --metrics-addr): set with `corral run --label/--label-file` (detached through the API and attached
 * through the fast front, which hands --label-file back to the Node CLI), with the Docker CLI's `-l`;
 * read back by inspect, filtered by `ps`, and carried on the metrics as container_label_KEY, as
 * --metrics-container-labels chooses. Host (v1) and guest (v2).
 */
import { test as nodeTest, before, after, afterEach, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiCall, daemonScratch, forceRemoveContainers, startDaemonProcess, stopDaemonProcess, until, type DaemonProcess, type DaemonScratch } from '../helpers/daemon.js';
import { TEST_CGROUP_PARENT, corral, stopAllCorrals } from '../helpers/corral.js';
import { freePort } from '../helpers/ports.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const execFileAsync = promisify(execFile);
const test = (name: string, fn: (t: TestContext) => Promise<void> | void) => nodeTest(name, { timeout: 120_000 }, fn);

let scratch: DaemonScratch;
let daemon: DaemonProcess | undefined;
let metricsPort: number;

before(async () => {
  scratch = await daemonScratch('corral-labels-');
  metricsPort = await freePort();
  daemon = await startDaemonProcess(scratch.root, scratch.socket, ['--log-level', 'warn', '--metrics-addr', `127.0.0.1:${metricsPort}`, '--sample-interval', '200ms']);
});

afterEach(
  async () => {
    if (daemon !== undefined) await forceRemoveContainers(scratch.socket);
  },
  { timeout: 120_000 },
);

after(async () => {
  if (daemon !== undefined) await stopDaemonProcess(daemon);
  await stopAllCorrals();
  fs.rmSync(scratch.tmp, { recursive: true, force: true });
});

const env = () => ({ CORRAL_HOST: `unix://${scratch.socket}`, CORRAL_ROOT: scratch.root });

async function docker(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const e: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(scratch.tmp, 'docker-config') };
  for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_API_VERSION']) delete e[k];
  try {
    const { stdout, stderr } = await execFileAsync('docker', ['-H', `unix://${scratch.socket}`, ...args], { env: e, timeout: 30_000, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const x = err as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

async function scrape(port = metricsPort): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

test('corral run -d --label/--label-file: inspect shows them, ps filters by them, the metrics carry them', async () => {
  const file = path.join(scratch.tmp, 'labels.env');
  fs.writeFileSync(file, '# the owners\nteam=ops\ncom.example.tier=backend\n');
  const run = await corral(['run', '-d', '--name', 'lab-web', '--label-file', file, '-l', 'team=web', '-l', 'canary', 'sleep', '600'], env());
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  const inspect = (await apiCall(scratch.socket, 'GET', `/containers/${id}/json`)).json();
  assert.deepEqual(inspect.Config.Labels, { team: 'web', 'com.example.tier': 'backend', canary: '' });
  const ps = await corral(['ps', '--filter', 'label=team=web', '--format', '{{.Names}}'], env());
  assert.equal(ps.stdout.trim(), 'lab-web', ps.stderr);
  assert.equal((await docker('ps', '--filter', 'label=com.example.tier=backend', '--format', '{{.Names}}')).stdout.trim(), 'lab-web');
  assert.equal((await docker('ps', '--filter', 'label=team=ops', '--format', '{{.Names}}')).stdout.trim(), '', "--label's team=web won over the file's team=ops");
  let text = '';
  await until('the container sampled with its labels', async () => {
    text = await scrape();
    return /container_memory_usage_bytes\{[^}]*name="lab-web"/.test(text);
  });
  const line = text.split('\n').find((l) => l.startsWith('container_memory_usage_bytes{') && l.includes('name="lab-web"'))!;
  assert.match(line, /,container_label_canary="",container_label_com_example_tier="backend",container_label_team="web"\} \d+$/);
});

test('docker run -l and the attached corral run --label (the fast front) and --label-file (handed back to the Node CLI)', async () => {
  const viaDocker = await docker('run', '-d', '--name', 'lab-docker', '-l', 'origin=docker', '--cgroup-parent', TEST_CGROUP_PARENT, 'host', 'true');
  assert.equal(viaDocker.code, 0, viaDocker.stderr);
  assert.equal((await docker('inspect', '--format', '{{json .Config.Labels}}', 'lab-docker')).stdout.trim(), '{"origin":"docker"}');
  const attached = await corral(['run', '--name', 'lab-front', '-l', 'origin=front', 'true'], env());
  assert.equal(attached.code, 0, attached.stderr);
  const file = path.join(scratch.tmp, 'front.labels');
  fs.writeFileSync(file, 'origin=file\n');
  const fromFile = await corral(['run', '--name', 'lab-file', '--label-file', file, 'true'], env());
  assert.equal(fromFile.code, 0, fromFile.stderr);
  const listed = await corral(['ps', '-a', '--filter', 'label=origin', '--format', '{{.Names}} {{.Labels}}'], env());
  assert.deepEqual(listed.stdout.trim().split('\n').sort(), ['lab-docker origin=docker', 'lab-file origin=file', 'lab-front origin=front'], listed.stderr);
  // bad input changes nothing: a label without a key is refused, naming the flag, and no container is made
  const before = (await apiCall(scratch.socket, 'GET', '/containers/json?all=1')).json().length;
  const bad = await corral(['run', '-d', '-l', '=x', 'true'], env());
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid value "=x" for --label: expected KEY=VALUE/);
  const missing = await corral(['run', '--label-file', path.join(scratch.tmp, 'nope'), 'true'], env());
  assert.match(missing.stderr, /for --label-file: cannot read it: ENOENT/);
  assert.equal((await apiCall(scratch.socket, 'GET', '/containers/json?all=1')).json().length, before);
});

test('--metrics-container-labels: only the keys given reach the metrics', async () => {
  const tmp = fs.mkdtempSync(path.join(scratch.tmp, 'second-'));
  const port = await freePort();
  const second = await startDaemonProcess(path.join(tmp, 'root'), path.join(tmp, 'corral.sock'), [
    '--log-level',
    'warn',
    '--metrics-addr',
    `127.0.0.1:${port}`,
    '--sample-interval',
    '200ms',
    '--metrics-container-labels',
    'team',
  ]);
  try {
    const r = await apiCall(second.socket, 'POST', '/containers/create?name=lab-chosen', {
      Image: scratch.rootfs,
      Cmd: ['sleep', '600'],
      Labels: { team: 'web', secret: 'do-not-export' },
      HostConfig: { CgroupParent: TEST_CGROUP_PARENT },
    });
    assert.equal(r.status, 201, r.body);
    assert.equal((await apiCall(second.socket, 'POST', '/containers/lab-chosen/start')).status, 204);
    let text = '';
    await until('the container sampled', async () => {
      text = await scrape(port);
      return /container_memory_usage_bytes\{[^}]*name="lab-chosen"/.test(text);
    });
    assert.match(text, /container_memory_usage_bytes\{[^}]*name="lab-chosen"[^}]*,container_label_team="web"\}/);
    assert.ok(!text.includes('do-not-export'), 'a label not chosen is not exported');
  } finally {
    await forceRemoveContainers(second.socket);
    await stopDaemonProcess(second);
  }
});
