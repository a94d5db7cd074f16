import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError, UnsupportedError } from '../../../src/errors.js';
import { MASKED_PATHS, planIsolation, READONLY_PATHS } from '../../../src/isolate/plan.js';
import { compileSeccomp } from '../../../src/isolate/seccomp/compile.js';
import { dockerDefaultProfile } from '../../../src/isolate/seccomp/filter.js';
import { decodeSpec, encodeSpec, type Directive } from '../../../src/isolate/spec.js';
import type { CgroupPlacement, ContainerPaths, HostLayout, IsolationOptions } from '../../../src/isolate/types.js';

const DIR = '/var/lib/corral/containers/c1';
const paths: ContainerPaths = {
  dir: DIR,
  upper: `${DIR}/upper`,
  work: `${DIR}/work`,
  merged: `${DIR}/rootfs`,
  spec: `${DIR}/launch.spec`,
};
const R = paths.merged;

const KERNEL = { kernel: 6, major: 1 };

/** Debian 12: merged /usr. */
const mergedUsr: HostLayout = {
  skeleton: '/var/lib/corral/skeleton',
  kernel: KERNEL,
  systemDirs: [
    { name: 'usr', kind: 'dir' },
    { name: 'etc', kind: 'dir' },
    { name: 'bin', kind: 'symlink', target: 'usr/bin' },
    { name: 'sbin', kind: 'symlink', target: 'usr/sbin' },
    { name: 'lib', kind: 'symlink', target: 'usr/lib' },
    { name: 'lib64', kind: 'symlink', target: 'usr/lib64' },
  ],
};
/** An older layout where /bin, /sbin, /lib, /lib64 are real directories. */
const splitUsr: HostLayout = {
  skeleton: '/var/lib/corral/skeleton',
  kernel: KERNEL,
  systemDirs: ['usr', 'etc', 'bin', 'sbin', 'lib', 'lib64'].map((name) => ({ name, kind: 'dir' as const })),
};
const v2: CgroupPlacement = { mode: 'v2', dir: '/sys/fs/cgroup/corral/c1', procsFiles: ['/sys/fs/cgroup/corral/c1/cgroup.procs'] };
const v1: CgroupPlacement = {
  mode: 'v1',
  procsFiles: ['/sys/fs/cgroup/memory/corral/c1/cgroup.procs', '/sys/fs/cgroup/pids/corral/c1/cgroup.procs'],
};

function options(over: Partial<IsolationOptions> = {}): IsolationOptions {
  return {
    hostname: 'c1',
    env: ['PATH=/usr/bin:/bin', 'HOSTNAME=c1'],
    workdir: '/',
    user: { uid: 0, gid: 0, additionalGids: [] },
    volumes: [],
    readOnly: false,
    network: 'none',
    capAdd: [],
    capDrop: [],
    command: ['sh', '-c', 'echo hi'],
    ...over,
  };
}

function plan(over: Partial<IsolationOptions> = {}, host: HostLayout = mergedUsr, cgroup: CgroupPlacement = v2) {
  return planIsolation(options(over), paths, cgroup, host);
}

type Mount = Extract<Directive, { kind: 'mount' }>;
const mounts = (d: Directive[]) => d.filter((x): x is Mount => x.kind === 'mount');
const overlays = (d: Directive[]) => mounts(d).filter((m) => m.fstype === 'overlay');
const indexOf = (d: Directive[], pred: (x: Directive) => boolean) => d.findIndex(pred);
const kindIndex = (d: Directive[], kind: Directive['kind']) => indexOf(d, (x) => x.kind === kind);

test('header: namespaces, cgroup placement and state dir', () => {
  assert.deepEqual(plan().header, {
    version: 1,
    namespaces: ['pid', 'mount', 'uts', 'ipc', 'net', 'cgroup'],
    cgroupDir: '/sys/fs/cgroup/corral/c1',
    cgroupProcs: ['/sys/fs/cgroup/corral/c1/cgroup.procs'],
    stateDir: DIR,
  });
  assert.deepEqual(plan({ network: 'host' }).header.namespaces, ['pid', 'mount', 'uts', 'ipc', 'cgroup']);
  const h1 = plan({}, mergedUsr, v1).header;
  assert.equal(h1.cgroupDir, undefined);
  assert.deepEqual(h1.cgroupProcs, v1.procsFiles);
});

test('the mount tree is made private-recursive first', () => {
  assert.deepEqual(plan().directives[0], { kind: 'mount', source: '', target: '/', fstype: '', flags: ['rprivate'], data: '' });
});

test('default root, merged /usr: skeleton root plus one overlay per real system directory', () => {
  const d = plan().directives;
  assert.deepEqual(
    overlays(d).map((m) => [m.target, m.data]),
    [
      [R, `lowerdir=/var/lib/corral/skeleton,upperdir=${DIR}/upper/root,workdir=${DIR}/work/root,index=off`],
      [`${R}/usr`, `lowerdir=/usr,upperdir=${DIR}/upper/usr,workdir=${DIR}/work/usr,index=off`],
      [`${R}/etc`, `lowerdir=/etc,upperdir=${DIR}/upper/etc,workdir=${DIR}/work/etc,index=off`],
    ],
  );
});

test('default root, split /usr: /bin, /sbin, /lib, /lib64 get their own overlays', () => {
  const d = plan({}, splitUsr).directives;
  assert.deepEqual(
    overlays(d).map((m) => m.target),
    [R, ...['usr', 'etc', 'bin', 'sbin', 'lib', 'lib64'].map((n) => `${R}/${n}`)],
  );
});

test('every overlay, with or without --rootfs, is nodev', () => {
  for (const d of [plan().directives, plan({}, splitUsr).directives, plan({ rootfs: '/srv/alpine' }).directives]) {
    assert.deepEqual(
      overlays(d).map((m) => [m.target, m.flags]),
      overlays(d).map((m) => [m.target, ['nodev']]),
    );
  }
});

test('the default root never uses /root, /home, /var, /tmp, /run or / as a lower layer', () => {
  const hostile: HostLayout = {
    ...splitUsr,
    systemDirs: [...splitUsr.systemDirs, ...['root', 'home', 'var', 'tmp', 'run', 'srv'].map((name) => ({ name, kind: 'dir' as const }))],
  };
  for (const host of [mergedUsr, splitUsr, hostile]) {
    const d = plan({}, host).directives;
    const lowers = overlays(d).map((m) => /lowerdir=([^,]*)/.exec(m.data)?.[1]);
    for (const lower of lowers) {
      assert.ok(lower !== undefined);
      assert.ok(!['/', '/root', '/home', '/var', '/tmp', '/run', '/srv'].includes(lower), lower);
    }
    const text = encodeSpec(plan({}, host).header, d);
    assert.doesNotMatch(text, /lowerdir=\/(root|home|var|tmp|run)?(,|$)/m);
  }
});

test('every overlay upper and work directory is created before its mount', () => {
  for (const host of [mergedUsr, splitUsr]) {
    const d = plan({}, host).directives;
    for (const m of overlays(d)) {
      const at = d.indexOf(m);
      const upper = /upperdir=([^,]*)/.exec(m.data)?.[1];
      const work = /workdir=([^,]*)/.exec(m.data)?.[1];
      const upperAt = indexOf(d, (x) => x.kind === 'mkdir' && x.path === upper);
      const workAt = indexOf(d, (x) => x.kind === 'mkdir' && x.path === work);
      assert.ok(upperAt >= 0 && upperAt < at, `mkdir ${upper}`);
      assert.ok(workAt >= 0 && workAt < at, `mkdir ${work}`);
    }
  }
});

test('--rootfs: one overlay with the rootfs as lower, no host system directory', () => {
  const d = plan({ rootfs: '/srv/alpine' }).directives;
  assert.deepEqual(
    overlays(d).map((m) => [m.target, m.data]),
    [[R, `lowerdir=/srv/alpine,upperdir=${DIR}/upper/root,workdir=${DIR}/work/root,index=off`]],
  );
  assert.ok(
    d.some((x) => x.kind === 'mkdir' && x.path === `${R}/proc`),
    'mount points are created in the rootfs',
  );
});

test("an image: its layers as the root's lowers, named from the store's link directory (the mount's cwd), topmost first", () => {
  const d = plan({ layers: { linkDir: '/var/lib/corral/images/l', links: ['TOP', 'BASE'] } }).directives;
  assert.deepEqual(
    overlays(d).map((m) => [m.target, m.data]),
    [[R, `lowerdir=l/TOP:l/BASE,upperdir=${DIR}/upper/root,workdir=${DIR}/work/root,index=off`]],
  );
  const mountAt = indexOf(d, (x) => x.kind === 'mount' && x.fstype === 'overlay');
  assert.deepEqual(d[mountAt - 1], { kind: 'cwd', path: '/var/lib/corral/images' }, 'the relative names resolve from the store');
  assert.ok(kindIndex(d, 'pivot-root') > mountAt);
});

test('an image of 125 layers fits in the page of mount options; 501 is refused as overlayfs would', () => {
  const links = Array.from({ length: 125 }, (_, i) => `L${String(i).padStart(11, '0')}`);
  const data = overlays(plan({ layers: { linkDir: '/var/lib/corral/images/l', links } }).directives)[0]!.data;
  assert.ok(data.length < 4096, `${data.length} bytes`);
  assert.throws(() => plan({ layers: { linkDir: '/var/lib/corral/images/l', links: Array.from({ length: 501 }, (_, i) => `L${i}`) } }), /overlayfs stacks 1 to 500/);
  assert.throws(() => plan({ layers: { linkDir: '/x/l', links: ['../etc'] } }), /is not a layer link name/);
});

test('/proc, /dev and /sys are mounted as runc does, /dev nodev', () => {
  const d = plan().directives;
  const byTarget = new Map(mounts(d).map((m) => [m.target, m]));
  const expect: [string, string, string, string[], string][] = [
    [`${R}/proc`, 'proc', 'proc', ['nosuid', 'nodev', 'noexec'], ''],
    [`${R}/dev`, 'tmpfs', 'tmpfs', ['nosuid', 'nodev', 'strictatime'], 'mode=755,size=65536k'],
    [`${R}/dev/pts`, 'devpts', 'devpts', ['nosuid', 'noexec'], 'newinstance,ptmxmode=0666,mode=0620,gid=5'],
    [`${R}/dev/shm`, 'shm', 'tmpfs', ['nosuid', 'nodev', 'noexec'], 'mode=1777,size=65536k'],
    [`${R}/dev/mqueue`, 'mqueue', 'mqueue', ['nosuid', 'nodev', 'noexec'], ''],
    [`${R}/sys`, 'sysfs', 'sysfs', ['ro', 'nosuid', 'nodev', 'noexec'], ''],
    [`${R}/sys/fs/cgroup`, 'cgroup2', 'cgroup2', ['ro', 'nosuid', 'nodev', 'noexec', 'relatime'], ''],
  ];
  for (const [target, source, fstype, flags, data] of expect) {
    assert.deepEqual(byTarget.get(target), { kind: 'mount', source, target, fstype, flags, data }, target);
  }
  // no mknod on a nodev /dev: an empty file each, with the host's node bound onto it
  assert.equal(kindIndex(d, 'mknod'), -1);
  const devAt = indexOf(d, (x) => x.kind === 'mount' && x.target === `${R}/dev`);
  const nodes = d.slice(devAt + 1, devAt + 13);
  assert.deepEqual(
    nodes,
    ['null', 'zero', 'full', 'random', 'urandom', 'tty'].flatMap((name): Directive[] => [
      { kind: 'touch', path: `${R}/dev/${name}` },
      { kind: 'mount', source: `/dev/${name}`, target: `${R}/dev/${name}`, fstype: '', flags: ['bind'], data: '' },
    ]),
  );
  const links = d.filter((x) => x.kind === 'symlink').map((x) => (x.kind === 'symlink' ? `${x.linkpath.slice(R.length)} -> ${x.target}` : ''));
  assert.deepEqual(links, [
    '/dev/ptmx -> pts/ptmx',
    '/dev/fd -> /proc/self/fd',
    '/dev/stdin -> /proc/self/fd/0',
    '/dev/stdout -> /proc/self/fd/1',
    '/dev/stderr -> /proc/self/fd/2',
    '/dev/core -> /proc/kcore',
  ]);
  // the links go into the new /dev tmpfs, after it is mounted
  assert.ok(devAt < kindIndex(d, 'symlink'));
});

test('cgroup v1: no cgroup2 mount at /sys/fs/cgroup', () => {
  const d = plan({}, mergedUsr, v1).directives;
  assert.ok(!mounts(d).some((m) => m.target.endsWith('/sys/fs/cgroup')));
});

test('volumes: created, bound recursively, remounted nodev (and ro for :ro) recursively; shallowest first (stable); after /dev and /sys', () => {
  const d = plan({
    volumes: [
      { source: '/srv/data/sub', target: '/data/sub/', readOnly: false, kind: 'dir' },
      { source: '/srv/data', target: '/data', readOnly: true, kind: 'dir' },
      { source: '/etc/hosts', target: '/etc/hosts', readOnly: true, kind: 'file' },
    ],
  }).directives;
  const sysAt = indexOf(d, (x) => x.kind === 'mount' && x.target === `${R}/sys`);
  const volumePart = d.slice(sysAt + 2, kindIndex(d, 'pivot-root'));
  assert.deepEqual(volumePart, [
    { kind: 'mkdir', path: `${R}/data`, mode: 0o755 },
    { kind: 'mount', source: '/srv/data', target: `${R}/data`, fstype: '', flags: ['bind', 'rec'], data: '' },
    { kind: 'remount', path: `${R}/data`, flags: ['nodev', 'ro', 'rec'] },
    { kind: 'mkdir', path: `${R}/data/sub`, mode: 0o755 },
    { kind: 'mount', source: '/srv/data/sub', target: `${R}/data/sub`, fstype: '', flags: ['bind', 'rec'], data: '' },
    { kind: 'remount', path: `${R}/data/sub`, flags: ['nodev', 'rec'] },
    { kind: 'mkdir', path: `${R}/etc`, mode: 0o755 },
    { kind: 'touch', path: `${R}/etc/hosts` },
    { kind: 'mount', source: '/etc/hosts', target: `${R}/etc/hosts`, fstype: '', flags: ['bind', 'rec'], data: '' },
    { kind: 'remount', path: `${R}/etc/hosts`, flags: ['nodev', 'ro', 'rec'] },
  ]);
});

test('a volume target with .. cannot leave the new root', () => {
  const d = plan({ volumes: [{ source: '/srv/data', target: '/../../etc', readOnly: false, kind: 'dir' }] }).directives;
  assert.ok(mounts(d).some((m) => m.source === '/srv/data' && m.target === `${R}/etc`));
});

test('pivot-root comes after every host-side mount; masks and read-only paths after it', () => {
  const d = plan({ volumes: [{ source: '/srv/data', target: '/data', readOnly: true, kind: 'dir' }] }).directives;
  const pivot = kindIndex(d, 'pivot-root');
  assert.deepEqual(d[pivot], { kind: 'pivot-root', root: R });
  for (const [i, x] of d.entries()) {
    if (i < pivot && 'path' in x) assert.ok(x.path.startsWith(R) || x.path.startsWith(DIR), `${x.kind} ${x.path} before pivot`);
    if (x.kind === 'mask' || (x.kind === 'readonly' && !x.path.startsWith(R))) assert.ok(i > pivot, `${x.kind} ${x.path} after pivot`);
  }
  const after = d.slice(pivot + 1);
  assert.deepEqual(
    after.filter((x) => x.kind === 'mask').map((x) => (x.kind === 'mask' ? x.path : '')),
    MASKED_PATHS,
  );
  assert.deepEqual(
    after.filter((x) => x.kind === 'readonly').map((x) => (x.kind === 'readonly' ? x.path : '')),
    READONLY_PATHS,
  );
  assert.ok(MASKED_PATHS.includes('/sys/devices/virtual/powercap') && MASKED_PATHS.includes('/proc/kcore'));
});

test('--read-only remounts the root and each system-directory overlay ro (keeping nodev), after pivot, and nothing else', () => {
  const pivot = (d: Directive[]) => kindIndex(d, 'pivot-root');
  const remounts = (d: Directive[]) => d.slice(pivot(d) + 1).flatMap((x) => (x.kind === 'remount' ? [[x.path, x.flags.join(',')]] : []));
  assert.deepEqual(remounts(plan().directives), []);
  const d = plan({ readOnly: true, volumes: [{ source: '/srv/data', target: '/data', readOnly: false, kind: 'dir' }] }, splitUsr).directives;
  assert.deepEqual(
    remounts(d),
    ['/', '/usr', '/etc', '/bin', '/sbin', '/lib', '/lib64'].map((t) => [t, 'ro']),
  );
  assert.ok(!mounts(d).some((m) => m.flags.includes('remount')), 'no bare bind,remount, which would clear nodev');
  assert.deepEqual(
    d.filter((x) => x.kind === 'remount' && x.path === `${R}/data`),
    [{ kind: 'remount', path: `${R}/data`, flags: ['nodev', 'rec'] }],
    'an rw volume stays rw',
  );
  assert.deepEqual(remounts(plan({ readOnly: true, rootfs: '/srv/alpine' }).directives), [['/', 'ro']]);
});

test('no mount the workload can write to lacks nodev, and no device node is made', () => {
  const volumes = [
    { source: '/srv/data', target: '/data', readOnly: false, kind: 'dir' as const },
    { source: '/srv/ro', target: '/ro', readOnly: true, kind: 'dir' as const },
    { source: '/etc/hosts', target: '/etc/hosts', readOnly: false, kind: 'file' as const },
  ];
  for (const d of [plan({ volumes }).directives, plan({ volumes, rootfs: '/srv/alpine' }, splitUsr, v1).directives]) {
    assert.equal(kindIndex(d, 'mknod'), -1);
    for (const m of mounts(d)) {
      if (m.flags.includes('rprivate')) continue;
      const what = `${m.source} on ${m.target} (${m.flags.join(',')})`;
      if (m.flags.includes('bind')) {
        // a host device node (its own mount stays devtmpfs), or a volume remounted nodev below
        const device = /^\/dev\/(null|zero|full|random|urandom|tty)$/.test(m.source) && m.target === `${R}${m.source}`;
        const remount = d.slice(d.indexOf(m) + 1).find((x) => x.kind === 'remount' && x.path === m.target);
        assert.ok(device || (remount?.kind === 'remount' && remount.flags.includes('nodev') && remount.flags.includes('rec')), what);
      } else if (m.fstype !== 'devpts') {
        // devpts makes its own nodes and refuses mknod
        assert.ok(m.flags.includes('nodev'), what);
      }
    }
  }
});

test('network none brings up lo; host does not, and keeps the host network namespace', () => {
  assert.equal(kindIndex(plan({ network: 'none' }).directives, 'loopback-up') > 0, true);
  const host = plan({ network: 'host' });
  assert.equal(kindIndex(host.directives, 'loopback-up'), -1);
  assert.ok(!host.header.namespaces.includes('net'));
  // sysfs is still mounted fresh: no user namespace, so nothing forbids it
  assert.ok(mounts(host.directives).some((m) => m.fstype === 'sysfs'));
});

test('the process part, in order, with exec last', () => {
  const d = plan({
    env: ['A=1', 'B=2', 'A=3'],
    workdir: '/srv/app/',
    user: { uid: 1000, gid: 100, additionalGids: [27] },
    capDrop: ['ALL'],
    capAdd: ['NET_BIND_SERVICE'],
    command: ['python3', '-m', 'http.server'],
  }).directives;
  const pivot = kindIndex(d, 'pivot-root');
  const tail = d.slice(pivot + 1 + MASKED_PATHS.length + READONLY_PATHS.length);
  assert.deepEqual(tail, [
    { kind: 'hostname', name: 'c1' },
    { kind: 'loopback-up' },
    { kind: 'env', entry: 'A=3' },
    { kind: 'env', entry: 'B=2' },
    { kind: 'env', entry: 'HOME=/' },
    { kind: 'cwd', path: '/srv/app' },
    { kind: 'user', uid: 1000, gid: 100, additionalGids: [27] },
    { kind: 'caps', mask: 1n << 10n },
    { kind: 'no-new-privs' },
    { kind: 'seccomp', program: compileSeccomp(dockerDefaultProfile(), { caps: 1n << 10n, kernel: KERNEL }) },
    { kind: 'exec', command: 'python3', argv: ['python3', '-m', 'http.server'] },
  ]);
  assert.ok(
    d.some((x) => x.kind === 'mkdir' && x.path === `${R}/srv/app`),
    'a missing workdir is created',
  );
  const root = plan().directives;
  assert.deepEqual(
    root.filter((x) => x.kind === 'env'),
    [
      { kind: 'env', entry: 'PATH=/usr/bin:/bin' },
      { kind: 'env', entry: 'HOSTNAME=c1' },
      { kind: 'env', entry: 'HOME=/root' },
    ],
  );
  assert.deepEqual(
    root.find((x) => x.kind === 'caps'),
    { kind: 'caps', mask: 0xa80425fbn },
  );
  assert.equal(root.at(-1)?.kind, 'exec');
});

test("seccomp: Docker's default profile for the container's capabilities, last before exec; unconfined: none; its own profile", () => {
  const seccompOf = (over: Partial<IsolationOptions>) => plan(over).directives.filter((x) => x.kind === 'seccomp');
  const withAdmin = compileSeccomp(dockerDefaultProfile(), { caps: 0xa80425fbn | (1n << 21n), kernel: KERNEL });
  assert.deepEqual(seccompOf({ capAdd: ['SYS_ADMIN'] }), [{ kind: 'seccomp', program: withAdmin }]);
  assert.deepEqual(seccompOf({ seccomp: { kind: 'builtin' } }), seccompOf({}));
  assert.deepEqual(seccompOf({ seccomp: { kind: 'unconfined' } }), []);
  assert.deepEqual(seccompOf({ seccomp: { kind: 'custom', profile: '{}' } }), []);
  const own = seccompOf({ seccomp: { kind: 'custom', profile: '{"defaultAction": "SCMP_ACT_LOG"}' } });
  assert.equal(own.length, 1);
  assert.deepEqual(own[0]?.program.at(-3), { code: 0x06, jt: 0, jf: 0, k: 0x7ffc0000 }, 'the default action, LOG');
  const d = plan().directives;
  assert.deepEqual(
    d.slice(-3).map((x) => x.kind),
    ['no-new-privs', 'seccomp', 'exec'],
  );
  assert.throws(
    () => plan({ seccomp: { kind: 'custom', profile: '{"defaultAction": "SCMP_ACT_NONE"}' } }),
    (err: unknown) =>
      err instanceof InvalidArgumentError &&
      err.flag === '--security-opt' &&
      err.message.startsWith('invalid value "seccomp=<profile>" for --security-opt: the profile: defaultAction: unknown action "SCMP_ACT_NONE"'),
  );
});

test('the whole plan encodes and decodes unchanged', () => {
  const spec = plan({ volumes: [{ source: '/srv/a b', target: '/x\ty', readOnly: true, kind: 'dir' }], readOnly: true });
  assert.deepEqual(decodeSpec(encodeSpec(spec.header, spec.directives)), spec);
});

const errors: { name: string; over: Partial<IsolationOptions>; host?: HostLayout; paths?: ContainerPaths; cgroup?: CgroupPlacement; error: RegExp | object }[] = [
  {
    name: 'a comma in --rootfs',
    over: { rootfs: '/srv/a,b' },
    error: {
      name: 'InvalidArgumentError',
      message: 'invalid value "/srv/a,b" for --rootfs: the path contains a comma, and overlayfs mount options cannot carry a comma, colon or backslash in a path',
    },
  },
  {
    name: 'a colon in --rootfs',
    over: { rootfs: '/srv/a:b' },
    error: { flag: '--rootfs', message: /the path contains a colon/ },
  },
  {
    name: 'a relative --rootfs',
    over: { rootfs: 'alpine' },
    error: { message: 'invalid value "alpine" for --rootfs: expected an absolute path to an existing directory' },
  },
  {
    name: 'a colon in the state directory',
    over: {},
    paths: { ...paths, upper: '/var/lib/cor:ral/upper' },
    error: {
      name: 'UnsupportedError',
      message:
        'overlayfs cannot use /var/lib/cor:ral/upper/root: the path contains a colon, and overlayfs mount options cannot carry a comma, colon or backslash in a path; use a state directory without them',
    },
  },
  {
    name: 'a comma in the skeleton path',
    over: {},
    host: { ...mergedUsr, skeleton: '/var/lib/a,b/skeleton' },
    error: { name: 'UnsupportedError', message: /overlayfs cannot use \/var\/lib\/a,b\/skeleton: the path contains a comma/ },
  },
  {
    name: 'a volume at /',
    over: { volumes: [{ source: '/srv', target: '/', readOnly: false, kind: 'dir' }] },
    error: { message: 'invalid value "/srv:/" for --volume: the container path cannot be /' },
  },
  {
    name: 'a volume over /proc/sys',
    over: { volumes: [{ source: '/srv', target: '/proc/sys', readOnly: true, kind: 'dir' }] },
    error: { flag: '--volume', value: '/srv:/proc/sys:ro', message: /\/proc\/sys is inside \/proc; only \/proc\/cpuinfo, / },
  },
  {
    name: 'a relative volume target',
    over: { volumes: [{ source: '/srv', target: 'data', readOnly: false, kind: 'dir' }] },
    error: { message: 'invalid value "/srv:data" for --volume: the container path must be absolute' },
  },
  {
    name: 'duplicate volume targets',
    over: {
      volumes: [
        { source: '/a', target: '/d', readOnly: false, kind: 'dir' },
        { source: '/b', target: '/d/', readOnly: false, kind: 'dir' },
      ],
    },
    error: { message: 'invalid value "/b:/d/" for --volume: duplicate mount point /d' },
  },
  { name: 'a relative workdir', over: { workdir: 'app' }, error: { message: 'invalid value "app" for --workdir: expected an absolute path inside the container' } },
  { name: 'an env entry without =', over: { env: ['FOO'] }, error: { message: 'invalid value "FOO" for --env: expected KEY=VALUE with a non-empty KEY' } },
  { name: 'an empty command', over: { command: [] }, error: { message: 'invalid value "" for COMMAND: a command to run is required' } },
  { name: 'an empty hostname', over: { hostname: '' }, error: { message: 'invalid value "" for --hostname: expected a host name of 1 to 64 characters' } },
  { name: 'a negative uid', over: { user: { uid: -1, gid: 0, additionalGids: [] } }, error: { flag: '--user', value: '-1:0' } },
  { name: 'an unknown capability', over: { capAdd: ['FLY'] }, error: { flag: '--cap-add', value: 'FLY' } },
  { name: 'cgroup-dir on v1', over: {}, cgroup: { mode: 'v1', dir: '/x', procsFiles: [] }, error: UnsupportedError },
];

for (const c of errors) {
  test(`planIsolation refuses ${c.name}`, () => {
    assert.throws(() => planIsolation(options(c.over), c.paths ?? paths, c.cgroup ?? v2, c.host ?? mergedUsr), c.error as never);
  });
}

test('user-input errors are InvalidArgumentErrors', () => {
  assert.throws(() => plan({ rootfs: '/a,b' }), InvalidArgumentError);
});

test('--ulimit and --oom-score-adj: rlimit and oom-score-adj directives after pivot-root, before user and caps (they need CAP_SYS_RESOURCE)', () => {
  const d = plan({
    ulimits: [
      { name: 'nofile', soft: 64, hard: 128 },
      { name: 'core', soft: 'unlimited', hard: 'unlimited' },
    ],
    oomScoreAdj: -500,
  }).directives;
  const limits = d.filter((x) => x.kind === 'rlimit' || x.kind === 'oom-score-adj');
  assert.deepEqual(limits, [
    { kind: 'rlimit', name: 'nofile', soft: 64, hard: 128 },
    { kind: 'rlimit', name: 'core', soft: 'unlimited', hard: 'unlimited' },
    { kind: 'oom-score-adj', value: -500 },
  ]);
  const first = kindIndex(d, 'rlimit');
  assert.ok(kindIndex(d, 'pivot-root') < first && kindIndex(d, 'oom-score-adj') < kindIndex(d, 'user') && kindIndex(d, 'oom-score-adj') < kindIndex(d, 'caps'));
  assert.equal(kindIndex(plan().directives, 'rlimit'), -1, 'none without the flags');
  // the spec file carries them and reads them back
  const spec = planIsolation(options({ ulimits: [{ name: 'nproc', soft: 10, hard: 'unlimited' }], oomScoreAdj: 1000 }), paths, v2, mergedUsr);
  const text = encodeSpec(spec.header, spec.directives);
  assert.match(text, /^rlimit\tnproc\t10\tunlimited$/m);
  assert.match(text, /^oom-score-adj\t1000$/m);
  assert.deepEqual(decodeSpec(text).directives, spec.directives);
});

test("--shm-size: the /dev/shm tmpfs's size= in bytes; Docker's 64MiB by default", () => {
  const shm = (d: Directive[]) => mounts(d).find((m) => m.target === `${R}/dev/shm`)!;
  assert.equal(shm(plan().directives).data, 'mode=1777,size=65536k');
  assert.equal(shm(plan({ shmSize: 128 * 1024 * 1024 }).directives).data, 'mode=1777,size=134217728');
  assert.deepEqual(shm(plan({ shmSize: 1 << 20 }).directives).flags, ['nosuid', 'nodev', 'noexec']);
});

test('--tmpfs: mounted among the volumes by depth, its flags and data as given; a duplicate, /, /proc or a mount without nodev refused', () => {
  const d = plan({
    volumes: [{ source: '/srv/data', target: '/run/data', readOnly: false, kind: 'dir' }],
    tmpfs: [{ target: '/run/', flags: ['noexec', 'nosuid', 'nodev'], data: 'size=1m' }],
  }).directives;
  const sysAt = indexOf(d, (x) => x.kind === 'mount' && x.target === `${R}/sys`);
  assert.deepEqual(d.slice(sysAt + 2, sysAt + 7), [
    { kind: 'mkdir', path: `${R}/run`, mode: 0o755 },
    { kind: 'mount', source: 'tmpfs', target: `${R}/run`, fstype: 'tmpfs', flags: ['noexec', 'nosuid', 'nodev'], data: 'size=1m' },
    { kind: 'mkdir', path: `${R}/run/data`, mode: 0o755 },
    { kind: 'mount', source: '/srv/data', target: `${R}/run/data`, fstype: '', flags: ['bind', 'rec'], data: '' },
    { kind: 'remount', path: `${R}/run/data`, flags: ['nodev', 'rec'] },
  ]);
  const t = (target: string, flags: ('noexec' | 'nosuid' | 'nodev')[] = ['nodev']) => ({ target, flags, data: '' });
  assert.throws(() => plan({ tmpfs: [t('/')] }), { message: 'invalid value "/" for --tmpfs: expected an absolute path inside the container, not /' });
  assert.throws(() => plan({ tmpfs: [t('/proc/x')] }), { message: 'invalid value "/proc/x" for --tmpfs: a tmpfs cannot cover /proc' });
  assert.throws(() => plan({ tmpfs: [t('/a'), t('/a/')] }), { message: 'invalid value "/a/" for --tmpfs: duplicate mount point /a' });
  assert.throws(() => plan({ volumes: [{ source: '/srv/data', target: '/a', readOnly: false, kind: 'dir' }], tmpfs: [t('/a')] }), {
    message: 'invalid value "/a" for --tmpfs: duplicate mount point /a',
  });
  assert.throws(() => plan({ tmpfs: [t('/a', ['noexec'])] }), { message: 'invalid value "/a" for --tmpfs: every mount the workload can write to is nodev' });
});

test('--init: an init directive last before exec (after seccomp), none without it; in the spec file and back', () => {
  const d = plan({ init: true }).directives;
  assert.equal(kindIndex(d, 'init'), d.length - 2);
  assert.equal(d[d.length - 1]!.kind, 'exec');
  assert.ok(kindIndex(d, 'seccomp') < kindIndex(d, 'init'));
  assert.equal(kindIndex(plan().directives, 'init'), -1);
  const spec = planIsolation(options({ init: true }), paths, v2, mergedUsr);
  const text = encodeSpec(spec.header, spec.directives);
  assert.match(text, /^init\nexec\t/m);
  assert.deepEqual(decodeSpec(text).directives, spec.directives);
});
