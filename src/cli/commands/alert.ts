/**
 * `corral alert`: the alerting sidecar in the foreground (src/alert/), until SIGTERM or SIGINT. Its
 * flags are read and checked here, each error naming the flag; everything else is src/alert's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parsePromDuration } from '../../alert/duration.js';
import { DEFAULT_MAX_BACKOFF_MS, DEFAULT_MIN_BACKOFF_MS } from '../../alert/delivery.js';
import { DEFAULT_QUEUE_SIZE } from '../../alert/queue.js';
import { Sidecar } from '../../alert/sidecar.js';
import { socketSource } from '../../alert/source.js';
import { socketFromGlobal } from '../../client/host.js';
import { InvalidArgumentError } from '../../errors.js';
import { createLogger, parseLogLevel, type LogLevel } from '../../log.js';
import { resolveStateRoot } from '../../state/root.js';
import { collect, flagsCommand, parseCommand } from './parse.js';
import { parseListenAddress } from './values.js';

export const ALERT_USAGE = `Usage: corral alert [OPTIONS]

The alerting sidecar: evaluates alert rules on the daemon's stats and events (through its socket,
--host / CORRAL_HOST) and sends the alerts to Alertmanager, webhooks and/or a JSON-lines log, through
an on-disk queue. See docs/alert.md.

Options:
  --rules FILE              the rules file (YAML; default: the built-in rules, contrib/corral-alert-rules.yml);
                            reloaded when it changes
  --alertmanager URL        an Alertmanager (http://host:9093), given once per instance of an HA set
  --webhook URL             a webhook receiving Alertmanager's webhook payload (repeatable)
  --webhook-secret-file F   sign webhooks: HMAC-SHA256 of the body with the file's content as the key,
                            in the X-Corral-Signature-256 header (sha256=HEX)
  --log FILE                append every notification as a JSON line to FILE (- for stdout; the
                            default when no --alertmanager or --webhook is given)
  --state DIR               the queue and the firing alerts (default: <root>/alert)
  --metrics-addr ADDR       serve the sidecar's metrics at http://HOST:PORT/metrics (default
                            127.0.0.1:9339; none to disable)
  --interval D              sample every D (default 1s)
  --resend-interval D       resend firing alerts to Alertmanager every D (default 1m)
  --timeout D               a receiver's request may take D (default 10s)
  --retry-max D             the longest back-off between retries of a failing receiver (default 30s)
  --queue-size N            at most N queued notifications (default ${DEFAULT_QUEUE_SIZE}; resolved ones are dropped first)
  --external-url URL        the alerts' generatorURL and the webhooks' externalURL (default none)
  --log-level LEVEL         debug, info, warn or error (default info)
  -h, --help                print this help

Durations are Prometheus': 500ms, 30s, 5m, 1h30m.
`;

export const DEFAULT_ALERT_METRICS_ADDR = '127.0.0.1:9339';

const duration = (flag: string, minMs: number) => (text: string) => {
  const ms = parsePromDuration(text);
  if (ms === undefined || ms < minMs) throw new InvalidArgumentError(flag, text, `a duration of at least ${minMs}ms, such as 500ms, 30s or 5m`);
  return ms;
};

const httpUrl = (flag: string) => (text: string, previous: unknown) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(flag, text, 'an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(flag, text, 'an http:// or https:// URL');
  return collect(text, previous);
};

export function alertCommand() {
  return flagsCommand('alert')
    .option('--rules <file>', '', (v) => path.resolve(v))
    .option('--alertmanager <url>', '', httpUrl('--alertmanager'))
    .option('--webhook <url>', '', httpUrl('--webhook'))
    .option('--webhook-secret-file <file>')
    .option('--log <file>')
    .option('--state <dir>', '', (v) => path.resolve(v))
    .option('--metrics-addr <addr>', '', (v) => {
      if (v !== 'none' && v !== '') parseListenAddress(v, '--metrics-addr', DEFAULT_ALERT_METRICS_ADDR);
      return v;
    })
    .option('--interval <duration>', '', duration('--interval', 100))
    .option('--resend-interval <duration>', '', duration('--resend-interval', 1000))
    .option('--timeout <duration>', '', duration('--timeout', 10))
    .option('--retry-max <duration>', '', duration('--retry-max', 100))
    .option('--queue-size <n>', '', (v) => {
      if (!/^[1-9]\d{0,6}$/.test(v)) throw new InvalidArgumentError('--queue-size', v, 'a whole number from 1 to 9999999');
      return Number(v);
    })
    .option('--external-url <url>')
    .option('--log-level <level>', '', (v) => parseLogLevel(v));
}

export interface AlertFlags {
  rules?: string;
  alertmanager?: string[];
  webhook?: string[];
  webhookSecretFile?: string;
  log?: string;
  state?: string;
  metricsAddr?: string;
  interval?: number;
  resendInterval?: number;
  timeout?: number;
  retryMax?: number;
  queueSize?: number;
  externalUrl?: string;
  logLevel?: LogLevel;
  help?: boolean;
}

export function parseAlertArgs(argv: readonly string[]): AlertFlags {
  const { opts, args } = parseCommand<AlertFlags>(alertCommand(), argv);
  if (args.length > 0) throw new InvalidArgumentError('corral alert', args.join(' '), 'no arguments, only flags (see corral alert --help)');
  return opts;
}

/** Run the sidecar until a signal; resolves with the exit code (1: it could not start, the reason logged). */
export async function runAlert(global: { root?: string; host?: string }, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const flags = parseAlertArgs(argv);
  if (flags.help) {
    process.stdout.write(ALERT_USAGE);
    return 0;
  }
  const socket = socketFromGlobal(global.host, env);
  const log = createLogger({ level: flags.logLevel ?? 'info' });
  let secret: Buffer | undefined;
  if (flags.webhookSecretFile !== undefined) {
    try {
      // a trailing newline (echo > file) is not part of the key
      secret = Buffer.from(fs.readFileSync(flags.webhookSecretFile, 'utf8').replace(/\r?\n$/, ''));
    } catch (err) {
      throw new InvalidArgumentError('--webhook-secret-file', flags.webhookSecretFile, `a readable file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (secret.length === 0) throw new InvalidArgumentError('--webhook-secret-file', flags.webhookSecretFile, 'a file with the secret in it (it is empty)');
  }
  const metricsText = flags.metricsAddr ?? DEFAULT_ALERT_METRICS_ADDR;
  const metricsAddr = metricsText === 'none' || metricsText === '' ? null : parseListenAddress(metricsText, '--metrics-addr', DEFAULT_ALERT_METRICS_ADDR);
  let sidecar: Sidecar;
  try {
    const stateDir = flags.state ?? path.join(resolveStateRoot(global.root, env).root, 'alert');
    sidecar = await Sidecar.start({
      source: socketSource(socket),
      rulesFile: flags.rules,
      alertmanagers: flags.alertmanager ?? [],
      webhooks: flags.webhook ?? [],
      logTarget: flags.log,
      stateDir,
      metricsAddr,
      tickMs: flags.interval ?? 1000,
      resendMs: flags.resendInterval ?? 60_000,
      timeoutMs: flags.timeout ?? 10_000,
      minBackoffMs: DEFAULT_MIN_BACKOFF_MS,
      maxBackoffMs: flags.retryMax ?? DEFAULT_MAX_BACKOFF_MS,
      queueSize: flags.queueSize ?? DEFAULT_QUEUE_SIZE,
      webhookSecret: secret,
      generatorURL: flags.externalUrl ?? '',
      log,
    });
  } catch (err) {
    const e = err as Error & { code?: unknown };
    log.error(`cannot start: ${e.message}`, { code: e.code });
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info('shutting down', { signal });
  await sidecar.close();
  log.info('stopped');
  return 0;
}
