import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../../src/errors.js';
import { decodeSpec, encodeSpec, escapeField, SpecEncodeError, unescapeField, type Directive, type SpecHeader } from '../../../src/isolate/spec.js';

const header: SpecHeader = {
  version: 1,
  namespaces: ['pid', 'mount', 'uts', 'ipc', 'net', 'cgroup'],
  cgroupDir: '/sys/fs/cgroup/corral/abc',
  cgroupProcs: ['/sys/fs/cgroup/corral/abc/cgroup.procs'],
  stateDir: '/var/lib/corral/containers/abc',
};

const body: Directive[] = [
  { kind: 'mount', source: '', target: '/', fstype: '', flags: ['rprivate'], data: '' },
  { kind: 'mkdir', path: '/s/upper/root', mode: 0o755 },
  { kind: 'mount', source: 'overlay', target: '/s/rootfs', fstype: 'overlay', flags: [], data: 'lowerdir=/r,upperdir=/u,workdir=/w' },
  { kind: 'touch', path: '/s/rootfs/etc/x' },
  { kind: 'mknod', path: '/s/rootfs/dev/null', type: 'c', major: 1, minor: 3, mode: 0o666 },
  { kind: 'symlink', target: '/proc/self/fd', linkpath: '/s/rootfs/dev/fd' },
  { kind: 'pivot-root', root: '/s/rootfs' },
  { kind: 'mask', path: '/proc/kcore' },
  { kind: 'readonly', path: '/proc/sys' },
  { kind: 'remount', path: '/data', flags: ['nodev', 'ro', 'rec'] },
  { kind: 'remount', path: '/', flags: [] },
  { kind: 'hostname', name: 'box' },
  { kind: 'loopback-up' },
  { kind: 'env', entry: 'A=tab\there\\and\nnewline' },
  { kind: 'env', entry: 'EMPTY=' },
  { kind: 'cwd', path: '/' },
  { kind: 'user', uid: 1000, gid: 1000, additionalGids: [5, 27] },
  { kind: 'caps', mask: 0xa80425fbn },
  { kind: 'no-new-privs' },
  {
    kind: 'seccomp',
    program: [
      { code: 0x20, jt: 0, jf: 0, k: 4 },
      { code: 0x15, jt: 1, jf: 0, k: 0xc000003e },
      { code: 0x06, jt: 0, jf: 0, k: 0x80000000 },
      { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 },
    ],
  },
  { kind: 'exec', command: 'sh', argv: ['sh', '-c', 'echo "a\tb"', ''] },
];

test('encodeSpec writes the header first, one directive a line, TAB-separated', () => {
  const text = encodeSpec(header, body);
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'every line ends with a newline');
  assert.deepEqual(lines.slice(0, 5), [
    'version\t1',
    'namespaces\tpid,mount,uts,ipc,net,cgroup',
    'cgroup-dir\t/sys/fs/cgroup/corral/abc',
    'cgroup-procs\t/sys/fs/cgroup/corral/abc/cgroup.procs',
    'state-dir\t/var/lib/corral/containers/abc',
  ]);
  assert.ok(lines.includes('mount\t\t/\t\trprivate\t'), 'empty fields are kept');
  assert.ok(lines.includes('mkdir\t/s/upper/root\t0755'));
  assert.ok(lines.includes('mknod\t/s/rootfs/dev/null\tc\t1\t3\t0666'));
  assert.ok(lines.includes('loopback-up'));
  assert.ok(lines.includes('remount\t/data\tnodev,ro,rec'));
  assert.ok(lines.includes('remount\t/\t'), 'an empty flag list is an empty field');
  assert.ok(lines.includes('env\tA=tab\\there\\\\and\\nnewline'));
  assert.ok(lines.includes('user\t1000\t1000\t5,27'));
  assert.ok(lines.includes('caps\t00000000a80425fb'));
  // 16 hex digits an instruction: code, jt, jf, k
  assert.ok(lines.includes(`seccomp\t${['0020000000000004', '00150100c000003e', '0006000080000000', '000600007fff0000'].join('')}`));
  assert.equal(lines.at(-1), 'exec\tsh\tsh\t-c\techo "a\\tb"\t');
});

test('decodeSpec(encodeSpec(x)) is x', () => {
  assert.deepEqual(decodeSpec(encodeSpec(header, body)), { header, directives: body });
  const minimal: SpecHeader = { version: 1, namespaces: ['pid'], cgroupProcs: [] };
  const exec: Directive[] = [{ kind: 'exec', command: '/bin/true', argv: ['true'] }];
  assert.deepEqual(decodeSpec(encodeSpec(minimal, exec)), { header: minimal, directives: exec });
  const terminal: SpecHeader = { ...minimal, tty: true, stdin: '/state/c/stdin', control: '/state/c/control' };
  const text = encodeSpec(terminal, exec);
  assert.match(text, /^tty\nstdin\t\/state\/c\/stdin\ncontrol\t\/state\/c\/control\nexec/m);
  assert.deepEqual(decodeSpec(text), { header: terminal, directives: exec });
  assert.throws(() => encodeSpec({ ...minimal, stdin: 'relative' }, exec), /stdin.*not absolute/);
});

test('escaping: backslash, TAB and newline only, and back', () => {
  const table: [string, string][] = [
    ['plain', 'plain'],
    ['a\\b', 'a\\\\b'],
    ['a\tb', 'a\\tb'],
    ['a\nb', 'a\\nb'],
    ['\\t', '\\\\t'],
    ['\\\n\t', '\\\\\\n\\t'],
    ['r\rq"\'', 'r\rq"\''],
    ['', ''],
  ];
  for (const [raw, escaped] of table) {
    assert.equal(escapeField(raw), escaped);
    assert.equal(unescapeField(escaped), raw);
  }
  assert.equal(unescapeField('a\\x'), undefined);
  assert.equal(unescapeField('trailing\\'), undefined);
});

test('a field with a NUL byte is refused, naming the directive and the field', () => {
  assert.throws(
    () => encodeSpec(header, [{ kind: 'exec', command: 'sh', argv: ['sh', 'a\0b'] }]),
    (error: unknown) => {
      assert.ok(error instanceof SpecEncodeError);
      assert.equal(error.code, 'ESPECENCODE');
      assert.equal(error.message, 'encode launcher spec: exec directive: field 3 "a\\0b" contains a NUL byte, which the launcher\'s C strings cannot carry');
      return true;
    },
  );
  assert.throws(() => encodeSpec(header, [{ kind: 'env', entry: 'A=\0' }]), SpecEncodeError);
  assert.throws(() => encodeSpec({ ...header, stateDir: '/x\0' }, []), /state-dir directive: field 1/);
});

test('encodeSpec refuses what the launcher would misread', () => {
  const refused: [Directive[], RegExp][] = [
    [[{ kind: 'exec', command: 'a', argv: ['a'] }, { kind: 'no-new-privs' }], /exec directive: it must be the last directive, but 1 directive\(s\) follow it/],
    [[{ kind: 'exec', command: 'a', argv: [] }], /argv is empty/],
    [[{ kind: 'mkdir', path: '/x', mode: 0o10000 }], /mode 4096 is not between 0 and 07777/],
    [[{ kind: 'user', uid: -1, gid: 0, additionalGids: [] }], /uid -1 is not between 0 and 4294967294/],
    [[{ kind: 'user', uid: 0, gid: 0, additionalGids: [1.5] }], /gid 1.5 is not/],
    [[{ kind: 'mknod', path: '/x', type: 'c', major: 1 << 20, minor: 0, mode: 0o666 }], /major 1048576/],
    [[{ kind: 'mount', source: '', target: '/', fstype: '', flags: ['rbind' as never], data: '' }], /unknown mount flag "rbind"/],
    [[{ kind: 'remount', path: '/x', flags: ['bind' as never] }], /remount directive: unknown remount flag "bind"/],
    [[{ kind: 'seccomp', program: [] }], /seccomp directive: a filter has 1 to 4096 instructions, not 0/],
    [[{ kind: 'seccomp', program: [{ code: 6, jt: 256, jf: 0, k: 0 }] }], /seccomp directive: instruction 0 \{"code":6,"jt":256,"jf":0,"k":0\} has a field out of its range/],
  ];
  for (const [directives, message] of refused) assert.throws(() => encodeSpec(header, directives), message);
});

test('decodeSpec rejects malformed text with a ParseError quoting the line', () => {
  const bad: [string, string][] = [
    ['namespaces\tpid\nversion\t1\n', 'namespaces\tpid'],
    ['version\t2\n', 'version\t2'],
    ['version\t1\nfrobnicate\tx\n', 'frobnicate\tx'],
    ['version\t1\nmkdir\t/x\n', 'mkdir\t/x'],
    ['version\t1\nmkdir\t/x\t999\n', 'mkdir\t/x\t999'],
    ['version\t1\nenv\tA=\\q\n', 'env\tA=\\q'],
    ['version\t1\n\nexec\ta\ta\n', ''],
    ['version\t1\nexec\ta\ta\nno-new-privs\n', 'no-new-privs'],
    ['version\t1\nmount\t\t/\t\trbind\t\n', 'mount\t\t/\t\trbind\t'],
    ['version\t1\nremount\t/x\tnodev,private\n', 'remount\t/x\tnodev,private'],
    ['version\t1\nremount\t/x\n', 'remount\t/x'],
    ['version\t1\nnamespaces\tpid,time\n', 'namespaces\tpid,time'],
    ['version\t1\nseccomp\t002000000000000\n', 'seccomp\t002000000000000'],
    ['version\t1\nseccomp\t0020000000000004X000000000000000\n', 'seccomp\t0020000000000004X000000000000000'],
  ];
  for (const [text, line] of bad) {
    assert.throws(
      () => decodeSpec(text),
      (error: unknown) => error instanceof ParseError && error.line === line,
      JSON.stringify(text),
    );
  }
});

test('decodeSpec takes header directives from any line, as the launcher does', () => {
  const spec = decodeSpec('version\t1\nhostname\tx\nnamespaces\tpid,net\ncgroup-procs\t/a\ncgroup-procs\t/b\nexec\tsh\tsh\n');
  assert.deepEqual(spec.header, { version: 1, namespaces: ['pid', 'net'], cgroupProcs: ['/a', '/b'] });
  assert.deepEqual(
    spec.directives.map((d) => d.kind),
    ['hostname', 'exec'],
  );
});

test('detach and log: encoded after state-dir, decoded back', () => {
  const detached: SpecHeader = { ...header, detach: true, log: { path: '/var/lib/corral/containers/abc/container.log', maxSize: 10_485_760, maxFiles: 3 } };
  const exec: Directive[] = [{ kind: 'exec', command: 'true', argv: ['true'] }];
  const lines = encodeSpec(detached, exec).split('\n');
  assert.deepEqual(lines.slice(4, 7), ['state-dir\t/var/lib/corral/containers/abc', 'detach', 'log\t/var/lib/corral/containers/abc/container.log\t10485760\t3']);
  assert.deepEqual(decodeSpec(encodeSpec(detached, exec)), { header: detached, directives: exec });
  // detach: false writes nothing
  assert.ok(!encodeSpec({ ...header, detach: false }, exec).includes('detach'));
});

test('detach and log: refused as the launcher would refuse them', () => {
  const exec: Directive[] = [{ kind: 'exec', command: 'true', argv: ['true'] }];
  const log = { path: '/l/c.log', maxSize: 0, maxFiles: 1 };
  const refused: [SpecHeader, string][] = [
    [{ ...header, stateDir: undefined, detach: true }, 'encode launcher spec: detach directive: it needs a state directory (the exit status goes only there)'],
    [{ ...header, log: { ...log, path: 'c.log' } }, 'encode launcher spec: log directive: path "c.log" is not absolute'],
    [{ ...header, log: { ...log, maxSize: -1 } }, 'encode launcher spec: log directive: max-size -1 is not a whole number of bytes'],
    [{ ...header, log: { ...log, maxFiles: 0 } }, 'encode launcher spec: log directive: max-file 0 is not between 1 and 99999'],
    [{ ...header, log: { ...log, maxFiles: 100_000 } }, 'encode launcher spec: log directive: max-file 100000 is not between 1 and 99999'],
  ];
  for (const [h, message] of refused) assert.throws(() => encodeSpec(h, exec), { code: 'ESPECENCODE', message });
  for (const text of ['log\t/l\t0', 'log\t/l\t0\t0', 'log\t/l\t1k\t1', 'detach\tx']) {
    assert.throws(
      () => decodeSpec(`version\t1\n${text}\nexec\ta\ta\n`),
      (e: unknown) => e instanceof ParseError && e.line === text,
      text,
    );
  }
});

test('join: encoded after the other header directives, decoded back', () => {
  const joining: SpecHeader = {
    version: 1,
    namespaces: [],
    cgroupProcs: ['/sys/fs/cgroup/pids/corral/abc/cgroup.procs'],
    join: { pid: 4242, startTime: '1082876', namespaces: ['user', 'ipc', 'uts', 'net', 'pid', 'mount', 'cgroup'] },
  };
  const exec: Directive[] = [
    { kind: 'cwd', path: '/tmp' },
    { kind: 'exec', command: 'ps', argv: ['ps'] },
  ];
  assert.deepEqual(encodeSpec(joining, exec).split('\n'), [
    'version\t1',
    'namespaces\t',
    'cgroup-procs\t/sys/fs/cgroup/pids/corral/abc/cgroup.procs',
    'join\t4242\t1082876\tuser,ipc,uts,net,pid,mount,cgroup',
    'cwd\t/tmp',
    'exec\tps\tps',
    '',
  ]);
  assert.deepEqual(decodeSpec(encodeSpec(joining, exec)), { header: joining, directives: exec });
});

test('join: refused as the launcher would refuse it', () => {
  const exec: Directive[] = [{ kind: 'exec', command: 'true', argv: ['true'] }];
  const target = { pid: 7, startTime: '99', namespaces: ['mount' as const] };
  const refused: [SpecHeader['join'], string][] = [
    [{ ...target, pid: 0 }, 'encode launcher spec: join directive: pid 0 is not between 1 and 2147483647'],
    [{ ...target, startTime: '-1' }, 'encode launcher spec: join directive: start time "-1" is not a number of clock ticks'],
    [{ ...target, namespaces: ['pid'] }, 'encode launcher spec: join directive: the namespaces must include mount'],
    [{ ...target, namespaces: ['mount', 'time' as 'pid'] }, 'encode launcher spec: join directive: unknown namespace "time"'],
  ];
  for (const [join, message] of refused) assert.throws(() => encodeSpec({ version: 1, namespaces: [], cgroupProcs: [], join }, exec), { code: 'ESPECENCODE', message });
  for (const text of ['join\t1\t2', 'join\tx\t2\tmount', 'join\t1\tx\tmount', 'join\t1\t2\tmount,time']) {
    assert.throws(
      () => decodeSpec(`version\t1\n${text}\nexec\ta\ta\n`),
      (e: unknown) => e instanceof ParseError && e.line === text,
      text,
    );
  }
});

test('rlimit, oom-score-adj and init: encoded as the launcher reads them, refused as it would refuse them', () => {
  const text = encodeSpec(header, [
    { kind: 'rlimit', name: 'nofile', soft: 64, hard: 'unlimited' },
    { kind: 'oom-score-adj', value: -1000 },
    { kind: 'init' },
    { kind: 'exec', command: 'a', argv: ['a'] },
  ]);
  assert.match(text, /\nrlimit\tnofile\t64\tunlimited\noom-score-adj\t-1000\ninit\nexec\ta\ta\n$/);
  const refused: [Directive[], RegExp][] = [
    [[{ kind: 'rlimit', name: 'files' as never, soft: 1, hard: 1 }], /rlimit directive: unknown name "files"/],
    [[{ kind: 'rlimit', name: 'nofile', soft: 2, hard: 1 }], /rlimit directive: nofile: the soft limit 2 is above the hard limit 1/],
    [[{ kind: 'rlimit', name: 'nofile', soft: 'unlimited', hard: 1 }], /the soft limit unlimited is above the hard limit 1/],
    [[{ kind: 'rlimit', name: 'core', soft: -1, hard: 'unlimited' }], /rlimit directive: core value -1 is not a whole number or unlimited/],
    [[{ kind: 'oom-score-adj', value: 1001 }], /oom-score-adj directive: 1001 is not between -1000 and 1000/],
  ];
  for (const [directives, message] of refused) assert.throws(() => encodeSpec(header, [...directives, { kind: 'exec', command: 'a', argv: ['a'] }]), message);
  assert.throws(() => decodeSpec('version\t1\nnamespaces\t\nrlimit\tnofile\tmany\t1\nexec\ta\ta\n'), { name: 'ParseError' });
});
