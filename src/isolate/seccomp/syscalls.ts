/**
 * x86_64 syscall names to numbers: the kernel headers' table (syscalls-x86-64.ts, generated) and the
 * syscalls newer than those headers. The running kernel may be newer than the headers (Debian 12's
 * are 6.1's), and Docker's profile names syscalls up to 6.13's; a name missing here would be
 * ignored (as runc ignores a name its libseccomp does not know), and so refused with the default
 * action on a kernel that has it.
 */
import { HEADER_SYSCALLS_X86_64 } from './syscalls-x86-64.js';

/**
 * x86_64 syscalls after Linux 6.1's headers, from libseccomp's src/syscalls.csv (its x86_64
 * column, Linux 7.1.0-rc4; seccomp/libseccomp@90d3f7dd6f52dbf0f4a38ebd0657032b6ef05e6a), which
 * follows the kernel's arch/x86/entry/syscalls/syscall_64.tbl. The unit test checks them against
 * the machine's headers where those have them.
 */
export const NEWER_SYSCALLS_X86_64: Readonly<Record<string, number>> = {
  uretprobe: 335,
  uprobe: 336,
  cachestat: 451,
  fchmodat2: 452,
  map_shadow_stack: 453,
  futex_wake: 454,
  futex_wait: 455,
  futex_requeue: 456,
  statmount: 457,
  listmount: 458,
  lsm_get_self_attr: 459,
  lsm_set_self_attr: 460,
  lsm_list_modules: 461,
  mseal: 462,
  setxattrat: 463,
  getxattrat: 464,
  listxattrat: 465,
  removexattrat: 466,
  open_tree_attr: 467,
  file_getattr: 468,
  file_setattr: 469,
  listns: 470,
  rseq_slice_yield: 471,
};

/** The x86_64 number of a syscall, or undefined for a name x86_64 has not (chown32, arm_fadvise64_64, a typo). */
export function syscallNumber(name: string): number | undefined {
  return Object.hasOwn(HEADER_SYSCALLS_X86_64, name) ? HEADER_SYSCALLS_X86_64[name] : Object.hasOwn(NEWER_SYSCALLS_X86_64, name) ? NEWER_SYSCALLS_X86_64[name] : undefined;
}
