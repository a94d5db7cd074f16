import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runConfigFromBody } from '../../../src/container/config/body.js';
import type { HostFacts } from '../../../src/container/config/run-flags.js';
import { parseWorkloads, WorkloadsFileError } from '../../../src/workloads/parse.js';
import { containerName, desiredServices, LABEL_FILE, LABEL_HASH, LABEL_PROJECT, LABEL_SERVICE, projectName, serviceHash } from '../../../src/workloads/service.js';
import { validateServices } from '../../../src/workloads/validate.js';

const facts: HostFacts = {
  onlineCpus: 2,
  effectiveCpus: [0, 1],
  effectiveMems: [0],
  deviceNumber: () => undefined,
  pathKind: (p) => (p === '/srv/app/rootfs' || p === '/srv/app/data' ? 'dir' : undefined),
  getEnv: () => undefined,
};

/** Parse and validate a file with create's own checks (run-flags) and fake host facts. */
async function check(text: string): Promise<string[]> {
  const file = parseWorkloads(text, { file: 'w.yml', dir: '/srv/app', getEnv: () => undefined });
  const desired = desiredServices('app', '/srv/app/w.yml', file);
  try {
    await validateServices('w.yml', file.services, desired, (body, name) => runConfigFromBody(body, name, facts));
    return [];
  } catch (err) {
    assert.ok(err instanceof WorkloadsFileError, String(err));
    return err.message.split('\n');
  }
}

test("values create refuses are reported at their key, as written, in the file's words, every service at once", async () => {
  const text = [
    'services:', //                                  1
    '  web:', //                                     2
    '    command: [sleep, "1"]', //                  3
    '    rootfs: ./rootfs', //                       4
    '    mem_limit: 1m', //                          5
    '  db:', //                                      6
    '    command: [x]', //                           7
    '    cpus: 5', //                                8
    '  cache:', //                                   9
    '    command: [x]', //                           10
    '    mem_limit: 64m', //                         11
    '    mem_reservation: 128m', //                  12
    '  files:', //                                   13
    '    command: [x]', //                           14
    '    volumes: [./data:/data, ./missing:/m]', //  15
    '  nocmd:', //                                   16
    '    rootfs: ./rootfs', //                       17
    '  limits:', //                                  18
    '    command: [x]', //                           19
    '    deploy: {resources: {limits: {memory: 3m}}}', // 20
    '  host:', //                                    21
    '    command: [x]', //                           22
    '    hostname: -bad', //                         23
    '  ok:', //                                      24
    '    command: [x]', //                           25
    '    rootfs: ./rootfs', //                       26
    '    mem_limit: 64m', //                         27
  ].join('\n');
  assert.deepEqual(await check(text), [
    'w.yml:5:5: services.web.mem_limit: invalid value "1m": the minimum memory limit allowed is 6MB (6291456 bytes)',
    'w.yml:8:5: services.db.cpus: invalid value "5": the range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available',
    'w.yml:12:5: services.cache.mem_reservation: invalid value "128m": the reservation cannot be above the memory limit mem_limit 67108864 (64MiB)',
    'w.yml:15:29: services.files.volumes[1]: invalid value "./missing:/m": the host path /srv/app/missing does not exist',
    'w.yml:16:3: services.nocmd: a command is required: corral has no images, so nothing else supplies one (command: [prog, arg...])',
    'w.yml:20:35: services.limits.deploy.resources.limits.memory: invalid value "3m": the minimum memory limit allowed is 6MB (6291456 bytes)',
    'w.yml:23:5: services.host.hostname: invalid value "-bad": expected a hostname of at most 64 characters: dot-separated labels of letters, digits and hyphens, not starting or ending with a hyphen',
  ]);
  assert.deepEqual(await check('services:\n  ok: {command: [x], rootfs: ./rootfs, mem_limit: 64m, memswap_limit: -1, cpus: 1.5}\n'), []);
});

test('project names: -p, else the top-level name, else the directory as Compose normalizes it', () => {
  assert.equal(projectName('/srv/My App.v2/w.yml', undefined, undefined), 'myappv2');
  assert.equal(projectName('/srv/_x/w.yml', undefined, undefined), 'x');
  assert.equal(projectName('/srv/app/w.yml', 'shop', undefined), 'shop');
  assert.equal(projectName('/srv/app/w.yml', 'shop', 'other'), 'other');
  assert.throws(() => projectName('/srv/app/w.yml', undefined, 'Bad'), { message: 'invalid value "Bad" for -p: a project name matching [a-z0-9][a-z0-9_-]* (Compose\'s rule)' });
  assert.throws(
    () => projectName('/srv/---/w.yml', undefined, undefined),
    (err: Error) => err.message.includes('the directory name "---" gives none'),
  );
  assert.equal(containerName('shop', 'web'), 'shop-web-1');
});

test('the hash follows the definition, not the order of keys or the labels; the body carries the labels', () => {
  const a = { Image: 'host', Cmd: ['x'], HostConfig: { Memory: 1, PidsLimit: 2 } };
  const b = { HostConfig: { PidsLimit: 2, Memory: 1 }, Cmd: ['x'], Image: 'host', Labels: { x: 'y' } };
  assert.equal(serviceHash(a), serviceHash(b));
  assert.match(serviceHash(a), /^[0-9a-f]{64}$/);
  assert.notEqual(serviceHash(a), serviceHash({ ...a, HostConfig: { Memory: 2, PidsLimit: 2 } }));
  assert.notEqual(serviceHash(a), serviceHash({ ...a, Cmd: ['x', ''] }));
  const [web] = desiredServices('shop', '/srv/app/w.yml', parseWorkloads('services:\n  web: {command: [x], restart: always}\n', { file: 'w.yml', dir: '/srv/app' }));
  assert.deepEqual(web!.body.Labels, { [LABEL_PROJECT]: 'shop', [LABEL_SERVICE]: 'web', [LABEL_HASH]: web!.hash, [LABEL_FILE]: '/srv/app/w.yml' });
  assert.deepEqual([web!.name, web!.service, web!.restart], ['shop-web-1', 'web', 'always']);
});

test('a reason names the other fields it mentions by the keys that set them in the service (the registry knows each key)', async () => {
  assert.deepEqual(await check('services:\n  a: {command: [x], memswap_limit: 128m}\n'), [
    'w.yml:2:21: services.a.memswap_limit: invalid value "128m": set mem_limit too: memswap_limit is the memory+swap total and needs the memory limit (or use -1 for unlimited swap)',
  ]);
  assert.deepEqual(await check('services:\n  a: {command: [x], mem_reservation: -5}\n'), [
    'w.yml:2:21: services.a.mem_reservation: invalid value "-5": a size cannot be negative; expected a number of bytes with an optional unit b, k, m, g, t or p (binary multiples, e.g. 512m), at least 6MB and at most mem_limit, or 0 for none',
  ]);
  assert.deepEqual(await check('services:\n  a:\n    command: [x]\n    deploy: {resources: {limits: {memory: 64m}}}\n    memswap_limit: 32m\n'), [
    'w.yml:5:5: services.a.memswap_limit: invalid value "32m": the memory+swap total must be at least the memory limit deploy.resources.limits.memory 67108864 (64MiB), or -1 for unlimited swap',
  ]);
});
