/**
 * The flags of `corral run`, with Docker's names and meanings, turned into the cgroup Resources
 * (v2 meanings) and the IsolationOptions of a container. Pure: facts about the host are injected
 * (HostFacts), nothing is read or created here, and every bad input is an InvalidArgumentError
 * (or the RunUsageError subclass) naming the flag, the value and what is allowed.
 *
 * Parsing stops at the first positional argument: in `corral run -m 32m sh -c "echo hi"` the `-c`
 * belongs to sh.
 */
import { posix } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { blkioWeightToIoWeight, cpuSharesToWeight } from '../../cgroups/convert.js';
import { formatCpuList, parseCpuList } from '../../cgroups/parse.js';
import type { CpuLimits, CpusetLimits, IoDeviceLimit, IoLimits, Limit, MemoryLimits, Resources } from '../../cgroups/types.js';
import { CorralError, InvalidArgumentError } from '../../errors.js';
import type { SeccompSetting } from '../../isolate/seccomp/filter.js';
import { compactJson, JsonSyntaxError } from '../../isolate/seccomp/json.js';
import { parseSeccompProfileText, SeccompProfileError } from '../../isolate/seccomp/profile.js';
import type { IsolationOptions, NetworkMode, TmpfsMount, Ulimit, VolumeMount } from '../../isolate/types.js';
import { type MountFlag, type RlimitValue, ULIMIT_NAMES, type UlimitName } from '../../isolate/spec.js';
import type { ImageDefaults, LogOptions, RunConfig } from './run-config.js';
import { EXPECT, inputFromOptions, type RawRunOptions, RUN_FLAGS, type RunInput } from './fields.js';
import { CPU_LIST_PATTERN, type DeviceRate, type LogOpt, logOptOf, type Read, type Shown, take, type UlimitInput } from './readers.js';
import { formatSizeExact } from '../format.js';
import { parseSignal } from '../signals.js';
import { tryParseByteSize } from './units.js';

export { EXPECT, type RawRunOptions, type RunInput } from './fields.js';
export type { LogOptions, RunConfig } from './run-config.js';

/** What the flags are checked against; injected so that tests need no host. */
export interface HostFacts {
  /** CPUs the supervisor may use (Docker's NumCPU: the affinity mask's size); the bound of --cpus */
  onlineCpus: number;
  /** the parent cgroup's effective CPUs; --cpuset-cpus must be a subset */
  effectiveCpus: number[];
  /** the parent cgroup's effective memory nodes; --cpuset-mems must be a subset */
  effectiveMems: number[];
  /** major and minor of a block device; undefined when the path is missing or not a block device */
  deviceNumber(path: string): { major: number; minor: number } | undefined;
  /** whether a host path exists (any type; symlinks followed) */
  pathKind(path: string): 'file' | 'dir' | undefined;
  /** the supervisor's own environment, for `-e KEY`; default: process.env */
  getEnv?(name: string): string | undefined;
  /**
   * A file's text, for --label-file and --security-opt seccomp=PROFILE.json; throws an Error saying
   * why it cannot be read. Absent where the files are not the caller's to read (the daemon parsing a
   * client's argv): ClientSideFlagError.
   */
  readTextFile?(path: string): string;
}

/** A flag that only the client may act on (it reads the client's files): the caller hands the command line back to the client. */
export class ClientSideFlagError extends CorralError {
  constructor(readonly flag: string) {
    super('ECLIENTSIDE', `${flag} is read by the client`);
  }
}

/** A command line that commander could not take: unknown flag, a flag without its value, no command. */
export class RunUsageError extends InvalidArgumentError {
  constructor(flag: string, value: string, message: string) {
    super(flag, value, '');
    this.message = message;
  }
}

/** `--help` was given; `text` is the help to print. Not an error of the user's input. */
export class RunHelpRequested extends CorralError {
  readonly text: string;
  constructor(text: string) {
    super('EHELP', 'help requested');
    this.text = text;
  }
}

/** Docker's default PATH for Linux containers. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Docker's smallest memory limit and reservation (linuxMinMemory), in bytes. */
export const MIN_MEMORY = 6 * 1024 * 1024;
/** The cpu.max period used for --cpus, in microseconds (Docker's 100ms). */
export const CPUS_PERIOD = 100_000;

const MAX_ID = 4_294_967_294; // uid_t/gid_t, without (uid_t)-1
const MAX_CPUSET_NUMBER = 65_535;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Declare the flags of `corral run` on `command` (for use by the CLI's own `run` subcommand too). */
export function addRunOptions(command: Command): Command {
  for (const spec of RUN_FLAGS) {
    const option = new Option(spec.flags, spec.repeatable ? `${spec.description} (repeatable)` : spec.description);
    if (spec.repeatable) option.argParser(collect);
    command.addOption(option);
  }
  return command;
}

/** A stand-alone `corral run` command that parses into RawRunOptions and throws instead of exiting. */
export function createRunCommand(): Command {
  const command = new Command('run')
    .usage('[flags] COMMAND [ARG...]')
    .description('run a command in a new container')
    .helpOption('--help', 'show this help')
    .argument('[command...]', 'the command and its arguments')
    .passThroughOptions()
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined });
  return addRunOptions(command);
}

/** The help text of `corral run`. */
export function runHelp(): string {
  return createRunCommand().name('corral run').helpInformation();
}

/**
 * Parse what follows `corral run`. `id` is the new container's id: without --hostname, its first 12
 * characters are the hostname (Docker's rule) and HOSTNAME is in the environment; without `id` either,
 * `isolation.hostname` is "" and the environment has no HOSTNAME: the caller fills both in.
 * Throws InvalidArgumentError (RunUsageError for the command line's shape) or RunHelpRequested.
 */
export function parseRunArgs(argv: string[], facts: HostFacts, id?: string): RunConfig {
  return parseRunCommandLine(argv, facts, id).config;
}

/**
 * parseRunArgs, with the raw values as well (the daemon's create body is made from them) and -d.
 * With `image` (resolved by the caller from the first word, runImageWord), that word is the image and
 * the rest its command.
 */
export function parseRunCommandLine(argv: string[], facts: HostFacts, id?: string, image?: ImageDefaults): { config: RunConfig; options: RawRunOptions; detach: boolean } {
  const command = parsedRunCommand(argv);
  const options = command.opts<RawRunOptions>();
  const words = image === undefined ? command.args : command.args.slice(1);
  return { config: runConfigFromOptions(options, words, facts, id, image), options, detach: options.detach === true };
}

function parsedRunCommand(argv: string[]): Command {
  const command = createRunCommand();
  try {
    command.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) throw fromCommanderError(error);
    throw error;
  }
  return command;
}

/**
 * The word after corral run's flags that may name an image (the caller decides whether it does):
 * none with --rootfs, whose directory is the root.
 */
export function runImageWord(argv: string[]): string | undefined {
  const command = parsedRunCommand(argv);
  return command.opts<RawRunOptions>().rootfs === undefined ? command.args[0] : undefined;
}

function longFlag(flags: string): string {
  return /--[a-z][a-z0-9-]*/.exec(flags)?.[0] ?? flags;
}

function fromCommanderError(error: CommanderError): Error {
  if (error.code === 'commander.helpDisplayed') return new RunHelpRequested(runHelp());
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
  if (error.code === 'commander.unknownOption') {
    const eq = quoted.indexOf('=');
    if (eq > 0) {
      const known = RUN_FLAGS.find((spec) => longFlag(spec.flags) === quoted.slice(0, eq));
      if (known && known.expected === undefined) {
        return new RunUsageError(quoted.slice(0, eq), quoted.slice(eq + 1), `flag ${quoted.slice(0, eq)} takes no value: ${quoted}`);
      }
    }
    const similar = /\(Did you mean (.*)\?\)/.exec(error.message)?.[1];
    const hint = similar === undefined ? 'see corral run --help' : `did you mean ${similar}?`;
    return new RunUsageError(quoted, quoted, `unknown flag ${quoted} for corral run (${hint})`);
  }
  if (error.code === 'commander.optionMissingArgument') {
    const flag = longFlag(quoted);
    const spec = RUN_FLAGS.find((s) => longFlag(s.flags) === flag);
    return new RunUsageError(flag, '', `flag ${flag} needs a value: ${spec?.expected ?? 'see corral run --help'}`);
  }
  return new RunUsageError('corral run', '', error.message.replace(/^error: /, ''));
}

/**
 * --log-opt values, with Docker's json-file rules (daemon/logger/jsonfilelog): max-size in bytes
 * with binary units, max-file at least 1 and only with max-size; any other key is refused.
 */
export function parseLogOpts(values: readonly string[]): LogOptions {
  return logOptionsOf(values.map(logOptOf));
}

/** parseLogOpts' rules over --log-opt's key=value pairs, from the flag or from the body's LogConfig. */
function logOptionsOf(opts: readonly LogOpt[]): LogOptions {
  let maxSize: number | undefined;
  let maxFiles: number | undefined;
  for (const { key, value: text, text: value } of opts) {
    if (key === 'max-size') {
      const parsed = tryParseByteSize(text);
      if (!parsed.ok) throw new InvalidArgumentError('--log-opt', value, `${parsed.reason}; expected max-size=SIZE with a size such as 10m`);
      maxSize = parsed.bytes;
    } else if (key === 'max-file') {
      if (!/^\d{1,5}$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('--log-opt', value, 'max-file=N with N a whole number from 1 to 99999');
      maxFiles = Number(text);
    } else {
      throw new InvalidArgumentError('--log-opt', value, `unknown log opt '${key}' for the json-file log driver: expected max-size=SIZE or max-file=N`);
    }
  }
  if (maxFiles !== undefined && maxFiles > 1 && maxSize === undefined)
    throw new InvalidArgumentError('--log-opt', `max-file=${maxFiles}`, "max-file needs max-size (Docker's rule: without a size nothing rotates)");
  return { maxSize: maxSize ?? 0, maxFiles: maxFiles ?? 1 };
}

/** Validate commander's raw values and the command, and build the configuration. */
export function runConfigFromOptions(options: RawRunOptions, command: string[], facts: HostFacts, id?: string, image?: ImageDefaults): RunConfig {
  // as docker/cli: the files' labels first, then --label's, a later KEY winning
  const fromFiles = (options.labelFile ?? []).flatMap((file) => labelFileItems(file, facts));
  let withFiles = fromFiles.length === 0 ? options : { ...options, label: [...fromFiles, ...(options.label ?? [])] };
  // as docker/cli (ReadKVEnvStrings): the files' variables first, then -e's
  const envFromFiles = (options.envFile ?? []).flatMap((file) => envFileItems(file, facts));
  if (envFromFiles.length > 0) withFiles = { ...withFiles, env: [...envFromFiles, ...(options.env ?? [])] };
  if (options.securityOpt !== undefined) withFiles = { ...withFiles, securityOpt: options.securityOpt.map((item) => withSeccompProfile(item, facts)) };
  return runConfigFromInput(inputFromOptions(withFiles), command, facts, id, image);
}

/** A --security-opt item's key and value (docker/cli's parseSecurityOpts: split at "=", else at ":"); no value for a bare item. */
function securityOptParts(item: string): { key: string; value?: string } {
  const sep = item.includes('=') ? '=' : item.includes(':') ? ':' : undefined;
  if (sep === undefined) return { key: item };
  const at = item.indexOf(sep);
  return { key: item.slice(0, at), value: item.slice(at + 1) };
}

/** How a --security-opt item is shown in a message: a profile's JSON cut short. */
function shownSecurityOpt(item: string): string {
  return item.length > 72 ? `${item.slice(0, 69)}...` : item;
}

/**
 * `seccomp=PROFILE.json` as docker/cli sends it: `seccomp=<the file's JSON, compacted>`, checked
 * here so that a bad file is refused naming it. Other items are left as they are.
 */
export function withSeccompProfile(item: string, facts: HostFacts): string {
  const { key, value } = securityOptParts(item);
  if (key !== 'seccomp' || value === undefined || value === '' || value === 'unconfined' || value === 'builtin') return item;
  if (facts.readTextFile === undefined) throw new ClientSideFlagError('--security-opt');
  let text: string;
  try {
    text = facts.readTextFile(value);
  } catch (err) {
    throw new InvalidArgumentError('--security-opt', item, `cannot read the seccomp profile: ${(err as Error).message}`);
  }
  try {
    parseSeccompProfileText(text);
    return `seccomp=${compactJson(text)}`;
  } catch (err) {
    if (err instanceof SeccompProfileError || err instanceof JsonSyntaxError) throw new InvalidArgumentError('--security-opt', item, `the seccomp profile ${value}: ${err.message}`);
    throw err;
  }
}

/**
 * The container's seccomp setting from its security options, as moby reads HostConfig.SecurityOpt
 * (a later seccomp= wins). `no-new-privileges` (true) is accepted: corral always sets it; so are
 * `apparmor=unconfined` and `label=disable`, which hold already (corral loads no AppArmor profile and
 * sets no SELinux label). Anything else is refused, naming the item.
 */
export function seccompFromSecurityOpt(items: readonly string[]): SeccompSetting | undefined {
  let setting: SeccompSetting | undefined;
  for (const item of items) {
    const bad = (why: string) => new InvalidArgumentError('--security-opt', shownSecurityOpt(item), why);
    const { key, value } = securityOptParts(item);
    if (key === 'no-new-privileges' && (value === undefined || /^(1|t|T|true|TRUE|True)$/.test(value))) continue;
    if (value === undefined) throw bad(`expected KEY=VALUE: ${EXPECT.securityOpt}`);
    switch (key) {
      case 'seccomp':
        if (value === 'unconfined' || value === 'builtin') {
          setting = { kind: value };
        } else if (value.trimStart().startsWith('{')) {
          try {
            parseSeccompProfileText(value);
          } catch (err) {
            if (err instanceof SeccompProfileError) throw bad(`the seccomp profile: ${err.message}`);
            throw err;
          }
          setting = { kind: 'custom', profile: value };
        } else {
          throw bad(`expected unconfined, builtin or a seccomp profile's JSON (corral run reads PROFILE.json and sends its content, as docker run does)`);
        }
        continue;
      case 'no-new-privileges':
        throw bad('corral always sets no_new_privs: it cannot be turned off');
      case 'apparmor':
        if (value === 'unconfined') continue;
        throw bad('corral loads no AppArmor profile: only apparmor=unconfined is accepted');
      case 'label':
        if (value === 'disable') continue;
        throw bad('corral sets no SELinux labels: only label=disable is accepted');
      default:
        throw bad(`unknown security option "${key}"; expected ${EXPECT.securityOpt}`);
    }
  }
  return setting;
}

/**
 * The KEY=VALUE items of a --label-file, as docker/cli reads them: each line with its leading
 * blanks dropped; empty lines and those starting with # skipped; KEY alone is an empty value.
 */
export function labelFileItems(file: string, facts: HostFacts): string[] {
  if (facts.readTextFile === undefined) throw new ClientSideFlagError('--label-file');
  let text: string;
  try {
    text = facts.readTextFile(file);
  } catch (err) {
    throw new InvalidArgumentError('--label-file', file, `cannot read it: ${(err as Error).message}`);
  }
  const items: string[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '').trimStart();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if ((eq < 0 ? line : line.slice(0, eq)).trim() === '') throw new InvalidArgumentError('--label-file', `${file}:${i + 1}`, `${JSON.stringify(line)}: expected ${EXPECT.label}`);
    items.push(line);
  }
  return items;
}

/**
 * The KEY=VALUE items of an --env-file, as docker/cli reads them (opts.ParseEnvFile): each line with
 * its leading blanks dropped; empty lines and those starting with # skipped; the value taken as it
 * is (no quotes removed); KEY alone takes the client's value, and is left out when the client has
 * none. A KEY with blanks in it, or none, is refused naming the file and the line.
 */
export function envFileItems(file: string, facts: HostFacts): string[] {
  if (facts.readTextFile === undefined) throw new ClientSideFlagError('--env-file');
  let text: string;
  try {
    text = facts.readTextFile(file);
  } catch (err) {
    throw new InvalidArgumentError('--env-file', file, `cannot read it: ${(err as Error).message}`);
  }
  const getEnv = facts.getEnv ?? ((name: string) => process.env[name]);
  const items: string[] = [];
  for (const [i, raw] of text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .entries()) {
    const line = raw.replace(/\r$/, '').trimStart();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line.trimEnd() : line.slice(0, eq);
    const where = `${file}:${i + 1}`;
    if (key === '') throw new InvalidArgumentError('--env-file', where, `${JSON.stringify(line)}: no variable name; expected KEY=VALUE or KEY`);
    if (/\s/.test(key)) throw new InvalidArgumentError('--env-file', where, `variable ${JSON.stringify(key)} contains blanks; expected KEY=VALUE or KEY`);
    if (eq >= 0) items.push(line);
    else {
      const value = getEnv(key);
      if (value !== undefined) items.push(`${key}=${value}`);
    }
  }
  return items;
}

/** --stop-signal: a signal name (with or without SIG, any case) or number, kept as given (inspect shows it so, as Docker's). */
function checkStopSignal(value: string): string {
  try {
    parseSignal(value);
  } catch {
    throw new InvalidArgumentError('--stop-signal', value, `expected ${EXPECT.stopSignal}`);
  }
  return value;
}

/** --stop-timeout: whole seconds from 0 to 86400 (the most stop's t takes), or -1 to wait without limit. */
function checkStopTimeout(read: Shown<number>): number {
  const n = read.value;
  if (Number.isNaN(n) || n < -1 || n > 86_400) throw new InvalidArgumentError('--stop-timeout', read.text, `expected ${EXPECT.stopTimeout}`);
  return n;
}

/** Validate a configuration as read (from flags or a create body) and the command, and build the RunConfig. */
export function runConfigFromInput(options: RunInput, givenCmd: string[], facts: HostFacts, id?: string, image?: ImageDefaults): RunConfig {
  if (image !== undefined && options.rootfs !== undefined) {
    throw new InvalidArgumentError('--rootfs', options.rootfs, 'an image and --rootfs cannot both be the root; name one of them');
  }
  // Docker's create (daemon/create.go merge): an entrypoint given replaces the image's and drops its
  // Cmd; without one (or with --entrypoint ''), a command given replaces the image's Cmd
  let entrypoint = options.entrypoint;
  let cmd = givenCmd;
  if (image !== undefined && (entrypoint === undefined || entrypoint.length === 0)) {
    if (cmd.length === 0) cmd = image.cmd ?? [];
    if (entrypoint === undefined) entrypoint = image.entrypoint;
  }
  // --entrypoint's words come first, COMMAND's are its arguments (Docker's Entrypoint and Cmd)
  const command = [...(entrypoint ?? []), ...cmd];
  if (command.length === 0 || command[0] === '') {
    if (image !== undefined) throw new RunUsageError('COMMAND', command[0] ?? '', `the image ${image.name} names no command (no Entrypoint or Cmd): give one after the image`);
    throw new RunUsageError('COMMAND', command[0] ?? '', 'corral run needs a command: corral run [flags] COMMAND [ARG...]');
  }
  if (image !== undefined) options = withImageDefaults(options, image);
  const stopSignal = options.stopSignal === undefined ? undefined : checkStopSignal(options.stopSignal);
  const stopTimeout = options.stopTimeout === undefined ? undefined : checkStopTimeout(options.stopTimeout);
  const name = options.name === undefined ? undefined : parseName(options.name);
  const cgroupParent = options.cgroupParent === undefined ? undefined : parseCgroupParent(options.cgroupParent);
  const restartPolicy = options.restart === undefined ? undefined : take(options.restart);
  // docker/cli's rule: a container removed at its exit cannot be restarted
  if (restartPolicy !== undefined && restartPolicy.name !== 'no' && options.rm === true) {
    throw new InvalidArgumentError('--restart', options.restart!.text, (n) => `conflicting options: ${n('--restart')} and ${n('--rm')} (a container removed when it exits cannot be restarted)`);
  }
  const log = options.logOpt === undefined || options.logOpt.length === 0 ? undefined : logOptionsOf(options.logOpt);
  const labels = image?.labels === undefined ? (options.labels === undefined ? undefined : take(options.labels)) : { ...image.labels, ...(options.labels === undefined ? {} : take(options.labels)) };
  const resources = resourcesFrom(options, facts);
  const isolation = isolationFrom(options, command, facts, id, image);
  const securityOpt = options.securityOpt === undefined || options.securityOpt.length === 0 ? undefined : [...options.securityOpt];
  // Docker's HostConfig.Tmpfs, as given (checked, and turned into mounts, as isolation.tmpfs)
  const tmpfs = options.tmpfs === undefined || options.tmpfs.length === 0 ? undefined : Object.fromEntries(options.tmpfs.map(splitTmpfs));
  return {
    ...(name === undefined ? {} : { name }),
    rm: options.rm === true,
    ...(restartPolicy === undefined ? {} : { restartPolicy }),
    ...(cgroupParent === undefined ? {} : { cgroupParent }),
    ...(log === undefined ? {} : { log }),
    ...(labels === undefined || Object.keys(labels).length === 0 ? {} : { labels }),
    ...(securityOpt === undefined ? {} : { securityOpt }),
    ...(options.tty === true ? { tty: true } : {}),
    ...(options.interactive === true ? { openStdin: true } : {}),
    ...(options.interactive === true && options.stdinOnce === true ? { stdinOnce: true } : {}),
    ...(entrypoint === undefined ? {} : { entrypoint: [...entrypoint] }),
    ...(image === undefined ? {} : { image: { name: image.name, id: image.id, chainIds: [...image.chainIds] } }),
    ...(stopSignal === undefined ? {} : { stopSignal }),
    ...(stopTimeout === undefined ? {} : { stopTimeout }),
    ...(tmpfs === undefined ? {} : { tmpfs }),
    resources,
    isolation,
  };
}

// ---------------------------------------------------------------------------------------------
// container

function parseName(value: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(value)) throw new InvalidArgumentError('--name', value, `expected ${EXPECT.name}`);
  return value;
}

function parseCgroupParent(value: string): string {
  const segments = value.split('/');
  if (value === '' || segments.some((s) => s === '.' || s === '..') || /[\0\n]/.test(value)) {
    throw new InvalidArgumentError('--cgroup-parent', value, `expected ${EXPECT.cgroupParent}`);
  }
  const normalised = posix.normalize(value);
  return normalised.length > 1 && normalised.endsWith('/') ? normalised.slice(0, -1) : normalised;
}

// ---------------------------------------------------------------------------------------------
// resources

/**
 * The limits flags alone as Resources, validated as `corral run` validates them (the daemon's
 * update validates a container's new limits with this).
 */
export function resourcesFrom(options: RunInput, facts: HostFacts): Resources {
  const memory = memoryFrom(options);
  const cpu = cpuFrom(options, facts);
  const cpuset = cpusetFrom(options, facts);
  const pids = options.pidsLimit === undefined ? undefined : { max: checkPidsLimit(options.pidsLimit) };
  const io = ioFrom(options, facts);
  return {
    ...(cpu === undefined ? {} : { cpu }),
    ...(cpuset === undefined ? {} : { cpuset }),
    ...(memory === undefined ? {} : { memory }),
    ...(pids === undefined ? {} : { pids }),
    ...(io === undefined ? {} : { io }),
  };
}

function memoryFrom(options: RunInput): MemoryLimits | undefined {
  const out: MemoryLimits = {};
  if (options.oomKillDisable === true) out.oomKillDisable = true;
  if (options.memorySwappiness !== undefined) {
    const n = options.memorySwappiness.value;
    if (Number.isNaN(n) || n < -1 || n > 100) throw new InvalidArgumentError('--memory-swappiness', options.memorySwappiness.text, `expected ${EXPECT.memorySwappiness}`);
    // -1: the default (Docker's CLI sends it when the flag was not given)
    if (n !== -1) out.swappiness = n;
  }
  let memory: number | undefined;
  if (options.memory !== undefined) {
    const bytes = take(options.memory);
    if (bytes !== 0 && bytes < MIN_MEMORY) {
      throw new InvalidArgumentError('--memory', options.memory.text, `the minimum memory limit allowed is 6MB (${MIN_MEMORY} bytes)`);
    }
    if (bytes !== 0) memory = out.max = bytes;
  }
  if (options.memoryReservation !== undefined) {
    const flag = '--memory-reservation';
    const bytes = take(options.memoryReservation);
    if (bytes !== 0 && bytes < MIN_MEMORY) {
      throw new InvalidArgumentError(flag, options.memoryReservation.text, `the minimum memory reservation allowed is 6MB (${MIN_MEMORY} bytes)`);
    }
    if (memory !== undefined && bytes > memory) {
      throw new InvalidArgumentError(flag, options.memoryReservation.text, (n) => `the reservation cannot be above the memory limit ${n('--memory')} ${memory} (${formatSizeExact(memory)})`);
    }
    if (bytes !== 0) out.low = bytes;
  }
  if (options.memorySwap !== undefined) {
    const flag = '--memory-swap';
    const value = options.memorySwap.text;
    const swap = take(options.memorySwap);
    if (swap === 'unlimited') {
      out.swapMax = 'max';
    } else {
      const total = swap;
      if (total !== 0) {
        if (memory === undefined) {
          throw new InvalidArgumentError(flag, value, (n) => `set ${n('--memory')} too: ${n('--memory-swap')} is the memory+swap total and needs the memory limit (or use -1 for unlimited swap)`);
        }
        if (total < memory) {
          throw new InvalidArgumentError(
            flag,
            value,
            (n) => `the memory+swap total must be at least the memory limit ${n('--memory')} ${memory} (${formatSizeExact(memory)}), or -1 for unlimited swap`,
          );
        }
        out.swapMax = total - memory;
      }
    }
  }
  // Docker: with --memory and no --memory-swap, the container may use as much swap as memory.
  if (memory !== undefined && out.swapMax === undefined) out.swapMax = memory;
  return Object.keys(out).length === 0 ? undefined : out;
}

function cpuFrom(options: RunInput, facts: HostFacts): CpuLimits | undefined {
  const out: CpuLimits = {};
  let period: number | undefined;
  let quota: Limit | undefined;
  if (options.cpuPeriod !== undefined) {
    const n = options.cpuPeriod.value;
    if (Number.isNaN(n) || (n !== 0 && (n < 1000 || n > 1_000_000))) {
      throw new InvalidArgumentError('--cpu-period', options.cpuPeriod.text, `expected ${EXPECT.cpuPeriod}`);
    }
    if (n !== 0) period = n;
  }
  if (options.cpuQuota !== undefined) {
    const n = options.cpuQuota.value;
    if (Number.isNaN(n) || (n !== 0 && n !== -1 && n < 1000)) {
      throw new InvalidArgumentError('--cpu-quota', options.cpuQuota.text, `expected ${EXPECT.cpuQuota}`);
    }
    if (n !== 0) quota = n === -1 ? 'max' : n;
  }
  if (options.cpus !== undefined) {
    const value = options.cpus.text;
    const nano = options.cpus.value;
    const available = facts.onlineCpus;
    if (Number.isNaN(nano)) {
      throw new InvalidArgumentError('--cpus', value, `expected a number of CPUs such as 0.5 or 2, from 0.01 to ${available}`);
    }
    if (period !== undefined) {
      throw new InvalidArgumentError('--cpus', value, (n) => `conflicting options: ${n('--cpus')} and ${n('--cpu-period')} cannot both be set`);
    }
    if (quota !== undefined) {
      throw new InvalidArgumentError('--cpus', value, (n) => `conflicting options: ${n('--cpus')} and ${n('--cpu-quota')} cannot both be set`);
    }
    if (nano < 10_000_000 || nano > available * 1e9) {
      throw new InvalidArgumentError('--cpus', value, `the range of CPUs is from 0.01 to ${available}.00, as there ${available === 1 ? 'is only 1 CPU' : `are only ${available} CPUs`} available`);
    }
    quota = Math.round((nano * CPUS_PERIOD) / 1e9);
    period = CPUS_PERIOD;
  }
  if (quota !== undefined) out.quota = quota;
  if (period !== undefined) out.period = period;
  if (options.cpuShares !== undefined) {
    const n = options.cpuShares.value;
    if (Number.isNaN(n) || (n !== 0 && (n < 2 || n > 262_144))) {
      throw new InvalidArgumentError('--cpu-shares', options.cpuShares.text, `expected ${EXPECT.cpuShares}`);
    }
    if (n !== 0) out.weight = cpuSharesToWeight(n);
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function cpusetFrom(options: RunInput, facts: HostFacts): CpusetLimits | undefined {
  const out: CpusetLimits = {};
  if (options.cpusetCpus !== undefined) {
    out.cpus = parseCpuset('--cpuset-cpus', options.cpusetCpus, facts.effectiveCpus, 'CPU', 'CPUs', EXPECT.cpusetCpus);
  }
  if (options.cpusetMems !== undefined) {
    out.mems = parseCpuset('--cpuset-mems', options.cpusetMems, facts.effectiveMems, 'memory node', 'memory nodes', EXPECT.cpusetMems);
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function parseCpuset(flag: string, value: string, effective: number[], one: string, many: string, expected: string): string {
  // Syntax and size are checked first: parseCpuList expands ranges, and the kernel has at most
  // 8192 CPUs (NR_CPUS) and 1024 memory nodes (MAX_NUMNODES).
  if (!CPU_LIST_PATTERN.test(value)) throw new InvalidArgumentError(flag, value, `expected ${expected}`);
  if ((value.match(/\d+/g) ?? []).some((n) => Number(n) > MAX_CPUSET_NUMBER)) {
    throw new InvalidArgumentError(flag, value, `numbers above ${MAX_CPUSET_NUMBER} are not allowed; expected ${expected}`);
  }
  let requested: number[];
  try {
    requested = parseCpuList(value);
  } catch {
    throw new InvalidArgumentError(flag, value, `expected ${expected}`); // a range such as 3-1
  }
  const allowed = new Set(effective);
  const outside = requested.filter((n) => !allowed.has(n));
  if (outside.length > 0) {
    const which = outside.length === 1 ? `${one} ${outside[0]} is` : `${many} ${formatCpuList(outside)} are`;
    const set = allowed.size === 0 ? '(empty)' : formatCpuList(effective);
    throw new InvalidArgumentError(flag, value, `${which} outside the parent cgroup's effective set ${set}`);
  }
  return formatCpuList(requested);
}

function checkPidsLimit(read: Shown<number>): Limit {
  const n = read.value;
  if (Number.isNaN(n) || n < -1) throw new InvalidArgumentError('--pids-limit', read.text, `expected ${EXPECT.pidsLimit}`);
  return n <= 0 ? 'max' : n;
}

type IoField = 'rbps' | 'wbps' | 'riops' | 'wiops';

function ioFrom(options: RunInput, facts: HostFacts): IoLimits | undefined {
  const out: IoLimits = {};
  if (options.blkioWeight !== undefined) {
    const n = options.blkioWeight.value;
    if (Number.isNaN(n) || (n !== 0 && (n < 10 || n > 1000))) {
      throw new InvalidArgumentError('--blkio-weight', options.blkioWeight.text, `expected ${EXPECT.blkioWeight}`);
    }
    if (n !== 0) out.weight = blkioWeightToIoWeight(n);
  }
  const devices = new Map<string, IoDeviceLimit>();
  const lists: [string, Read<DeviceRate>[] | undefined, IoField][] = [
    ['--device-read-bps', options.deviceReadBps, 'rbps'],
    ['--device-write-bps', options.deviceWriteBps, 'wbps'],
    ['--device-read-iops', options.deviceReadIops, 'riops'],
    ['--device-write-iops', options.deviceWriteIops, 'wiops'],
  ];
  for (const [flag, values, field] of lists) {
    for (const read of values ?? []) {
      const { major, minor, rate } = deviceRate(flag, read, facts);
      const key = `${major}:${minor}`;
      let entry = devices.get(key);
      if (entry === undefined) {
        entry = { major, minor };
        devices.set(key, entry);
      }
      entry[field] = rate;
    }
  }
  if (devices.size > 0) out.max = [...devices.values()];
  return Object.keys(out).length === 0 ? undefined : out;
}

/** A throttled device's numbers, from its path (which must be a block device), and its rate. */
function deviceRate(flag: string, read: Read<DeviceRate>, facts: HostFacts): { major: number; minor: number; rate: number } {
  const { path, rate } = take(read);
  const device = facts.deviceNumber(path);
  if (device === undefined) throw new InvalidArgumentError(flag, read.text, `${path} is not a block device (or does not exist)`);
  return { major: device.major, minor: device.minor, rate };
}

// ---------------------------------------------------------------------------------------------
// isolation

function isolationFrom(options: RunInput, command: string[], facts: HostFacts, id: string | undefined, image?: ImageDefaults): IsolationOptions {
  const rootfs = options.rootfs === undefined ? undefined : parseRootfs(options.rootfs, facts);
  const hostname = options.hostname === undefined ? (id ?? '').slice(0, 12) : parseHostname(options.hostname);
  // the image's environment first: --env overrides it key by key
  const env = buildEnv([...(image?.env ?? []), ...(options.env ?? [])], hostname, facts);
  const workdir = options.workdir === undefined ? '/' : parseWorkdir(options.workdir);
  const user = options.user === undefined ? { uid: 0, gid: 0, additionalGids: [] } : parseUser(options.user);
  const volumes = parseVolumes(options.volume ?? [], facts);
  const network = options.network === undefined ? 'none' : parseNetwork(options.network);
  const capAdd = parseCaps('--cap-add', options.capAdd ?? []);
  const capDrop = parseCaps('--cap-drop', options.capDrop ?? []);
  const seccomp = seccompFromSecurityOpt(options.securityOpt ?? []);
  const ulimits = options.ulimits === undefined ? [] : checkUlimits(options.ulimits);
  const oomScoreAdj = options.oomScoreAdj === undefined ? undefined : checkOomScoreAdj(options.oomScoreAdj);
  const shmSize = options.shmSize === undefined ? 0 : take(options.shmSize);
  const tmpfs = (options.tmpfs ?? []).map(tmpfsMount);
  return {
    ...(rootfs === undefined ? {} : { rootfs }),
    ...(image === undefined ? {} : { layers: { linkDir: image.layers.linkDir, links: [...image.layers.links] } }),
    hostname,
    env,
    workdir,
    user,
    volumes,
    readOnly: options.readOnly === true,
    network,
    capAdd,
    capDrop,
    ...(seccomp === undefined ? {} : { seccomp }),
    command: [...command],
    ...(ulimits.length === 0 ? {} : { ulimits }),
    ...(oomScoreAdj === undefined ? {} : { oomScoreAdj }),
    // 0 is Docker's "unset": the default 64MiB
    ...(shmSize === 0 ? {} : { shmSize }),
    ...(tmpfs.length === 0 ? {} : { tmpfs }),
    ...(options.init === true ? { init: true } : {}),
  };
}

/**
 * The image's WorkingDir, User and StopSignal where no flag gave one (read as if given, so that an
 * image's bad value is refused as a flag's would be, naming it).
 */
function withImageDefaults(options: RunInput, image: ImageDefaults): RunInput {
  const out = { ...options };
  if (out.workdir === undefined && image.workingDir) out.workdir = image.workingDir;
  if (out.user === undefined && image.user) out.user = image.user;
  if (out.stopSignal === undefined && image.stopSignal) out.stopSignal = image.stopSignal;
  return out;
}

/**
 * --ulimit values: Docker's names (go-units), soft at most hard (-1, unlimited, above all), one per
 * name with a later one winning (docker/cli's UlimitOpt keeps them by name).
 */
function checkUlimits(reads: readonly Read<UlimitInput>[]): Ulimit[] {
  const byName = new Map<string, Ulimit>();
  for (const read of reads) {
    const { name, soft, hard } = take(read);
    if (!(ULIMIT_NAMES as readonly string[]).includes(name)) throw new InvalidArgumentError('--ulimit', read.text, `unknown ulimit name "${name}"; expected ${EXPECT.ulimit}`);
    if (hard !== -1 && (soft === -1 || soft > hard)) throw new InvalidArgumentError('--ulimit', read.text, `the soft limit ${soft} is above the hard limit ${hard}; expected ${EXPECT.ulimit}`);
    const value = (n: number): RlimitValue => (n === -1 ? 'unlimited' : n);
    byName.delete(name);
    byName.set(name, { name: name as UlimitName, soft: value(soft), hard: value(hard) });
  }
  return [...byName.values()];
}

function checkOomScoreAdj(read: Shown<number>): number {
  const n = read.value;
  if (Number.isNaN(n) || n < -1000 || n > 1000) throw new InvalidArgumentError('--oom-score-adj', read.text, `expected ${EXPECT.oomScoreAdj}`);
  return n;
}

/** tmpfs mount flags as moby's MergeTmpfsOptions takes them: the flag each sets, or clears (rw, exec, suid, ...). */
const TMPFS_FLAGS: Readonly<Record<string, { set?: MountFlag; clear?: MountFlag }>> = {
  ro: { set: 'ro' },
  rw: { clear: 'ro' },
  nosuid: { set: 'nosuid' },
  suid: { clear: 'nosuid' },
  nodev: { set: 'nodev' },
  noexec: { set: 'noexec' },
  exec: { clear: 'noexec' },
  sync: { set: 'sync' },
  async: { clear: 'sync' },
  noatime: { set: 'noatime' },
  atime: { clear: 'noatime' },
  nodiratime: { set: 'nodiratime' },
  diratime: { clear: 'nodiratime' },
  relatime: { set: 'relatime' },
  norelatime: { clear: 'relatime' },
  strictatime: { set: 'strictatime' },
  nostrictatime: { clear: 'strictatime' },
};

/** tmpfs's own options (the kernel's Documentation/filesystems/tmpfs.rst) and what their values look like. */
const TMPFS_DATA: Readonly<Record<string, RegExp>> = {
  size: /^\d+[kKmMgG%]?$/,
  nr_blocks: /^\d+[kKmMgG]?$/,
  nr_inodes: /^\d+[kKmMgG]?$/,
  mode: /^[0-7]{3,4}$/,
  uid: /^\d{1,10}$/,
  gid: /^\d{1,10}$/,
};

/**
 * One --tmpfs PATH[:OPTIONS]: Docker's default options noexec,nosuid,nodev, then the given ones in
 * order (a later one wins: exec undoes noexec). `dev` is refused: every mount the workload can
 * write to stays nodev (architecture.md). The path's own rules are the plan's (isolate/plan.ts).
 */
function tmpfsMount(item: string): TmpfsMount {
  const [path, options] = splitTmpfs(item);
  if (!path.startsWith('/')) throw new InvalidArgumentError('--tmpfs', item, `the path must be absolute; expected ${EXPECT.tmpfs}`);
  const flags = new Set<MountFlag>(['noexec', 'nosuid', 'nodev']);
  const data = new Map<string, string>();
  for (const option of options === '' ? [] : options.split(',')) {
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    if (eq >= 0 && TMPFS_DATA[key] !== undefined) {
      const value = option.slice(eq + 1);
      if (!TMPFS_DATA[key].test(value)) throw new InvalidArgumentError('--tmpfs', item, `bad value for the tmpfs option ${key}: "${value}"`);
      data.set(key, value);
    } else if (option === 'dev') {
      throw new InvalidArgumentError('--tmpfs', item, 'dev is not allowed: every mount the workload can write to is nodev in corral');
    } else if (eq < 0 && TMPFS_FLAGS[option] !== undefined) {
      const { set, clear } = TMPFS_FLAGS[option];
      if (set !== undefined) flags.add(set);
      if (clear !== undefined) flags.delete(clear);
    } else {
      throw new InvalidArgumentError('--tmpfs', item, `"${option}" is not a tmpfs mount option; expected ${Object.keys(TMPFS_FLAGS).join(', ')} or ${Object.keys(TMPFS_DATA).join('=, ')}=`);
    }
  }
  return { target: cleanPath(path), flags: [...flags], data: [...data].map(([k, v]) => `${k}=${v}`).join(',') };
}

/** PATH[:OPTIONS] split at its first ":", as Docker's CLI splits --tmpfs. */
function splitTmpfs(item: string): [path: string, options: string] {
  const colon = item.indexOf(':');
  return colon < 0 ? [item, ''] : [item.slice(0, colon), item.slice(colon + 1)];
}

function cleanPath(path: string): string {
  const normalised = posix.normalize(path);
  return normalised.length > 1 && normalised.endsWith('/') ? normalised.slice(0, -1) : normalised;
}

function parseRootfs(value: string, facts: HostFacts): string {
  if (!value.startsWith('/')) throw new InvalidArgumentError('--rootfs', value, `expected ${EXPECT.rootfs}`);
  const path = cleanPath(value);
  const kind = facts.pathKind(path);
  if (kind === undefined) throw new InvalidArgumentError('--rootfs', value, `${path} does not exist; expected ${EXPECT.rootfs}`);
  if (kind !== 'dir') throw new InvalidArgumentError('--rootfs', value, `${path} is not a directory; expected ${EXPECT.rootfs}`);
  return path;
}

function parseHostname(value: string): string {
  const label = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
  if (value.length > 64 || !new RegExp(`^${label}(?:\\.${label})*$`).test(value)) {
    throw new InvalidArgumentError('--hostname', value, `expected ${EXPECT.hostname}`);
  }
  return value;
}

/**
 * Docker's container environment: PATH and HOSTNAME (when known) first, then each -e in order,
 * replacing a variable of the same name in place or appending it. `-e KEY` takes the host's value
 * when the host has KEY, and otherwise removes KEY (Docker's ReplaceOrAppendEnvValues).
 */
function buildEnv(entries: string[], hostname: string, facts: HostFacts): string[] {
  const getEnv = facts.getEnv ?? ((name: string) => process.env[name]);
  const env = new Map<string, string>([['PATH', DEFAULT_PATH]]);
  if (hostname !== '') env.set('HOSTNAME', hostname);
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const key = eq === -1 ? entry : entry.slice(0, eq);
    if (key === '') throw new InvalidArgumentError('--env', entry, `expected ${EXPECT.env}`);
    const value = eq === -1 ? getEnv(key) : entry.slice(eq + 1);
    if (value === undefined) env.delete(key);
    else env.set(key, value);
  }
  return [...env].map(([key, value]) => `${key}=${value}`);
}

export function parseWorkdir(value: string): string {
  if (!value.startsWith('/')) throw new InvalidArgumentError('--workdir', value, `expected ${EXPECT.workdir}`);
  return cleanPath(value);
}

export function parseUser(value: string): IsolationOptions['user'] {
  const parts = value.split(':');
  if (parts.some((part) => /[^\d-]/.test(part))) {
    throw new InvalidArgumentError('--user', value, `user and group names are not supported; expected ${EXPECT.user}`);
  }
  const ids = parts.map((part) => (/^\d+$/.test(part) && Number(part) <= MAX_ID ? Number(part) : undefined));
  const [uid, gid] = ids;
  if (ids.length > 2 || uid === undefined || (ids.length === 2 && gid === undefined)) {
    throw new InvalidArgumentError('--user', value, `expected ${EXPECT.user}`);
  }
  // Docker takes a missing gid from the container's /etc/passwd, else 0; corral reads no passwd file: 0.
  return { uid, gid: gid ?? 0, additionalGids: [] };
}

function parseVolumes(values: string[], facts: HostFacts): VolumeMount[] {
  const flag = '--volume';
  const mounts: VolumeMount[] = [];
  for (const value of values) {
    const parts = value.split(':');
    const [hostText = '', targetText = '', mode] = parts;
    if (parts.length < 2 || parts.length > 3 || hostText === '' || targetText === '') {
      throw new InvalidArgumentError(flag, value, `expected ${EXPECT.volume}`);
    }
    if (mode !== undefined && mode !== 'ro' && mode !== 'rw') {
      throw new InvalidArgumentError(flag, value, `unknown mode "${mode}"; expected ro or rw`);
    }
    if (!hostText.startsWith('/')) {
      throw new InvalidArgumentError(flag, value, `the host path must be absolute (named volumes are not supported); expected ${EXPECT.volume}`);
    }
    if (!targetText.startsWith('/')) {
      throw new InvalidArgumentError(flag, value, `the container path must be absolute; expected ${EXPECT.volume}`);
    }
    const source = cleanPath(hostText);
    const target = cleanPath(targetText);
    if (target === '/') throw new InvalidArgumentError(flag, value, 'the container path cannot be /');
    if (mounts.some((m) => m.target === target)) throw new InvalidArgumentError(flag, value, `duplicate mount point ${target}`);
    const kind = facts.pathKind(source);
    if (kind === undefined) throw new InvalidArgumentError(flag, value, `the host path ${source} does not exist`);
    mounts.push({ source, target, readOnly: mode === 'ro', kind });
  }
  return mounts;
}

function parseNetwork(value: string): NetworkMode {
  if (value !== 'none' && value !== 'host') throw new InvalidArgumentError('--network', value, `expected ${EXPECT.network}`);
  return value;
}

/** Capability names: case-insensitive, with or without CAP_; kept upper case without the prefix, in order, once each. */
function parseCaps(flag: string, values: string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    const upper = value.toUpperCase();
    const name = upper.startsWith('CAP_') ? upper.slice(4) : upper;
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new InvalidArgumentError(flag, value, `expected ${EXPECT.cap}`);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}
