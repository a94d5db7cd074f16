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

type Item =
  | { kind: 'insn'; code: number; k: number }
  | { kind: 'jump'; code: number; k: number; jt: Label; jf: Label; longT: boolean; longF: boolean }
  | { kind: 'ja'; target: Label }
  | { kind: 'label'; label: Label };

function u32(k: number, what: string): number {
  if (!Number.isInteger(k) || k < 0 || k > 0xffffffff) throw new RangeError(`${what} ${k} is not a 32-bit unsigned value`);
  return k;
}

/** Builds a program from instructions and labels; assemble() resolves the jumps. */
export class Assembler {
  private readonly items: Item[] = [];
  private labels = 0;

  label(name = 'L'): Label {
    return { name: `${name}${this.labels++}` };
  }

  place(label: Label): void {
    this.items.push({ kind: 'label', label });
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
    this.items.push({ kind: 'jump', code: JUMP_CODES[op], k: u32(k, op), jt, jf, longT: false, longF: false });
  }

  goto(target: Label): void {
    this.items.push({ kind: 'ja', target });
  }

  /** The instructions, jumps resolved. Throws if a label is used but not placed, or placed twice. */
  assemble(): SockFilter[] {
    // Lay out, widen the conditional jumps whose targets are too far (each at most once per
    // branch, so this ends), and lay out again until nothing changes.
    for (;;) {
      const at = this.layout();
      let widened = false;
      for (const item of this.items) {
        if (item.kind !== 'jump') continue;
        const from = at.items.get(item)! + 1;
        if (!item.longT && target(at, item.jt) - from > 255) item.longT = widened = true;
        if (!item.longF && target(at, item.jf) - from > 255) item.longF = widened = true;
      }
      if (!widened) return this.emit(at);
    }
  }

  private layout(): { items: Map<Item, number>; labels: Map<string, number>; length: number } {
    const items = new Map<Item, number>();
    const labels = new Map<string, number>();
    let pc = 0;
    for (const item of this.items) {
      if (item.kind === 'label') {
        if (labels.has(item.label.name)) throw new Error(`bpf: label ${item.label.name} placed twice`);
        labels.set(item.label.name, pc);
        continue;
      }
      items.set(item, pc);
      pc += item.kind === 'jump' ? 1 + (item.longT ? 1 : 0) + (item.longF ? 1 : 0) : 1;
    }
    return { items, labels, length: pc };
  }

  private emit(at: ReturnType<Assembler['layout']>): SockFilter[] {
    const out: SockFilter[] = [];
    for (const item of this.items) {
      if (item.kind === 'label') continue;
      const pc = out.length;
      if (item.kind === 'insn') {
        out.push({ code: item.code, jt: 0, jf: 0, k: item.k });
      } else if (item.kind === 'ja') {
        out.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: target(at, item.target) - (pc + 1) });
      } else {
        // the long branches jump to a `ja` right after the instruction: jt's first, then jf's
        const after = pc + 1;
        const tramp = after + (item.longT ? 1 : 0) + (item.longF ? 1 : 0);
        const jt = item.longT ? 0 : target(at, item.jt) - after;
        const jf = item.longF ? (item.longT ? 1 : 0) : target(at, item.jf) - after;
        out.push({ code: item.code, jt, jf, k: item.k });
        if (item.longT) out.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: target(at, item.jt) - (after + 1) });
        if (item.longF) out.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: target(at, item.jf) - tramp });
      }
    }
    for (const [i, insn] of out.entries()) {
      if (insn.jt > 255 || insn.jf > 255 || insn.jt < 0 || insn.jf < 0 || insn.k < 0) throw new Error(`bpf: instruction ${i} jumps backwards or too far`);
    }
    if (out.length === 0 || out.length > BPF_MAXINSNS) throw new RangeError(`bpf: a filter has 1 to ${BPF_MAXINSNS} instructions, this one ${out.length}`);
    return out;
  }
}

function target(at: { labels: Map<string, number> }, label: Label): number {
  const pc = at.labels.get(label.name);
  if (pc === undefined) throw new Error(`bpf: label ${label.name} is used but not placed`);
  return pc;
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
