/** A real Prometheus for the alerting test and bench/alert: its configuration, as its users write one. */
import path from 'node:path';
import { REPO } from './corral.js';

/**
 * prometheus.yml: 1 s scrapes and evaluations of corral's rules (dashboards/alerts.yml), the
 * daemon's metrics on `metricsPort` scraped as job `corral`, alerts sent to Alertmanager on `alertmanagerPort`.
 */
export function prometheusConfig(alertmanagerPort: number, metricsPort: number): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    `  - ${path.join(REPO, 'dashboards', 'alerts.yml')}`,
    'alerting:',
    '  alertmanagers:',
    '    - static_configs:',
    `        - targets: ['127.0.0.1:${alertmanagerPort}']`,
    'scrape_configs:',
    '  - job_name: corral',
    '    static_configs:',
    `      - targets: ['127.0.0.1:${metricsPort}']`,
    '',
  ].join('\n');
}
