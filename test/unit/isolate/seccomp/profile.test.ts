import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSeccompProfile, parseSeccompProfileText, SeccompProfileError } from '../../../../src/isolate/seccomp/profile.js';

test('a profile is read into typed rules: names (or the old name), actions, 64-bit args, includes and excludes', () => {
  const profile = parseSeccompProfileText(`{
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "archMap": [{"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}, {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
    "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "ignored", "unknownKey": 1},
      {"name": "clone", "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 18446744073709551615, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ"}],
       "includes": {"arches": ["amd64"], "minKernel": "4.8"}, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
      {"names": ["ptrace"], "action": "SCMP_ACT_TRACE"}
    ]
  }`);
  assert.deepEqual(profile, {
    defaultAction: { name: 'SCMP_ACT_ERRNO', data: 1 },
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: ['read', 'write'], action: { name: 'SCMP_ACT_ALLOW' }, args: [], includes: { caps: [], arches: [] }, excludes: { caps: [], arches: [] } },
      {
        names: ['clone'],
        action: { name: 'SCMP_ACT_ALLOW' },
        args: [{ index: 0, value: 0xffffffff_ffffffffn, valueTwo: 2n, op: 'SCMP_CMP_MASKED_EQ' }],
        includes: { caps: [], arches: ['amd64'], minKernel: { kernel: 4, major: 8 } },
        excludes: { caps: ['CAP_SYS_ADMIN'], arches: [] },
      },
      { names: ['clone3'], action: { name: 'SCMP_ACT_ERRNO', data: 38 }, args: [], includes: { caps: [], arches: [] }, excludes: { caps: [], arches: [] } },
      { names: ['ptrace'], action: { name: 'SCMP_ACT_TRACE', data: 1 }, args: [], includes: { caps: [], arches: [] }, excludes: { caps: [], arches: [] } },
    ],
  });
});

test('ERRNO without errnoRet is EPERM (runc); a profile with no default action and no rules is no filter, as Docker reads it', () => {
  assert.deepEqual(parseSeccompProfile({ defaultAction: 'SCMP_ACT_ERRNO' }), { defaultAction: { name: 'SCMP_ACT_ERRNO', data: 1 }, architectures: [], syscalls: [] });
  assert.equal(parseSeccompProfile({}), undefined);
  assert.equal(parseSeccompProfile({ defaultAction: '', syscalls: [] }), undefined);
  // errnoRet is read for ERRNO and TRACE only, and ignored for the others (runc)
  assert.deepEqual(parseSeccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 5 })?.defaultAction, { name: 'SCMP_ACT_ALLOW' });
});

test('a bad profile is refused naming the place and what was expected', () => {
  const table: [string, string][] = [
    ['[]', 'expected a JSON object with defaultAction and syscalls, got []'],
    ['{"defaultAction": "SCMP_ACT_ERRNO",', 'not JSON: expected a string key: unexpected end of the text at offset 35'],
    ['{"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}', 'defaultAction: missing; expected an action such as SCMP_ACT_ERRNO'],
    [
      '{"defaultAction": "SCMP_ACT_DENY"}',
      'defaultAction: unknown action "SCMP_ACT_DENY"; expected one of SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG',
    ],
    ['{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000}', 'defaultErrnoRet: expected an integer from 0 to 4095, got 5000'],
    ['{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": {}}', 'syscalls: expected a list of rules, got {}'],
    [
      '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}',
      'syscalls[0].action: SCMP_ACT_NOTIFY is not supported: corral has no seccomp agent to notify',
    ],
    ['{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": "read", "action": "SCMP_ACT_ALLOW"}]}', 'syscalls[0].names: expected a list of strings, got "read"'],
    [
      '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "name": "write", "action": "SCMP_ACT_ALLOW"}]}',
      "syscalls[0]: both 'name' and 'names' are given; use either 'name' or 'names'",
    ],
    ['{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["Read"], "action": "SCMP_ACT_ALLOW"}]}', 'syscalls[0].names[0]: "Read" is not a syscall name'],
    [
      '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}',
      'syscalls[0].args[0].index: expected an integer from 0 to 5, got 6',
    ],
    [
      '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]}',
      'syscalls[0].args[0].value: expected an integer from 0 to 18446744073709551615, got -1',
    ],
    [
      '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 18446744073709551616, "op": "SCMP_CMP_EQ"}]}]}',
      'syscalls[0].args[0].value: expected an integer from 0 to 18446744073709551615, got 18446744073709551616',
    ],
    [
      '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}]}',
      'syscalls[0].args[0].op: unknown operator "SCMP_CMP_LIKE"; expected one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ',
    ],
    ['{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": {}}]}', 'syscalls[0].args: expected a list of conditions, got {}'],
    [
      '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}}]}',
      'syscalls[0].includes.minKernel: invalid kernel version "4", expected "<kernel>.<major>" such as "4.8"',
    ],
    [
      '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": "CAP_SYS_ADMIN"}}]}',
      'syscalls[0].excludes.caps: expected a list of strings, got "CAP_SYS_ADMIN"',
    ],
    [
      '{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}',
      "both 'architectures' and 'archMap' are given; use either 'architectures' or 'archMap'",
    ],
    ['{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["x86_64"]}', 'architectures[0]: unknown architecture "x86_64"; expected a name such as SCMP_ARCH_X86_64'],
    ['{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}', 'flags[0]: SECCOMP_FILTER_FLAG_LOG is not supported'],
    ['{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/agent.sock"}', 'listenerPath: not supported: corral has no seccomp agent to notify'],
  ];
  for (const [text, message] of table) {
    assert.throws(
      () => parseSeccompProfileText(text),
      (err: unknown) => err instanceof SeccompProfileError && err.message === message,
      text,
    );
  }
});
