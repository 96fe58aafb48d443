/**
 * A rollout's progress as metrics: `fleetops_rollout_resources{promise,revision,state}` for each Promise's current
 * rollout (the series of its previous revision removed, so the label stays bounded), `fleetops_rollout_paused` and
 * `fleetops_rollout_halted` as 0/1, and `fleetops_rollout_failures_total` counting resources newly failed.
 */
import { rolloutMetrics } from '../../telemetry/metrics.ts';
import type { RolloutStatus } from '../../registry/builtin/fleetopsKinds.ts';

const STATES = ['updated', 'in_progress', 'pending', 'failed'] as const;

export class RolloutGauges {
  /** Promise → the revision whose series are set. */
  private readonly revisions = new Map<string, string>();

  /** Sets the gauges of a Promise's rollout from the status just decided; `failedBefore` is what the last status said. */
  report(promise: string, revision: number, status: RolloutStatus, failedBefore: number): void {
    const rev = String(revision);
    const previous = this.revisions.get(promise);
    if (previous !== undefined && previous !== rev) for (const state of STATES) rolloutMetrics.resources.remove(promise, previous, state);
    this.revisions.set(promise, rev);
    const values: Record<(typeof STATES)[number], number> = {
      updated: status.updated ?? 0,
      in_progress: status.inProgress ?? 0,
      pending: status.pending ?? 0,
      failed: status.failed ?? 0,
    };
    for (const state of STATES) rolloutMetrics.resources.with(promise, rev, state).set(values[state]);
    rolloutMetrics.paused.with(promise).set(status.phase === 'Paused' || status.phase === 'WaitingForApproval' ? 1 : 0);
    rolloutMetrics.halted.with(promise).set(status.phase === 'Halted' ? 1 : 0);
    const newlyFailed = (status.failed ?? 0) - failedBefore;
    if (newlyFailed > 0) rolloutMetrics.failures.with(promise).inc(newlyFailed);
  }
}
