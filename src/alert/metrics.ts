/**
 * The sidecar's own metrics (on --metrics-addr, served by the daemon's metrics server code): one
 * registry per sidecar, no global state. Counters are kept by the code that counts; gauges that
 * describe state (firing alerts, queue depth, the daemon connection) are read at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The names of the series the sidecar exposes (besides prom-client's process metrics), for the dashboard's check. */
export const ALERT_METRIC_NAMES: readonly string[] = [
  'corral_alert_firing',
  'corral_alert_queue_depth',
  'corral_alert_daemon_up',
  'corral_alert_rules',
  'corral_alert_notifications_sent_total',
  'corral_alert_notifications_failed_total',
  'corral_alert_notifications_retried_total',
  'corral_alert_notifications_dropped_total',
  'corral_alert_rule_evaluation_duration_seconds_bucket',
  'corral_alert_rule_evaluation_duration_seconds_sum',
  'corral_alert_rule_evaluation_duration_seconds_count',
  'corral_alert_rules_reloads_total',
  'corral_alert_daemon_errors_total',
  'corral_alert_daemon_requests_total',
];

export interface AlertMetricsSource {
  /** firing alerts by rule (alertname) */
  firing(): ReadonlyMap<string, number>;
  /** queued notifications by receiver */
  queueDepth(): ReadonlyMap<string, number>;
  /** 1 while the last request to the daemon succeeded */
  daemonUp(): boolean;
  /** the rules in force */
  rules(): number;
  /** requests to the daemon so far, by route */
  daemonRequests(): ReadonlyMap<string, number>;
}

export class AlertMetrics {
  readonly registry = new Registry();
  readonly sent: Counter<'receiver'>;
  readonly failed: Counter<'receiver'>;
  readonly retried: Counter<'receiver'>;
  readonly dropped: Counter<'receiver' | 'reason'>;
  readonly evaluation: Histogram;
  readonly reloads: Counter<'result'>;
  readonly daemonErrors: Counter;

  constructor(source: AlertMetricsSource) {
    const registers = [this.registry];
    this.sent = new Counter({ name: 'corral_alert_notifications_sent_total', help: 'Notifications a receiver accepted (2xx), by receiver.', labelNames: ['receiver'], registers });
    this.failed = new Counter({
      name: 'corral_alert_notifications_failed_total',
      help: 'Notifications a receiver refused for good (4xx): logged with its answer and not retried, by receiver.',
      labelNames: ['receiver'],
      registers,
    });
    this.retried = new Counter({
      name: 'corral_alert_notifications_retried_total',
      help: 'Notification attempts that failed and will be retried (connection error, timeout, 5xx, 408, 429), by receiver.',
      labelNames: ['receiver'],
      registers,
    });
    this.dropped = new Counter({
      name: 'corral_alert_notifications_dropped_total',
      help: 'Notifications dropped unsent: the queue was full (resolved ones go first), or the receiver is no longer configured.',
      labelNames: ['receiver', 'reason'],
      registers,
    });
    this.evaluation = new Histogram({
      name: 'corral_alert_rule_evaluation_duration_seconds',
      help: 'Time to evaluate every rule on one sample of every container.',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5],
      registers,
    });
    this.reloads = new Counter({
      name: 'corral_alert_rules_reloads_total',
      help: 'Reloads of the rules file, by result (success, failure: the rules in force stay).',
      labelNames: ['result'],
      registers,
    });
    this.daemonErrors = new Counter({ name: 'corral_alert_daemon_errors_total', help: 'Requests to the daemon that failed (unreachable, or an error answer).', registers });
    new Gauge({
      name: 'corral_alert_firing',
      help: 'Alerts firing now, by rule.',
      labelNames: ['alertname'],
      registers,
      collect() {
        this.reset();
        for (const [rule, n] of source.firing()) this.set({ alertname: rule }, n);
      },
    });
    new Gauge({
      name: 'corral_alert_queue_depth',
      help: 'Notifications waiting in the on-disk queue, by receiver.',
      labelNames: ['receiver'],
      registers,
      collect() {
        this.reset();
        for (const [receiver, n] of source.queueDepth()) this.set({ receiver }, n);
      },
    });
    new Gauge({
      name: 'corral_alert_daemon_up',
      help: '1 when the last request to the corral daemon succeeded, 0 when it could not be reached.',
      registers,
      collect() {
        this.set(source.daemonUp() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'corral_alert_rules',
      help: 'Rules in force.',
      registers,
      collect() {
        this.set(source.rules());
      },
    });
    new Counter({
      name: 'corral_alert_daemon_requests_total',
      help: 'Requests to the daemon, by route: a tick is one GET /containers/stats; the list and inspects only when something changed.',
      labelNames: ['route'],
      registers,
      collect() {
        this.reset();
        for (const [route, n] of source.daemonRequests()) this.inc({ route }, n);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }
}
