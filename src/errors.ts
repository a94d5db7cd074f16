/**
 * Typed errors shared by every module. Each has a stable `code`; messages are lower case, say what
 * was attempted on which path with which data, and carry no trailing period.
 */

export class CorralError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * Why a value is refused. A reason that mentions other flags ("at most --memory") is a function of
 * how to name a flag, so that each caller names them in its own terms: the CLI and the API by the
 * flag, the workloads file by its key.
 */
export type Reason = string | ((nameOf: (flag: string) => string) => string);

/** A user-supplied value (flag, field, file) is not acceptable. `flag` names it as the user wrote it. */
export class InvalidArgumentError extends CorralError {
  readonly flag: string;
  readonly value: string;
  readonly reason: Reason;
  constructor(flag: string, value: string, reason: Reason) {
    super('EINVALIDARG', `invalid value "${value}" for ${flag}: ${typeof reason === 'string' ? reason : reason((f) => f)}`);
    this.flag = flag;
    this.value = value;
    this.reason = reason;
  }

  /** The reason (without "invalid value … for …"), each flag it mentions named by `nameOf`. */
  reasonNaming(nameOf: (flag: string) => string): string {
    return typeof this.reason === 'string' ? this.reason : this.reason(nameOf);
  }
}

/**
 * A request's value is not acceptable, with a message that already names the field in the sender's
 * words (a Docker body field, a query parameter): the API answers it as a 400.
 */
export class InvalidParameterError extends CorralError {
  constructor(message: string) {
    super('EINVALIDPARAM', message);
  }
}

/** What was asked conflicts with the container's state (running, not running, a name in use): a 409. */
export class ConflictError extends CorralError {
  constructor(message: string) {
    super('ECONFLICT', message);
  }
}

/**
 * Something outside corral failed while serving a request, as Docker's errdefs.System (the `ps` that
 * top runs refused its options, or printed no PID column): the API answers 500 as Docker does, and
 * it is not logged as a bug of the daemon.
 */
export class SystemError extends CorralError {
  constructor(message: string) {
    super('ESYSTEM', message);
  }
}

/** A container's state file (config.json, state.json, pid, exit) does not parse. */
export class RecordError extends CorralError {
  constructor(file: string, problem: string) {
    super('ERECORD', `container record ${file}: ${problem}`);
  }
}

/** A limit that cannot be applied as asked (swap below memory, cpuset outside the parent's set). */
export class InvalidLimitError extends CorralError {
  constructor(message: string) {
    super('EINVALIDLIMIT', message);
  }
}

/** The cgroup mode or kernel cannot do what was asked. Never a silent no-op. */
export class UnsupportedError extends CorralError {
  constructor(message: string) {
    super('EUNSUPPORTED', message);
  }
}

/** A read or write of a cgroup file failed: `write "512M" to /sys/fs/cgroup/x/memory.max: EINVAL`. */
export class CgroupFileError extends CorralError {
  readonly op: 'read' | 'write' | 'mkdir' | 'rmdir';
  readonly path: string;
  readonly data: string | undefined;
  readonly errno: string | undefined;
  constructor(op: 'read' | 'write' | 'mkdir' | 'rmdir', path: string, data: string | undefined, cause: unknown) {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
    const what = op === 'write' ? `write "${data ?? ''}" to ${path}` : `${op} ${path}`;
    super('ECGROUPFILE', `${what}: ${errno ?? String(cause)}`, { cause });
    this.op = op;
    this.path = path;
    this.data = data;
    this.errno = errno;
  }
}

/** A kernel file did not have the expected format; quotes the bad line. */
export class ParseError extends CorralError {
  readonly path: string | undefined;
  readonly line: string;
  constructor(what: string, line: string, path?: string) {
    super('EPARSE', `parse ${what}${path ? ` (${path})` : ''}: unexpected line "${line}"`);
    this.path = path;
    this.line = line;
  }
}

/** A native call made through koffi failed. */
export class SyscallError extends CorralError {
  readonly syscall: string;
  readonly errno: number;
  constructor(syscall: string, errno: number, errnoName: string, detail?: string) {
    super('ESYSCALL', `${syscall}${detail ? ` ${detail}` : ''}: ${errnoName}`);
    this.syscall = syscall;
    this.errno = errno;
  }
}

/** Quote a user-supplied value for an error message: at most `max` characters, so a huge value is not echoed back whole. */
export function quoteInput(value: string, max = 80): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}...` : value);
}
