/**
 * libseccomp (Debian's libseccomp2, which runc and crun load: .ci/run installs them), called
 * through koffi, as the reference that corral's BPF generator is checked against: the same rules
 * given to seccomp_rule_add_array, the program it writes with seccomp_export_bpf, run by bpf-sim.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SockFilter } from '../../src/isolate/seccomp/bpf.js';
import type { SeccompOperator } from '../../src/isolate/seccomp/profile.js';

export const LIBSECCOMP = '/lib/x86_64-linux-gnu/libseccomp.so.2';

/** enum scmp_compare */
const OPERATORS: Record<SeccompOperator, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** enum scmp_filter_attr */
const SCMP_FLTATR_ACT_BADARCH = 2;
const SCMP_FLTATR_CTL_NNP = 3;
const SCMP_FLTATR_CTL_OPTIMIZE = 8;

export interface LibseccompRule {
  nr: number;
  action: number;
  args: { index: number; op: SeccompOperator; value: bigint; valueTwo: bigint }[];
}

export interface Libseccomp {
  version: string;
  /** seccomp_syscall_resolve_name: the native number, or a negative one (unknown, or another architecture's) */
  resolve(name: string): number;
  /** the program libseccomp makes of these rules (as runc asks for it: its binary tree for more than 32 rules) */
  program(defaultAction: number, badArchAction: number, rules: readonly LibseccompRule[]): SockFilter[];
}

export async function loadLibseccomp(): Promise<Libseccomp> {
  const { default: koffi } = await import('koffi');
  const lib = koffi.load(LIBSECCOMP);
  const init = lib.func('void *seccomp_init(uint32_t def_action)');
  const release = lib.func('void seccomp_release(void *ctx)');
  const attrSet = lib.func('int seccomp_attr_set(void *ctx, int attr, uint32_t value)');
  const ruleAdd = lib.func('int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int arg_cnt, const void *arg_array)');
  const exportBpf = lib.func('int seccomp_export_bpf(void *ctx, int fd)');
  const resolveName = lib.func('int seccomp_syscall_resolve_name(const char *name)');
  const versionOf = lib.func('const void *seccomp_version(void)');
  const v = koffi.decode(versionOf(), koffi.array('uint', 3)) as number[];

  return {
    version: v.join('.'),
    resolve: (name) => resolveName(name) as number,
    program(defaultAction, badArchAction, rules) {
      const ctx = init(defaultAction);
      if (ctx === null) throw new Error('seccomp_init failed');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-libseccomp-'));
      try {
        const check = (what: string, rc: number) => {
          if (rc < 0) throw new Error(`libseccomp ${what}: ${Object.entries(os.constants.errno).find(([, n]) => n === -rc)?.[0] ?? -rc}`);
        };
        check('attr badarch', attrSet(ctx, SCMP_FLTATR_ACT_BADARCH, badArchAction) as number);
        check('attr nnp', attrSet(ctx, SCMP_FLTATR_CTL_NNP, 0) as number);
        if (rules.length > 32) check('attr optimize', attrSet(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) as number);
        for (const rule of rules) {
          const buf = Buffer.alloc(24 * Math.max(1, rule.args.length));
          rule.args.forEach((a, i) => {
            buf.writeUInt32LE(a.index, 24 * i);
            buf.writeUInt32LE(OPERATORS[a.op], 24 * i + 4);
            buf.writeBigUInt64LE(a.value, 24 * i + 8);
            buf.writeBigUInt64LE(a.valueTwo, 24 * i + 16);
          });
          check(`rule for ${rule.nr}`, ruleAdd(ctx, rule.action, rule.nr, rule.args.length, buf) as number);
        }
        const file = path.join(dir, 'filter.bpf');
        const fd = fs.openSync(file, 'w+');
        try {
          check('export', exportBpf(ctx, fd) as number);
        } finally {
          fs.closeSync(fd);
        }
        const bytes = fs.readFileSync(file);
        const out: SockFilter[] = [];
        for (let i = 0; i + 8 <= bytes.length; i += 8) out.push({ code: bytes.readUInt16LE(i), jt: bytes[i + 2]!, jf: bytes[i + 3]!, k: bytes.readUInt32LE(i + 4) });
        return out;
      } finally {
        release(ctx);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
