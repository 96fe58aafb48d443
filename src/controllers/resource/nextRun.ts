/**
 * When a resource's configure workflow runs, level-based from its recorded state: at once when its inputs (hash)
 * changed or a manual reconciliation was asked for; after the backoff when the last run failed; when the workflow's
 * retry-after has passed if it suspended itself (never, if it suspended without one); otherwise when the
 * reconciliation interval since the last success has passed. A new revision that gives the resource the same
 * inputs is adopted without a run.
 */
import type { WorkflowState } from '../shared/resourceRequest.ts';

export type RunDecision = { kind: 'run' } | { kind: 'adopt' } | { kind: 'wait'; ms: number | undefined };

export interface RunInputs {
  hash: string;
  manual: boolean;
  /** The revision the resource is to be reconciled with, if known. */
  revision: number | undefined;
  intervalMs: number;
  /** The injected clock's time (ms). */
  now: number;
}

export function nextRun(state: WorkflowState, inputs: RunInputs): RunDecision {
  const { now } = inputs;
  if (state.hash !== inputs.hash || inputs.manual) return { kind: 'run' };
  if (inputs.revision !== undefined && state.revision !== inputs.revision && state.phase === 'Succeeded') return { kind: 'adopt' };
  const until = (at: string | undefined): number => Date.parse(at ?? '') - now;
  if (state.phase === 'Failed' && state.nextRetryAt) {
    const wait = until(state.nextRetryAt);
    return wait > 0 ? { kind: 'wait', ms: wait } : { kind: 'run' };
  }
  if (state.phase === 'Suspended') {
    if (!state.nextRetryAt) return { kind: 'wait', ms: undefined };
    const wait = until(state.nextRetryAt);
    return wait > 0 ? { kind: 'wait', ms: wait } : { kind: 'run' };
  }
  if (state.phase === 'Succeeded') {
    const last = Date.parse(state.lastSuccessfulConfigureWorkflowTime ?? '') || now;
    const due = last + inputs.intervalMs - now;
    return due > 0 ? { kind: 'wait', ms: due } : { kind: 'run' };
  }
  return { kind: 'run' };
}
