/**
 * Host-side checks of the cgroup v2 guest harness. One guest boot runs every probe and prints
 * labeled sections; the tests below assert on them. A second, short run checks the timeout path.
 */

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir, repoRoot, runInGuest, type GuestResult } from './guest.js';

const token = randomBytes(8).toString('hex');
const probeRel = `test/vm/.cache/probe-${token}.txt`;
const probeAbs = join(repoRoot(), probeRel);
const WEIRD = `it's "quoted" $HOME \`x\` \\ back; slash\nnew line`;

// Each probe prints "=== <name>" and then its result; the whole script ends with exit 3.
const SCRIPT = [
  'echo "=== controllers"; cat /sys/fs/cgroup/cgroup.controllers',
  'echo "=== fstype"; stat -f -c %T /sys/fs/cgroup',
  'echo "=== self-cgroup"; cat /proc/self/cgroup',
  'echo "=== child-cgroup"; echo "+cpu +memory +pids +io +cpuset" > /sys/fs/cgroup/cgroup.subtree_control' +
    ' && mkdir /sys/fs/cgroup/probe && ls /sys/fs/cgroup/probe | grep -E "^(memory.max|cpu.max|pids.max|io.max|cpuset.cpus|cgroup.kill)$"' +
    ' && rmdir /sys/fs/cgroup/probe',
  'echo "=== node"; node -e "console.log(process.version)"',
  'echo "=== env"; node -e "process.stdout.write(JSON.stringify(process.env.WEIRD) + String.fromCharCode(10))"',
  'echo "=== pwd"; pwd',
  `echo "=== write"; printf '%s' ${token} > ${probeRel} && echo written`,
  'echo "=== overlay"; mkdir -p /tmp/ov/upper /tmp/ov/work /tmp/ov/merged' +
    ' && mount -t overlay overlay -o lowerdir=/,upperdir=/tmp/ov/upper,workdir=/tmp/ov/work /tmp/ov/merged' +
    ' && findmnt -n -o FSTYPE / && test -x /tmp/ov/merged/bin/sh && echo lower-visible' +
    ' && echo hi > /tmp/ov/merged/etc/corral-overlay-probe && test -f /tmp/ov/upper/etc/corral-overlay-probe' +
    ' && ! test -e /etc/corral-overlay-probe && echo upper-written' +
    ' && findmnt -n -o FSTYPE /tmp/ov/merged && umount /tmp/ov/merged',
  'echo "=== state-dirs"; for d in /tmp /var/tmp /run /root /var/lib /dev/shm; do touch $d/.corral-probe && echo $d; done;' + ' test -f /var/lib/dpkg/status && echo host-content-visible',
  'echo "=== end"',
  'exit 3',
].join('\n');

function sections(output: string): Map<string, string> {
  const map = new Map<string, string>();
  let name: string | undefined;
  for (const line of output.split('\n')) {
    const m = /^=== (.+)$/.exec(line);
    if (m?.[1]) {
      name = m[1];
      map.set(name, '');
    } else if (name !== undefined) {
      map.set(name, `${map.get(name)}${line}\n`);
    }
  }
  return map;
}

describe('cgroup v2 guest (one boot)', { timeout: 15 * 60_000 }, () => {
  let result: GuestResult;
  let streamed = '';
  let probeOnHost: string | undefined;
  let s: Map<string, string>;
  const section = (name: string): string => {
    const v = s.get(name);
    assert.ok(v !== undefined, `no "=== ${name}" section in the guest output:\n${result.output}`);
    return v;
  };

  before(async () => {
    const started = Date.now();
    result = await runInGuest(SCRIPT, {
      env: { WEIRD },
      timeoutMs: 10 * 60_000,
      onOutput: (chunk) => {
        streamed += chunk;
      },
    });
    // read the guest's file on the host before anything else touches it
    probeOnHost = existsSync(probeAbs) ? readFileSync(probeAbs, 'utf8') : undefined;
    s = sections(result.output);
    process.stderr.write(`guest: boot ${result.bootMs} ms, whole run ${Date.now() - started} ms\n`);
  });

  after(async () => {
    await rm(probeAbs, { force: true });
  });

  test('cgroup.controllers lists cpu, memory, pids, io and cpuset', () => {
    const controllers = section('controllers').trim().split(/\s+/);
    for (const c of ['cpu', 'memory', 'pids', 'io', 'cpuset']) assert.ok(controllers.includes(c), `${c} missing from "${controllers.join(' ')}"`);
  });

  test('/sys/fs/cgroup is cgroup2 and the command sits in the root cgroup', () => {
    assert.equal(section('fstype').trim(), 'cgroup2fs');
    assert.equal(section('self-cgroup').trim(), '0::/');
  });

  test('controllers can be enabled for a child cgroup', () => {
    assert.deepEqual(section('child-cgroup').trim().split('\n').sort(), ['cgroup.kill', 'cpu.max', 'cpuset.cpus', 'io.max', 'memory.max', 'pids.max']);
  });

  test('the exit status of the command comes back', () => {
    assert.equal(result.exitCode, 3, result.output);
    assert.ok(s.has('end'), 'the script ran to its end');
  });

  test('node runs in the guest', () => {
    assert.equal(section('node').trim(), process.version);
  });

  test('env values with quotes, backslashes and newlines arrive unchanged', () => {
    assert.equal(JSON.parse(section('env').trim()), WEIRD);
  });

  test('the command runs in the checkout directory (same absolute path)', () => {
    assert.equal(section('pwd').trim(), repoRoot());
  });

  test('the checkout is writable from the guest and the host sees the file', () => {
    assert.equal(section('write').trim(), 'written');
    assert.equal(probeOnHost, token);
  });

  test('overlayfs mounts with a 9p lower dir and a tmpfs upper dir', () => {
    assert.deepEqual(section('overlay').trim().split('\n'), ['9p', 'lower-visible', 'upper-written', 'overlay']);
  });

  test('state dirs are writable; /var/lib still shows the host content', () => {
    assert.deepEqual(section('state-dirs').trim().split('\n'), ['/tmp', '/var/tmp', '/run', '/root', '/var/lib', '/dev/shm', 'host-content-visible']);
    assert.ok(!existsSync('/var/lib/.corral-probe') && !existsSync('/root/.corral-probe'), 'guest writes do not reach the host');
  });

  test('output is streamed to onOutput as well as returned, with no console noise', () => {
    assert.equal(streamed, result.output);
    assert.ok(result.output.startsWith('=== controllers\n'), JSON.stringify(result.output.slice(0, 200)));
    assert.ok(!result.output.includes('@@CORRAL-VM'), 'no marker text in the output');
    assert.ok(!result.output.includes('\r'), 'no carriage returns');
  });

  test('boot time is measured', () => {
    assert.ok(result.bootMs > 0 && result.bootMs < 10 * 60_000, String(result.bootMs));
  });
});

/** Child processes of this process whose command name starts with qemu. */
function qemuChildren(): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && comm.startsWith('qemu')) found.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return found;
}

describe('cgroup v2 guest: timeout', { timeout: 5 * 60_000 }, () => {
  test('a timeout kills qemu and rejects with the last output', async () => {
    await assert.rejects(runInGuest('echo before-sleep; sleep 600', { timeoutMs: 1_500 }), (e: Error) => {
      assert.match(e.message, /timed out after 1500 ms/);
      return true;
    });
    // qemu was SIGKILLed; give the kernel a moment to reap it
    for (let i = 0; i < 50 && qemuChildren().length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(qemuChildren(), []);
    const runs = join(cacheDir(), 'runs');
    const left = existsSync(runs) ? readdirSync(runs).filter((n) => n.startsWith(`${process.pid}-`)) : [];
    assert.deepEqual(left, [], 'the per-run directory is removed');
  });
});
