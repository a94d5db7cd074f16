/**
 * native/corral-launch against the real kernel, as root on the host, with hand-written spec files
 * (PROTOCOL.md) and a busybox rootfs under an overlay. Every mount happens inside the child's mount
 * namespace; the last test checks that the host's mount table gained nothing. A detached launcher
 * is started through a `sh` that the tests kill, and is found again (and, after a failed test,
 * ended) by the pid and start time in its state files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { BUSYBOX_ROOTFS_CACHE, HOST_BUSYBOX, ensureBusyboxRootfs } from '../helpers/busybox.js';
import { parseLogTime, readLog, type LogRecord } from '../../src/container/logfile.js';

// this file runs from dist/test/integration/
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const LAUNCHER = path.join(REPO, 'native/corral-launch');
const TIMEOUT = 30_000;

// ------------------------------------------------------------------ spec encoding (PROTOCOL.md)

type Directive = [string, ...string[]];

function escapeField(field: string): string {
  return field.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
}

function encodeSpec(lines: Directive[]): string {
  return lines.map((line) => line.map(escapeField).join('\t')).join('\n') + '\n';
}

// ------------------------------------------------------------------ running the launcher

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
}

class Launch {
  readonly child: ChildProcess;
  readonly done: Promise<Outcome>;
  stdout = '';
  stderr = '';
  statusText = '';
  /** every holder of fd 3 closed it (a detached launcher does so after `started`) */
  statusEnded = false;
  ended = false;
  /** the launcher detaches: the status line's pid is not ours to kill once it may be reaped */
  detached = false;

  constructor(command: string, args: string[], extraFds = 0) {
    const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'pipe', 'pipe', 'pipe'];
    for (let i = 0; i < extraFds; i++) stdio.push('pipe');
    this.child = spawn(command, args, { stdio });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    const fd3 = this.child.stdio[3] as Readable;
    fd3.setEncoding('utf8').on('data', (d: string) => (this.statusText += d));
    fd3.on('end', () => (this.statusEnded = true));
    this.done = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        this.ended = true;
        resolve({ code, signal });
      });
    });
    launches.add(this);
  }

  /** Status lines from fd 3, split into fields. */
  get status(): string[][] {
    return this.statusText
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split('\t'));
  }

  /** The workload's host pid from the `pid` status line. */
  get workloadPid(): number {
    const line = this.status.find((l) => l[0] === 'pid');
    assert.ok(line, `no pid status line in ${JSON.stringify(this.statusText)}`);
    return Number(line[1]);
  }

  async waitFor(what: string, ready: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ready()) {
      if (this.ended) throw new Error(`launcher ended before ${what}: ${this.describe()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${this.describe()}`);
      await delay(10);
    }
  }

  describe(): string {
    return `status=${JSON.stringify(this.statusText)} stdout=${JSON.stringify(this.stdout)} stderr=${JSON.stringify(this.stderr)}`;
  }
}

/** Launches not yet ended; afterEach kills what a failed test left running (by pid only). */
const launches = new Set<Launch>();

// ------------------------------------------------------------------ containers

let rootfs = '';
let base = '';
let mountinfoBefore = '';

interface Box {
  dir: string;
  upper: string;
  work: string;
  merged: string;
  state: string;
  spec: string;
}

async function makeBox(): Promise<Box> {
  const dir = await fs.mkdtemp(path.join(base, 'box-'));
  const box = {
    dir,
    upper: path.join(dir, 'upper'),
    work: path.join(dir, 'work'),
    merged: path.join(dir, 'merged'),
    state: path.join(dir, 'state'),
    spec: path.join(dir, 'launch.spec'),
  };
  for (const d of [box.upper, box.work, box.merged, box.state]) await fs.mkdir(d);
  return box;
}

interface ContainerOptions {
  /** directives after the overlay, proc and /dev mounts and before pivot-root (host paths) */
  beforePivot?: Directive[];
  /** directives after pivot-root and hostname (container paths) */
  body?: Directive[];
  /** extra header directives */
  header?: Directive[];
  namespaces?: string;
}

/** A container spec: overlay root over the busybox tree, proc, a tmpfs /dev with null, pivot_root. */
function containerSpec(box: Box, command: string[], opts: ContainerOptions = {}): Directive[] {
  const [cmd, ...args] = command;
  assert.ok(cmd !== undefined);
  return [
    ['version', '1'],
    ['namespaces', opts.namespaces ?? 'pid,mount,uts,ipc,net'],
    ['state-dir', box.state],
    ...(opts.header ?? []),
    ['mount', '', '/', '', 'rprivate', ''],
    ['mount', 'overlay', box.merged, 'overlay', '', `lowerdir=${rootfs},upperdir=${box.upper},workdir=${box.work}`],
    ['mount', 'proc', `${box.merged}/proc`, 'proc', 'nosuid,nodev,noexec', ''],
    ['mount', 'tmpfs', `${box.merged}/dev`, 'tmpfs', 'nosuid,noexec', 'mode=755,size=64k'],
    ['mknod', `${box.merged}/dev/null`, 'c', '1', '3', '666'],
    ...(opts.beforePivot ?? []),
    ['pivot-root', box.merged],
    ['hostname', 'corral-test'],
    ...(opts.body ?? []),
    ['env', 'PATH=/bin:/sbin'],
    ['env', 'HOME=/root'],
    ['exec', cmd, cmd, ...args],
  ];
}

async function start(box: Box, spec: Directive[], extraFds = 0): Promise<Launch> {
  await fs.writeFile(box.spec, encodeSpec(spec));
  return new Launch(LAUNCHER, [box.spec], extraFds);
}

async function run(box: Box, spec: Directive[]): Promise<Launch & Outcome> {
  const launch = await start(box, spec);
  const outcome = await launch.done;
  return Object.assign(launch, outcome);
}

/** `Key:\tvalue` lines of /proc/PID/status. */
function parseStatus(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) map.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return map;
}

function capMask(status: Map<string, string>, key: string): bigint {
  const hex = status.get(key);
  assert.ok(hex !== undefined, `no ${key} in /proc/self/status`);
  return BigInt(`0x${hex}`);
}

async function readState(box: Box, name: string): Promise<string> {
  return fs.readFile(path.join(box.state, name), 'utf8');
}

/** The launcher's time stamps: RFC 3339, UTC, nine fractional digits. */
const TIME_STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;

/** The exit file as `<what> <time>`; its time must have the launcher's form and be recent. */
async function readExitWithTime(box: Box): Promise<{ what: string; time: bigint }> {
  const text = await readState(box, 'exit');
  const m = /^(.+) (\S+)\n$/.exec(text);
  assert.ok(m !== null && TIME_STAMP.test(m[2]!), `exit file ${JSON.stringify(text)}`);
  const time = parseLogTime(m[2]!);
  const age = Date.now() - Number(time / 1_000_000n);
  assert.ok(age > -1000 && age < 300_000, `exit time ${m[2]} is not within the last 5 minutes`);
  return { what: m[1]!, time };
}

/** The exit file without its time stamp (`exited 7`), after checking the time stamp. */
async function readExit(box: Box): Promise<string> {
  return (await readExitWithTime(box)).what;
}

// ------------------------------------------------------------------ detached launchers and logs

/** A process named by a state file (`<pid> <start time in clock ticks>`). */
interface ProcId {
  pid: number;
  start: string;
}

async function readProcFile(box: Box, name: 'pid' | 'launcher.pid'): Promise<ProcId> {
  const text = await readState(box, name);
  const m = /^(\d+) (\d+)\n$/.exec(text);
  assert.ok(m !== null, `${name} file ${JSON.stringify(text)}`);
  return { pid: Number(m[1]), start: m[2]! };
}

/** The fields of /proc/PID/stat from field 3 (state, ppid, pgrp, session, ...); undefined once gone. */
async function procStat(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw err;
  }
}

/** Still running (a zombie has ended) and still the same process (field 22, the start time). */
async function alive(p: ProcId): Promise<boolean> {
  const fields = await procStat(p.pid);
  return fields !== undefined && fields[0] !== 'Z' && fields[22 - 3] === p.start;
}

async function waitGone(p: ProcId, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (await alive(p)) {
    if (Date.now() > deadline) throw new Error(`process ${p.pid} still runs after ${ms} ms`);
    await delay(20);
  }
}

async function waitForFile(file: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await fs.access(file);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${file} did not appear within ${ms} ms`);
      await delay(20);
    }
  }
}

/** rmdir `dir`, again every 20 ms while it is busy (up to 50 times); any other error is thrown. */
async function rmdirWhenFree(dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await fs.rmdir(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || i >= 50) throw err;
      await delay(20);
    }
  }
}

/** Boxes whose launcher detached; afterEach ends what a failed test left running. */
const detachedBoxes = new Set<Box>();

/**
 * Starts the launcher as a supervisor that may die would: through `sh`, which waits for the process
 * it started, prints that process's exit code on stderr, then stays as `sleep` with fd 3 closed.
 * The tests SIGKILL that caller while the detached launcher runs on.
 */
async function startDetached(box: Box, spec: Directive[]): Promise<Launch> {
  await fs.writeFile(box.spec, encodeSpec(spec));
  detachedBoxes.add(box);
  const launch = new Launch('sh', ['-c', '"$0" "$1"; echo "launcher exited $?" >&2; exec sleep 600 3>&-', LAUNCHER, box.spec]);
  launch.detached = true;
  return launch;
}

/** One line of a log file. */
interface RawRecord {
  file: string;
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

/**
 * The files of the log `dir/base` oldest first (base.N ... base.1, base) with their sizes, and
 * every record in them, each checked for the launcher's exact form: complete lines, the keys `log`,
 * `stream`, `time` in that order, the launcher's time stamps, no raw control character.
 */
async function readRawLog(dir: string, base: string): Promise<{ files: string[]; sizes: number[]; records: RawRecord[] }> {
  const rotated = new RegExp(`^${base.replace(/\./g, '\\.')}\\.(\\d+)$`);
  const files = (await fs.readdir(dir)).filter((n) => n === base || rotated.test(n)).sort((a, b) => (a === base ? 1 : b === base ? -1 : Number(rotated.exec(b)![1]) - Number(rotated.exec(a)![1])));
  const sizes: number[] = [];
  const records: RawRecord[] = [];
  for (const file of files) {
    const text = await fs.readFile(path.join(dir, file), 'utf8');
    sizes.push(Buffer.byteLength(text));
    if (text === '') continue;
    assert.ok(text.endsWith('\n'), `${file} ends with a complete record`);
    for (const line of text.slice(0, -1).split('\n')) {
      assert.ok(![...line].some((c) => c.charCodeAt(0) < 0x20), `${file}: no raw control character in ${JSON.stringify(line)}`);
      const value = JSON.parse(line) as RawRecord;
      assert.deepEqual(Object.keys(value), ['log', 'stream', 'time'], line);
      assert.ok(value.stream === 'stdout' || value.stream === 'stderr', line);
      assert.match(value.time, TIME_STAMP, line);
      records.push({ ...value, file });
    }
  }
  return { files, sizes, records };
}

function logOf(records: RawRecord[], stream: 'stdout' | 'stderr'): string[] {
  return records.filter((r) => r.stream === stream).map((r) => r.log);
}

function assertTimesNeverDecrease(records: RawRecord[]): void {
  for (let i = 1; i < records.length; i++) {
    const [a, b] = [records[i - 1]!, records[i]!];
    assert.ok(a.time <= b.time, `time goes back from ${a.time} (${a.file}) to ${b.time} (${b.file})`);
  }
}

/** Waits until the log `file` (or one of its rotated files) holds the record; retries over rotations. */
async function waitForLogLine(file: string, stream: 'stdout' | 'stderr', line: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const { records } = await readRawLog(path.dirname(file), path.basename(file));
      if (records.some((r) => r.stream === stream && r.log === line)) return;
    } catch {
      // a rotation while reading: try again
    }
    if (Date.now() > deadline) throw new Error(`no ${stream} record ${JSON.stringify(line)} in ${file} within ${ms} ms`);
    await delay(20);
  }
}

/** "1\n" ... "N\n" */
function numbers(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `${from + i}\n`);
}

const CAP_CHOWN = 0n;
const CAP_NET_RAW = 13n;

// ------------------------------------------------------------------ tests

describe('corral-launch as root on the host', { timeout: 120_000 }, () => {
  before(async () => {
    assert.equal(process.getuid?.(), 0, 'these tests need root: they create namespaces and mounts');
    await fs.access(LAUNCHER).catch((err: unknown) => {
      throw new Error(`${LAUNCHER} is missing: run make -C native`, { cause: err });
    });
    rootfs = await ensureBusyboxRootfs(BUSYBOX_ROOTFS_CACHE);
    mountinfoBefore = await fs.readFile('/proc/self/mountinfo', 'utf8');
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'corral-launch-test-'));
  });

  afterEach(async () => {
    for (const launch of launches) {
      if (!launch.ended) {
        // the launcher is alive, so its child is not reaped yet and the pid is still ours
        const pidLine = launch.status.find((l) => l[0] === 'pid');
        if (pidLine && !launch.detached) process.kill(Number(pidLine[1]), 'SIGKILL');
        launch.child.kill('SIGKILL');
        await launch.done;
      }
      launches.delete(launch);
    }
    for (const box of detachedBoxes) {
      // a detached launcher is not our child: identify it and its workload by pid and start time
      const launcher = await readProcFile(box, 'launcher.pid').catch(() => undefined);
      const workload = await readProcFile(box, 'pid').catch(() => undefined);
      if (launcher !== undefined && (await alive(launcher))) {
        if (workload !== undefined && (await alive(workload))) process.kill(workload.pid, 'SIGKILL');
        await waitGone(launcher, 5_000).catch(async () => {
          if (await alive(launcher)) process.kill(launcher.pid, 'SIGKILL');
        });
      }
      detachedBoxes.delete(box);
    }
  });

  after(async () => {
    if (base !== '') await fs.rm(base, { recursive: true, force: true });
  });

  it('runs the workload as PID 1 of a new pid namespace', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const r = await run(box, containerSpec(box, ['sh', '-c', 'echo $$; cut -d" " -f1,4 /proc/1/stat']));
    assert.equal(r.code, 0, r.describe());
    // sh is pid 1, its parent (field 4) is outside the namespace: 0
    assert.equal(r.stdout, '1\n1 0\n');
    assert.ok(r.workloadPid > 1, 'the pid status line gives the host pid');
  });

  it('gives the workload its own hostname', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const r = await run(box, containerSpec(box, ['hostname']));
    assert.equal(r.code, 0, r.describe());
    assert.equal(r.stdout, 'corral-test\n');
    assert.notEqual(os.hostname(), 'corral-test');
  });

  it('has only lo in its network namespace, and loopback-up brings it up', { timeout: TIMEOUT }, async () => {
    const script = 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; cat /sys/class/net/lo/flags';
    const sysfs: Directive = ['mount', 'sysfs', '', 'sysfs', 'ro,nosuid,nodev,noexec', ''];
    const IFF_UP = 0x1;

    const down = await makeBox();
    const r1 = await run(down, containerSpec(down, ['sh', '-c', script], { beforePivot: [withTarget(sysfs, `${down.merged}/sys`)] }));
    assert.equal(r1.code, 0, r1.describe());
    const [if1, flags1] = r1.stdout.trim().split('\n');
    assert.equal(if1, 'lo', 'only lo');
    assert.equal(Number(flags1) & IFF_UP, 0, 'lo starts down in a new net namespace');

    const up = await makeBox();
    const r2 = await run(
      up,
      containerSpec(up, ['sh', '-c', script], {
        beforePivot: [withTarget(sysfs, `${up.merged}/sys`)],
        body: [['loopback-up']],
      }),
    );
    assert.equal(r2.code, 0, r2.describe());
    const [if2, flags2] = r2.stdout.trim().split('\n');
    assert.equal(if2, 'lo', 'only lo');
    assert.equal(Number(flags2) & IFF_UP, IFF_UP, `lo flags ${flags2} have IFF_UP`);
  });

  it('pivots into the overlay rootfs: host files are invisible, writes land in upper', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const secret = path.join(box.dir, 'host-secret');
    await fs.writeFile(secret, 'host only\n');
    const script = [
      'ls /',
      'echo ---',
      `test -e ${secret} && echo secret-visible`,
      `test -e ${REPO} && echo repo-visible`,
      'cut -d" " -f5 /proc/self/mountinfo',
      // the write comes before the marker the test waits for, so the kill below cannot cut it off
      'echo written > /root/note',
      'echo ---',
      'sleep 30',
    ].join('; ');
    const launch = await start(box, containerSpec(box, ['sh', '-c', script]));
    await launch.waitFor('the listing', () => (launch.stdout.match(/---\n/g) ?? []).length === 2);

    // while it runs, the host does not see the container's mounts
    const hostMounts = await fs.readFile('/proc/self/mountinfo', 'utf8');
    assert.ok(!hostMounts.includes(box.merged), 'the overlay is not mounted in the host namespace');

    process.kill(launch.workloadPid, 'SIGKILL');
    await launch.done;
    const [listing, mounts] = launch.stdout.split('---\n');
    const expected = (await fs.readdir(rootfs)).filter((n) => !n.startsWith('.')).sort();
    assert.deepEqual(listing!.trim().split('\n'), expected, 'the root is the busybox tree');
    assert.deepEqual(mounts!.trim().split('\n').sort(), ['/', '/dev', '/proc'], 'the old root is detached');
    assert.doesNotMatch(launch.stdout, /visible/);
    assert.equal(await fs.readFile(path.join(box.upper, 'root/note'), 'utf8'), 'written\n');
    await assert.rejects(fs.access(path.join(rootfs, 'root/note')), { code: 'ENOENT' });
  });

  it('mask hides files and directories, readonly keeps nosuid,nodev,noexec', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    // files the container sees through the overlay's upper layer
    await fs.mkdir(path.join(box.upper, 'etc'), { recursive: true });
    await fs.writeFile(path.join(box.upper, 'etc/secret'), 'top secret\n');
    await fs.mkdir(path.join(box.upper, 'srv/hidden'), { recursive: true });
    await fs.writeFile(path.join(box.upper, 'srv/hidden/file'), 'hidden\n');
    await fs.mkdir(path.join(box.upper, 'srv/data'), { recursive: true });
    await fs.writeFile(path.join(box.upper, 'srv/data/file'), 'data\n');
    const script = [
      'echo "secret=[$(cat /etc/secret)]"',
      'echo "hidden=$(ls -A /srv/hidden | wc -l)"',
      'touch /srv/hidden/x 2>/dev/null && echo hidden-writable',
      'echo "data=$(cat /srv/data/file)"',
      'touch /srv/data/x 2>/dev/null && echo data-writable',
      'grep " /proc/sys " /proc/self/mountinfo | cut -d" " -f6',
      'exit 0',
    ].join('; ');
    const r = await run(
      box,
      containerSpec(box, ['sh', '-c', script], {
        body: [
          ['mask', '/etc/secret'],
          ['mask', '/srv/hidden'],
          ['mask', '/no/such/path'],
          ['readonly', '/srv/data'],
          ['readonly', '/proc/sys'],
          ['readonly', '/no/such/path'],
        ],
      }),
    );
    assert.equal(r.code, 0, r.describe());
    assert.equal(r.stdout, 'secret=[]\nhidden=0\ndata=data\nro,nosuid,nodev,noexec,relatime\n');
  });

  it("remount adds flags, keeps each mount's own, reaches the mounts below with rec; nodev refuses device nodes", { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const m = box.merged;
    const script = [
      'grep " /mnt/" /proc/self/mountinfo | cut -d" " -f5,6 | sort',
      'echo ---',
      'for d in /mnt/vol /mnt/vol/sub /tmp; do mknod $d/null c 1 3 && echo "$d made"; echo x > $d/null && echo "$d opened"; done 2>&1',
      'exit 0',
    ].join('; ');
    const r = await run(
      box,
      containerSpec(box, ['sh', '-c', script], {
        beforePivot: [
          ['mkdir', `${m}/mnt/vol`, '755'],
          ['mount', 'tmpfs', `${m}/mnt/vol`, 'tmpfs', '', 'size=64k'],
          ['mkdir', `${m}/mnt/vol/sub`, '755'],
          ['mount', 'tmpfs', `${m}/mnt/vol/sub`, 'tmpfs', 'nosuid,noexec', 'size=64k'],
          // through a symlink: the launcher resolves it before it looks for the mounts below
          ['symlink', 'vol', `${m}/mnt/link`],
          ['remount', `${m}/mnt/link`, 'nodev,rec'],
          ['mkdir', `${m}/mnt/flat`, '755'],
          ['mount', 'tmpfs', `${m}/mnt/flat`, 'tmpfs', 'nosuid,noexec', 'size=64k'],
          ['mkdir', `${m}/mnt/flat/sub`, '755'],
          ['mount', 'tmpfs', `${m}/mnt/flat/sub`, 'tmpfs', '', 'size=64k'],
          ['remount', `${m}/mnt/flat`, 'ro'],
        ],
      }),
    );
    assert.equal(r.code, 0, r.describe());
    const [mounts = '', nodes = ''] = r.stdout.split('---\n');
    assert.deepEqual(mounts.trim().split('\n'), ['/mnt/flat ro,nosuid,noexec,relatime', '/mnt/flat/sub rw,relatime', '/mnt/vol rw,nodev,relatime', '/mnt/vol/sub rw,nosuid,nodev,noexec,relatime']);
    // the node is made (CAP_MKNOD), but a nodev mount refuses to open it; the overlay root is not nodev here
    assert.deepEqual(nodes.trim().split('\n'), [
      '/mnt/vol made',
      "sh: can't create /mnt/vol/null: Permission denied",
      '/mnt/vol/sub made',
      "sh: can't create /mnt/vol/sub/null: Permission denied",
      '/tmp made',
      '/tmp opened',
    ]);

    const notMounted = await makeBox();
    const r2 = await run(notMounted, containerSpec(notMounted, ['true'], { body: [['remount', '/tmp', 'nodev']] }));
    assert.equal(r2.code, 125, r2.describe());
    assert.deepEqual(r2.status.at(-1), ['error', 'remount', '22', 'EINVAL', 'remount /tmp']);
    const missing = await makeBox();
    const r3 = await run(missing, containerSpec(missing, ['true'], { body: [['remount', '/no/such', 'nodev,rec']] }));
    assert.equal(r3.code, 125, r3.describe());
    assert.deepEqual(r3.status.at(-1), ['error', 'remount', '2', 'ENOENT', '/no/such']);
  });

  it('mkdir -p, mknod and symlink give exact modes whatever the umask', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const script = "stat -c '%a %F' /tmp/a /tmp/a/b /tmp/a/b/c /dev/null; readlink /dev/fd; head -c 4 /dev/zero | wc -c";
    const r = await run(
      box,
      containerSpec(box, ['sh', '-c', script], {
        body: [
          ['mkdir', '/tmp/a/b/c', '700'],
          ['mkdir', '/tmp/a/b/c', '700'],
          ['mknod', '/dev/zero', 'c', '1', '5', '666'],
          ['symlink', '/proc/self/fd', '/dev/fd'],
          ['symlink', '/proc/self/fd', '/dev/fd'],
        ],
      }),
    );
    assert.equal(r.code, 0, r.describe());
    assert.equal(r.stdout, '755 directory\n755 directory\n700 directory\n666 character special file\n/proc/self/fd\n4\n');
  });

  it('the environment is exactly the env directives, and cwd is applied', { timeout: TIMEOUT }, async () => {
    process.env.CORRAL_LAUNCH_TEST_LEAK = 'should not pass';
    try {
      const box = await makeBox();
      const r1 = await run(box, containerSpec(box, ['env']));
      assert.equal(r1.code, 0, r1.describe());
      assert.equal(r1.stdout, 'PATH=/bin:/sbin\nHOME=/root\n');
    } finally {
      delete process.env.CORRAL_LAUNCH_TEST_LEAK;
    }
    const box2 = await makeBox();
    const r2 = await run(box2, containerSpec(box2, ['pwd'], { body: [['cwd', '/tmp']] }));
    assert.equal(r2.stdout, '/tmp\n', r2.describe());
  });

  it('passes the exit code through: status lines pid, started, exit and the state files', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const r = await run(box, containerSpec(box, ['sh', '-c', 'exit 7']));
    assert.equal(r.code, 7, r.describe());
    assert.deepEqual(
      r.status.map((l) => l[0]),
      ['pid', 'started', 'exit'],
    );
    assert.deepEqual(r.status[2], ['exit', 'exited', '7']);
    assert.equal(await readExit(box), 'exited 7');
    assert.match(await readState(box, 'pid'), new RegExp(`^${r.workloadPid} \\d+\\n$`));
    assert.deepEqual((await fs.readdir(box.state)).sort(), ['exit', 'pid'], 'no temporary files left');
  });

  it('writes the pid state file with the start time from /proc/PID/stat', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const launch = await start(box, containerSpec(box, ['sleep', '30']));
    await launch.waitFor('started', () => launch.status.some((l) => l[0] === 'started'));
    const pid = launch.workloadPid;
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTime = fields[22 - 3]; // fields after comm start at field 3
    assert.equal(await readState(box, 'pid'), `${pid} ${startTime}\n`);
    await assert.rejects(readState(box, 'exit'), { code: 'ENOENT' }, 'no exit file while it runs');
    process.kill(pid, 'SIGKILL');
    await launch.done;
  });

  it('reports a workload killed by signal N as 128+N', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const launch = await start(box, containerSpec(box, ['sleep', '30']));
    await launch.waitFor('started', () => launch.status.some((l) => l[0] === 'started'));
    // SIGKILL from the parent namespace reaches even a pid-namespace init
    process.kill(launch.workloadPid, 'SIGKILL');
    const { code } = await launch.done;
    assert.equal(code, 128 + 9, launch.describe());
    assert.deepEqual(launch.status.at(-1), ['exit', 'signaled', '9']);
    assert.equal(await readExit(box), 'signaled 9');
  });

  it('forwards SIGTERM to a workload that traps it', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const script = 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.05; done';
    const launch = await start(box, containerSpec(box, ['sh', '-c', script]));
    await launch.waitFor('ready', () => launch.stdout.includes('ready\n'));
    launch.child.kill('SIGTERM');
    const { code, signal } = await launch.done;
    assert.equal(signal, null, 'the launcher itself is not killed by SIGTERM');
    assert.equal(code, 3, launch.describe());
    assert.equal(launch.stdout, 'ready\ngot-term\n');
    assert.deepEqual(launch.status.at(-1), ['exit', 'exited', '3']);
  });

  it('command not found: 127 and error exec ENOENT on fd 3', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const r = await run(box, containerSpec(box, ['no-such-command']));
    assert.equal(r.code, 127, r.describe());
    assert.deepEqual(r.status, [
      ['pid', String(r.workloadPid)],
      ['error', 'exec', '2', 'ENOENT', 'no-such-command'],
    ]);
    assert.equal(await readExit(box), 'failed exec ENOENT');
  });

  it('not executable: 126 and error exec EACCES', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const r = await run(box, containerSpec(box, ['/tmp/not-executable'], { body: [['touch', '/tmp/not-executable']] }));
    assert.equal(r.code, 126, r.describe());
    assert.deepEqual(r.status.at(-1), ['error', 'exec', '13', 'EACCES', '/tmp/not-executable']);
    assert.equal(await readExit(box), 'failed exec EACCES');
  });

  it('a failing mount: 125, step mount, the target in the detail, nothing executed', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const target = `${box.merged}/tmp`;
    const r = await run(
      box,
      containerSpec(box, ['sh', '-c', 'echo ran'], {
        beforePivot: [['mount', path.join(box.dir, 'missing-source'), target, '', 'bind', '']],
      }),
    );
    assert.equal(r.code, 125, r.describe());
    assert.deepEqual(r.status.at(-1), ['error', 'mount', '2', 'ENOENT', target]);
    assert.ok(!r.status.some((l) => l[0] === 'started'));
    assert.equal(r.stdout, '');
    assert.equal(await readExit(box), 'failed mount ENOENT');
  });

  it('rejects a bad spec before creating the child: 125, step spec', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const r = await run(box, [
      ['version', '1'],
      ['state-dir', box.state],
      ['bogus', 'x'],
      ['exec', 'true', 'true'],
    ]);
    assert.equal(r.code, 125, r.describe());
    assert.deepEqual(r.status, [['error', 'spec', '22', 'EINVAL', 'line 3: unknown directive "bogus"']]);
    assert.equal(await readExit(box), 'failed spec EINVAL');
  });

  it('reports a clone3 CLONE_INTO_CGROUP failure as step clone', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    // not a cgroup v2 directory: the kernel refuses the fd with EBADF (no fallback for that errno)
    const r = await run(box, [
      ['version', '1'],
      ['cgroup-dir', box.dir],
      ['exec', 'true', 'true'],
    ]);
    assert.equal(r.code, 125, r.describe());
    assert.deepEqual(r.status, [['error', 'clone', '9', 'EBADF', `clone3 into ${box.dir}`]]);
  });

  it('drops a capability from the bounding and effective sets', { timeout: TIMEOUT }, async () => {
    const own = parseStatus(await fs.readFile('/proc/self/status', 'utf8'));
    assert.notEqual(capMask(own, 'CapBnd') & (1n << CAP_NET_RAW), 0n, 'precondition: the test runs with CAP_NET_RAW');
    const box = await makeBox();
    const mask = (~(1n << CAP_NET_RAW) & 0xffff_ffff_ffff_ffffn).toString(16);
    const r = await run(box, containerSpec(box, ['cat', '/proc/self/status'], { body: [['caps', mask]] }));
    assert.equal(r.code, 0, r.describe());
    const st = parseStatus(r.stdout);
    for (const set of ['CapBnd', 'CapEff', 'CapPrm']) {
      assert.equal(capMask(st, set) & (1n << CAP_NET_RAW), 0n, `${set} ${st.get(set)} lacks CAP_NET_RAW`);
      assert.equal(capMask(st, set) & (1n << CAP_CHOWN), 1n << CAP_CHOWN, `${set} ${st.get(set)} keeps CAP_CHOWN`);
    }
    assert.equal(capMask(st, 'CapInh'), 0n);
    assert.equal(capMask(st, 'CapAmb'), 0n);
  });

  it('sets no_new_privs only when asked', { timeout: TIMEOUT }, async () => {
    const without = await makeBox();
    const r1 = await run(without, containerSpec(without, ['cat', '/proc/self/status']));
    assert.equal(parseStatus(r1.stdout).get('NoNewPrivs'), '0', r1.describe());
    // the launcher blocks the forwarded signals, SIGCHLD and SIGPIPE for itself, not for the workload
    assert.equal(parseStatus(r1.stdout).get('SigBlk'), '0000000000000000');
    const withNnp = await makeBox();
    const r2 = await run(withNnp, containerSpec(withNnp, ['cat', '/proc/self/status'], { body: [['no-new-privs']] }));
    assert.equal(parseStatus(r2.stdout).get('NoNewPrivs'), '1', r2.describe());
  });

  it('switches user, group and supplementary groups; a non-root user has no capabilities', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const r = await run(
      box,
      containerSpec(box, ['cat', '/proc/self/status'], {
        body: [['user', '1000', '1001', '1002,1003'], ['caps', 'ffffffffffffffff'], ['no-new-privs']],
      }),
    );
    assert.equal(r.code, 0, r.describe());
    const st = parseStatus(r.stdout);
    assert.equal(st.get('Uid')?.split(/\s+/).join(' '), '1000 1000 1000 1000');
    assert.equal(st.get('Gid')?.split(/\s+/).join(' '), '1001 1001 1001 1001');
    assert.equal(st.get('Groups'), '1002 1003');
    assert.equal(capMask(st, 'CapEff'), 0n);
    assert.equal(capMask(st, 'CapPrm'), 0n);
  });

  it('the workload inherits fd 0, 1 and 2 only', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    // fd 4 is an extra pipe node leaves open (not close-on-exec) in the launcher. sh lists its own
    // fds through a child ls; `exit 0` keeps sh from exec'ing ls in its place (ls's own dir fd)
    const launch = await start(box, containerSpec(box, ['sh', '-c', 'ls /proc/$$/fd; exit 0']), 1);
    const { code } = await launch.done;
    assert.equal(code, 0, launch.describe());
    assert.equal(launch.stdout, '0\n1\n2\n');
  });

  it('keeps the launcher under 1 MiB resident while the workload runs', { timeout: TIMEOUT }, async (t) => {
    const box = await makeBox();
    const launch = await start(box, containerSpec(box, ['sleep', '30']));
    await launch.waitFor('started', () => launch.status.some((l) => l[0] === 'started'));
    const status = parseStatus(await fs.readFile(`/proc/${launch.child.pid}/status`, 'utf8'));
    const rss = status.get('VmRSS');
    assert.ok(rss !== undefined && /^\d+ kB$/.test(rss), `VmRSS ${rss}`);
    const kb = Number.parseInt(rss, 10);
    t.diagnostic(`launcher VmRSS ${kb} kB (RssAnon ${status.get('RssAnon')}, RssFile ${status.get('RssFile')})`);
    assert.ok(kb < 1024, `launcher VmRSS ${kb} kB is not under 1 MiB`);
    process.kill(launch.workloadPid, 'SIGKILL');
    await launch.done;
  });

  it('joins a v1 cgroup through cgroup-procs, and sees it as / with a cgroup namespace', { timeout: TIMEOUT }, async (t) => {
    const own = (await fs.readFile('/proc/self/cgroup', 'utf8'))
      .split('\n')
      .map((line) => line.split(':'))
      .find((f) => f[1] === 'pids');
    const hierarchy = '/sys/fs/cgroup/pids';
    if (own === undefined || !(await fs.stat(path.join(hierarchy, 'cgroup.procs')).catch(() => false))) {
      t.skip('no cgroup v1 pids hierarchy on this host: cgroup-procs is not tested here');
      return;
    }
    const name = `corral-launch-test-${randomBytes(6).toString('hex')}`;
    const cgroupPath = path.posix.join(own[2] ?? '/', name);
    const dir = path.join(hierarchy, cgroupPath);
    await fs.mkdir(dir);
    try {
      const header: Directive[] = [['cgroup-procs', path.join(dir, 'cgroup.procs')]];
      const script = 'grep :pids: /proc/self/cgroup | cut -d: -f3';

      const plain = await makeBox();
      const r1 = await run(plain, containerSpec(plain, ['sh', '-c', script], { header }));
      assert.equal(r1.code, 0, r1.describe());
      assert.equal(r1.stdout, `${cgroupPath}\n`);

      const ns = await makeBox();
      const r2 = await run(ns, containerSpec(ns, ['sh', '-c', script], { header, namespaces: 'pid,mount,uts,ipc,net,cgroup' }));
      assert.equal(r2.code, 0, r2.describe());
      assert.equal(r2.stdout, '/\n');
    } finally {
      // the pid namespace is gone once the launcher has reaped its init; allow the kernel a moment
      await rmdirWhenFree(dir);
    }
  });

  it('falls back to MS_MOVE + chroot when pivot_root fails with EINVAL (root not a mount point)', { timeout: TIMEOUT }, async () => {
    // run the launcher inside a chroot into a plain directory: pivot_root refuses such a root
    const box = await makeBox();
    const plain = path.join(box.dir, 'plain');
    await fs.mkdir(path.join(plain, 'bin'), { recursive: true });
    await fs.mkdir(path.join(plain, 'newroot'));
    await fs.copyFile(HOST_BUSYBOX, path.join(plain, 'bin/busybox'));
    await fs.chmod(path.join(plain, 'bin/busybox'), 0o755);
    await fs.symlink('busybox', path.join(plain, 'bin/sh'));
    await fs.copyFile(LAUNCHER, path.join(plain, 'corral-launch'));
    await fs.chmod(path.join(plain, 'corral-launch'), 0o755);
    const spec: Directive[] = [
      ['version', '1'],
      ['namespaces', 'pid,mount'],
      ['mount', '/', '/newroot', '', 'bind', ''],
      ['pivot-root', '/newroot'],
      ['exec', '/bin/sh', 'sh', '-c', 'echo in-new-root; test -d /newroot && echo ok'],
    ];
    await fs.writeFile(path.join(plain, 'spec'), encodeSpec(spec));
    // unshare -m: the chroot's own mount namespace, private, so nothing can reach the host
    const launch = new Launch('unshare', ['-m', '--propagation', 'private', 'chroot', plain, '/corral-launch', '/spec']);
    const { code } = await launch.done;
    assert.equal(code, 0, launch.describe());
    assert.deepEqual(
      launch.status.map((l) => l.join(' ')),
      [`pid ${launch.workloadPid}`, 'note fallback chroot', 'started', 'exit exited 0'],
    );
    assert.equal(launch.stdout, 'in-new-root\nok\n');
  });

  // ---------------------------------------------------------------- log

  it('log: both streams, every line exactly once and in order, across many rotations; partial last lines too', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const logs = path.join(box.dir, 'logs');
    await fs.mkdir(logs);
    const N = 10_000;
    const maxSize = 32 * 1024;
    const script = `i=1; while [ $i -le ${N} ]; do echo $i; echo $i >&2; i=$((i+1)); done; printf out-partial; printf err-partial >&2`;
    const r = await run(box, containerSpec(box, ['sh', '-c', script], { header: [['log', path.join(logs, 'container.log'), String(maxSize), '1000']] }));
    assert.equal(r.code, 0, r.describe());
    assert.equal(r.stdout + r.stderr, '', "the output went to the log, not to the launcher's stdio");
    assert.deepEqual(
      r.status.map((l) => l[0]),
      ['pid', 'started', 'exit'],
    );
    assert.equal(await readExit(box), 'exited 0');

    const { files, sizes, records } = await readRawLog(logs, 'container.log');
    // about 75 bytes a record, 2N + 2 records: some 45 files
    assert.ok(files.length >= 20, `several rotations: ${files.join(' ')}`);
    sizes.forEach((size, i) => {
      assert.ok(size <= maxSize, `${files[i]} has ${size} bytes, more than max-size ${maxSize}`);
    });
    assert.deepEqual(logOf(records, 'stdout'), [...numbers(1, N), 'out-partial']);
    assert.deepEqual(logOf(records, 'stderr'), [...numbers(1, N), 'err-partial']);
    assertTimesNeverDecrease(records);

    // the reader of src/container/logfile.ts sees the same records in the same order
    const read: LogRecord[] = [];
    for await (const record of readLog(path.join(logs, 'container.log'))) read.push(record);
    assert.deepEqual(
      read,
      records.map((x) => ({ stream: x.stream, time: parseLogTime(x.time), line: x.log })),
    );
  });

  it('log: max-file is honoured, older files are deleted and what stays is the newest, without gaps', { timeout: TIMEOUT }, async () => {
    const N = 5000;
    const script = `i=1; while [ $i -le ${N} ]; do echo $i; echo $i >&2; i=$((i+1)); done; printf out-partial; printf err-partial >&2`;
    for (const [maxSize, maxFile] of [
      [16 * 1024, 3],
      [4096, 1],
    ] as const) {
      const box = await makeBox();
      const logs = path.join(box.dir, 'logs');
      await fs.mkdir(logs);
      const r = await run(box, containerSpec(box, ['sh', '-c', script], { header: [['log', path.join(logs, 'container.log'), String(maxSize), String(maxFile)]] }));
      assert.equal(r.code, 0, r.describe());
      const { files, sizes, records } = await readRawLog(logs, 'container.log');
      const expected = ['container.log.2', 'container.log.1', 'container.log'].slice(3 - maxFile);
      assert.deepEqual(await fs.readdir(logs).then((n) => n.sort()), [...expected].sort(), `max-file ${maxFile}: only these files`);
      assert.deepEqual(files, expected);
      sizes.forEach((size, i) => {
        assert.ok(size <= maxSize, `${files[i]} has ${size} bytes, more than max-size ${maxSize}`);
      });
      assert.ok(records.length < 2 * N + 2, `max-file ${maxFile}: the oldest records are gone`);
      for (const stream of ['stdout', 'stderr'] as const) {
        // the launcher reads each pipe in 16 KiB chunks, so one stream's kept part may be short
        const lines = logOf(records, stream);
        const partial = stream === 'stdout' ? 'out-partial' : 'err-partial';
        const first = lines.length > 1 ? Number.parseInt(lines[0]!, 10) : N + 1;
        assert.deepEqual(lines, [...numbers(first, N), partial], `max-file ${maxFile}: ${stream} from ${first} to ${N} without a gap`);
      }
      assertTimesNeverDecrease(records);
    }
  });

  it('log: JSON escapes, invalid UTF-8 as U+FFFD, lines split at 16 KiB on a character boundary', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const valid = 'plain "quoted" back\\slash\ttab\rcr\u0001ctl\u007fdel é 😀 \u2028sep\n';
    const input = Buffer.concat([
      Buffer.from(valid),
      // a stray byte, an overlong '/', a UTF-16 surrogate, a truncated 3-byte sequence
      Buffer.from([0x62, 0x61, 0x64, 0xff, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xe2, 0x82, 0x0a]),
      Buffer.from(`${'a'.repeat(16383)}é\n`),
      Buffer.from(`${'b'.repeat(40000)}\n`),
      Buffer.from('no newline at the end'),
    ]);
    await fs.mkdir(path.join(box.upper, 'tmp'), { recursive: true });
    await fs.writeFile(path.join(box.upper, 'tmp/input'), input);
    const log = path.join(box.dir, 'container.log');
    const r = await run(box, containerSpec(box, ['cat', '/tmp/input'], { header: [['log', log, '0', '1']] }));
    assert.equal(r.code, 0, r.describe());
    const raw = await fs.readFile(log, 'utf8');
    for (const seq of ['\\"', '\\\\', '\\t', '\\r', '\\u0001', '\\ufffd']) assert.ok(raw.includes(seq), `the file has ${seq}`);
    const { records } = await readRawLog(box.dir, 'container.log');
    assert.deepEqual(logOf(records, 'stdout'), [
      valid,
      `bad${'\ufffd'.repeat(8)}\n`,
      'a'.repeat(16383),
      'é\n',
      'b'.repeat(16384),
      'b'.repeat(16384),
      `${'b'.repeat(40000 - 2 * 16384)}\n`,
      'no newline at the end',
    ]);
  });

  it('log: after the workload exits, its pipes are drained for at most 2 s, then the exit is recorded', { timeout: TIMEOUT }, async () => {
    // no pid namespace: the background sleep outlives the workload and holds its stdout and stderr
    const box = await makeBox();
    const log = path.join(box.dir, 'container.log');
    const script = 'sleep 60 & echo "grandchild $!"; echo bye; exit 5';
    const launch = await start(box, containerSpec(box, ['sh', '-c', script], { namespaces: 'mount,uts,ipc,net', header: [['log', log, '0', '1']] }));
    let grandchild: ProcId | undefined;
    try {
      await launch.waitFor('the log', () => existsSync(log) && readFileSync(log, 'utf8').includes('bye'));
      const pid = Number(/grandchild (\d+)/.exec(readFileSync(log, 'utf8'))![1]);
      const fields = await procStat(pid);
      assert.ok(fields !== undefined, `the grandchild ${pid} runs`);
      grandchild = { pid, start: fields[22 - 3]! };
      const { code } = await launch.done;
      const ended = BigInt(Date.now()) * 1_000_000n;
      assert.equal(code, 5, launch.describe());
      const { what, time } = await readExitWithTime(box);
      assert.equal(what, 'exited 5');
      const drained = Number(ended - time) / 1e9;
      assert.ok(drained > 1.8 && drained < 6, `the exit time is that of the workload, ${drained} s before the launcher ended`);
      assert.ok(await alive(grandchild), 'the grandchild still runs: the launcher stopped waiting for it');
      const { records } = await readRawLog(box.dir, 'container.log');
      assert.deepEqual(logOf(records, 'stdout'), [`grandchild ${pid}\n`, 'bye\n']);
    } finally {
      if (grandchild !== undefined && (await alive(grandchild))) process.kill(grandchild.pid, 'SIGKILL');
    }
  });

  it('log: a bad log directive is a spec error; a log that cannot be opened is step log', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const table: [Directive, string][] = [
      [['log', 'relative.log', '0', '1'], 'line 3: log path must be an absolute path: relative.log'],
      [['log', '/tmp/', '0', '1'], 'line 3: log path must name a file of at most 240 bytes: /tmp/'],
      [['log', '/tmp/x.log', '-1', '1'], 'line 3: bad log max-size "-1"'],
      [['log', '/tmp/x.log', '10k', '1'], 'line 3: bad log max-size "10k"'],
      [['log', '/tmp/x.log', '10', '0'], 'line 3: log max-file must be between 1 and 99999, got "0"'],
      [['log', '/tmp/x.log', '10'], 'line 3: log takes 3 field(s), got 2'],
    ];
    for (const [directive, message] of table) {
      const r = await run(box, [['version', '1'], ['state-dir', box.state], directive, ['exec', 'true', 'true']]);
      assert.equal(r.code, 125, r.describe());
      assert.deepEqual(r.status, [['error', 'spec', '22', 'EINVAL', message]]);
    }
    const missing = path.join(box.dir, 'no-such-dir');
    const r = await run(box, [
      ['version', '1'],
      ['state-dir', box.state],
      ['log', `${missing}/c.log`, '0', '1'],
      ['exec', 'true', 'true'],
    ]);
    assert.equal(r.code, 125, r.describe());
    assert.deepEqual(r.status, [['error', 'log', '2', 'ENOENT', missing]]);
    assert.equal(await readExit(box), 'failed log ENOENT');
  });

  // ---------------------------------------------------------------- detach

  it('detach: survives the SIGKILL of its caller, keeps logging, forwards signals and records the exit', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const log = path.join(box.dir, 'container.log');
    const script = 'trap "echo got-term; exit 42" TERM; echo ready; i=0; while :; do i=$((i+1)); echo $i; echo $i >&2; sleep 0.01; done';
    const caller = await startDetached(box, containerSpec(box, ['sh', '-c', script], { header: [['detach'], ['log', log, '1024', '1000']] }));
    await caller.waitFor('fd 3 closed', () => caller.statusEnded);
    assert.deepEqual(
      caller.status.map((l) => l[0]),
      ['pid', 'started'],
      'after started, nothing more on fd 3',
    );
    await caller.waitFor("the launcher's code", () => caller.stderr.includes('\n'));
    assert.equal(caller.stderr, 'launcher exited 0\n', 'the process the caller started exits 0 once detached');

    const launcher = await readProcFile(box, 'launcher.pid');
    const workload = await readProcFile(box, 'pid');
    assert.equal(workload.pid, caller.workloadPid);
    const callerPid = caller.child.pid!;
    const [lf, cf, wf] = await Promise.all([procStat(launcher.pid), procStat(callerPid), procStat(workload.pid)]);
    assert.ok(lf && cf && wf);
    // launcher.pid names a running corral-launch, with its start time
    assert.ok(await alive(launcher), 'launcher.pid names a running process with that start time');
    assert.match(await fs.readFile(`/proc/${launcher.pid}/cmdline`, 'utf8'), /corral-launch\0/);
    assert.equal(Number(wf[1]), launcher.pid, "the launcher is the workload's parent");
    assert.notEqual(Number(lf[1]), callerPid, "the launcher is not the caller's child");
    assert.notEqual(lf[2], cf[2], 'nor in its process group');
    assert.notEqual(lf[3], cf[3], 'nor in its session');
    assert.notEqual(Number(lf[3]), launcher.pid, 'and it does not lead its own session (no controlling terminal can be acquired)');
    for (const fd of [0, 1, 2]) assert.equal(await fs.readlink(`/proc/${launcher.pid}/fd/${fd}`), '/dev/null', `launcher fd ${fd}`);

    await waitForLogLine(log, 'stderr', '5\n');
    process.kill(callerPid, 'SIGKILL');
    await caller.done;
    await waitForLogLine(log, 'stderr', '25\n');
    assert.ok(await alive(launcher), 'the launcher survived its caller');
    assert.ok(await alive(workload), 'and so did the workload');
    process.kill(launcher.pid, 'SIGTERM');
    await waitForFile(path.join(box.state, 'exit'), 10_000);
    assert.equal(await readExit(box), 'exited 42');
    await waitGone(launcher, 5_000);

    const { files, records } = await readRawLog(box.dir, 'container.log');
    assert.ok(files.length > 2, `rotated: ${files.join(' ')}`);
    const out = logOf(records, 'stdout');
    assert.deepEqual(out, ['ready\n', ...numbers(1, out.length - 2), 'got-term\n']);
    assert.ok(out.length > 10, 'lines from before and after the caller died');
    const err = logOf(records, 'stderr');
    assert.deepEqual(err, numbers(1, err.length));
    assertTimesNeverDecrease(records);
  });

  it("detach: the workload's stdin is /dev/null and it inherits fd 0, 1 and 2 only", { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const log = path.join(box.dir, 'container.log');
    const script = 'ls /proc/$$/fd; stat -L -c %t:%T /proc/$$/fd/0; exit 0';
    const caller = await startDetached(box, containerSpec(box, ['sh', '-c', script], { header: [['detach'], ['log', log, '0', '1']] }));
    await caller.waitFor('fd 3 closed', () => caller.statusEnded);
    await waitForFile(path.join(box.state, 'exit'), 10_000);
    assert.equal(await readExit(box), 'exited 0');
    const { records } = await readRawLog(box.dir, 'container.log');
    assert.deepEqual(logOf(records, 'stdout'), ['0\n', '1\n', '2\n', '1:3\n'], 'fds 0, 1, 2; fd 0 is the device 1:3, /dev/null');
    assert.deepEqual(logOf(records, 'stderr'), []);
    process.kill(caller.child.pid!, 'SIGKILL');
    await caller.done;
  });

  it("detach: a setup failure comes on fd 3 and in the exit file; the caller's process still exits 0", { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const caller = await startDetached(box, containerSpec(box, ['no-such-command'], { header: [['detach']] }));
    await caller.waitFor('fd 3 closed', () => caller.statusEnded);
    assert.deepEqual(caller.status, [
      ['pid', String(caller.workloadPid)],
      ['error', 'exec', '2', 'ENOENT', 'no-such-command'],
    ]);
    await waitForFile(path.join(box.state, 'exit'), 10_000);
    assert.equal(await readExit(box), 'failed exec ENOENT');
    await waitGone(await readProcFile(box, 'launcher.pid'), 5_000);
    await caller.waitFor("the launcher's code", () => caller.stderr.includes('\n'));
    assert.equal(caller.stderr, 'launcher exited 0\n');
    process.kill(caller.child.pid!, 'SIGKILL');
    await caller.done;
  });

  it('detach: needs state-dir; a spec error comes before detaching, with code 125', { timeout: TIMEOUT }, async () => {
    const box = await makeBox();
    const r = await run(box, [['version', '1'], ['detach'], ['exec', 'true', 'true']]);
    assert.equal(r.code, 125, r.describe());
    assert.deepEqual(r.status, [['error', 'spec', '22', 'EINVAL', 'line 2: detach needs state-dir (the exit status goes only there)']]);
    const twice = await run(box, [['version', '1'], ['state-dir', box.state], ['detach'], ['detach'], ['exec', 'true', 'true']]);
    assert.deepEqual(twice.status, [['error', 'spec', '22', 'EINVAL', 'line 4: detach given twice']]);
    assert.deepEqual(await fs.readdir(box.state), ['exit'], 'no launcher.pid: it never detached');
  });

  it('detach with log: the launcher stays under 1 MiB resident while the workload writes without pause', { timeout: TIMEOUT }, async (t) => {
    const box = await makeBox();
    const log = path.join(box.dir, 'container.log');
    // text lines on stdout, binary (control characters, invalid UTF-8: the most escaping) on stderr
    const script = 'yes & while :; do cat /bin/busybox >&2; done';
    const caller = await startDetached(box, containerSpec(box, ['sh', '-c', script], { header: [['detach'], ['log', log, String(1 << 20), '2']] }));
    await caller.waitFor('fd 3 closed', () => caller.statusEnded);
    const launcher = await readProcFile(box, 'launcher.pid');
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      await delay(50);
      const status = parseStatus(await fs.readFile(`/proc/${launcher.pid}/status`, 'utf8'));
      samples.push(Number.parseInt(status.get('VmRSS') ?? 'NaN', 10));
    }
    const status = parseStatus(await fs.readFile(`/proc/${launcher.pid}/status`, 'utf8'));
    const peak = Number.parseInt(status.get('VmHWM') ?? 'NaN', 10);
    t.diagnostic(`launcher VmRSS ${Math.min(...samples)}-${Math.max(...samples)} kB, peak VmHWM ${peak} kB (RssAnon ${status.get('RssAnon')}, RssFile ${status.get('RssFile')})`);
    assert.ok(peak < 1024, `launcher peak VmHWM ${peak} kB is not under 1 MiB`);
    // (NAME itself may be missing for an instant: rotation renames it before creating the new one)
    assert.ok(
      await fs.stat(`${log}.1`).then(
        () => true,
        () => false,
      ),
      'the log rotated: the workload really wrote',
    );
    process.kill((await readProcFile(box, 'pid')).pid, 'SIGKILL');
    await waitForFile(path.join(box.state, 'exit'), 10_000);
    assert.equal(await readExit(box), 'signaled 9');
    process.kill(caller.child.pid!, 'SIGKILL');
    await caller.done;
  });

  it('leaves no mount behind on the host', async () => {
    const after = await fs.readFile('/proc/self/mountinfo', 'utf8');
    const before = new Set(mountinfoBefore.split('\n'));
    // other test files may run beside this one: judge the lines that name this file's paths
    const added = after
      .split('\n')
      .filter((line) => !before.has(line))
      .filter((line) => line.includes(base) || line.includes(rootfs));
    assert.deepEqual(added, []);
    assert.ok(!after.includes(base), `no mount under ${base}`);
  });
});

function withTarget(d: Directive, target: string): Directive {
  const copy = [...d] as Directive;
  copy[2] = target;
  return copy;
}
