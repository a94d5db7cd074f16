/**
 * Every metric corral exports: cAdvisor's names where cAdvisor has one (google/cadvisor
 * metrics/prometheus.go), corral's own under `corral_container_`. Base units in the names (`_bytes`,
 * `_seconds_total`). The exporter registers exactly these; the Grafana dashboard and the alert rules may
 * only use these (test/unit/dashboards checks it). The daemon's process metrics (prom-client's default
 * `process_*` and `nodejs_*`) come on top.
 */

export type MetricType = 'counter' | 'gauge';

export interface MetricName {
  name: string;
  type: MetricType;
  help: string;
  /** labels beyond CONTAINER_LABELS (e.g. `state`), in order */
  extraLabels?: readonly string[];
  /** false for the daemon's own metrics, which carry no container labels */
  perContainer?: boolean;
}

/** The labels on every container metric. */
export const CONTAINER_LABELS = ['id', 'name', 'image'] as const;

export const METRICS: readonly MetricName[] = [
  // cAdvisor names
  { name: 'container_cpu_usage_seconds_total', type: 'counter', help: 'Cumulative cpu time consumed in seconds.' },
  { name: 'container_cpu_user_seconds_total', type: 'counter', help: 'Cumulative user cpu time consumed in seconds.' },
  { name: 'container_cpu_system_seconds_total', type: 'counter', help: 'Cumulative system cpu time consumed in seconds.' },
  { name: 'container_cpu_cfs_periods_total', type: 'counter', help: 'Number of elapsed enforcement period intervals.' },
  { name: 'container_cpu_cfs_throttled_periods_total', type: 'counter', help: 'Number of throttled period intervals.' },
  { name: 'container_cpu_cfs_throttled_seconds_total', type: 'counter', help: 'Total time duration the container has been throttled.' },
  { name: 'container_memory_usage_bytes', type: 'gauge', help: 'Current memory usage in bytes, including all memory regardless of when it was accessed.' },
  { name: 'container_memory_working_set_bytes', type: 'gauge', help: 'Current working set in bytes (usage minus inactive file pages).' },
  { name: 'container_memory_rss', type: 'gauge', help: 'Size of RSS in bytes (v1 total_rss, v2 anon).' },
  { name: 'container_memory_cache', type: 'gauge', help: 'Number of bytes of page cache memory (v1 total_cache, v2 file).' },
  { name: 'container_memory_swap', type: 'gauge', help: 'Container swap usage in bytes.' },
  { name: 'container_memory_max_usage_bytes', type: 'gauge', help: 'Maximum memory usage recorded in bytes (v1 max_usage_in_bytes, v2 memory.peak).' },
  // cAdvisor types it a counter; without the _total suffix that fails `promtool check metrics`, so a gauge here (PromQL does not care)
  { name: 'container_memory_failcnt', type: 'gauge', help: 'Number of memory usage hits limits (v1 memory.failcnt, v2 memory.events max); it only grows.' },
  { name: 'container_spec_memory_limit_bytes', type: 'gauge', help: 'Memory limit for the container in bytes (0 when unlimited).' },
  { name: 'container_spec_memory_reservation_limit_bytes', type: 'gauge', help: 'Memory reservation limit for the container in bytes (0 when unset).' },
  { name: 'container_spec_cpu_quota', type: 'gauge', help: 'CPU quota of the container in microseconds per period (absent when unlimited).' },
  { name: 'container_spec_cpu_period', type: 'gauge', help: 'CPU period of the container in microseconds.' },
  { name: 'container_spec_cpu_shares', type: 'gauge', help: 'CPU share of the container (cgroup v1 cpu.shares; on v2 converted from cpu.weight; 1024 by default).' },
  { name: 'container_oom_events_total', type: 'counter', help: 'Count of out of memory events observed for the container.' },
  { name: 'container_processes', type: 'gauge', help: 'Number of processes running inside the container.' },
  { name: 'container_network_receive_bytes_total', type: 'counter', help: 'Cumulative count of bytes received.' },
  { name: 'container_network_transmit_bytes_total', type: 'counter', help: 'Cumulative count of bytes transmitted.' },
  { name: 'container_fs_reads_bytes_total', type: 'counter', help: 'Cumulative count of bytes read.' },
  { name: 'container_fs_writes_bytes_total', type: 'counter', help: 'Cumulative count of bytes written.' },
  { name: 'container_pressure_cpu_waiting_seconds_total', type: 'counter', help: 'Total time duration tasks in the container have waited due to CPU congestion.' },
  { name: 'container_pressure_cpu_stalled_seconds_total', type: 'counter', help: 'Total time duration no tasks in the container could make progress due to CPU congestion.' },
  { name: 'container_pressure_memory_waiting_seconds_total', type: 'counter', help: 'Total time duration tasks in the container have waited due to memory congestion.' },
  { name: 'container_pressure_memory_stalled_seconds_total', type: 'counter', help: 'Total time duration no tasks in the container could make progress due to memory congestion.' },
  { name: 'container_pressure_io_waiting_seconds_total', type: 'counter', help: 'Total time duration tasks in the container have waited due to IO congestion.' },
  { name: 'container_pressure_io_stalled_seconds_total', type: 'counter', help: 'Total time duration no tasks in the container could make progress due to IO congestion.' },
  { name: 'container_start_time_seconds', type: 'gauge', help: 'Start time of the container since unix epoch in seconds.' },
  { name: 'container_last_seen', type: 'gauge', help: 'Last time a container was seen by the exporter (unix seconds).' },
  // corral's own
  { name: 'corral_container_restarts_total', type: 'counter', help: 'Number of times corral restarted the container.' },
  {
    name: 'corral_container_state',
    type: 'gauge',
    help: 'Container state: one series per state (label state: created, running, paused, restarting, exited, dead), 1 for the current one, 0 for the others.',
    extraLabels: ['state'],
  },
  {
    name: 'corral_container_should_run',
    type: 'gauge',
    help: 'Whether corral means the container to be running: 1 when its restart policy brings it back (always, unless-stopped; on-failure unless it exited with 0) and the user did not stop it, else 0.',
  },
  { name: 'corral_container_exit_code', type: 'gauge', help: "Exit code of the container's last run." },
  { name: 'corral_container_pids_limit', type: 'gauge', help: 'pids.max of the container (absent when unlimited).' },
  { name: 'corral_container_oom_kills_total', type: 'counter', help: 'Number of processes of the container killed by the OOM killer (memory.events oom_kill).' },
  {
    name: 'corral_sample_errors_total',
    type: 'counter',
    help: "Reads of a container's file that failed (label file: the cgroup file name, net/dev, /proc/stat); its metrics from that file are missing meanwhile.",
    extraLabels: ['file'],
  },
  // the sampler itself
  { name: 'corral_sampler_cpu_seconds_total', type: 'counter', help: 'CPU time the daemon spent sampling containers, in seconds.', perContainer: false },
  { name: 'corral_sampler_last_tick_seconds', type: 'gauge', help: 'Wall time of the last sampling pass over every running container, in seconds.', perContainer: false },
  { name: 'corral_sampler_containers', type: 'gauge', help: 'Containers read in the last sampling pass.', perContainer: false },
  { name: 'corral_sampler_interval_seconds', type: 'gauge', help: 'The sampling interval (--sample-interval), in seconds.', perContainer: false },
  {
    name: 'corral_sampler_idle_interval_seconds',
    type: 'gauge',
    help: 'The longest a quiet container (CPU and memory counters unchanged) goes without a full reading (--sample-idle-interval), in seconds.',
    perContainer: false,
  },
  { name: 'corral_sampler_full_reads_total', type: 'counter', help: 'Readings of every stats file of a container.', perContainer: false },
  { name: 'corral_sampler_open_files', type: 'gauge', help: "Stats files the sampler keeps open to re-read (at most half the daemon's open-files limit).", perContainer: false },
  {
    name: 'corral_sampler_unkept_reads_total',
    type: 'counter',
    help: 'Stats file reads that opened and closed the file because the sampler already kept half the open-files limit: raise LimitNOFILE.',
    perContainer: false,
  },
  {
    name: 'corral_sampler_quiet_reads_total',
    type: 'counter',
    help: 'Readings of a quiet container: its CPU and memory counters only, as at its last full reading, the other values carried from it.',
    perContainer: false,
  },
];

/** The names alone. */
export const METRIC_NAMES: readonly string[] = METRICS.map((m) => m.name);
