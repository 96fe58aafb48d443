/**
 * How a resource's status records its configure workflow, as Kratix writes it: Pending with the pipelines running
 * when a run starts, then the outcome — Failed with the attempt and the next retry, Suspended by the workflow's
 * control file, or Reconciled with the status.yaml fields merged in. Pure functions of the status: the controller
 * reads, calls one, and writes.
 */
import { setCondition } from '../../api/conditions.ts';
import { mergeStatus, type WorkflowOutcome } from '../shared/WorkflowExecutor.ts';
import type { ResourceRequestStatus, WorkflowState } from '../shared/resourceRequest.ts';

export interface RunStart {
  state: WorkflowState;
  hash: string;
  /** The resourceVersion the run starts from: its WorkflowRuns are newer (crash recovery). */
  runningSince: string;
  pipelines: string[];
  now: string;
}

/** The status while a run is under way. */
export function markRunning(s: ResourceRequestStatus, run: RunStart): void {
  s.message = 'Pending';
  const inProgress = setCondition(
    s.conditions,
    { type: 'ConfigureWorkflowCompleted', status: 'False', reason: 'PipelinesInProgress', message: 'Pipelines are still in progress' },
    run.now,
  );
  s.conditions = setCondition(inProgress, { type: 'Reconciled', status: 'Unknown', reason: 'WorkflowPending', message: 'Pending' }, run.now);
  s.workflows = run.pipelines.length;
  const workflows: WorkflowState = {
    ...run.state,
    hash: run.hash,
    phase: 'Running',
    runningSince: run.runningSince,
    pipelines: run.pipelines.map((name) => ({ name, phase: 'Running' })),
  };
  s.kratix = { ...s.kratix, workflows };
}

export interface RunEnd {
  state: WorkflowState;
  hash: string;
  pipelines: string[];
  outcome: WorkflowOutcome;
  /** WorkflowRuns kept, and the pipelines whose Works exist. */
  runs: string[];
  worksFor: string[];
  attempts: number;
  /** When a failed run is tried again. */
  retryAt: string;
  resumeAt: string | undefined;
  now: string;
  generation: number | undefined;
}

/** The status once a run has ended. */
export function recordOutcome(s: ResourceRequestStatus, end: RunEnd): void {
  const { outcome, state, now } = end;
  const suspended = outcome.ok && (outcome.control.suspend === true || outcome.control.retryAfterMs !== undefined);
  Object.assign(s, mergeStatus(s, outcome.status));
  const wf: WorkflowState = {
    hash: end.hash,
    runs: end.runs,
    worksFor: end.worksFor,
    ...(state.revision !== undefined ? { revision: state.revision } : {}),
    pipelines: end.pipelines.map((name, i) => ({
      name,
      phase: i < outcome.succeeded ? 'Succeeded' : name === outcome.failedPipeline ? 'Failed' : i === outcome.succeeded && suspended ? 'Suspended' : 'Pending',
    })),
  };
  s.workflows = end.pipelines.length;
  s.workflowsSucceeded = outcome.succeeded;
  s.workflowsFailed = outcome.ok ? 0 : 1;
  let c = s.conditions;
  if (!outcome.ok) {
    // No member left undefined: the status is stored as it is built (a shared write takes its members as they are).
    Object.assign(wf, {
      phase: 'Failed',
      attempts: end.attempts,
      ...(end.retryAt !== undefined ? { nextRetryAt: end.retryAt } : {}),
      ...(outcome.failure !== undefined ? { message: outcome.failure } : {}),
    });
    const message = `Pipeline ${outcome.failedPipeline ?? ''} failed: ${outcome.failure ?? ''}`;
    c = setCondition(c, { type: 'ConfigureWorkflowCompleted', status: 'False', reason: 'ConfigureWorkflowFailed', message }, now);
    c = setCondition(c, { type: 'Reconciled', status: 'False', reason: 'ConfigureWorkflowFailed', message: 'Failing' }, now);
    // A time, not "in 10s": the message stays true however long after it is read.
    s.message = `Configure workflow failed (attempt ${end.attempts}, next retry at ${end.retryAt}): ${outcome.failure ?? ''}`.slice(0, 2000);
  } else if (outcome.control.suspend || outcome.control.retryAfterMs !== undefined) {
    Object.assign(wf, {
      phase: 'Suspended',
      ...(state.lastSuccessfulConfigureWorkflowTime !== undefined ? { lastSuccessfulConfigureWorkflowTime: state.lastSuccessfulConfigureWorkflowTime } : {}),
      message: outcome.control.message ?? 'Suspended',
    });
    if (end.resumeAt !== undefined) wf.nextRetryAt = end.resumeAt;
    if (end.generation !== undefined) wf.suspendedGeneration = end.generation;
    c = setCondition(c, { type: 'Reconciled', status: 'Unknown', reason: 'WorkflowSuspended', message: 'Suspended' }, now);
  } else {
    Object.assign(wf, { phase: 'Succeeded', lastSuccessfulConfigureWorkflowTime: now });
    c = setCondition(c, { type: 'ConfigureWorkflowCompleted', status: 'True', reason: 'PipelinesExecutedSuccessfully', message: 'Pipelines completed' }, now);
    // Reconciled: the workflow's outputs are recorded as Work, and none waits for a Destination (the scheduler says
    // so in WorksSucceeded, and flips Reconciled as that changes).
    const unplaced = c?.some((x) => x.type === 'WorksSucceeded' && x.status === 'False') ?? false;
    c = unplaced
      ? setCondition(c, { type: 'Reconciled', status: 'False', reason: 'UnscheduledWorks', message: 'Not scheduled' }, now)
      : setCondition(c, { type: 'Reconciled', status: 'True', reason: 'Reconciled', message: 'Reconciled' }, now);
    if (s.message === 'Pending' || s.message === undefined || String(s.message).startsWith('Configure workflow failed')) s.message = 'Resource requested';
    s.lastSuccessfulConfigureWorkflowTime = now;
    if (state.revision !== undefined) s.promiseRevision = state.revision;
    s.observedGeneration = end.generation;
  }
  s.conditions = c;
  s.kratix = { ...s.kratix, workflows: { ...wf } };
}
