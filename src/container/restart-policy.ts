/**
 * Restart policies, Docker's (`--restart`, `HostConfig.RestartPolicy`), and the decision and back-off
 * of moby's restartmanager (daemon/restartmanager/restartmanager.go), as pure functions: the
 * Supervisor keeps the state (restart count, current back-off, whether the user stopped the
 * container) and asks these what to do when a container exits.
 */
import { InvalidArgumentError } from '../errors.js';

export const RESTART_POLICY_NAMES = ['no', 'always', 'unless-stopped', 'on-failure'] as const;
export type RestartPolicyName = (typeof RESTART_POLICY_NAMES)[number];

export interface RestartPolicy {
  name: RestartPolicyName;
  /** on-failure only: restarts before giving up; 0 = no limit */
  maximumRetryCount: number;
}

export const NO_RESTART: RestartPolicy = { name: 'no', maximumRetryCount: 0 };

/** moby's defaultTimeout: the first restart waits this long (ms) */
export const BACKOFF_INITIAL_MS = 100;
/** moby's maxRestartTimeout: the back-off never grows beyond this (ms) */
export const BACKOFF_MAX_MS = 60_000;
/** a run at least this long (ms) resets the back-off (moby: executionDuration >= 10 s) */
export const STABLE_RUN_MS = 10_000;

const EXPECT_FLAG = 'no, always, unless-stopped, on-failure or on-failure:MAX (MAX a whole number of retries, 0 for no limit)';

/**
 * `--restart no|always|unless-stopped|on-failure[:MAX]`: the CLI's syntax (docker/cli
 * opts.ParseRestartPolicy), then the daemon's rules (checkRestartPolicy).
 */
export function parseRestartFlag(text: string, flag = '--restart'): RestartPolicy {
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const count = colon < 0 ? undefined : text.slice(colon + 1);
  if (name === '') throw new InvalidArgumentError(flag, text, `no policy before the colon; expected ${EXPECT_FLAG}`);
  if (!(RESTART_POLICY_NAMES as readonly string[]).includes(name)) throw new InvalidArgumentError(flag, text, `unknown policy "${name}"; expected ${EXPECT_FLAG}`);
  let max = 0;
  if (count !== undefined) {
    if (!/^-?\d{1,9}$/.test(count)) throw new InvalidArgumentError(flag, text, `the maximum retry count must be a whole number; expected ${EXPECT_FLAG}`);
    max = Number(count);
  }
  return checkRestartPolicy({ name: name as RestartPolicyName, maximumRetryCount: max }, flag, text);
}

/**
 * The daemon's rules (moby runconfig validateRestartPolicy), with its wording: a retry count only
 * with on-failure, never negative.
 */
export function checkRestartPolicy(policy: RestartPolicy, flag: string, text: string): RestartPolicy {
  const max = policy.maximumRetryCount;
  if (policy.name !== 'on-failure' && max !== 0) {
    throw new InvalidArgumentError(flag, text, `invalid restart policy: maximum retry count can only be used with 'on-failure'${max < 0 ? ' and cannot be negative' : ''}`);
  }
  if (max < 0) throw new InvalidArgumentError(flag, text, 'invalid restart policy: maximum retry count cannot be negative');
  return policy;
}

/** Docker's `HostConfig.RestartPolicy` object as a policy; `field` names it in errors. An empty Name is "no" (Docker's old default). */
export function restartPolicyFromJson(value: unknown, field = 'HostConfig.RestartPolicy'): RestartPolicy | undefined {
  if (value === undefined || value === null) return undefined;
  const text = JSON.stringify(value).slice(0, 120);
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidArgumentError(field, text, 'expected an object {"Name": "on-failure", "MaximumRetryCount": 3}');
  const { Name, MaximumRetryCount, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw new InvalidArgumentError(field, text, `unknown field "${unknown}"; expected Name and MaximumRetryCount`);
  if (Name !== undefined && typeof Name !== 'string') throw new InvalidArgumentError(`${field}.Name`, text, 'expected a string');
  if (MaximumRetryCount !== undefined && (typeof MaximumRetryCount !== 'number' || !Number.isSafeInteger(MaximumRetryCount))) {
    throw new InvalidArgumentError(`${field}.MaximumRetryCount`, text, 'expected an integer');
  }
  const name = Name === undefined || Name === '' ? 'no' : Name;
  if (!(RESTART_POLICY_NAMES as readonly string[]).includes(name)) {
    throw new InvalidArgumentError(`${field}.Name`, text, `invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  // moby accepts an empty Name with any count (clients before v25 sent it): it means no restarts
  if (Name === undefined || Name === '') return NO_RESTART;
  return checkRestartPolicy({ name: name as RestartPolicyName, maximumRetryCount: MaximumRetryCount ?? 0 }, field, text);
}

/** The flag's text for a policy: "no", "always", "on-failure:3". */
export function formatRestartPolicy(policy: RestartPolicy): string {
  return policy.name === 'on-failure' && policy.maximumRetryCount > 0 ? `on-failure:${policy.maximumRetryCount}` : policy.name;
}

/** Docker's JSON shape of a policy, for inspect. */
export function restartPolicyJson(policy: RestartPolicy | undefined): { Name: string; MaximumRetryCount: number } {
  const p = policy ?? NO_RESTART;
  return { Name: p.name, MaximumRetryCount: p.maximumRetryCount };
}

export interface ExitFacts {
  policy: RestartPolicy;
  /** Docker's exit code (128+N for signal N; 137 for an OOM kill) */
  exitCode: number;
  /** the user stopped or killed it through the API since its last start (moby HasBeenManuallyStopped) */
  manuallyStopped: boolean;
  /** a user stop/kill cancelled restarts until the next start (moby's restart manager Cancel) */
  canceled: boolean;
  /** restarts so far (the container's RestartCount) */
  restartCount: number;
  /** how long it ran, in ms */
  ranMs: number;
  /** the back-off in force before this exit, in ms; 0 before the first restart */
  backoffMs: number;
}

export interface RestartDecision {
  restart: boolean;
  /** the back-off now in force: the delay before this restart when `restart` (moby's rm.timeout) */
  backoffMs: number;
}

/**
 * moby's RestartManager.ShouldRestart: a cancelled manager never restarts (and keeps its back-off);
 * otherwise the back-off is reset by a stable run, starts at 100 ms and doubles up to 1 minute, and
 * then the policy decides: always; unless-stopped unless the user stopped it; on-failure on a
 * non-zero exit while the count is below MaximumRetryCount (0 = no limit).
 */
export function decideRestart(f: ExitFacts): RestartDecision {
  if (f.canceled || f.policy.name === 'no') return { restart: false, backoffMs: f.backoffMs };
  let backoffMs = f.ranMs >= STABLE_RUN_MS ? 0 : f.backoffMs;
  backoffMs = backoffMs === 0 ? BACKOFF_INITIAL_MS : Math.min(backoffMs * 2, BACKOFF_MAX_MS);
  let restart = false;
  switch (f.policy.name) {
    case 'always':
      restart = true;
      break;
    case 'unless-stopped':
      restart = !f.manuallyStopped;
      break;
    case 'on-failure': {
      const max = f.policy.maximumRetryCount;
      restart = f.exitCode !== 0 && (max === 0 || f.restartCount < max);
      break;
    }
  }
  return { restart, backoffMs };
}

/**
 * Whether corral means a container to be running (the Prometheus gauge corral_container_should_run,
 * which ContainerDown alerts on): its restart policy brings it back when it ends — always,
 * unless-stopped, and on-failure unless its last run exited with 0 — and the user did not stop it
 * since its last start. A one-shot (policy no) that exited, or one never started, is not down.
 */
export function wantsRunning(policy: RestartPolicy | undefined, c: { status: string; exitCode?: number; manuallyStopped?: boolean }): boolean {
  if (policy === undefined || policy.name === 'no' || c.manuallyStopped === true || c.status === 'created') return false;
  if (policy.name === 'on-failure') return !(c.status === 'exited' && c.exitCode === 0);
  return true;
}

/**
 * Whether a container that is not running should be started when the daemon starts (moby's restore:
 * Container.ShouldRestart for containers started before). Unlike moby, a user stop keeps an
 * on-failure container stopped too: only `always` comes back after a user stop.
 */
export function restartOnDaemonStart(policy: RestartPolicy, last: { exitCode: number; manuallyStopped: boolean; restartCount: number }): boolean {
  switch (policy.name) {
    case 'always':
      return true;
    case 'unless-stopped':
      return !last.manuallyStopped;
    case 'on-failure':
      return !last.manuallyStopped && last.exitCode !== 0 && (policy.maximumRetryCount === 0 || last.restartCount < policy.maximumRetryCount);
    default:
      return false;
  }
}
