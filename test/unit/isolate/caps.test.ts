import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../../src/errors.js';
import { CAPABILITIES, capabilityMask, DOCKER_DEFAULT_CAPS, formatCapabilityMask, LAST_CAP, maskOf, namesOf, normalizeCapability } from '../../../src/isolate/caps.js';

const DEFAULT = 0xa80425fbn;
const ALL = (1n << 41n) - 1n;
const bit = (n: number) => 1n << BigInt(n);

test('the table holds every capability from 0 to CAP_LAST_CAP, each number once', () => {
  const numbers = Object.values(CAPABILITIES).sort((a, b) => a - b);
  assert.deepEqual(
    numbers,
    Array.from({ length: LAST_CAP + 1 }, (_, i) => i),
  );
  assert.equal(CAPABILITIES.CAP_CHOWN, 0);
  assert.equal(CAPABILITIES.CAP_NET_ADMIN, 12);
  assert.equal(CAPABILITIES.CAP_SYS_ADMIN, 21);
  assert.equal(CAPABILITIES.CAP_MKNOD, 27);
  assert.equal(CAPABILITIES.CAP_SETFCAP, 31);
  assert.equal(CAPABILITIES.CAP_BPF, 39);
  assert.equal(CAPABILITIES.CAP_CHECKPOINT_RESTORE, 40);
});

test("Docker's default set is the well-known 0xa80425fb", () => {
  assert.equal(DOCKER_DEFAULT_CAPS.length, 14);
  assert.equal(maskOf(DOCKER_DEFAULT_CAPS), DEFAULT);
  assert.deepEqual(new Set(namesOf(DEFAULT)), new Set(DOCKER_DEFAULT_CAPS));
});

const cases: { name: string; add: string[]; drop: string[]; mask: bigint }[] = [
  { name: 'no flags: the default set', add: [], drop: [], mask: DEFAULT },
  { name: 'add one', add: ['NET_ADMIN'], drop: [], mask: DEFAULT | bit(12) },
  { name: 'lower case with prefix', add: ['cap_sys_ptrace'], drop: [], mask: DEFAULT | bit(19) },
  { name: 'mixed case without prefix', add: ['Sys_Nice'], drop: [], mask: DEFAULT | bit(23) },
  { name: 'drop one', add: [], drop: ['NET_RAW'], mask: DEFAULT & ~bit(13) },
  { name: 'drop one not in the default set changes nothing', add: [], drop: ['SYS_ADMIN'], mask: DEFAULT },
  { name: 'drop ALL then add one keeps only it', add: ['NET_BIND_SERVICE'], drop: ['ALL'], mask: bit(10) },
  { name: 'drop all (lower case)', add: [], drop: ['all'], mask: 0n },
  { name: 'add ALL', add: ['ALL'], drop: [], mask: ALL },
  { name: 'add ALL minus a drop', add: ['ALL'], drop: ['SYS_ADMIN'], mask: ALL & ~bit(21) },
  { name: 'add ALL wins over drop ALL (moby TweakCapabilities)', add: ['ALL'], drop: ['ALL'], mask: ALL },
  { name: 'a name both added and dropped is kept', add: ['CHOWN'], drop: ['CHOWN'], mask: DEFAULT },
  { name: 'repeats are harmless', add: ['NET_ADMIN', 'net_admin'], drop: [], mask: DEFAULT | bit(12) },
];

for (const c of cases) {
  test(`capabilityMask: ${c.name}`, () => {
    assert.equal(capabilityMask(c.add, c.drop).toString(16), c.mask.toString(16));
  });
}

test('an unknown name is an InvalidArgumentError naming the flag and the name as given', () => {
  assert.throws(
    () => capabilityMask(['NET_FOO'], []),
    (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.equal(error.flag, '--cap-add');
      assert.equal(error.value, 'NET_FOO');
      assert.equal(error.message, 'invalid value "NET_FOO" for --cap-add: unknown capability; expected a name such as NET_RAW or cap_net_raw (see capabilities(7)), or ALL');
      return true;
    },
  );
  assert.throws(() => capabilityMask([], ['cap_bogus']), { flag: '--cap-drop', value: 'cap_bogus' });
  // CAP_ALL is not ALL (Docker: unknown capability "CAP_ALL")
  assert.throws(() => normalizeCapability('--cap-add', 'CAP_ALL'), { flag: '--cap-add', value: 'CAP_ALL' });
  assert.throws(() => capabilityMask([''], []), { flag: '--cap-add', value: '' });
});

test('formatCapabilityMask: 16 lower-case hex digits', () => {
  assert.equal(formatCapabilityMask(DEFAULT), '00000000a80425fb');
  assert.equal(formatCapabilityMask(0n), '0000000000000000');
  assert.equal(formatCapabilityMask(ALL), '000001ffffffffff');
  assert.throws(() => formatCapabilityMask(1n << 64n), RangeError);
});
