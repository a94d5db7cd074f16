/**
 * A classic BPF interpreter for seccomp filters (the kernel's checks and semantics for the
 * instructions a seccomp filter may use, linux/filter.c), so that tests can ask a program for its
 * decision on a syscall, libseccomp's programs as well as corral's.
 */
import type { SockFilter } from '../../src/isolate/seccomp/bpf.js';

export interface SeccompData {
  nr: number;
  arch: number;
  /** up to six 64-bit arguments; missing ones are 0 */
  args?: readonly bigint[];
  instructionPointer?: bigint;
}

/** The 32-bit word of struct seccomp_data at a byte offset (little-endian). */
function word(data: SeccompData, offset: number): number {
  if (offset === 0) return data.nr >>> 0;
  if (offset === 4) return data.arch >>> 0;
  if (offset % 4 !== 0 || offset < 8 || offset >= 64) throw new Error(`bpf-sim: load of seccomp_data at offset ${offset}`);
  const u64 = offset < 16 ? (data.instructionPointer ?? 0n) : (data.args?.[Math.floor((offset - 16) / 8)] ?? 0n);
  const half = offset % 8 === 0 ? u64 & 0xffffffffn : (u64 >> 32n) & 0xffffffffn;
  return Number(half);
}

/** Run the program on one syscall; returns the SECCOMP_RET_* value. */
export function runFilter(program: readonly SockFilter[], data: SeccompData): number {
  let a = 0;
  let x = 0;
  const mem = new Array<number>(16).fill(0);
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc]!;
    const cls = code & 0x07;
    switch (cls) {
      case 0x00: // BPF_LD
        if (code === 0x20) a = word(data, k);
        else if (code === 0x00)
          a = k >>> 0; // BPF_LD | BPF_IMM
        else if (code === 0x60) a = mem[k]!;
        else if (code === 0x80)
          a = 64; // BPF_LD | BPF_W | BPF_LEN: sizeof(struct seccomp_data)
        else throw new Error(`bpf-sim: unsupported load 0x${code.toString(16)} at ${pc}`);
        break;
      case 0x01: // BPF_LDX
        if (code === 0x01) x = k >>> 0;
        else if (code === 0x61) x = mem[k]!;
        else if (code === 0x81) x = 64;
        else throw new Error(`bpf-sim: unsupported ldx 0x${code.toString(16)} at ${pc}`);
        break;
      case 0x02: // BPF_ST
        mem[k] = a;
        break;
      case 0x03: // BPF_STX
        mem[k] = x;
        break;
      case 0x04: {
        // BPF_ALU
        const src = code & 0x08 ? x : k >>> 0;
        switch (code & 0xf0) {
          case 0x00:
            a = (a + src) >>> 0;
            break;
          case 0x10:
            a = (a - src) >>> 0;
            break;
          case 0x20:
            a = Number((BigInt(a) * BigInt(src)) & 0xffffffffn);
            break;
          case 0x30:
            if (src === 0) return 0; // division by zero ends the program with 0
            a = Math.floor(a / src) >>> 0;
            break;
          case 0x40:
            a = (a | src) >>> 0;
            break;
          case 0x50:
            a = (a & src) >>> 0;
            break;
          case 0x60:
            a = src >= 32 ? 0 : (a << src) >>> 0;
            break;
          case 0x70:
            a = src >= 32 ? 0 : a >>> src;
            break;
          case 0x80:
            a = -a >>> 0;
            break;
          case 0x90:
            if (src === 0) return 0;
            a = (a % src) >>> 0;
            break;
          case 0xa0:
            a = (a ^ src) >>> 0;
            break;
          default:
            throw new Error(`bpf-sim: unsupported alu 0x${code.toString(16)} at ${pc}`);
        }
        break;
      }
      case 0x05: {
        // BPF_JMP
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const src = code & 0x08 ? x : k >>> 0;
        const taken = op === 0x10 ? a === src : op === 0x20 ? a > src : op === 0x30 ? a >= src : op === 0x40 ? (a & src) !== 0 : undefined;
        if (taken === undefined) throw new Error(`bpf-sim: unsupported jump 0x${code.toString(16)} at ${pc}`);
        pc += taken ? jt : jf;
        break;
      }
      case 0x06: // BPF_RET
        return (code & 0x18) === 0x10 ? a : k >>> 0;
      case 0x07: // BPF_MISC
        if (code === 0x07) x = a;
        else if (code === 0x87) a = x;
        else throw new Error(`bpf-sim: unsupported misc 0x${code.toString(16)} at ${pc}`);
        break;
    }
  }
  throw new Error('bpf-sim: the program ran off its end');
}
