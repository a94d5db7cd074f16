/**
 * The seccomp filter on the real kernel, as root: Docker's own probes of its default profile inside
 * containers (Seccomp 2; user namespaces, the keyring, perf, io_uring, personality flags and mount
 * refused; clone3 ENOSYS; ordinary programs unaffected), the escape of issue 11 (a user and cgroup
 * namespace to mount cgroup2: mounting only, nothing is written), --cap-add SYS_ADMIN including its
 * rules, --security-opt seccomp=unconfined and seccomp=PROFILE.json, and through the daemon: exec
 * gets the container's filter, a restart keeps it, inspect, docker info and Docker's CLI.
 */
import { test as nodeTest, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureBusyboxRootfs } from '../helpers/busybox.js';
import { CORRAL_BIN, corral, type LeakSnapshot, snapshot, stopAllCorrals, TEST_CGROUP_PARENT } from '../helpers/corral.js';
import { apiCall, forceRemoveContainers, startTestDaemon, until, type TestDaemon } from '../helpers/daemon.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const execFileAsync = promisify(execFile);
const test = (name: string, fn: () => Promise<void> | void) => nodeTest(name, { timeout: 120_000 }, fn);
const DOCKER = '/usr/local/bin/docker';

let tmp: string;
let stateRoot: string;
let rootfs: string;
let baseline: LeakSnapshot;
/** the daemon of the last tests, started by the first of them */
let daemon: TestDaemon | undefined;
let socket: string;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-seccomp-'));
  stateRoot = path.join(tmp, 'root');
  socket = path.join(tmp, 'corral.sock');
  // the stand-alone run: a socket where nothing listens, whatever daemon the machine runs
  process.env.CORRAL_HOST = `unix://${path.join(tmp, 'no-daemon.sock')}`;
  rootfs = await ensureBusyboxRootfs(path.join(os.tmpdir(), 'corral-test-busybox'));
  baseline = await snapshot(stateRoot);
});

// A test that failed before its removal must not leave its container for the later tests and the
// leak check. Bounded: a hung daemon fails the test instead of hanging the file.
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

/** `corral run --rm` on the busybox rootfs. */
function busybox(...args: string[]) {
  return corral(['--root', stateRoot, 'run', '--rm', '--rootfs', rootfs, ...args]);
}

/** `corral run --rm` on the host's system directories (python3, util-linux's unshare). */
function host(...args: string[]) {
  return corral(['--root', stateRoot, 'run', '--rm', ...args]);
}

/**
 * Raw syscalls from python3 (the host's /usr/bin/python3, through ctypes, arguments as unsigned
 * longs so that no sign is extended): one line per probe, `name: ok` or `name: ERRNO`. Null pointers
 * where a syscall wants one: a syscall the filter lets through fails in the kernel with EFAULT or
 * EINVAL, never with the filter's EPERM or ENOSYS.
 */
const PROBES = `
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(name, nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_ulong(a) for a in args])
    print(name + ': ' + ('ok' if r >= 0 else errno.errorcode[ctypes.get_errno()]), flush=True)
call('getpid', 39)
call('keyctl', 250, 0, 0, 0, 0, 0)
call('add_key', 248, 0, 0, 0, 0, 0)
call('request_key', 249, 0, 0, 0, 0)
call('perf_event_open', 298, 0, 0, 0, 0, 0)
call('io_uring_setup', 425, 0, 0)
call('bpf', 321, 0, 0, 0)
call('mount', 165, 0, 0, 0, 0, 0)
call('kexec_load', 246, 0, 0, 0, 0)
call('clone3', 435, 0, 0)
call('personality(0xffffffff)', 135, 0xffffffff)
call('personality(READ_IMPLIES_EXEC)', 135, 0x0400000)
call('socket(AF_INET)', 41, 2, 2, 0)
call('socket(AF_ALG)', 41, 38, 5, 0)
call('socket(AF_VSOCK)', 41, 40, 1, 0)
call('open_tree_attr', 467, 0, 0, 0, 0, 0)
# last: where it is allowed, it moves the process into a new user namespace
call('unshare(CLONE_NEWUSER)', 272, 0x10000000)
`;

/** The probes' answers by name. */
function probes(stdout: string): Record<string, string> {
  return Object.fromEntries([...stdout.matchAll(/^([^:\n]+): (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

test('every container gets a filter: /proc/self/status says Seccomp 2, with one filter, and no_new_privs', async () => {
  const r = await busybox('grep', '-E', '^(Seccomp|Seccomp_filters|NoNewPrivs):', '/proc/self/status');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Seccomp:\s+2$/m);
  assert.match(r.stdout, /^Seccomp_filters:\s+1$/m);
  assert.match(r.stdout, /^NoNewPrivs:\s+1$/m);
});

test("Docker's probes: user namespaces, keyring, perf, io_uring, bpf, mount, kexec, personality flags, AF_ALG and AF_VSOCK refused with EPERM; clone3 and newer syscalls ENOSYS", async () => {
  const r = await host('/usr/bin/python3', '-c', PROBES);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(probes(r.stdout), {
    getpid: 'ok',
    'unshare(CLONE_NEWUSER)': 'EPERM',
    keyctl: 'EPERM',
    add_key: 'EPERM',
    request_key: 'EPERM',
    perf_event_open: 'EPERM',
    io_uring_setup: 'EPERM',
    bpf: 'EPERM',
    mount: 'EPERM',
    kexec_load: 'EPERM',
    // so that glibc falls back to clone, whose namespace flags the filter can see
    clone3: 'ENOSYS',
    // the query is allowed (Docker's profile lists 0xffffffff), the flags are not
    'personality(0xffffffff)': 'ok',
    'personality(READ_IMPLIES_EXEC)': 'EPERM',
    'socket(AF_INET)': 'ok',
    'socket(AF_ALG)': 'EPERM',
    'socket(AF_VSOCK)': 'EPERM',
    // newer than any syscall the profile names: ENOSYS, on a kernel that has it or not
    open_tree_attr: 'ENOSYS',
  });
});

test('the commands: unshare -U and mount fail in busybox; the escape of issue 11 (unshare -U -r -C -m, mount cgroup2) fails at unshare', async () => {
  const b = await busybox('sh', '-c', 'unshare -U true; echo "unshare=$?"; mount -t tmpfs none /tmp; echo "mount=$?"');
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /^unshare=1$/m);
  assert.match(b.stdout, /^mount=255$|^mount=1$/m);
  assert.match(b.stderr, /unshare: unshare\(0x10000000\): Operation not permitted|Operation not permitted/);
  // the reproduction of issue 11, escape 1, up to the mount only: no cgroup file is written even if it succeeded
  const escaping = await host('sh', '-c', 'unshare -U -r -C -m sh -c "mkdir -p /tmp/u && mount -t cgroup2 none /tmp/u && echo MOUNTED"; echo "status=$?"');
  assert.equal(escaping.code, 0, escaping.stderr);
  assert.doesNotMatch(escaping.stdout, /MOUNTED/);
  assert.match(escaping.stdout, /^status=1$/m);
  assert.match(escaping.stderr, /unshare failed: Operation not permitted/);
});

test('ordinary programs are unaffected: busybox applets, a shell pipeline, a server and a client on lo, python3', async () => {
  const script = [
    'seq 1 2000 | sort -rn | head -3 | tr "\\n" " "; echo',
    'echo hello | sha256sum | cut -c1-16',
    'mkdir -p /tmp/www && echo served > /tmp/www/index.html',
    'httpd -p 127.0.0.1:8080 -h /tmp/www',
    'for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://127.0.0.1:8080/ 2>/dev/null && break; sleep 0.2; done',
    'tar -cf /tmp/a.tar /etc/passwd 2>/dev/null && tar -tf /tmp/a.tar',
    'ps -o pid,comm | wc -l',
    'date +%Y >/dev/null && echo date-ok',
    'id -u',
  ].join('; ');
  const b = await busybox('sh', '-c', script);
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(b.stdout.trim().split('\n').slice(0, 4), ['2000 1999 1998 ', '5891b5b522d5df08', 'served', 'etc/passwd']);
  assert.match(b.stdout, /^date-ok$/m);
  assert.match(b.stdout, /^0$/m);
  const p = await host(
    '/usr/bin/python3',
    '-c',
    'import threading, subprocess; t = threading.Thread(target=print, args=("from a thread",)); t.start(); t.join(); print(subprocess.run(["echo", "from a child"], capture_output=True, text=True).stdout.strip())',
  );
  assert.equal(p.code, 0, p.stderr);
  assert.equal(p.stdout, 'from a thread\nfrom a child\n');
});

test("--cap-add SYS_ADMIN includes its rules, as Docker's profile says: unshare, mount and clone3 pass the filter; the keyring and io_uring still do not", async () => {
  const r = await host('--cap-add', 'SYS_ADMIN', '/usr/bin/python3', '-c', PROBES);
  assert.equal(r.code, 0, r.stderr);
  const got = probes(r.stdout);
  assert.equal(got['unshare(CLONE_NEWUSER)'], 'ok');
  assert.notEqual(got.mount, 'EPERM', 'mount(NULL, ...) reaches the kernel');
  assert.notEqual(got.clone3, 'ENOSYS', 'clone3 reaches the kernel');
  assert.equal(got.keyctl, 'EPERM');
  assert.equal(got.io_uring_setup, 'EPERM');
  assert.equal(got.kexec_load, 'EPERM');
  const b = await busybox('--cap-add', 'SYS_ADMIN', 'sh', '-c', 'unshare -U true && echo unshare-ok; mount -t tmpfs none /tmp && echo mount-ok');
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /^unshare-ok$/m);
  assert.match(b.stdout, /^mount-ok$/m);
});

test('--security-opt seccomp=unconfined: no filter (Seccomp 0), personality flags allowed', async () => {
  const r = await busybox('--security-opt', 'seccomp=unconfined', 'grep', '^Seccomp:', '/proc/self/status');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Seccomp:\s+0$/m);
  const p = await host('--security-opt', 'seccomp=unconfined', '/usr/bin/python3', '-c', PROBES);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(probes(p.stdout)['personality(READ_IMPLIES_EXEC)'], 'ok');
  assert.notEqual(probes(p.stdout).clone3, 'ENOSYS');
});

test("--security-opt seccomp=PROFILE.json: the container's own profile (Docker's format); a bad file is refused, naming it", async () => {
  const profile = path.join(tmp, 'no-mkdir.json');
  fs.writeFileSync(
    profile,
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['chmod', 'fchmodat', 'fchmodat2'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
      ],
    }),
  );
  const r = await busybox(
    '--security-opt',
    `seccomp=${profile}`,
    'sh',
    '-c',
    'grep "^Seccomp:" /proc/self/status; mkdir /tmp/x; echo "mkdir=$?"; touch /tmp/f; chmod 600 /tmp/f; echo "chmod=$?"; ls / >/dev/null && echo ls-ok',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Seccomp:\s+2$/m);
  assert.match(r.stdout, /^mkdir=1$/m);
  assert.match(r.stderr, /mkdir: can't create directory '\/tmp\/x': Permission denied/);
  assert.match(r.stdout, /^chmod=1$/m);
  assert.match(r.stderr, /chmod: \/tmp\/f: Operation not permitted/);
  assert.match(r.stdout, /^ls-ok$/m);
  const bad = path.join(tmp, 'bad.json');
  fs.writeFileSync(bad, '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_PERMIT"}]}');
  const refused = await busybox('--security-opt', `seccomp=${bad}`, 'true');
  assert.equal(refused.code, 125);
  assert.match(refused.stderr, new RegExp(`invalid value "seccomp=${bad}" for --security-opt: the seccomp profile ${bad}: syscalls\\[0\\]\\.action: unknown action "SCMP_ACT_PERMIT"`));
  const missing = await busybox('--security-opt', `seccomp=${path.join(tmp, 'none.json')}`, 'true');
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /cannot read the seccomp profile: ENOENT/);
});

// --- through the daemon ------------------------------------------------------------------------

async function theDaemon(): Promise<TestDaemon> {
  daemon ??= await startTestDaemon(path.join(tmp, 'daemon-root'), socket);
  return daemon;
}

/** A started busybox container running `sleep 600`. */
async function running(hostConfig: Record<string, unknown> = {}): Promise<string> {
  await theDaemon();
  const created = await apiCall(socket, 'POST', '/containers/create', {
    Image: rootfs,
    Cmd: ['sleep', '600'],
    HostConfig: { CgroupParent: TEST_CGROUP_PARENT, NetworkMode: 'none', ...hostConfig },
  });
  assert.equal(created.status, 201, created.body);
  const id = created.json().Id as string;
  assert.equal((await apiCall(socket, 'POST', `/containers/${id}/start`)).status, 204);
  await until('the container runs', async () => (await apiCall(socket, 'GET', `/containers/${id}/json`)).json().State.Running === true);
  return id;
}

async function corralExec(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CORRAL_BIN, '--host', `unix://${socket}`, 'exec', ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test("exec gets the container's filter: Seccomp 2 and unshare refused; an unconfined container's exec is unconfined", async () => {
  const id = await running();
  const e = await corralExec(id, 'sh', '-c', 'grep "^Seccomp:" /proc/self/status; unshare -U true; echo "unshare=$?"');
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^Seccomp:\s+2$/m);
  assert.match(e.stdout, /^unshare=1$/m);
  const free = await running({ SecurityOpt: ['seccomp=unconfined'] });
  const f = await corralExec(free, 'grep', '^Seccomp:', '/proc/self/status');
  assert.equal(f.code, 0, f.stderr);
  assert.match(f.stdout, /^Seccomp:\s+0$/m);
});

test('inspect shows HostConfig.SecurityOpt as sent (null for none); a restart keeps the setting', async () => {
  const plain = await running();
  assert.equal((await apiCall(socket, 'GET', `/containers/${plain}/json`)).json().HostConfig.SecurityOpt, null);
  const free = await running({ SecurityOpt: ['seccomp=unconfined'] });
  assert.deepEqual((await apiCall(socket, 'GET', `/containers/${free}/json`)).json().HostConfig.SecurityOpt, ['seccomp=unconfined']);
  assert.equal((await apiCall(socket, 'POST', `/containers/${free}/restart?t=0`)).status, 204);
  await until('the container runs again', async () => (await apiCall(socket, 'GET', `/containers/${free}/json`)).json().State.Running === true);
  const f = await corralExec(free, 'grep', '^Seccomp:', '/proc/self/status');
  assert.match(f.stdout, /^Seccomp:\s+0$/m);
  // a bad profile in the body is a 400 naming the field
  const bad = await apiCall(socket, 'POST', '/containers/create', { Image: rootfs, Cmd: ['true'], HostConfig: { SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_NOPE"}'] } });
  assert.equal(bad.status, 400);
  assert.match(
    bad.json().message,
    /^HostConfig\.SecurityOpt: invalid value "seccomp=\{"defaultAction":"SCMP_ACT_NOPE"\}" for --security-opt: the seccomp profile: defaultAction: unknown action "SCMP_ACT_NOPE"/,
  );
});

test("Docker's CLI: info lists name=seccomp,profile=builtin; run --security-opt seccomp=FILE sends the profile's JSON, which the container gets", async () => {
  assert.ok(fs.existsSync(DOCKER), `the docker CLI is missing at ${DOCKER} (Debian package docker-cli)`);
  await theDaemon();
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(tmp, 'docker-config') };
  for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_API_VERSION']) delete env[k];
  const docker = async (...args: string[]) => {
    try {
      return { code: 0, ...(await execFileAsync(DOCKER, ['-H', `unix://${socket}`, ...args], { env, timeout: 60_000, killSignal: 'SIGKILL' })) };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
  const info = await docker('info', '--format', '{{json .SecurityOptions}}');
  assert.equal(info.code, 0, info.stderr);
  assert.deepEqual(JSON.parse(info.stdout), ['name=seccomp,profile=builtin', 'name=cgroupns', 'name=no-new-privileges']);
  const profile = path.join(tmp, 'docker-profile.json');
  fs.writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }, null, 2));
  // the image `host`: the host's system directories (Docker's CLI takes no path as an image)
  const run = await docker('run', '-d', '--network', 'none', '--cgroup-parent', TEST_CGROUP_PARENT, '--security-opt', `seccomp=${profile}`, 'host', 'sleep', '600');
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  const opt = await docker('inspect', '-f', '{{json .HostConfig.SecurityOpt}}', id);
  assert.deepEqual(JSON.parse(opt.stdout), [`seccomp=${JSON.stringify(JSON.parse(fs.readFileSync(profile, 'utf8')))}`]);
  const e = await docker('exec', id, 'sh', '-c', 'mkdir /tmp/x; echo "mkdir=$?"; grep "^Seccomp:" /proc/self/status');
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^mkdir=1$/m);
  assert.match(e.stdout, /^Seccomp:\s+2$/m);
});

test('after all of the above: no cgroup, mount, launcher process or container state left', async () => {
  await daemon?.stop();
  daemon = undefined;
  assert.deepEqual(await snapshot(stateRoot), baseline);
});
