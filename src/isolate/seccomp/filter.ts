/**
 * A container's seccomp setting (Docker's `--security-opt seccomp=...`) to the program the launcher
 * loads: Docker's default profile, none, or the container's own profile. Pure.
 */
import type { SockFilter } from './bpf.js';
import { compileSeccomp, type SeccompFacts } from './compile.js';
import { DOCKER_DEFAULT_PROFILE } from './docker-default.js';
import { type KernelVersion, parseSeccompProfile, parseSeccompProfileText, type SeccompProfile } from './profile.js';

/**
 * Which filter a container gets: Docker's default profile (`builtin`, also when nothing is said),
 * none (`unconfined`), or a profile of its own, kept as the JSON text it was given in (its 64-bit
 * values exact, see json.ts).
 */
export type SeccompSetting = { kind: 'builtin' } | { kind: 'unconfined' } | { kind: 'custom'; profile: string };

let defaultProfile: SeccompProfile | undefined;

/** Docker's default profile, read once (it is a constant: docker-default.ts). */
export function dockerDefaultProfile(): SeccompProfile {
  defaultProfile ??= parseSeccompProfile(DOCKER_DEFAULT_PROFILE);
  if (defaultProfile === undefined) throw new Error('docker-default.ts holds no profile');
  return defaultProfile;
}

/**
 * The programs made last, by setting, capabilities and kernel, frozen: a container is planned twice
 * (checked, then made), and a daemon plans containers with the same capabilities over and over,
 * while compiling the default profile costs a few milliseconds of a start that takes twenty.
 */
const recent = new Map<string, readonly SockFilter[] | undefined>();
const RECENT = 8;

/**
 * The program for a setting, or undefined for no filter (`unconfined`, or a profile that Docker
 * reads as none, `{}`). Throws SeccompProfileError for a custom profile that cannot be used.
 */
export function seccompFilter(setting: SeccompSetting | undefined, facts: SeccompFacts): readonly SockFilter[] | undefined {
  if (setting?.kind === 'unconfined') return undefined;
  const key = `${facts.caps} ${facts.kernel.kernel}.${facts.kernel.major} ${setting?.kind === 'custom' ? setting.profile : 'builtin'}`;
  if (recent.has(key)) return recent.get(key);
  const profile = setting?.kind === 'custom' ? parseSeccompProfileText(setting.profile) : dockerDefaultProfile();
  const program = profile === undefined ? undefined : Object.freeze(compileSeccomp(profile, facts).map((i) => Object.freeze(i)));
  if (recent.size >= RECENT) recent.delete(recent.keys().next().value!);
  recent.set(key, program);
  return program;
}

/**
 * The kernel's version from its release (uname -r, os.release()): "6.1.0-18-amd64" is 6.1, as moby
 * reads it (minor revisions and suffixes ignored). Throws for a release that does not start so.
 */
export function parseKernelRelease(release: string): KernelVersion {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (m === null) throw new Error(`kernel release ${JSON.stringify(release)} does not start with <kernel>.<major>`);
  return { kernel: Number(m[1]), major: Number(m[2]) };
}
