/**
 * The metrics' own rules: a controller counts its reconciles by result under controller-runtime's names and its
 * queue under client-go's; sampled gauges add up their sources and forget stopped ones; a Promise's rollout gauges
 * keep the current revision's series only. Read from the process registry as Prometheus would scrape it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ApiError } from '../../src/api/errors.ts';
import { Controller } from '../../src/controller/Controller.ts';
import { WorkQueue } from '../../src/controller/WorkQueue.ts';
import { metricsRegistry, pipelineMetrics, SampledGauge, storeMetrics } from '../../src/telemetry/metrics.ts';
import { RolloutGauges } from '../../src/controllers/rollout/rolloutMetrics.ts';

/** Values of one metric family by their labels, as the scrape would show them. */
async function values(name: string): Promise<Map<string, number>> {
  const metric = metricsRegistry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const { values: samples } = await metric.get();
  return new Map(
    samples.map((s) => [
      Object.entries(s.labels)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(','),
      s.value,
    ]),
  );
}

describe('metrics', () => {
  it('counts a controller’s reconciles by result and its queue’s adds, retries and depth', async () => {
    let n = 0;
    const c = new Controller({
      name: 'unit-metrics',
      logger: pino({ level: 'silent' }),
      queue: new WorkQueue({ name: 'unit-metrics', baseDelayMs: 1 }),
      reconciler: {
        async reconcile() {
          n++;
          if (n === 1) throw new Error('transient');
          if (n === 2) throw new ApiError(409, 'Conflict', 'conflict');
          if (n === 3) return { requeueAfter: 1 };
          return undefined;
        },
      },
    });
    c.start();
    c.enqueue('x');
    const deadline = Date.now() + 5000;
    while (n < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await c.idle();
    const total = await values('controller_runtime_reconcile_total');
    assert.equal(total.get('controller=unit-metrics,result=error'), 1);
    assert.equal(total.get('controller=unit-metrics,result=requeue'), 1);
    assert.equal(total.get('controller=unit-metrics,result=requeue_after'), 1);
    assert.equal(total.get('controller=unit-metrics,result=success'), 1);
    assert.equal((await values('controller_runtime_reconcile_errors_total')).get('controller=unit-metrics'), 1);
    assert.equal((await values('workqueue_retries_total')).get('name=unit-metrics'), 1);
    assert.equal((await values('workqueue_adds_total')).get('name=unit-metrics'), 4);
    assert.equal((await values('workqueue_depth')).get('name=unit-metrics'), 0);
    assert.equal((await values('controller_runtime_max_concurrent_reconciles')).get('controller=unit-metrics'), 1);
    await c.stop();
    assert.equal((await values('workqueue_depth')).has('name=unit-metrics'), false, 'a stopped controller’s queue is no longer sampled');
  });

  it('adds up the sources of a sampled gauge and drops untracked ones', async () => {
    const gauge = new SampledGauge('unit_sampled_level', 'a test level', ['part']);
    const a = gauge.track(() => [[['x'], 2]]);
    gauge.track(() => [
      [['x'], 3],
      [['y'], 1],
    ]);
    let v = await values('unit_sampled_level');
    assert.equal(v.get('part=x'), 5);
    assert.equal(v.get('part=y'), 1);
    a();
    v = await values('unit_sampled_level');
    assert.equal(v.get('part=x'), 3);
  });

  it('keeps only the current revision of a Promise’s rollout and counts newly failed resources', async () => {
    const gauges = new RolloutGauges();
    gauges.report('unit', 2, { phase: 'Progressing', updated: 3, inProgress: 2, pending: 5, failed: 1 }, 0);
    gauges.report('unit', 2, { phase: 'Halted', updated: 4, inProgress: 0, pending: 5, failed: 2 }, 1);
    let resources = await values('fleetops_rollout_resources');
    assert.equal(resources.get('promise=unit,revision=2,state=updated'), 4);
    assert.equal(resources.get('promise=unit,revision=2,state=failed'), 2);
    assert.equal((await values('fleetops_rollout_halted')).get('promise=unit'), 1);
    assert.equal((await values('fleetops_rollout_failures_total')).get('promise=unit'), 2);
    gauges.report('unit', 3, { phase: 'Paused', updated: 0, inProgress: 0, pending: 9, failed: 0 }, 0);
    resources = await values('fleetops_rollout_resources');
    assert.equal([...resources.keys()].filter((k) => k.includes('revision=2')).length, 0, 'the previous revision’s series are gone');
    assert.equal(resources.get('promise=unit,revision=3,state=pending'), 9);
    assert.equal((await values('fleetops_rollout_paused')).get('promise=unit'), 1);
    assert.equal((await values('fleetops_rollout_halted')).get('promise=unit'), 0);
  });

  it('reports a histogram’s observations as cumulative buckets with their sum and count, and a counter exactly at every read', async () => {
    // Buckets 0.01, 0.025, 0.05, …: an observation on a bound counts in that bound's bucket, as Prometheus' `le` says.
    const steps = pipelineMetrics.stepDuration.with('unit-histogram', 'render');
    for (const seconds of [0.005, 0.01, 0.02, 0.7, 1000]) steps.observe(seconds);
    const h = await values('fleetops_pipeline_step_duration_seconds');
    const at = (le: string): number | undefined => h.get(`le=${le},promise=unit-histogram,step=render`);
    assert.equal(at('0.01'), 2);
    assert.equal(at('0.025'), 3);
    assert.equal(at('0.5'), 3);
    assert.equal(at('1'), 4);
    assert.equal(at('600'), 4);
    assert.equal(at('+Inf'), 5, 'past the last bound only +Inf counts it');
    const text = await metricsRegistry.metrics();
    assert.match(text, /^fleetops_pipeline_step_duration_seconds_count\{promise="unit-histogram",step="render"\} 5$/m);
    assert.match(text, /^fleetops_pipeline_step_duration_seconds_sum\{promise="unit-histogram",step="render"\} 1000\.735$/m);
    assert.throws(() => steps.observe(Number.NaN), TypeError);

    const reads = storeMetrics.reads.with('unit-counter');
    reads.inc();
    reads.inc(2);
    assert.equal((await values('fleetops_store_reads_total')).get('from=unit-counter'), 3);
    reads.inc();
    assert.equal((await values('fleetops_store_reads_total')).get('from=unit-counter'), 4, 'what was counted since the last read is added once');
    assert.equal((await values('fleetops_store_reads_total')).get('from=unit-counter'), 4);
    assert.throws(() => reads.inc(-1), /cannot be increased by -1/);
  });
});
