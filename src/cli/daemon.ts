/**
 * `corral daemon`: the supervisor in the foreground, serving the API until SIGTERM or SIGINT.
 * Logs go to stderr as JSON lines (--log-level). The socket comes from the global --host
 * (env CORRAL_HOST), default unix:///run/corral/corral.sock; TCP only with --api-listen.
 */
import { parseListenAddress } from './commands/values.js';
import { createCgroupDriver } from '../cgroups/index.js';
import { launcherPath } from '../container/launcher.js';
import { InvalidArgumentError } from '../errors.js';
import { resolveStateRoot } from '../state/root.js';
import { CORRAL_VERSION } from '../version.js';
import { createLogger, parseLogLevel, type LogLevel, type Logger } from '../log.js';
import { prepareSocketPath, startApiServer, type ApiServer } from '../api/server.js';
import { socketFromGlobal } from '../client/host.js';
import { API_VERSION, gatherSystemFacts } from '../api/system.js';
import { Supervisor } from '../daemon/supervisor.js';
import { startMetricsServer, DEFAULT_METRICS_ADDR, type MetricsServer } from '../metrics/http.js';
import { createRegistry, type LabelSelection } from '../metrics/prometheus.js';
import { DEFAULT_SAMPLE_INTERVAL_MS, Sampler } from '../metrics/sampler.js';
import { DaemonConfig } from '../daemon/workloads-config.js';
import { PROJECT_NAME } from '../workloads/parse.js';
import { flagsCommand, parseCommand } from './commands/parse.js';
import path from 'node:path';

export const DAEMON_USAGE = `Usage: corral [--root DIR] [--host unix://PATH] daemon [OPTIONS]

Run the corral supervisor in the foreground, serving the API (shaped on the Docker Engine API
v${API_VERSION}) on a unix socket until SIGTERM or SIGINT.

Options:
  --log-level LEVEL   debug, info, warn or error (default info); logs are JSON lines on stderr
  --api-listen ADDR   also serve the API on TCP HOST:PORT (no authentication, no TLS: anyone who
                      can connect controls corral)
  --metrics-addr ADDR serve Prometheus metrics at http://HOST:PORT/metrics (default 127.0.0.1:9338;
                      '' or none: no metrics endpoint)
  --sample-interval D how often every running container is sampled for stats and metrics
                      (default 1s; 100ms to 60s, e.g. 500ms, 2s)
  --sample-idle-interval D
                      how long a quiet container (its CPU time and memory charge unchanged
                      since its last full reading) goes without a full reading of its other
                      files: memory.stat, I/O, network, PSI (default 10s; 100ms to 10m; at or
                      below --sample-interval, every file every interval)
  --metrics-container-labels KEYS
                      which of a container's labels (--label) its metrics carry, as
                      container_label_KEY (cAdvisor's names): a comma-separated list of keys,
                      * for all (the default, as cAdvisor) or '' for none
  --config FILE       keep a workloads file's services running: reconcile it at start and on
                      every change of the file (and on SIGHUP); an invalid file changes nothing
  --project NAME      the workloads file's project name (default: its top-level name, else its
                      directory's name)
  --insecure-registry HOST:PORT
                      a registry that pulls may reach over plain HTTP (or HTTPS with any
                      certificate); repeatable. Loopback registries (127.0.0.0/8, localhost) are
                      insecure by default, as Docker's
`;

export interface DaemonFlags {
  logLevel: LogLevel;
  apiListen?: { host: string; port: number };
  /** --metrics-addr: undefined for the default (DEFAULT_METRICS_ADDR), null when disabled */
  metricsAddr?: { host: string; port: number } | null;
  /** --sample-interval in ms; undefined for the default (DEFAULT_SAMPLE_INTERVAL_MS) */
  sampleIntervalMs?: number;
  /** --sample-idle-interval in ms; undefined for the default (DEFAULT_IDLE_SAMPLE_INTERVAL_MS) */
  sampleIdleIntervalMs?: number;
  /** --metrics-container-labels; undefined for the default (all) */
  metricsContainerLabels?: LabelSelection;
  /** --config: the workloads file, absolute */
  config?: string;
  /** --project */
  project?: string;
  /** --insecure-registry, each HOST:PORT */
  insecureRegistry?: string[];
  help: boolean;
}

/** Shortest and longest --sample-interval, ms. */
export const SAMPLE_INTERVAL_MIN_MS = 100;
export const SAMPLE_INTERVAL_MAX_MS = 60_000;

/** Longest --sample-idle-interval, ms. */
export const SAMPLE_IDLE_INTERVAL_MAX_MS = 600_000;

/** A duration in Go's notation restricted to ms, s and m ("500ms", "1s", "1.5s", "2m"), in [min, max] ms. */
function parseDuration(text: string, flag: string, minMs: number, maxMs: number, allowed: string): number {
  const m = /^(\d{1,6}(?:\.\d{1,3})?)(ms|s|m)$/.exec(text);
  const ms = m ? Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm']) : NaN;
  if (!(ms >= minMs && ms <= maxMs)) throw new InvalidArgumentError(flag, text, allowed);
  return ms;
}

/** --sample-interval: 100ms to 60s. */
export function parseSampleInterval(text: string): number {
  return parseDuration(text, '--sample-interval', SAMPLE_INTERVAL_MIN_MS, SAMPLE_INTERVAL_MAX_MS, 'a duration from 100ms to 60s, such as 500ms, 1s or 2.5s');
}

/** --sample-idle-interval: 100ms to 10m. */
export function parseSampleIdleInterval(text: string): number {
  return parseDuration(text, '--sample-idle-interval', SAMPLE_INTERVAL_MIN_MS, SAMPLE_IDLE_INTERVAL_MAX_MS, 'a duration from 100ms to 10m, such as 10s or 1m');
}

// --api-listen's parser lives with the other flag values (corral alert's --metrics-addr takes it too)
export { parseListenAddress };

/** --metrics-addr: HOST:PORT, or '' / none for no endpoint (null). */
export function parseMetricsAddr(text: string): { host: string; port: number } | null {
  if (text === '' || text === 'none') return null;
  return parseListenAddress(text, '--metrics-addr', `${DEFAULT_METRICS_ADDR} (or none)`);
}

/** --metrics-container-labels: `*` (all), '' (none) or label keys separated by commas. */
export function parseMetricsContainerLabels(text: string): LabelSelection {
  if (text === '*') return 'all';
  if (text.trim() === '') return [];
  const keys = text.split(',').map((k) => k.trim());
  if (keys.some((k) => k === '' || /\s/.test(k) || k === '*'))
    throw new InvalidArgumentError('--metrics-container-labels', text, "expected label keys separated by commas (such as com.example.team,env), * for all or '' for none");
  return keys;
}

/** --project: Compose's rule for project names. */
function parseProject(project: string): string {
  if (!PROJECT_NAME.test(project)) throw new InvalidArgumentError('--project', project, "a project name matching [a-z0-9][a-z0-9_-]* (Compose's rule)");
  return project;
}

/** corral daemon's flags; each value is checked as commander reads it (the first bad one is named). */
export function daemonCommand() {
  return (
    flagsCommand('daemon')
      .option('--log-level <level>', '', (v) => parseLogLevel(v))
      .option('--api-listen <addr>', '', (v) => parseListenAddress(v))
      // checked here, kept as written: commander would store the null of 'none' as ''
      .option('--metrics-addr <addr>', '', (v) => {
        parseMetricsAddr(v);
        return v;
      })
      .option('--sample-interval <duration>', '', parseSampleInterval)
      .option('--sample-idle-interval <duration>', '', parseSampleIdleInterval)
      .option('--metrics-container-labels <keys>', '', parseMetricsContainerLabels)
      .option('--config <file>', '', (v) => path.resolve(v))
      .option('--project <name>', '', parseProject)
      .option('--insecure-registry <host:port>', '', (v: string, prev: unknown) => [...((prev as string[] | undefined) ?? []), parseRegistryHost(v)])
  );
}

interface DaemonOptions {
  logLevel?: LogLevel;
  apiListen?: { host: string; port: number };
  /** as written (checked) */
  metricsAddr?: string;
  sampleInterval?: number;
  sampleIdleInterval?: number;
  metricsContainerLabels?: LabelSelection;
  config?: string;
  project?: string;
  insecureRegistry?: string[];
  help?: boolean;
}

/** A registry as --insecure-registry names it: host[:port], no scheme or path. */
export function parseRegistryHost(text: string): string {
  if (!/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$/.test(text)) {
    throw new InvalidArgumentError('--insecure-registry', text, 'expected a registry host[:port], such as 10.0.0.5:5000 (no scheme, no path)');
  }
  return text;
}

export function parseDaemonArgs(argv: readonly string[]): DaemonFlags {
  const { opts } = parseCommand<DaemonOptions>(daemonCommand(), argv);
  const { help, logLevel, metricsAddr, sampleInterval, sampleIdleInterval, ...set } = opts;
  return {
    logLevel: logLevel ?? 'info',
    ...set,
    ...(metricsAddr !== undefined ? { metricsAddr: parseMetricsAddr(metricsAddr) } : {}),
    ...(sampleInterval !== undefined ? { sampleIntervalMs: sampleInterval } : {}),
    ...(sampleIdleInterval !== undefined ? { sampleIdleIntervalMs: sampleIdleInterval } : {}),
    help: help === true,
  };
}

/**
 * The metrics endpoint. An address given with --metrics-addr must be had: taken, the daemon does not
 * start. The default address may be held by another daemon (a second --root, a test): then a warning,
 * and this daemon runs without an endpoint rather than not at all.
 */
async function startMetrics(flag: DaemonFlags['metricsAddr'], sampler: Sampler, log: Logger, containerLabels: LabelSelection = 'all'): Promise<MetricsServer | undefined> {
  if (flag === null) return undefined;
  const registry = createRegistry(sampler, { processMetrics: true, containerLabels });
  if (flag !== undefined) return startMetricsServer(flag, registry, log, sampler);
  try {
    return await startMetricsServer(parseMetricsAddr(DEFAULT_METRICS_ADDR)!, registry, log, sampler);
  } catch (err) {
    log.warn(`no metrics endpoint: ${(err as Error).message}`);
    return undefined;
  }
}

export interface DaemonGlobals {
  root?: string;
  host?: string;
}

/** Run the daemon until a signal; resolves with the exit code. */
export async function runDaemon(global: DaemonGlobals, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const flags = parseDaemonArgs(argv);
  if (flags.help) {
    process.stdout.write(DAEMON_USAGE);
    return 0;
  }
  const socketPath = socketFromGlobal(global.host, env);
  const log = createLogger({ level: flags.logLevel });
  let server: ApiServer | undefined;
  let supervisor: Supervisor | undefined;
  let sampler: Sampler | undefined;
  let metrics: MetricsServer | undefined;
  let workloads: DaemonConfig | undefined;
  try {
    const state = resolveStateRoot(global.root, env);
    if (state.fallbackNotice) log.warn(state.fallbackNotice);
    const driver = await createCgroupDriver({});
    const facts = await gatherSystemFacts({ stateRoot: state.root, driver, launcherPath: launcherPath(env), debug: flags.logLevel === 'debug' });
    // before adopting anything: a second daemon on the same socket must not follow the first one's containers
    await prepareSocketPath(socketPath, log);
    supervisor = new Supervisor({ stateRoot: state.root, log, ...(flags.insecureRegistry ? { insecureRegistries: flags.insecureRegistry } : {}) });
    await supervisor.adopt();
    sampler = new Sampler({
      stateRoot: state.root,
      intervalMs: flags.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS,
      ...(flags.sampleIdleIntervalMs !== undefined ? { idleIntervalMs: flags.sampleIdleIntervalMs } : {}),
      log,
      events: supervisor.events,
    });
    await sampler.start();
    const stats = { sampler, hostMemory: facts.memTotal, mode: facts.cgroupMode };
    server = await startApiServer({ socketPath, facts, log, now: () => new Date(), supervisor, stats, ...(flags.apiListen ? { tcp: flags.apiListen } : {}) });
    metrics = await startMetrics(flags.metricsAddr, sampler, log, flags.metricsContainerLabels);
    log.info('corral daemon started', { version: CORRAL_VERSION, apiVersion: API_VERSION, pid: process.pid, root: state.root, cgroupVersion: facts.cgroupMode === 'v2' ? '2' : '1' });
    if (flags.config !== undefined) {
      workloads = new DaemonConfig({ file: flags.config, ...(flags.project !== undefined ? { project: flags.project } : {}), supervisor, stateRoot: state.root, log, daemonId: facts.engineId });
      await workloads.start();
    }
  } catch (err) {
    const e = err as Error & { code?: unknown };
    log.error(`cannot start: ${e.message}`, { code: e.code, stack: log.enabled('debug') ? e.stack : undefined });
    await workloads?.close();
    await server?.close();
    await metrics?.close();
    await sampler?.stop();
    supervisor?.close();
    return 1;
  }

  const onHup = () => {
    if (workloads) void workloads.reconcile();
    else log.info('SIGHUP ignored: there is no configuration to reload (no --config)');
  };
  process.on('SIGHUP', onHup);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  process.off('SIGHUP', onHup);
  log.info('shutting down', { signal });
  await workloads?.close();
  await server.close();
  await metrics?.close();
  await sampler?.stop();
  // running containers keep running (their launchers are detached); a new daemon adopts them
  supervisor?.close();
  log.info('stopped');
  return 0;
}
