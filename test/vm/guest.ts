/**
 * Test harness: run a shell command inside a QEMU guest that boots a pure cgroup v2 kernel
 * (Debian's linux-image-amd64 with cgroup_no_v1=all) under software emulation (TCG).
 *
 * The guest has no disk image. A tiny busybox initramfs (built once and cached under
 * test/vm/.cache/) loads the virtio/9p/overlay modules, mounts the host's root file system
 * read-only over 9p (so node, node_modules and every apt-installed tool are there), mounts this
 * checkout writable over a second 9p share at the same absolute path, mounts proc, sysfs, devtmpfs,
 * devpts, cgroup2 and tmpfs state dirs, moves it onto / and chroots into it (as switch_root does)
 * and runs the command with `sh -c` in the checkout.
 *
 * Boot takes about 3-4 s: the kernel is booted uncompressed through its PVH entry (extracted once
 * from /boot/vmlinuz-* into the cache) with qboot instead of SeaBIOS; CORRAL_VM_FAST_BOOT=0 boots
 * the bzImage with the default firmware instead (about 7 s). CORRAL_VM_KERNEL_VERSION picks a
 * kernel when /boot holds several (default: the newest with modules).
 *
 * Inside the guest: the command runs as root in the root cgroup of a cgroup2 hierarchy (nsdelegate)
 * with every controller available, stdin /dev/null, stdout+stderr one pipe (not a tty), env
 * reset to PATH (with node's and the host python3's directories), HOME=/root, USER, LOGNAME, LANG=C.UTF-8, TERM=dumb,
 * CORRAL_VM_GUEST=1 plus `env`. / is the host root read-only (9p, cache=loose); the checkout is
 * writable (9p, cache=none, so the host sees writes at once); /tmp /var/tmp /run /dev/shm are
 * empty tmpfs; /root and /var/lib are overlays (host content visible, writes to tmpfs); lo is up,
 * there is no other network.
 *
 * The command travels as a script file in a per-run directory inside the writable share
 * (test/vm/.cache/runs/<id>/cmd.sh); only the run id, a nonce and the base64 checkout path go on
 * the kernel command line. The guest prints a start marker line before the command's output and an
 * exit marker line with its status on the serial console; the host parses them.
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export interface GuestOptions {
  /** Kill the guest and reject after this many milliseconds (default 20 minutes). */
  timeoutMs?: number;
  /** Extra environment for the command (names must be shell identifiers). */
  env?: Record<string, string>;
  /** Guest RAM in MiB (default 2048). */
  memoryMiB?: number;
  /** Guest vCPUs (default 1). More than one uses multi-threaded TCG, which works but measured
   * slower here (boot ~8 s instead of ~3.5 s, `node -e 1` 2-3x slower: cross-vCPU TLB flushes
   * are expensive under TCG); ask for 2 only where a test needs two CPUs (cpuset). */
  cpus?: number;
  /** Receives the command's output (stdout and stderr merged) as it arrives. */
  onOutput?: (chunk: string) => void;
}

export interface GuestResult {
  /** The command's exit status inside the guest (128+n if killed by signal n). */
  exitCode: number;
  /** Everything the command wrote to stdout and stderr, merged, in order. */
  output: string;
  /** Milliseconds from starting qemu until the guest was ready to run the command. */
  bootMs: number;
}

/** Order matters: each module depends on the ones before it. */
export const GUEST_MODULES = ['virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'netfs', 'fscache', '9pnet', '9pnet_virtio', '9p', 'overlay'] as const;

const DEFAULT_TIMEOUT_MS = 20 * 60 * 1000;
const MARK_START = '@@CORRAL-VM-START';
const MARK_EXIT = '@@CORRAL-VM-EXIT';
const MARK_ERROR = '@@CORRAL-VM-ERROR';
/** Tail of the console kept for error messages. */
const TAIL_LINES = 40;

/** The repository root: test/vm/guest.ts and dist/test/vm/guest.js both sit three levels below a
 * directory holding package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'vm'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the repository root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The git-ignored cache directory inside the checkout (also reachable from the guest). */
export function cacheDir(): string {
  return join(repoRoot(), 'test', 'vm', '.cache');
}

// ---------------------------------------------------------------------------------------------
// The guest's /init (busybox sh). Everything per-run comes from /proc/cmdline, so this text is
// constant and its hash keys the cached initramfs.
// ---------------------------------------------------------------------------------------------

const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /newroot
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# keep kernel messages (OOM reports, module notices) off the console; panics still show
echo 1 > /proc/sys/kernel/printk

param() {
  for w in $(cat /proc/cmdline); do
    case "$w" in "$1="*) echo "\${w#*=}"; return 0;; esac
  done
  return 1
}
NONCE=$(param corral.nonce)
fail() {
  echo "${MARK_ERROR} \${NONCE:-none} $*@@"
  poweroff -f
  sleep 60
}
RUN=$(param corral.run) || fail "no corral.run on the kernel command line"
case "$RUN" in *[!a-z0-9-]*|'') fail "bad corral.run";; esac
CHECKOUT=$(param corral.checkout | base64 -d) || fail "no corral.checkout on the kernel command line"
case "$CHECKOUT" in /*) ;; *) fail "checkout path is not absolute";; esac

for m in ${GUEST_MODULES.join(' ')}; do
  if [ -f /lib/modules/$m.ko ]; then
    insmod /lib/modules/$m.ko || fail "insmod $m failed"
  fi
done

R=/newroot
O=trans=virtio,version=9p2000.L,msize=524288
mount -t 9p -o $O,ro,cache=loose hostroot $R || fail "mounting the host root (9p tag hostroot) failed"
mount -t proc proc $R/proc || fail "mount proc"
mount -t sysfs sysfs $R/sys || fail "mount sysfs"
mount -t devtmpfs devtmpfs $R/dev || fail "mount devtmpfs"
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts || fail "mount devpts"
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm || fail "mount /dev/shm"
mount -t cgroup2 -o nsdelegate cgroup2 $R/sys/fs/cgroup || fail "mount cgroup2"
# volatile dirs: empty tmpfs
for d in /tmp /var/tmp; do
  if [ -d $R$d ]; then mount -t tmpfs -o mode=1777 tmpfs $R$d || fail "mount tmpfs on $d"; fi
done
if [ -d $R/run ]; then mount -t tmpfs -o mode=755 tmpfs $R/run || fail "mount tmpfs on /run"; fi
# state dirs: the host's content stays visible (e.g. a node under /root), writes go to tmpfs
mkdir -p /ovl && mount -t tmpfs -o mode=755 tmpfs /ovl || fail "mount tmpfs on /ovl"
for d in /root /var/lib; do
  if [ -d $R$d ]; then
    n=$(echo $d | tr / _)
    mkdir -p /ovl/$n/upper /ovl/$n/work
    mount -t overlay -o lowerdir=$R$d,upperdir=/ovl/$n/upper,workdir=/ovl/$n/work overlay $R$d || fail "mount overlay on $d"
  fi
done
# the checkout last, so it is visible even if it lives under one of the dirs above
mkdir -p "$R$CHECKOUT" 2>/dev/null
mount -t 9p -o $O,cache=none work "$R$CHECKOUT" || fail "mounting the checkout (9p tag work) at $CHECKOUT failed"
hostname corral-vm
ip link set lo up 2>/dev/null

SCRIPT="$CHECKOUT/test/vm/.cache/runs/$RUN/cmd.sh"
[ -f "$R$SCRIPT" ] || fail "no command script at $SCRIPT"
# the console is a tty: no CR before LF, so the host sees exactly what the command wrote
stty -onlcr 2>/dev/null
# the command's stdout/stderr is a pipe (as under CI), not the console tty
mkfifo /out
cat /out &
CAT=$!
echo "${MARK_START} $NONCE@@"
# switch_root's way in: the new root moved onto / (a subshell: this init keeps the initramfs as its
# root, for the fifo and poweroff), then chroot into it. A plain chroot into $R would leave every
# process "chrooted" in the kernel's sense (its root is not its mount namespace's root), and such a
# process may not create a user namespace (EPERM), as a container's workload may on a real host.
( cd $R && mount --move . / && exec chroot . /bin/sh "$SCRIPT" ) </dev/null >/out 2>&1
STATUS=$?
# let cat drain; do not wait for background processes that still hold the pipe open
i=0
while kill -0 $CAT 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done
kill $CAT 2>/dev/null
sync
echo "${MARK_EXIT} $NONCE $STATUS@@"
poweroff -f
sleep 60
`;

// ---------------------------------------------------------------------------------------------
// Preflight: find the kernel, qemu and a static busybox, or fail loudly naming the package.
// ---------------------------------------------------------------------------------------------

interface HostTools {
  qemu: string;
  kernelVersion: string;
  kernelImage: string;
  modulesDir: string;
  busybox: string;
  setpriv: string | null;
  /** SeaBIOS replacement that starts the kernel sooner; null if not installed (qemu-system-data). */
  qboot: string | null;
}

function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      const st = statSync(p);
      if (st.isFile() && (st.mode & 0o111) !== 0) return p;
    } catch {
      /* not here */
    }
  }
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Compare Debian kernel version strings like 6.1.0-56-amd64 numerically, part by part. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = Number(x);
    const ny = Number(y);
    const c = Number.isNaN(nx) || Number.isNaN(ny) ? x.localeCompare(y) : nx - ny;
    if (c !== 0) return c;
  }
  return 0;
}

/** True when the ELF file has no PT_INTERP program header (statically linked). */
function isStaticElf(path: string): boolean {
  const buf = readFileSync(path);
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) return false;
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > buf.length) return false;
    if (buf.readUInt32LE(off) === 3) return false; // PT_INTERP
  }
  return true;
}

let toolsCache: HostTools | undefined;

/** Find everything the guest needs on the host; throws an Error naming what is missing. */
export function findHostTools(): HostTools {
  if (toolsCache) return toolsCache;
  const qemu = which('qemu-system-x86_64');
  if (!qemu) {
    throw new Error('qemu-system-x86_64 not found: install the Debian package qemu-system-x86 (apt-get install --no-install-recommends qemu-system-x86)');
  }

  let versions: string[] = [];
  try {
    versions = readdirSync('/boot')
      .filter((f) => f.startsWith('vmlinuz-'))
      .map((f) => f.slice('vmlinuz-'.length))
      .filter((v) => existsSync(join('/lib/modules', v, 'kernel')));
  } catch {
    /* no /boot */
  }
  const wanted = process.env.CORRAL_VM_KERNEL_VERSION;
  if (wanted) versions = versions.filter((v) => v === wanted);
  versions.sort(compareVersions);
  const kernelVersion = versions[versions.length - 1];
  if (!kernelVersion) {
    throw new Error(`no /boot/vmlinuz-<version> with matching /lib/modules/<version>/kernel${wanted ? ` for CORRAL_VM_KERNEL_VERSION=${wanted}` : ''}: install the Debian package linux-image-amd64`);
  }
  const kernelImage = join('/boot', `vmlinuz-${kernelVersion}`);
  try {
    accessSync(kernelImage, fsConstants.R_OK);
  } catch (e) {
    throw new Error(`cannot read the kernel image ${kernelImage} (Debian package linux-image-amd64; it is readable by root only): ${(e as Error).message}`);
  }

  let busybox: string | null = null;
  for (const p of ['/bin/busybox', '/usr/bin/busybox', which('busybox')]) {
    if (p && existsSync(p) && isStaticElf(p)) {
      busybox = p;
      break;
    }
  }
  if (!busybox) {
    throw new Error('no statically linked busybox found (looked at /bin/busybox): install the Debian package busybox-static');
  }

  const setpriv = which('setpriv');
  const qbootPath = '/usr/share/qemu/qboot.rom';
  const qboot = process.env.CORRAL_VM_FAST_BOOT !== '0' && existsSync(qbootPath) ? qbootPath : null;
  toolsCache = { qemu, kernelVersion, kernelImage, modulesDir: join('/lib/modules', kernelVersion), busybox, setpriv, qboot };
  return toolsCache;
}

// ---------------------------------------------------------------------------------------------
// Initramfs: cpio newc + gzip, written by hand (no cpio(1) needed).
// ---------------------------------------------------------------------------------------------

interface CpioEntry {
  name: string;
  mode: number; // including the file type bits
  data?: Buffer;
  rdevMajor?: number;
  rdevMinor?: number;
}

function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  const push = (b: Buffer): void => {
    parts.push(b);
    size += b.length;
  };
  const pad = (): void => {
    const n = (4 - (size % 4)) % 4;
    if (n) push(Buffer.alloc(n));
  };
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  let ino = 1;
  const all: CpioEntry[] = [...entries, { name: 'TRAILER!!!', mode: 0 }];
  for (const e of all) {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(e.name + '\0');
    const isDir = (e.mode & 0o170000) === 0o040000;
    const header =
      '070701' +
      hex(e.name === 'TRAILER!!!' ? 0 : ino++) +
      hex(e.mode) +
      hex(0) + // uid
      hex(0) + // gid
      hex(isDir ? 2 : 1) +
      hex(0) + // mtime: fixed, so the archive is reproducible
      hex(data.length) +
      hex(0) + // devmajor
      hex(0) + // devminor
      hex(e.rdevMajor ?? 0) +
      hex(e.rdevMinor ?? 0) +
      hex(name.length) +
      hex(0); // check
    push(Buffer.from(header, 'ascii'));
    push(name);
    pad();
    if (data.length) {
      push(data);
      pad();
    }
  }
  return Buffer.concat(parts, size);
}

/** The module file for `name`, decompressed if needed; null if it is built into the kernel. */
function loadModule(tools: HostTools, name: string, builtin: Set<string>): Buffer | null {
  const found = findModuleFile(join(tools.modulesDir, 'kernel'), name);
  if (!found) {
    if (builtin.has(name.replace(/-/g, '_'))) return null;
    throw new Error(`kernel module ${name} not found under ${tools.modulesDir}/kernel and not built in: install the Debian package linux-image-amd64 (kernel ${tools.kernelVersion})`);
  }
  if (found.endsWith('.ko')) return readFileSync(found);
  const [tool, pkg] = found.endsWith('.xz') ? ['xz', 'xz-utils'] : found.endsWith('.zst') ? ['zstd', 'zstd'] : found.endsWith('.gz') ? ['gzip', 'gzip'] : ['', ''];
  if (!tool) throw new Error(`unsupported module compression: ${found}`);
  if (!which(tool)) throw new Error(`${found} is compressed and ${tool} is missing: install the Debian package ${pkg}`);
  return execFileSync(tool, ['-dc', found], { maxBuffer: 256 * 1024 * 1024 });
}

const moduleIndex = new Map<string, Map<string, string>>();

function findModuleFile(root: string, name: string): string | null {
  let index = moduleIndex.get(root);
  if (!index) {
    index = new Map();
    const walk = (dir: string): void => {
      for (const ent of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, ent.name);
        if (ent.isDirectory()) walk(p);
        else {
          const m = /^(.+)\.ko(\.xz|\.zst|\.gz)?$/.exec(ent.name);
          if (m?.[1]) {
            const key = m[1].replace(/-/g, '_');
            if (!index!.has(key)) index!.set(key, p);
          }
        }
      }
    };
    walk(root);
    moduleIndex.set(root, index);
  }
  return index.get(name.replace(/-/g, '_')) ?? null;
}

function builtinModules(tools: HostTools): Set<string> {
  const set = new Set<string>();
  try {
    for (const line of readFileSync(join(tools.modulesDir, 'modules.builtin'), 'utf8').split('\n')) {
      const base = line.split('/').pop();
      if (base) set.add(base.replace(/\.ko$/, '').replace(/-/g, '_'));
    }
  } catch {
    /* none listed */
  }
  return set;
}

/** Drop cached boot files from earlier init scripts or kernels (best effort). */
function removeOtherCached(pattern: RegExp, keep: string): void {
  try {
    for (const name of readdirSync(cacheDir())) {
      if (pattern.test(name) && !name.endsWith('.tmp') && join(cacheDir(), name) !== keep) rmSync(join(cacheDir(), name), { force: true });
    }
  } catch {
    /* ignore */
  }
}

let initramfsPromise: Promise<string> | undefined;

/** Build (once per kernel version and init script) and return the path of the cached initramfs. */
export function ensureInitramfs(): Promise<string> {
  initramfsPromise ??= buildInitramfs().catch((e: unknown) => {
    initramfsPromise = undefined;
    throw e;
  });
  return initramfsPromise;
}

async function buildInitramfs(): Promise<string> {
  const tools = findHostTools();
  const bb = statSync(tools.busybox);
  const key = createHash('sha256')
    .update(INIT_SCRIPT)
    .update('\0' + GUEST_MODULES.join(',') + '\0' + `${bb.size}:${bb.mtimeMs}` + '\0initramfs-format-1')
    .digest('hex')
    .slice(0, 16);
  const dir = cacheDir();
  const file = join(dir, `initramfs-${tools.kernelVersion}-${key}.cpio.gz`);
  try {
    await access(file, fsConstants.R_OK);
    return file;
  } catch {
    /* build it */
  }
  const builtin = builtinModules(tools);
  const DIR = 0o040755;
  const REG = 0o100644;
  const EXE = 0o100755;
  const entries: CpioEntry[] = [
    { name: 'bin', mode: DIR },
    { name: 'dev', mode: DIR },
    { name: 'dev/console', mode: 0o020600, rdevMajor: 5, rdevMinor: 1 },
    { name: 'dev/null', mode: 0o020666, rdevMajor: 1, rdevMinor: 3 },
    { name: 'lib', mode: DIR },
    { name: 'lib/modules', mode: DIR },
    { name: 'newroot', mode: DIR },
    { name: 'proc', mode: DIR },
    { name: 'sbin', mode: DIR },
    { name: 'sys', mode: DIR },
    { name: 'usr', mode: DIR },
    { name: 'usr/bin', mode: DIR },
    { name: 'usr/sbin', mode: DIR },
    { name: 'bin/busybox', mode: EXE, data: readFileSync(tools.busybox) },
    { name: 'init', mode: EXE, data: Buffer.from(INIT_SCRIPT) },
  ];
  for (const m of GUEST_MODULES) {
    const data = loadModule(tools, m, builtin);
    if (data) entries.push({ name: `lib/modules/${m}.ko`, mode: REG, data });
  }
  const archive = gzipSync(cpioNewc(entries), { level: 6 });
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, archive);
  await rename(tmp, file);
  removeOtherCached(/^initramfs-.*\.cpio\.gz$/, file);
  return file;
}

// ---------------------------------------------------------------------------------------------
// Faster boot: the uncompressed kernel (vmlinux) booted through its PVH entry point. Decompressing
// Debian's xz bzImage under TCG takes about 3 s of every boot; extracting it once on the host
// (cached) saves that. Falls back to the bzImage when anything is missing or unexpected.
// ---------------------------------------------------------------------------------------------

/** True if `buf` is a complete x86-64 ELF whose notes include XEN_ELFNOTE_PHYS32_ENTRY (PVH). */
function isPvhElf(buf: Buffer): boolean {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) return false;
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  let pvh = false;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > buf.length) return false;
    const type = buf.readUInt32LE(ph);
    const off = Number(buf.readBigUInt64LE(ph + 8));
    const filesz = Number(buf.readBigUInt64LE(ph + 32));
    if (off + filesz > buf.length) return false; // truncated
    if (type !== 4) continue; // PT_NOTE
    for (let n = off; n + 12 <= off + filesz; ) {
      const namesz = buf.readUInt32LE(n);
      const descsz = buf.readUInt32LE(n + 4);
      const ntype = buf.readUInt32LE(n + 8);
      const name = buf.toString('latin1', n + 12, n + 12 + Math.max(0, namesz - 1));
      if (name === 'Xen' && ntype === 18) pvh = true;
      n += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return pvh;
}

function extractVmlinux(bzImage: string): Buffer | null {
  const img = readFileSync(bzImage);
  const formats: [Buffer, string][] = [
    [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'xz'],
    [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd'],
    [Buffer.from([0x1f, 0x8b, 0x08]), 'gzip'],
  ];
  for (const [magic, tool] of formats) {
    if (!which(tool)) continue;
    for (let at = img.indexOf(magic); at >= 0; at = img.indexOf(magic, at + 1)) {
      let out: Buffer;
      try {
        out = execFileSync(tool, ['-dcq'], { input: img.subarray(at), maxBuffer: 512 * 1024 * 1024, stdio: ['pipe', 'pipe', 'ignore'] });
      } catch (e) {
        // the payload is followed by other data, so the tool often complains after writing it all
        const stdout = (e as { stdout?: Buffer }).stdout;
        if (!stdout) continue;
        out = stdout;
      }
      if (isPvhElf(out)) return out;
    }
  }
  return null;
}

let kernelPromise: Promise<{ kernel: string; pvh: boolean }> | undefined;

/** The kernel file to boot: a cached PVH vmlinux if it can be made, otherwise the bzImage. */
export function ensureKernel(): Promise<{ kernel: string; pvh: boolean }> {
  kernelPromise ??= (async () => {
    const tools = findHostTools();
    if (process.env.CORRAL_VM_FAST_BOOT === '0') return { kernel: tools.kernelImage, pvh: false };
    const st = statSync(tools.kernelImage);
    const key = createHash('sha256').update(`${st.size}:${st.mtimeMs}:vmlinux-1`).digest('hex').slice(0, 12);
    const file = join(cacheDir(), `vmlinux-${tools.kernelVersion}-${key}`);
    const none = join(cacheDir(), `vmlinux-${tools.kernelVersion}-${key}.unusable`);
    if (existsSync(file)) return { kernel: file, pvh: true };
    if (existsSync(none)) return { kernel: tools.kernelImage, pvh: false };
    await mkdir(cacheDir(), { recursive: true });
    const vmlinux = extractVmlinux(tools.kernelImage);
    const tmp = `${vmlinux ? file : none}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, vmlinux ?? '');
    await rename(tmp, vmlinux ? file : none);
    removeOtherCached(/^vmlinux-/, vmlinux ? file : none);
    return vmlinux ? { kernel: file, pvh: true } : { kernel: tools.kernelImage, pvh: false };
  })().catch((e: unknown) => {
    kernelPromise = undefined;
    throw e;
  });
  return kernelPromise;
}

// ---------------------------------------------------------------------------------------------
// Running a command.
// ---------------------------------------------------------------------------------------------

/** Quote for POSIX sh: the result is one word whatever the input holds. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Remove run directories left behind by harness processes that no longer exist. */
async function removeStaleRuns(): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(join(cacheDir(), 'runs'));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') await rm(join(cacheDir(), 'runs', name), { recursive: true, force: true });
    }
  }
}

/**
 * The directory of the host's python3 (the one `python3` on the host's PATH runs), so that the
 * guest's python3 is the same interpreter with the same packages (the Docker SDK for Python may
 * live in a pyenv under /root rather than in /usr/lib). Undefined without a python3.
 */
function hostPythonDir(): string | undefined {
  try {
    const exe = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
    return exe.startsWith('/') ? dirname(exe) : undefined;
  } catch {
    return undefined;
  }
}

function commandScript(checkout: string, command: string, env: Record<string, string>): string {
  const basePath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  const dirs = basePath.split(':');
  // node's directory and the host python3's go first, where they are not system directories already
  for (const dir of [hostPythonDir(), dirname(process.execPath)]) if (dir !== undefined && !dirs.includes(dir)) dirs.unshift(dir);
  const vars: Record<string, string> = {
    PATH: dirs.join(':'),
    HOME: '/root',
    USER: 'root',
    LOGNAME: 'root',
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    CORRAL_VM_GUEST: '1',
    ...env,
  };
  const assigns: string[] = [];
  for (const [k, v] of Object.entries(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`runInGuest: invalid environment variable name ${JSON.stringify(k)}`);
    if (v.includes('\0')) throw new Error(`runInGuest: environment variable ${k} contains a NUL byte`);
    assigns.push(shQuote(`${k}=${v}`));
  }
  if (command.includes('\0')) throw new Error('runInGuest: the command contains a NUL byte');
  return [
    '# written by test/vm/guest.ts; runs inside the guest, chrooted into the host root',
    `cd ${shQuote(checkout)} || exit 125`,
    `exec /usr/bin/env -i ${assigns.join(' ')} /bin/sh -c ${shQuote(command)}`,
    '',
  ].join('\n');
}

/** qemu processes still running, killed if this process exits. */
const liveQemus = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveQemus) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  });
}

/** (Exported for unit tests.) Splits the serial console stream into: before the start marker, the command's output, the exit
 * marker. Partial lines are passed on as they arrive unless they might be the start of a marker. */
export class GuestConsoleParser {
  private pending = '';
  private state: 'boot' | 'command' | 'done' = 'boot';
  /** The last few KiB of console text: boot messages, then the command's output. */
  private recent = '';
  output = '';
  exitCode: number | undefined;
  guestError: string | undefined;
  startedAt: number | undefined;

  constructor(
    private readonly nonce: string,
    private readonly onOutput: ((chunk: string) => void) | undefined,
    private readonly onStart: () => void,
    private readonly onExit: () => void,
  ) {}

  /** True once the start marker was seen (the guest is up and the command was started). */
  get started(): boolean {
    return this.startedAt !== undefined;
  }

  private tail(text: string): void {
    this.recent += text;
    if (this.recent.length > 16384) this.recent = this.recent.slice(-8192);
  }

  /** The last lines of the console (for error messages). */
  get consoleTail(): string[] {
    return this.recent.replace(/\n$/, '').split('\n').slice(-TAIL_LINES);
  }

  private emit(s: string): void {
    if (!s) return;
    this.tail(s);
    this.output += s;
    this.onOutput?.(s);
  }

  push(chunk: string): void {
    if (this.state === 'done') return;
    this.pending += chunk;
    for (;;) {
      const nl = this.pending.indexOf('\n');
      if (nl < 0) break;
      const line = this.pending.slice(0, nl + 1);
      this.pending = this.pending.slice(nl + 1);
      this.line(line);
      if ((this.state as string) === 'done') return;
    }
    if (this.state === 'command' && this.pending) {
      // pass on a partial line, holding back any suffix that could begin the exit marker
      const hold = this.markerPrefixStart(this.pending);
      this.emit(this.pending.slice(0, hold));
      this.pending = this.pending.slice(hold);
    }
  }

  private markerPrefixStart(s: string): number {
    for (let i = s.indexOf('@'); i >= 0; i = s.indexOf('@', i + 1)) {
      const rest = s.slice(i);
      if (MARK_EXIT.startsWith(rest) || rest.startsWith(MARK_EXIT)) return i;
    }
    return s.length;
  }

  private line(line: string): void {
    const bare = line.replace(/\r?\n$/, '');
    if (this.state === 'boot') {
      this.tail(bare + '\n');
      const err = this.matchError(bare);
      if (err !== undefined) {
        this.guestError = err;
        this.state = 'done';
        this.onExit();
        return;
      }
      if (bare.includes(`${MARK_START} ${this.nonce}@@`)) {
        this.state = 'command';
        this.startedAt = Date.now();
        this.onStart();
      }
      return;
    }
    // command output: the exit marker may follow output that did not end with a newline
    const re = new RegExp(`${MARK_EXIT} ${this.nonce} (\\d+)@@`);
    const m = re.exec(bare);
    if (m) {
      this.emit(bare.slice(0, m.index));
      this.exitCode = Number(m[1]);
      this.state = 'done';
      this.onExit();
      return;
    }
    this.emit(line);
  }

  private matchError(line: string): string | undefined {
    const i = line.indexOf(`${MARK_ERROR} ${this.nonce} `);
    if (i < 0) return undefined;
    return line.slice(i + MARK_ERROR.length + this.nonce.length + 2).replace(/@@$/, '');
  }

  /** Whatever is left when qemu ends without an exit marker. */
  flush(): void {
    if (this.pending) {
      const rest = this.pending;
      this.pending = '';
      if (this.state === 'command') this.emit(rest);
      else this.tail(rest);
    }
  }
}

/**
 * Boot the cgroup v2 guest, run `command` with `sh -c` in the checkout directory (same absolute path
 * as on the host, writable), and return its exit status and merged stdout/stderr. Rejects if the
 * guest does not come up, the command does not finish within `timeoutMs`, or qemu dies.
 * qemu is killed on every path.
 */
export async function runInGuest(command: string, opts: GuestOptions = {}): Promise<GuestResult> {
  const tools = findHostTools();
  const [initramfs, { kernel }] = await Promise.all([ensureInitramfs(), ensureKernel()]);
  const checkout = repoRoot();
  await removeStaleRuns();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const memoryMiB = opts.memoryMiB ?? 2048;
  const cpus = opts.cpus ?? 1;
  if (!Number.isInteger(memoryMiB) || memoryMiB < 128) throw new Error(`runInGuest: memoryMiB must be an integer >= 128, got ${memoryMiB}`);
  if (!Number.isInteger(cpus) || cpus < 1) throw new Error(`runInGuest: cpus must be a positive integer, got ${cpus}`);

  const runId = `${process.pid}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const nonce = randomBytes(8).toString('hex');
  const runDir = join(cacheDir(), 'runs', runId);
  await mkdir(runDir, { recursive: true });
  try {
    await writeFile(join(runDir, 'cmd.sh'), commandScript(checkout, command, opts.env ?? {}), { mode: 0o644 });

    const append = [
      'console=ttyS0',
      'quiet',
      'loglevel=1',
      'panic=-1',
      'cgroup_no_v1=all',
      `corral.run=${runId}`,
      `corral.nonce=${nonce}`,
      `corral.checkout=${Buffer.from(checkout).toString('base64')}`,
    ].join(' ');
    const fsdevPath = (p: string): string => p.replace(/,/g, ',,');
    const qemuArgs = [
      '-accel',
      cpus > 1 ? 'tcg,thread=multi' : 'tcg',
      '-cpu',
      'max',
      '-m',
      String(memoryMiB),
      '-smp',
      String(cpus),
      '-nographic',
      '-no-reboot',
      '-nic',
      'none',
      ...(tools.qboot ? ['-bios', tools.qboot] : []),
      '-kernel',
      kernel,
      '-initrd',
      initramfs,
      '-append',
      append,
      '-fsdev',
      `local,id=hostroot,path=/,security_model=passthrough,readonly=on,multidevs=remap`,
      '-device',
      'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
      '-fsdev',
      `local,id=work,path=${fsdevPath(checkout)},security_model=passthrough,multidevs=remap`,
      '-device',
      'virtio-9p-pci,fsdev=work,mount_tag=work',
    ];
    // With setpriv, qemu also dies if this node process is SIGKILLed.
    const [file, args] = tools.setpriv ? [tools.setpriv, ['--pdeathsig', 'KILL', '--', tools.qemu, ...qemuArgs]] : [tools.qemu, qemuArgs];
    return await runQemu(file, args, nonce, timeoutMs, opts.onOutput);
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

function runQemu(file: string, args: string[], nonce: string, timeoutMs: number, onOutput: ((chunk: string) => void) | undefined): Promise<GuestResult> {
  installExitHook();
  const startedAt = Date.now();
  return new Promise<GuestResult>((resolvePromise, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    liveQemus.add(child);
    let settled = false;
    let stderr = '';
    let graceTimer: NodeJS.Timeout | undefined;

    const kill = (): void => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    };
    const lastLines = (): string => {
      const lines = [
        ...parser.consoleTail,
        ...stderr
          .split('\n')
          .filter(Boolean)
          .slice(-10)
          .map((l) => `[qemu stderr] ${l}`),
      ];
      return lines.length ? lines.join('\n') : '(no output)';
    };
    let closed = false;
    const closeWaiters: (() => void)[] = [];
    /** Settle only once qemu is gone (killed and reaped), or after 10 s if it will not die. */
    const finish = (err: Error | null, result?: GuestResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (graceTimer) clearTimeout(graceTimer);
      kill();
      const settle = (): void => (err ? reject(err) : resolvePromise(result!));
      if (closed) {
        settle();
        return;
      }
      const cap = setTimeout(settle, 10_000);
      closeWaiters.push(() => {
        clearTimeout(cap);
        settle();
      });
    };

    const parser = new GuestConsoleParser(
      nonce,
      onOutput,
      () => {},
      () => {
        // the guest powers itself off after the marker; give it a moment, then make sure
        graceTimer = setTimeout(() => {
          graceTimer = undefined;
          kill();
        }, 5000);
      },
    );

    const timer = setTimeout(() => {
      finish(new Error(`runInGuest: timed out after ${timeoutMs} ms (${parser.started ? 'command still running' : 'guest never reached the command'}); qemu killed. Last output:\n${lastLines()}`));
    }, timeoutMs);

    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => parser.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.length > 64 * 1024) stderr = stderr.slice(-32 * 1024);
    });
    child.on('error', (e) => finish(new Error(`runInGuest: cannot start ${file}: ${e.message}`)));
    child.on('close', (code, signal) => {
      closed = true;
      liveQemus.delete(child);
      for (const w of closeWaiters.splice(0)) w();
      parser.flush();
      if (parser.guestError !== undefined) {
        finish(new Error(`runInGuest: guest setup failed: ${parser.guestError}. Last output:\n${lastLines()}`));
      } else if (parser.exitCode !== undefined) {
        finish(null, {
          exitCode: parser.exitCode,
          output: parser.output,
          bootMs: (parser.startedAt ?? Date.now()) - startedAt,
        });
      } else {
        finish(
          new Error(
            `runInGuest: qemu ended (${signal ? `signal ${signal}` : `status ${code}`}) ${parser.started ? 'before the command finished' : 'before the guest was ready'}. Last output:\n${lastLines()}`,
          ),
        );
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// TAP (node --test --test-reporter=tap) parsing.
// ---------------------------------------------------------------------------------------------

export interface TapTestDetails {
  /** duration_ms from the YAML block. */
  durationMs?: number;
  /** 'test' or 'suite' (node 20 sets type: 'suite' for describe blocks). */
  type?: string;
  /** The error message of a failed test. */
  error?: string;
  failureType?: string;
  code?: string;
  stack?: string;
  location?: string;
  /** The reason after # SKIP / # TODO, if any. */
  reason?: string;
  /** Every key of the YAML diagnostic block, values as text (block scalars joined with \n). */
  yaml: Record<string, string>;
  /** The test's nested TAP (subtests, their diagnostics and comments), de-indented by one level. */
  subtestOutput: string;
  /** Top-level "# ..." comments since the previous test point, without the "# " (console output
   * of test files and the error a test file died with end up here). */
  comments: string[];
}

export interface TapTestResult {
  name: string;
  ok: boolean;
  skip: boolean;
  todo: boolean;
  details: TapTestDetails;
}

function unescapeTapName(s: string): string {
  return s.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c));
}

/** Split "name # SKIP reason" at the first unescaped " # ". */
function splitDirective(desc: string): { name: string; directive?: 'skip' | 'todo'; reason?: string } {
  for (let i = 0; i < desc.length; i++) {
    if (desc[i] === '\\') {
      i++;
      continue;
    }
    if (desc[i] === '#') {
      const m = /^#\s*(SKIP|TODO)\b\s*(.*)$/i.exec(desc.slice(i));
      if (m) {
        const reason = (m[2] ?? '').trim();
        return {
          name: desc.slice(0, i).trimEnd(),
          directive: (m[1] ?? '').toUpperCase() === 'SKIP' ? 'skip' : 'todo',
          ...(reason ? { reason } : {}),
        };
      }
    }
  }
  return { name: desc.trimEnd() };
}

function unquoteYamlScalar(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
    try {
      return JSON.parse(t) as string;
    } catch {
      return t.slice(1, -1);
    }
  }
  return t;
}

/** Parse the flat YAML node's TAP reporter writes (key: value, key: |-  block, nested maps as text). */
function parseYamlBlock(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    const m = /^([A-Za-z_][\w-]*):(?:\s(.*))?$/.exec(line);
    i++;
    if (!m?.[1]) continue;
    const key = m[1];
    const value = (m[2] ?? '').trim();
    // continuation: every following line indented more than the key
    const cont: string[] = [];
    while (i < lines.length && (/^\s/.test(lines[i] ?? '') || (lines[i] ?? '') === '')) {
      cont.push(lines[i] ?? '');
      i++;
    }
    while (cont.length && cont[cont.length - 1] === '') cont.pop();
    if (/^[|>][+-]?$/.test(value) || (value === '' && cont.length)) {
      const indent = Math.min(...cont.filter((l) => l.trim()).map((l) => /^\s*/.exec(l)![0].length));
      const body = cont.map((l) => l.slice(Number.isFinite(indent) ? indent : 0));
      out[key] = value.startsWith('>') ? body.join(' ') : body.join('\n');
    } else {
      out[key] = unquoteYamlScalar([value, ...cont.map((l) => l.trim())].join(' '));
    }
  }
  return out;
}

/**
 * Parse node's TAP output (`node --test --test-reporter=tap`, TAP version 13 with nested subtests
 * indented by four spaces) into one record per top-level test point. Lines before "TAP version"
 * and anything that is not TAP at the top level (e.g. kernel or harness noise) are ignored; the
 * output of several runs one after another reads as one run.
 */
export function parseTap(text: string): TapTestResult[] {
  let lines = text.replace(/\r\n/g, '\n').split('\n');
  const versionLine = lines.findIndex((l) => /^TAP version \d+\s*$/.test(l));
  if (versionLine >= 0) lines = lines.slice(versionLine + 1);
  const results: TapTestResult[] = [];
  let nested: string[] = [];
  let comments: string[] = [];
  const testPoint = /^(not ok|ok)\b\s*(\d+)?\s*(?:-\s)?(.*)$/;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^TAP version \d+\s*$/.test(line)) {
      // the next run of a concatenation (a guest runs its files one node --test at a time): the
      // previous run's summary comments belong to no test
      nested = [];
      comments = [];
      continue;
    }
    const m = testPoint.exec(line);
    if (!m) {
      // nested content belongs to the next top-level test point
      if (/^\s/.test(line)) nested.push(line);
      else if (line.startsWith('#') && !line.startsWith('# Subtest:')) comments.push(line.replace(/^# ?/, ''));
      continue;
    }
    const ok = m[1] === 'ok';
    const { name, directive, reason } = splitDirective(m[3] ?? '');
    // YAML diagnostics: "  ---" ... "  ..."
    let yaml: Record<string, string> = {};
    if ((lines[i + 1] ?? '').trim() === '---' && /^\s+---\s*$/.test(lines[i + 1] ?? '')) {
      const indent = /^\s*/.exec(lines[i + 1] ?? '')![0].length;
      const body: string[] = [];
      let j = i + 2;
      for (; j < lines.length; j++) {
        const l = lines[j] ?? '';
        if (l.trim() === '...' && /^\s*/.exec(l)![0].length === indent) break;
        body.push(l.slice(Math.min(indent, /^\s*/.exec(l)![0].length)));
      }
      yaml = parseYamlBlock(body);
      i = j;
    }
    const subtestLines = nested.map((l) => l.replace(/^ {4}/, ''));
    const details: TapTestDetails = { yaml, subtestOutput: subtestLines.join('\n'), comments };
    nested = [];
    comments = [];
    const dur = yaml.duration_ms !== undefined ? Number(yaml.duration_ms) : NaN;
    if (!Number.isNaN(dur)) details.durationMs = dur;
    if (yaml.type !== undefined) details.type = yaml.type;
    if (yaml.error !== undefined) details.error = yaml.error;
    if (yaml.failureType !== undefined) details.failureType = yaml.failureType;
    if (yaml.code !== undefined) details.code = yaml.code;
    if (yaml.stack !== undefined) details.stack = yaml.stack;
    if (yaml.location !== undefined) details.location = yaml.location;
    if (reason !== undefined) details.reason = reason;
    results.push({ name: unescapeTapName(name), ok, skip: directive === 'skip', todo: directive === 'todo', details });
  }
  return results;
}
