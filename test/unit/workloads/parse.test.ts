import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWorkloads, WorkloadsFileError, type WorkloadsFile } from '../../../src/workloads/parse.js';
import { splitShellWords } from '../../../src/workloads/shellwords.js';

const ENV: Record<string, string> = { HOME: '/root', TOKEN: 's3cret' };
const parse = (text: string): WorkloadsFile => parseWorkloads(text, { file: 'w.yml', dir: '/srv/app', getEnv: (n) => ENV[n] });
const body = (text: string, service = 'web') => parse(text).services.find((s) => s.name === service)!.body;

/** The problems of a file that must be refused, as the lines the user sees. */
function problems(text: string): string[] {
  try {
    parse(text);
  } catch (err) {
    assert.ok(err instanceof WorkloadsFileError, String(err));
    assert.equal(err.message, err.problems.map((p) => `w.yml:${p.line}:${p.column}: ${p.path === '' ? '' : `${p.path}: `}${p.reason}`).join('\n'));
    return err.message.split('\n');
  }
  assert.fail(`accepted:\n${text}`);
}

const SIZE = 'expected a number of bytes with an optional unit b, k, m, g, t or p (binary multiples, e.g. 512m)';

test('every field becomes its Docker create body field', () => {
  const text = `
services:
  web:
    command: [sh, -c, 'echo hi', 3]
    rootfs: ./rootfs
    environment: [A=1, B=, HOME, UNSET, C=x=y]
    volumes: ["/data:/data", "./cache:/cache:ro", "../logs:/logs:rw"]
    hostname: web-1
    restart: on-failure:5
    mem_limit: 64m
    memswap_limit: 128M
    mem_reservation: 1g
    cpus: 0.50
    cpu_shares: 512
    cpuset: 0-1
    pids_limit: 100
    cgroup_parent: corral/batch
`;
  assert.deepEqual(body(text), {
    Image: '/srv/app/rootfs',
    Cmd: ['sh', '-c', 'echo hi', '3'],
    Env: ['A=1', 'B=', 'HOME=/root', 'C=x=y'],
    Hostname: 'web-1',
    HostConfig: {
      Binds: ['/data:/data', '/srv/app/cache:/cache:ro', '/srv/logs:/logs:rw'],
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 },
      Memory: 64 << 20,
      MemorySwap: 128 << 20,
      MemoryReservation: 1 << 30,
      NanoCpus: 500_000_000,
      CpuShares: 512,
      CpusetCpus: '0-1',
      PidsLimit: 100,
      CgroupParent: 'corral/batch',
    },
  });
});

test("Compose's forms: a string command split into words, environment as a map, deploy.resources, plain numbers", () => {
  const text = `
services:
  web:
    command: sh -c 'echo "a  b"' \\$HOME "x\\"y"
    environment:
      A: 1
      B: true
      C: "007"
      TOKEN:
      NOPE: ~
    memswap_limit: -1
    deploy:
      resources:
        limits: {cpus: '1.5', memory: 33554432, pids: 50}
        reservations: {memory: 16m}
`;
  assert.deepEqual(body(text), {
    Image: 'host',
    Cmd: ['sh', '-c', 'echo "a  b"', '$HOME', 'x"y'],
    Env: ['A=1', 'B=true', 'C=007', 'TOKEN=s3cret'],
    HostConfig: { MemorySwap: -1, NanoCpus: 1_500_000_000, Memory: 32 << 20, PidsLimit: 50, MemoryReservation: 16 << 20 },
  });
  // restart: no is the string "no" in YAML 1.2; each policy and Compose's restart names
  for (const [policy, want] of [
    ['no', { Name: 'no', MaximumRetryCount: 0 }],
    ['always', { Name: 'always', MaximumRetryCount: 0 }],
    ['unless-stopped', { Name: 'unless-stopped', MaximumRetryCount: 0 }],
    ['on-failure', { Name: 'on-failure', MaximumRetryCount: 0 }],
  ] as const) {
    assert.deepEqual((body(`services:\n  web:\n    command: [x]\n    restart: ${policy}\n`).HostConfig as Record<string, unknown>).RestartPolicy, want);
  }
  // rootfs: host is the host's system directories, as the API's Image
  assert.equal(body('services:\n  web:\n    rootfs: host\n    command: [x]\n').Image, 'host');
});

test("the top level: name, version and x- keys; aliases resolve; services keep the file's order", () => {
  const file = parse(`
version: "3.9"
name: shop
x-limits: &mem 64m
services:
  web: {command: [a], mem_limit: *mem}
  a: {command: [b]}
`);
  assert.equal(file.name, 'shop');
  assert.deepEqual(
    file.services.map((s) => s.name),
    ['web', 'a'],
  );
  assert.equal((file.services[0]!.body.HostConfig as Record<string, unknown>).Memory, 64 << 20);
  assert.deepEqual(file.services[0]!.origins['HostConfig.Memory'], { line: 6, column: 23, path: 'services.web.mem_limit', text: '64m' });
});

test('positions: each body field and each list item remembers its key, line and column', () => {
  const svc = parse('services:\n  web:\n    command: [x]\n    volumes:\n      - /a:/a\n      - ./b:/b:ro\n').services[0]!;
  assert.deepEqual(svc.at, { line: 2, column: 3, path: 'services.web', text: '' });
  assert.deepEqual(svc.origins.Cmd, { line: 3, column: 5, path: 'services.web.command', text: '' });
  assert.deepEqual(
    svc.itemOrigins['HostConfig.Binds']!.map((i) => [i.value, i.origin.line, i.origin.column, i.origin.path, i.origin.text]),
    [
      ['/a:/a', 5, 9, 'services.web.volumes[0]', '/a:/a'],
      ['/srv/app/b:/b:ro', 6, 9, 'services.web.volumes[1]', './b:/b:ro'],
    ],
  );
});

test('bad values: file, line, column, path and reason, every problem at once', () => {
  const text = [
    'services:', //                     1
    '  web:', //                        2
    '    command: [sleep, 1]', //       3
    '    mem_limit: 12q', //            4
    '    cpus: 1.2.3', //               5
    '    restart: sometimes', //        6
    '    pids_limit: many', //          7
    '    volumes: [data:/x, /a, "/a:/b:z"]', // 8
    '    memswap: 1g', //               9
    '    environment: {A: [1]}', //     10
    '  db:', //                         11
    '    command: "a; b"', //           12
    '    mem_limit: 1g', //             13
    '    deploy: {resources: {limits: {memory: 2g}, reservations: {cpus: 1}}}', // 14
    '  "bad name!": {command: [x]}', // 15
    '  ok: {command: [x], cpu_shares: true, cpuset: [0]}', // 16
    '  empty:', //                      17
  ].join('\n');
  assert.deepEqual(problems(text), [
    `w.yml:4:5: services.web.mem_limit: invalid value "12q": unknown unit "q"; ${SIZE}`,
    'w.yml:5:5: services.web.cpus: invalid value "1.2.3": expected a number of CPUs such as 0.5 or 2, with at most 9 decimal places',
    'w.yml:6:5: services.web.restart: invalid value "sometimes": expected no, always, unless-stopped, on-failure or on-failure:N (N the most restarts)',
    'w.yml:7:5: services.web.pids_limit: invalid value "many": expected a number of processes, or -1 for no limit',
    'w.yml:8:15: services.web.volumes[0]: invalid volume "data:/x": "data" would be a named volume, which corral does not have: give a host path (absolute, or starting with ./ for one relative to the file)',
    'w.yml:8:24: services.web.volumes[1]: invalid volume "/a": expected HOST:CONTAINER[:ro|rw] (anonymous volumes are not supported)',
    'w.yml:8:28: services.web.volumes[2]: invalid volume "/a:/b:z": the mode "z" is not supported: expected ro or rw',
    'w.yml:9:5: services.web.memswap: unknown key "memswap": expected one of command, entrypoint, rootfs, environment, volumes, hostname, restart, mem_limit, memswap_limit, mem_reservation, cpus, cpu_shares, cpuset, pids_limit, cgroup_parent, stop_signal, stop_grace_period, ulimits, oom_score_adj, shm_size, tmpfs, mem_swappiness, oom_kill_disable, init, deploy',
    'w.yml:10:19: services.web.environment.A: expected a string, a number or a boolean, not a list',
    'w.yml:12:5: services.db.command: invalid command "a; b": the shell operator ";" needs a shell: write the command as a list, e.g. [sh, -c, "..."]',
    'w.yml:14:35: services.db.deploy.resources.limits.memory: services.db.mem_limit (line 13) already sets this to "1g": give one of them, or the same value',
    'w.yml:14:63: services.db.deploy.resources.reservations.cpus: unknown key "cpus": expected one of memory',
    'w.yml:15:3: services."bad name!": invalid service name "bad name!": expected [a-zA-Z0-9][a-zA-Z0-9_.-]* (Docker\'s rule for names)',
    'w.yml:16:22: services.ok.cpu_shares: expected a relative weight such as 512 (the default is 1024), not true',
    'w.yml:16:40: services.ok.cpuset: expected a list of CPUs such as 0-1,3, not a list',
    "w.yml:17:3: services.empty: expected a mapping of the service's fields, not an empty value",
  ]);
});

test('bad structure: YAML errors, duplicate keys, unknown top-level keys, merge keys, long volume syntax', () => {
  assert.deepEqual(problems('services:\n  web:\n    command: [x\n'), ['w.yml:4:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]']);
  assert.deepEqual(problems('services:\n  web: {command: [x]}\n  web: {command: [y]}\n'), ['w.yml:3:3: services.web: given twice (first on line 2)']);
  assert.deepEqual(problems('networks: {}\nservices:\n  web: {command: [x]}\n'), ['w.yml:1:1: networks: unknown key "networks": expected one of services, name, version, x-…']);
  assert.deepEqual(problems('x-a: &a {mem_limit: 8m}\nservices:\n  web:\n    <<: *a\n    command: [x]\n'), [
    'w.yml:4:5: services.web."<<": merge keys (<<) are not supported: repeat the fields, or use an alias (*name) for a whole value',
  ]);
  assert.deepEqual(problems('services:\n  web:\n    command: [x]\n    volumes:\n      - type: bind\n'), [
    'w.yml:4:5: services.web.volumes: only the short syntax HOST:CONTAINER[:ro|rw] is supported, not the long (mapping) syntax',
  ]);
  assert.deepEqual(problems('- a\n'), ['w.yml:1:1: expected a mapping with "services", not a list']);
  assert.deepEqual(problems('name: shop\n'), ['w.yml:1:1: no "services": the file must have a services mapping']);
  assert.deepEqual(problems('name: Shop\nservices: {}\n'), ['w.yml:1:1: name: invalid project name "Shop": expected [a-z0-9][a-z0-9_-]* (Compose\'s rule)']);
  assert.deepEqual(problems('services: [web]\n'), ['w.yml:1:1: services: expected a mapping of services, not a list']);
  assert.deepEqual(problems('services:\n  web:\n    command: {a: b}\n'), ['w.yml:3:5: services.web.command: expected a command as a list of words or a string, not a mapping']);
  assert.deepEqual(problems('services:\n  web:\n    command: [x]\n    deploy: {replicas: 2}\n'), ['w.yml:4:14: services.web.deploy.replicas: unknown key "replicas": expected one of resources']);
});

test('string commands are split as Compose splits them (go-shellwords), without expansion', () => {
  const table: [string, string[]][] = [
    ['sleep 10', ['sleep', '10']],
    ['  a   b\tc\n', ['a', 'b', 'c']],
    [`sh -c 'echo "$HOME"'`, ['sh', '-c', 'echo "$HOME"']],
    ['echo "a \\"b\\" \\$c \\n"', ['echo', 'a "b" $c \\n']],
    ['a\\ b c', ['a b', 'c']],
    [`x'y'"z"`, ['xyz']],
    [`''`, ['']],
    ['a "|" \\;', ['a', '|', ';']],
    ['', []],
  ];
  for (const [text, words] of table) assert.deepEqual(splitShellWords(text), { ok: true, words }, text);
  assert.deepEqual(splitShellWords(`echo 'a`), { ok: false, reason: 'unterminated single quote' });
  assert.deepEqual(splitShellWords('echo "a'), { ok: false, reason: 'unterminated double quote' });
  assert.deepEqual(splitShellWords('echo a\\'), { ok: false, reason: 'the string ends with a lone backslash' });
  for (const op of [';', '&', '|', '<', '>']) assert.equal(splitShellWords(`a ${op} b`).ok, false, op);
});

test("entrypoint (a list, or a string split as Compose splits it), stop_signal and stop_grace_period (Compose's duration, in whole seconds)", () => {
  const text = `
services:
  web:
    entrypoint: "sh -c"
    command: ['echo hi']
    stop_signal: SIGUSR1
    stop_grace_period: 1m30s
  db:
    entrypoint: [/bin/db, --serve]
    stop_grace_period: 2500ms
`;
  assert.deepEqual(body(text), { Image: 'host', Entrypoint: ['sh', '-c'], Cmd: ['echo hi'], StopSignal: 'SIGUSR1', StopTimeout: 90 });
  assert.deepEqual(body(text, 'db'), { Image: 'host', Entrypoint: ['/bin/db', '--serve'], StopTimeout: 2 });
  assert.deepEqual(problems('services:\n  web:\n    command: [x]\n    stop_grace_period: soon\n'), [
    'w.yml:4:5: services.web.stop_grace_period: invalid value "soon": expected a duration such as 30s or 1m30s, at most 24h',
  ]);
});

test('ulimits (a limit, or soft and hard), oom_score_adj, shm_size and tmpfs (one, or a list) as Compose writes them', () => {
  const text = `
services:
  web:
    command: [x]
    ulimits:
      nproc: 65535
      nofile: {soft: 20000, hard: 40000}
    oom_score_adj: -200
    shm_size: 128m
    tmpfs: /run
  db:
    command: [x]
    tmpfs: [/tmp, "/cache:size=1m,mode=700"]
`;
  assert.deepEqual(body(text).HostConfig, {
    Ulimits: [
      { Name: 'nproc', Soft: 65535, Hard: 65535 },
      { Name: 'nofile', Soft: 20000, Hard: 40000 },
    ],
    OomScoreAdj: -200,
    ShmSize: 128 << 20,
    Tmpfs: { '/run': '' },
  });
  assert.deepEqual(body(text, 'db').HostConfig, { Tmpfs: { '/tmp': '', '/cache': 'size=1m,mode=700' } });
  assert.deepEqual(problems('services:\n  web:\n    command: [x]\n    ulimits: {nofile: {soft: 1}}\n'), ['w.yml:4:15: services.web.ulimits.nofile: expected both soft and hard']);
});

test('init and oom_kill_disable: true or false, as Compose takes them', () => {
  assert.deepEqual(body('services:\n  web:\n    command: [x]\n    init: true\n    oom_kill_disable: true\n').HostConfig, { Init: true, OomKillDisable: true });
  assert.deepEqual(problems('services:\n  web:\n    command: [x]\n    init: yes please\n'), ['w.yml:4:5: services.web.init: expected true or false, not "yes please"']);
});
