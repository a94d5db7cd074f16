/**
 * corral alert, wired: the rules (and their file's watch), the source (ticks and the event stream),
 * the engine, the queue, the receivers' delivery loops, the resends, the state file and the metrics.
 *
 * Order of a notification: the engine's transition -> one queue entry per receiver, fsynced -> the
 * receivers' loops are woken. The firing alerts and the last event handled are kept in
 * `<state>/alerts.json` (written atomically when they change), so that a restarted sidecar resolves
 * and resends what was firing, and takes the event stream up where it left it (the daemon keeps its
 * last 1024 events): a kill reported while the sidecar was down still fires.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { startMetricsServer, type MetricsServer } from '../metrics/http.js';
import { writeFileAtomic } from '../state/atomic.js';
import type { DaemonEvent } from '../client/events.js';
import type { FileWatch } from '../workloads/file-watch.js';
import { Delivery } from './delivery.js';
import { Engine, type Alert, type AlertEvent, type ContainerView } from './engine.js';
import { AlertMetrics } from './metrics.js';
import { DiskQueue } from './queue.js';
import { alertmanagerReceiver, logReceiver, webhookReceiver, type Receiver } from './receivers.js';
import { loadRules, watchRules } from './rules-file.js';
import type { Rule } from './rules.js';
import type { AlertSource } from './source.js';

export interface SidecarOptions {
  source: AlertSource;
  /** undefined: the built-in rules */
  rulesFile: string | undefined;
  alertmanagers: readonly string[];
  webhooks: readonly string[];
  /** the JSON-lines log: a file, or '-' for stdout */
  logTarget: string | undefined;
  stateDir: string;
  metricsAddr: { host: string; port: number } | null;
  /** ms between samples */
  tickMs: number;
  /** ms between resends of firing alerts to Alertmanager */
  resendMs: number;
  /** ms a receiver's request may take */
  timeoutMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  queueSize: number;
  webhookSecret: Buffer | undefined;
  /** generatorURL of the alerts, externalURL of the webhooks */
  generatorURL: string;
  log: Logger;
  now?: () => number;
}

/** The least time a tick may take before the daemon counts as unreachable, in ms. */
const TICK_DEADLINE_MIN_MS = 5000;

interface SavedState {
  version: 1;
  firing: Alert[];
  /** timeNano of the last event handled */
  lastEventNano?: string;
}

export class Sidecar {
  private rules: Rule[];
  private readonly engine: Engine;
  private readonly metrics: AlertMetrics;
  private delivery!: Delivery;
  private queue!: DiskQueue;
  private receivers: Receiver[] = [];
  private metricsServer: MetricsServer | undefined;
  private watch: FileWatch | undefined;
  private stream: { close(): void } | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private resendTimer: NodeJS.Timeout | undefined;
  /** undefined until the first tick */
  private daemonUp: boolean | undefined;
  private lastEventNano: bigint | undefined;
  private closed = false;
  /** notifications are queued one after another, in the order the engine made them */
  private chain: Promise<void> = Promise.resolve();
  private savedFiring = '';
  private readonly now: () => number;
  private ticking = false;

  private constructor(private readonly o: SidecarOptions) {
    this.now = o.now ?? Date.now;
    // a bad file refuses the start (RulesFileError: file, line, reason)
    this.rules = loadRules(o.rulesFile);
    this.engine = new Engine(this.rules, { instance: o.source.address });
    this.metrics = new AlertMetrics({
      firing: () => {
        const m = new Map<string, number>();
        for (const r of this.rules) m.set(r.alert, 0);
        for (const a of this.engine.firing()) m.set(a.rule, (m.get(a.rule) ?? 0) + 1);
        return m;
      },
      queueDepth: () => {
        const depth = this.queue?.depth() ?? new Map<string, number>();
        return new Map(this.receivers.map((r) => [r.description, depth.get(r.id) ?? 0]));
      },
      daemonUp: () => this.daemonUp === true,
      rules: () => this.rules.length,
      daemonRequests: () => o.source.requests(),
    });
  }

  static async start(o: SidecarOptions): Promise<Sidecar> {
    const s = new Sidecar(o);
    try {
      await s.open();
    } catch (err) {
      await s.close();
      throw err;
    }
    return s;
  }

  private get statePath(): string {
    return path.join(this.o.stateDir, 'alerts.json');
  }

  private async open(): Promise<void> {
    const o = this.o;
    const http = { timeoutMs: o.timeoutMs, generatorURL: o.generatorURL, resendMs: o.resendMs, ...(o.webhookSecret ? { secret: o.webhookSecret } : {}) };
    this.receivers = [...o.alertmanagers.map((u) => alertmanagerReceiver(u, http)), ...o.webhooks.map((u) => webhookReceiver(u, http))];
    // with no receiver at all, the notifications are at least printed
    const logTarget = o.logTarget ?? (this.receivers.length === 0 ? '-' : undefined);
    if (logTarget !== undefined) this.receivers.push(logReceiver(logTarget));
    fs.mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
    const opened = await DiskQueue.open(path.join(o.stateDir, 'queue'), new Set(this.receivers.map((r) => r.id)), o.queueSize);
    this.queue = opened.queue;
    if (opened.replayed > 0) o.log.info('replaying the notifications queued before the restart', { queued: opened.replayed });
    for (const d of opened.dropped) this.countDrop(d.entry.receiver, d.reason, d.entry.alert);
    this.restore();
    this.delivery = new Delivery(this.queue, this.receivers, this.metrics, o.log, { minBackoffMs: o.minBackoffMs, maxBackoffMs: o.maxBackoffMs, now: this.now });
    this.delivery.start();
    if (o.metricsAddr) this.metricsServer = await startMetricsServer(o.metricsAddr, this.metrics.registry, o.log);
    if (o.rulesFile !== undefined) {
      this.watch = await watchRules(o.rulesFile, {
        onRules: (rules) => {
          this.rules = rules;
          this.metrics.reloads.inc({ result: 'success' });
          o.log.info('rules reloaded', { file: o.rulesFile, rules: rules.length });
          this.dispatch(this.engine.setRules(rules, this.now()));
        },
        onError: (err) => {
          this.metrics.reloads.inc({ result: 'failure' });
          o.log.error('rules not reloaded: the rules in force stay', { file: o.rulesFile, error: err.message });
        },
      });
    }
    o.log.info('corral alert started', {
      daemon: o.source.address,
      rules: this.rules.length,
      receivers: this.receivers.map((r) => r.description),
      state: o.stateDir,
      ...(this.metricsServer ? { metrics: `${this.metricsServer.address.address}:${this.metricsServer.address.port}` } : {}),
    });
    await this.tick();
    this.tickTimer = setInterval(() => void this.tick(), o.tickMs);
    this.resendTimer = setInterval(() => this.resend(), o.resendMs);
  }

  /** The address the metrics server listens on (a port 0 given is the kernel's choice). */
  get metricsAddress(): string | undefined {
    return this.metricsServer ? `${this.metricsServer.address.address}:${this.metricsServer.address.port}` : undefined;
  }

  private restore(): void {
    let saved: SavedState;
    try {
      saved = JSON.parse(fs.readFileSync(this.statePath, 'utf8')) as SavedState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.o.log.warn('the state file is unreadable: starting without it', { file: this.statePath, error: (err as Error).message });
      return;
    }
    this.engine.restore(saved.firing ?? []);
    if (saved.lastEventNano !== undefined && /^\d+$/.test(saved.lastEventNano)) this.lastEventNano = BigInt(saved.lastEventNano);
    this.savedFiring = JSON.stringify(saved.firing ?? []);
    this.o.log.info('restored the alerts firing before the restart', { firing: saved.firing?.length ?? 0 });
  }

  private countDrop(receiver: string, reason: string, alert: Alert): void {
    const r = this.receivers.find((x) => x.id === receiver);
    this.metrics.dropped.inc({ receiver: r?.description ?? receiver, reason });
    this.o.log.warn('notification dropped unsent', { receiver: r?.description ?? receiver, reason, alertname: alert.rule, status: alert.status, fingerprint: alert.fingerprint });
  }

  /** Queue the engine's transitions for every receiver (resends: Alertmanager's only), then save the state. */
  private dispatch(alerts: readonly Alert[], resend = false): void {
    if (alerts.length === 0 && !resend) return;
    const now = this.now();
    const targets = resend ? this.receivers.filter((r) => r.id.startsWith('am-')) : this.receivers;
    this.chain = this.chain
      .then(async () => {
        for (const a of alerts) {
          if (!resend) this.o.log.info(a.status === 'firing' ? 'alert firing' : 'alert resolved', { alertname: a.rule, fingerprint: a.fingerprint, name: a.labels.name, value: a.value });
          for (const r of targets) {
            const { dropped } = await this.queue.push(r.id, a, now, resend);
            for (const d of dropped) this.countDrop(d.entry.receiver, d.reason, d.entry.alert);
          }
        }
        this.delivery.wake();
        await this.save();
      })
      .catch((err: Error) => this.o.log.error('cannot queue notifications', { error: err.message, dir: this.queue.dir }));
  }

  private async save(): Promise<void> {
    const firing = JSON.stringify(this.engine.firing());
    const state: SavedState = { version: 1, firing: JSON.parse(firing) as Alert[], ...(this.lastEventNano !== undefined ? { lastEventNano: String(this.lastEventNano) } : {}) };
    if (firing === this.savedFiring && !this.eventsMoved) return;
    this.savedFiring = firing;
    this.eventsMoved = false;
    await writeFileAtomic(this.statePath, JSON.stringify(state), 0o600);
  }
  private eventsMoved = false;

  private resend(): void {
    const firing = this.engine.firing();
    if (firing.length > 0) this.dispatch(firing, true);
  }

  /** One sample: the views evaluated, or the daemon's absence. Never throws. */
  async tick(): Promise<void> {
    if (this.closed || this.ticking) return;
    this.ticking = true;
    try {
      let views: ContainerView[];
      try {
        views = await this.withDeadline(this.o.source.tick());
      } catch (err) {
        this.metrics.daemonErrors.inc();
        if (this.daemonUp !== false) this.o.log.warn('the daemon does not answer', { daemon: this.o.source.address, error: (err as Error).message });
        this.daemonUp = false;
        this.stream?.close();
        this.stream = undefined;
        // events may be missed until the stream is open again: the list is asked anew
        this.o.source.changed('reconnect', '');
        this.dispatch(this.engine.daemonUnreachable(this.now()));
        return;
      }
      if (this.daemonUp === false) this.o.log.info('the daemon answers again', { daemon: this.o.source.address });
      this.daemonUp = true;
      if (!this.stream) this.openEvents();
      const end = this.metrics.evaluation.startTimer();
      const out = this.engine.sample(this.now(), views);
      end();
      this.dispatch(out);
    } finally {
      this.ticking = false;
    }
  }

  /**
   * A daemon that accepts the connection and never answers is as unreachable as one that is gone: a
   * tick that takes longer than this fails (and the next one tries again).
   */
  private withDeadline<T>(p: Promise<T>): Promise<T> {
    const ms = Math.max(TICK_DEADLINE_MIN_MS, 3 * this.o.tickMs);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the daemon did not answer within ${ms} ms`)), ms);
    });
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }

  private openEvents(): void {
    // from the last event handled (a restart, a reconnection), else from now
    const since = this.lastEventNano !== undefined ? Number(this.lastEventNano / 1_000_000_000n) : Math.floor(this.now() / 1000);
    const stream = this.o.source.events(
      since,
      (e) => void this.onEvent(e),
      (err) => {
        if (this.stream === stream) this.stream = undefined;
        if (err && !this.closed) this.o.log.debug('the event stream ended', { error: err.message });
      },
    );
    this.stream = stream;
  }

  private async onEvent(e: DaemonEvent): Promise<void> {
    if (e.Type !== 'container') return;
    const nano = e.timeNano !== undefined ? BigInt(e.timeNano) : e.time !== undefined ? BigInt(e.time) * 1_000_000_000n : undefined;
    // the stream from `since` (whole seconds) repeats what was handled in that second
    if (nano !== undefined && this.lastEventNano !== undefined && nano <= this.lastEventNano) return;
    if (nano !== undefined) {
      this.lastEventNano = nano;
      this.eventsMoved = true;
    }
    const id = e.Actor?.ID ?? e.id ?? '';
    const attrs = e.Actor?.Attributes ?? {};
    const time = nano !== undefined ? Number(nano / 1_000_000n) : this.now();
    this.o.source.changed(e.Action ?? '', id);
    let event: AlertEvent | undefined;
    if (e.Action === 'oom') event = { action: 'oom', time, id, ...(attrs.name ? { name: attrs.name } : {}), ...(attrs.image ? { image: attrs.image } : {}), attributes: attrs };
    else if (e.Action === 'die')
      event = { action: 'die', time, id, ...(attrs.name ? { name: attrs.name } : {}), ...(attrs.image ? { image: attrs.image } : {}), exitCode: Number(attrs.exitCode ?? 0) };
    else if (e.Action === 'start') event = { action: 'start', time, id };
    if (!event) return;
    // a container no tick has seen yet (it started and was killed within one): its labels from an inspect
    if (event.action !== 'start' && !this.engine.knows(id)) {
      const c = await this.o.source.describe(id);
      if (c) this.engine.learn(c);
    }
    this.dispatch(this.engine.event(event));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.resendTimer) clearInterval(this.resendTimer);
    this.stream?.close();
    await this.watch?.close();
    await this.chain;
    await this.delivery?.close();
    await this.metricsServer?.close();
  }
}
