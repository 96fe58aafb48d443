/**
 * Metric families and their series: what FleetOps' code counts into (`Family.with(...labels)` once, then `inc` or
 * `observe` on the series it keeps), registered in a prom-client registry that formats them for a scrape.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** One labelled series of a counter. */
export interface CounterSeries {
  inc(by?: number): void;
}
/** One labelled series of a histogram. */
export interface HistogramSeries {
  observe(value: number): void;
}
/** One labelled series of a gauge. */
export interface GaugeSeries {
  set(value: number): void;
  inc(by?: number): void;
  dec(by?: number): void;
}

const NOOP: CounterSeries & HistogramSeries & GaugeSeries = { inc() {}, observe() {}, set() {}, dec() {} };

/** A family whose series are looked up once per label set and kept (hot paths hold their series). */
export class Family<S> {
  private readonly series = new Map<string, S>();
  private readonly make: (values: string[]) => S;
  private readonly drop: (values: string[], series: S | undefined) => void;

  constructor(make: (values: string[]) => S, drop: (values: string[], series: S | undefined) => void) {
    this.make = make;
    this.drop = drop;
  }

  with(...values: string[]): S {
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = this.make(values)));
    return s;
  }

  /** Removes a series (a gauge whose subject is gone, e.g. a finished rollout's revision). */
  remove(...values: string[]): void {
    const key = values.join('\u0000');
    const removed = this.series.get(key);
    this.series.delete(key);
    this.drop(values, removed);
  }
}

/** A family whose every series is `off` (metrics switched off). */
function noopFamily<S>(off: S): Family<S> {
  return new Family<S>(
    () => off,
    () => {},
  );
}

/**
 * A counter whose series count in plain numbers, added to prom-client's series when it is read (a scrape, or
 * `metricTotal`): prom-client's labelled `inc` checked and hashed the labels on every call, and the store counts every
 * read. Exact at every read: what was counted since the last one is added before prom-client reports.
 */
export function counterFamily(registry: Registry, enabled: boolean, name: string, help: string, labelNames: string[]): Family<CounterSeries> {
  if (!enabled) return noopFamily<CounterSeries>(NOOP);
  const series = new Set<CounterCount>();
  const metric = new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const s of series.values()) {
        if (s.pending === 0) continue;
        this.labels(...s.values).inc(s.pending);
        s.pending = 0;
      }
    },
  });
  return new Family<CounterSeries>(
    (values) => {
      metric.labels(...values); // checks the label values once, as prom-client does on every call
      const s = new CounterCount(name, values);
      series.add(s);
      return s;
    },
    (values, removed) => {
      if (removed instanceof CounterCount) series.delete(removed);
      metric.remove(...values);
    },
  );
}

/** One series of a counter: what was counted since prom-client's series was last brought up to date. */
class CounterCount implements CounterSeries {
  readonly values: string[];
  pending = 0;
  private readonly name: string;

  constructor(name: string, values: string[]) {
    this.name = name;
    this.values = values;
  }

  inc(by = 1): void {
    if (!(by >= 0)) throw new Error(`counter ${this.name} cannot be increased by ${by}`);
    this.pending += by;
  }
}

/**
 * A histogram whose series count into their own buckets; prom-client formats them (its exported values are made from
 * these counts when read), as its labelled `observe` checked and hashed the labels on every call: a reconcile, a
 * queue item and a store commit each observe one or two. Reported as prom-client's own histograms are: cumulative
 * `le` buckets, `+Inf`, `_sum`, `_count`.
 */
class CountedHistogram extends Histogram {
  private readonly family: { name: string; help: string; labelNames: readonly string[]; bounds: readonly number[] };
  /** Made at the first series: prom-client's constructor calls reset() before this class's fields exist. */
  private counted: Set<HistogramCounts> | undefined;

  constructor(registry: Registry, name: string, help: string, labelNames: string[], buckets: number[]) {
    super({ name, help, labelNames, buckets, registers: [registry] });
    this.family = { name, help, labelNames, bounds: [...buckets].sort((a, b) => a - b) };
  }

  series(values: string[]): HistogramCounts {
    this.labels(...values); // checks the label values once, as prom-client does on every call
    const labels: Record<string, string> = {};
    this.family.labelNames.forEach((label, i) => (labels[label] = values[i] ?? ''));
    const counts = new HistogramCounts(labels, this.family.bounds);
    (this.counted ??= new Set()).add(counts);
    return counts;
  }

  drop(counts: HistogramCounts): void {
    this.counted?.delete(counts);
  }

  override reset(): void {
    super.reset();
    for (const c of this.counted ?? []) c.clear();
  }

  /**
   * What prom-client's registry reads to format the family (it calls a metric's `getForPromString` when it has one),
   * and what its Histogram's `get()` reads too: made from the counted series. Not in prom-client's typings: a release
   * that stopped calling it would scrape these histograms empty, which `test/unit/telemetry.test.ts` and the real
   * Prometheus of `test/e2e/prometheus.test.ts` would see.
   */
  async getForPromString(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const { name, help, bounds } = this.family;
    const values: ExportedValue[] = [];
    for (const c of this.counted ?? []) {
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += c.buckets[i] ?? 0;
        values.push({ labels: { le: bounds[i] ?? 0 }, sharedLabels: c.labels, value: cumulative, metricName: `${name}_bucket` });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: c.labels, value: c.count, metricName: `${name}_bucket` });
      values.push({ labels: {}, sharedLabels: c.labels, value: c.sum, metricName: `${name}_sum` });
      values.push({ labels: {}, sharedLabels: c.labels, value: c.count, metricName: `${name}_count` });
    }
    return { name, help, type: 'histogram', aggregator: 'sum', values };
  }
}

interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
}

/** One series' observations: a count per bucket (not cumulative), their sum and number. */
class HistogramCounts implements HistogramSeries {
  readonly labels: Record<string, string>;
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;
  private readonly bounds: readonly number[];

  constructor(labels: Record<string, string>, bounds: readonly number[]) {
    this.labels = labels;
    this.bounds = bounds;
    this.buckets = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`a histogram cannot observe ${value}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] ?? 0)) i++;
    if (i < bounds.length) this.buckets[i] = (this.buckets[i] ?? 0) + 1;
    this.sum += value;
    this.count++;
  }

  clear(): void {
    this.buckets.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

export function histogramFamily(
  registry: Registry,
  enabled: boolean,
  name: string,
  help: string,
  labelNames: string[],
  buckets: number[],
): Family<HistogramSeries> {
  if (!enabled) return noopFamily<HistogramSeries>(NOOP);
  const metric = new CountedHistogram(registry, name, help, labelNames, buckets);
  return new Family<HistogramSeries>(
    (values) => metric.series(values),
    (values, removed) => {
      if (removed instanceof HistogramCounts) metric.drop(removed);
      metric.remove(...values);
    },
  );
}

/** A gauge: its labelled children wrapped once each (gauges are set where their value changes, not on hot paths). */
export function gaugeFamily(registry: Registry, enabled: boolean, name: string, help: string, labelNames: string[]): Family<GaugeSeries> {
  if (!enabled) return noopFamily<GaugeSeries>(NOOP);
  const metric = new Gauge({ name, help, labelNames, registers: [registry] });
  return new Family<GaugeSeries>(
    (values) => {
      const l = metric.labels(...values);
      return { set: (x: number) => l.set(x), inc: (by?: number) => l.inc(by), dec: (by?: number) => l.dec(by) };
    },
    (values) => metric.remove(...values),
  );
}
