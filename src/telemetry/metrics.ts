/**
 * FleetOps' Prometheus metrics, one registry per process as controller-runtime has it (`metrics.Registry`): a
 * process serves one FleetOps, and every part of it counts into the same families without each constructor
 * passing a registry along. Names follow controller-runtime, client-go's workqueue and the Kubernetes API server
 * where the meaning is the same, so existing dashboards work; FleetOps' own are prefixed `fleetops_`.
 *
 * Label values are bounded by what the platform team defines (controller names, verbs, kinds, Promise, pipeline and
 * step names, destinations), never by what application teams request: no resource name is ever a label.
 *
 * `FLEETOPS_METRICS=off` makes every family a no-op (for measuring what metrics cost; `/metrics` then serves only
 * what is registered by collectors).
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { counterFamily, gaugeFamily, histogramFamily, type CounterSeries, type Family, type GaugeSeries, type HistogramSeries } from './metricFamilies.ts';

export type { CounterSeries, GaugeSeries, HistogramSeries } from './metricFamilies.ts';

export const metricsRegistry = new Registry();
const enabled = process.env.FLEETOPS_METRICS !== 'off';
if (enabled) {
  collectDefaultMetrics({ register: metricsRegistry });
  // Gauges that prom-client names like counters (promtool refuses them); the same counts remain by type in
  // nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) metricsRegistry.removeSingleMetric(name);
}

/**
 * A family's total now over its series whose labels include `labels` (every series without): what a scrape would
 * show, summed. For tests and benchmarks that count what the process did between two points.
 */
export async function metricTotal(name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await metricsRegistry.getSingleMetric(name)?.get())?.values ?? [];
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

const counter = (name: string, help: string, labelNames: string[]): Family<CounterSeries> => counterFamily(metricsRegistry, enabled, name, help, labelNames);
const histogram = (name: string, help: string, labelNames: string[], buckets: number[]): Family<HistogramSeries> =>
  histogramFamily(metricsRegistry, enabled, name, help, labelNames, buckets);
const gauge = (name: string, help: string, labelNames: string[]): Family<GaugeSeries> => gaugeFamily(metricsRegistry, enabled, name, help, labelNames);

type Sample = [labels: string[], value: number];

/**
 * A gauge read when Prometheus scrapes: levels that live in components (queue depths, busy workers, watchers, the
 * change log). Each component tracks a source while it runs and untracks it when it stops; sources with the same
 * labels add up (two stores in one process). Nothing is computed between scrapes.
 */
export class SampledGauge {
  private readonly sources = new Set<() => Iterable<Sample>>();

  constructor(name: string, help: string, labelNames: string[]) {
    if (!enabled) return;
    const sources = this.sources;
    new Gauge({
      name,
      help,
      labelNames,
      registers: [metricsRegistry],
      collect() {
        this.reset();
        for (const read of sources) for (const [labels, value] of read()) this.labels(...labels).inc(value);
      },
    });
  }

  /** Adds a source; returns how to remove it. */
  track(read: () => Iterable<Sample>): () => void {
    this.sources.add(read);
    return () => this.sources.delete(read);
  }
}

/** controller-runtime's reconcile buckets (seconds). */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10,
  15, 20, 25, 30, 40, 50, 60,
];
/** client-go's workqueue buckets: 10 ns to 10 s, by powers of ten. */
const QUEUE_BUCKETS = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];
/** The API server's request buckets (seconds). */
const REQUEST_BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60];
/** Pipeline steps and image pulls: tens of milliseconds to ten minutes. */
const STEP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** Store commits and state-store writes: a millisecond to a minute. */
const WRITE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const controllerMetrics = {
  reconcileTotal: counter('controller_runtime_reconcile_total', 'Total number of reconciliations per controller', ['controller', 'result']),
  reconcileErrors: counter('controller_runtime_reconcile_errors_total', 'Total number of reconciliation errors per controller', ['controller']),
  reconcileTime: histogram('controller_runtime_reconcile_time_seconds', 'Length of time per reconciliation per controller', ['controller'], RECONCILE_BUCKETS),
};

export const controllerLevels = {
  activeWorkers: new SampledGauge('controller_runtime_active_workers', 'Number of currently used workers per controller', ['controller']),
  maxConcurrentReconciles: new SampledGauge('controller_runtime_max_concurrent_reconciles', 'Maximum number of concurrent reconciles per controller', [
    'controller',
  ]),
  queueDepth: new SampledGauge('workqueue_depth', 'Current depth of workqueue', ['name']),
};

export const workqueueMetrics = {
  adds: counter('workqueue_adds_total', 'Total number of adds handled by workqueue', ['name']),
  retries: counter('workqueue_retries_total', 'Total number of retries handled by workqueue', ['name']),
  queueDuration: histogram(
    'workqueue_queue_duration_seconds',
    'How long in seconds an item stays in workqueue before being requested',
    ['name'],
    QUEUE_BUCKETS,
  ),
  workDuration: histogram('workqueue_work_duration_seconds', 'How long in seconds processing an item from workqueue takes', ['name'], QUEUE_BUCKETS),
};

export const apiserverMetrics = {
  requests: counter('apiserver_request_total', 'Counter of apiserver requests broken out for each verb, group, version, resource and HTTP response code', [
    'verb',
    'group',
    'version',
    'resource',
    'subresource',
    'code',
  ]),
  duration: histogram(
    'apiserver_request_duration_seconds',
    'Response latency distribution in seconds for each verb, group, version, resource and subresource',
    ['verb', 'group', 'version', 'resource', 'subresource'],
    REQUEST_BUCKETS,
  ),
  inflight: gauge('apiserver_current_inflight_requests', 'Maximal number of currently used inflight request limit of this apiserver per request kind', [
    'request_kind',
  ]),
  longrunning: gauge('apiserver_longrunning_requests', 'Gauge of all active long-running apiserver requests (watches)', [
    'verb',
    'group',
    'version',
    'resource',
  ]),
};

export const pipelineMetrics = {
  runs: counter('fleetops_pipeline_runs_total', 'Pipeline runs finished, by Promise, pipeline and result (succeeded, failed, error)', [
    'promise',
    'pipeline',
    'result',
  ]),
  running: gauge('fleetops_pipeline_runs_running', 'Pipeline runs in progress on this replica', []),
  stepDuration: histogram('fleetops_pipeline_step_duration_seconds', 'How long each pipeline step ran, by Promise and step', ['promise', 'step'], STEP_BUCKETS),
  imagePulls: counter('fleetops_image_pulls_total', 'Step images acquired, by result (cached, pulled, failed)', ['result']),
  imagePullDuration: histogram('fleetops_image_pull_duration_seconds', 'How long pulling and unpacking a step image took', [], STEP_BUCKETS),
};

export const rolloutMetrics = {
  resources: gauge('fleetops_rollout_resources', "Resources of a Promise's current rollout, by state (updated, in_progress, pending, failed)", [
    'promise',
    'revision',
    'state',
  ]),
  failures: counter('fleetops_rollout_failures_total', 'Resources whose workflows failed during a rollout', ['promise']),
  paused: gauge('fleetops_rollout_paused', "1 while a Promise's rollout is paused (by hand or at a step waiting for approval)", ['promise']),
  halted: gauge('fleetops_rollout_halted', "1 while a Promise's rollout is halted (failure budget spent or health gate failed)", ['promise']),
};

export const stateStoreMetrics = {
  writeDuration: histogram(
    'fleetops_statestore_write_duration_seconds',
    'How long a write to the state store of a destination took (one commit or upload serves every destination of the store)',
    ['destination'],
    WRITE_BUCKETS,
  ),
  writeErrors: counter('fleetops_statestore_write_errors_total', 'Failed writes to the state store of a destination', ['destination']),
};

export const storeMetrics = {
  commitDuration: histogram(
    'fleetops_store_commit_duration_seconds',
    'How long a store commit took, from submission to durable (one group of writes)',
    [],
    WRITE_BUCKETS,
  ),
  commits: counter('fleetops_store_commits_total', 'Store commits (each a group of writes)', []),
  reads: counter(
    'fleetops_store_reads_total',
    "Single objects the store read, by where the answer came from: its read cache, or the database (the cache's misses)",
    ['from'],
  ),
  readQueries: counter(
    'fleetops_store_read_queries_total',
    "Statements the store sent the database for its cache's misses (PostgreSQL reads a turn's misses in one)",
    [],
  ),
  watchers: new SampledGauge('fleetops_watchers', 'Watches open on the store (API watches, informers and controllers)', []),
  changeLog: new SampledGauge('fleetops_store_changelog_entries', "Entries in the store's change log (what watches resume from; compacted)", []),
  readCache: new SampledGauge(
    'fleetops_store_read_cache_characters',
    "Stored text the store's read cache holds, and its budget (FLEETOPS_READ_CACHE_MIB): a fleet update reads each resource's objects again, and those past the budget from the database",
    ['of'],
  ),
};
