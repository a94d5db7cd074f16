/**
 * Classic BPF for seccomp (linux/filter.h, linux/seccomp.h): the few instructions a filter needs,
 * an assembler with labels, and the launcher's text form of a program. Conditional jumps in classic
 * BPF reach at most 255 instructions ahead; the assembler puts an unconditional jump (32-bit
 * offset) after a conditional one whose target is further, as libseccomp does.
 */

/** struct sock_filter. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// linux/bpf_common.h
export const BPF_LD_W_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
export const BPF_ALU_AND_K = 0x54; // BPF_ALU | BPF_AND | BPF_K
export const BPF_JMP_JA = 0x05; // BPF_JMP | BPF_JA
export const BPF_JMP_JEQ_K = 0x15;
export const BPF_JMP_JGT_K = 0x25;
export const BPF_JMP_JGE_K = 0x35;
export const BPF_JMP_JSET_K = 0x45;
export const BPF_RET_K = 0x06;

/** The most instructions a filter may have (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

// linux/seccomp.h: struct seccomp_data and the return values
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
/** args[i] is a u64 at 16 + 8 i; on little-endian x86_64 its low half comes first. */
export const seccompArgLow = (index: number): number => 16 + 8 * index;
export const seccompArgHigh = (index: number): number => 20 + 8 * index;

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

export type JumpOp = 'jeq' | 'jgt' | 'jge' | 'jset';

const JUMP_CODES: Record<JumpOp, number> = { jeq: BPF_JMP_JEQ_K, jgt: BPF_JMP_JGT_K, jge: BPF_JMP_JGE_K, jset: BPF_JMP_JSET_K };

/** A place in the program, placed once. */
export interface Label {
  readonly name: string;
}

/** A label as the assembler keeps it: placed or not, and its position once laid out. */
interface Place extends Label {
  pc: number;
  placed: boolean;
}

type Item =
  | { kind: 'insn'; code: number; k: number }
  | { kind: 'jump'; code: number; k: number; jt: Place; jf: Place; longT: boolean; longF: boolean; pc: number }
  | { kind: 'ja'; target: Place }
  | { kind: 'label'; label: Place };

function u32(k: number, what: string): number {
  if (!Number.isInteger(k) || k < 0 || k > 0xffffffff) throw new RangeError(`${what} ${k} is not a 32-bit unsigned value`);
  return k;
}

/** Builds a program from instructions and labels; assemble() resolves the jumps. */
export class Assembler {
  private readonly items: Item[] = [];
  private labels = 0;

  label(name = 'L'): Label {
    const place: Place = { name: `${name}${this.labels++}`, pc: -1, placed: false };
    return place;
  }

  place(label: Label): void {
    const place = label as Place;
    if (place.placed) throw new Error(`bpf: label ${place.name} placed twice`);
    place.placed = true;
    this.items.push({ kind: 'label', label: place });
  }

  /** A = the 32-bit word of seccomp_data at `offset`. */
  load(offset: number): void {
    this.items.push({ kind: 'insn', code: BPF_LD_W_ABS, k: u32(offset, 'offset') });
  }

  /** A &= k. */
  and(k: number): void {
    this.items.push({ kind: 'insn', code: BPF_ALU_AND_K, k: u32(k, 'mask') });
  }

  ret(k: number): void {
    this.items.push({ kind: 'insn', code: BPF_RET_K, k: u32(k, 'return value') });
  }

  /** if (A op k) goto jt else goto jf. */
  jump(op: JumpOp, k: number, jt: Label, jf: Label): void {
    this.items.push({ kind: 'jump', code: JUMP_CODES[op], k: u32(k, op), jt: jt as Place, jf: jf as Place, longT: false, longF: false, pc: -1 });
  }

  goto(target: Label): void {
    this.items.push({ kind: 'ja', target: target as Place });
  }

  /** The instructions, jumps resolved. Throws if a label is used but not placed. */
  assemble(): SockFilter[] {
    const unplaced = (l: Place) => new Error(`bpf: label ${l.name} is used but not placed`);
    for (const item of this.items) {
      if (item.kind === 'jump' && !(item.jt.placed && item.jf.placed)) throw unplaced(item.jt.placed ? item.jf : item.jt);
      if (item.kind === 'ja' && !item.target.placed) throw unplaced(item.target);
    }
    // Lay out, widen the conditional jumps whose targets are too far (each branch at most once,
    // so this ends), and lay out again until nothing changes.
    for (;;) {
      this.layout();
      let widened = false;
      for (const item of this.items) {
        if (item.kind !== 'jump') continue;
        const from = item.pc + 1;
        if (!item.longT && item.jt.pc - from > 255) item.longT = widened = true;
        if (!item.longF && item.jf.pc - from > 255) item.longF = widened = true;
      }
      if (!widened) return this.emit();
    }
  }

  /** Give every label and jump its position. */
  private layout(): void {
    let pc = 0;
    for (const item of this.items) {
      if (item.kind === 'label') {
        item.label.pc = pc;
        continue;
      }
      if (item.kind === 'jump') {
        item.pc = pc;
        pc += 1 + (item.longT ? 1 : 0) + (item.longF ? 1 : 0);
      } else {
        pc += 1;
      }
    }
  }

  private emit(): SockFilter[] {
    const out: SockFilter[] = [];
    for (const item of this.items) {
      if (item.kind === 'label') continue;
      const pc = out.length;
      if (item.kind === 'insn') {
        out.push({ code: item.code, jt: 0, jf: 0, k: item.k });
      } else if (item.kind === 'ja') {
        out.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: item.target.pc - (pc + 1) });
      } else {
        // the long branches jump to a `ja` right after the instruction: jt's first, then jf's
        const after = pc + 1;
        const tramp = after + (item.longT ? 1 : 0) + (item.longF ? 1 : 0);
        const jt = item.longT ? 0 : item.jt.pc - after;
        const jf = item.longF ? (item.longT ? 1 : 0) : item.jf.pc - after;
        out.push({ code: item.code, jt, jf, k: item.k });
        if (item.longT) out.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: item.jt.pc - (after + 1) });
        if (item.longF) out.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: item.jf.pc - tramp });
      }
    }
    for (const [i, insn] of out.entries()) {
      if (insn.jt > 255 || insn.jf > 255 || insn.jt < 0 || insn.jf < 0 || insn.k < 0) throw new Error(`bpf: instruction ${i} jumps backwards or too far`);
    }
    if (out.length === 0 || out.length > BPF_MAXINSNS) throw new RangeError(`bpf: a filter has 1 to ${BPF_MAXINSNS} instructions, this one ${out.length}`);
    return out;
  }
}

/**
 * A program as the launcher's `seccomp` field: each instruction as 16 hex digits, code (4), jt (2),
 * jf (2) and k (8), most significant digit first, so that the text is the same on any host.
 */
export function formatProgram(program: readonly SockFilter[]): string {
  return program.map((i) => i.code.toString(16).padStart(4, '0') + i.jt.toString(16).padStart(2, '0') + i.jf.toString(16).padStart(2, '0') + (i.k >>> 0).toString(16).padStart(8, '0')).join('');
}

/** formatProgram's text back as instructions; undefined when it is not such a text. */
export function parseProgram(text: string): SockFilter[] | undefined {
  if (text.length === 0 || text.length % 16 !== 0 || text.length / 16 > BPF_MAXINSNS || !/^[0-9a-f]+$/.test(text)) return undefined;
  const out: SockFilter[] = [];
  for (let i = 0; i < text.length; i += 16) {
    out.push({
      code: parseInt(text.slice(i, i + 4), 16),
      jt: parseInt(text.slice(i + 4, i + 6), 16),
      jf: parseInt(text.slice(i + 6, i + 8), 16),
      k: parseInt(text.slice(i + 8, i + 16), 16),
    });
  }
  return out;
}
