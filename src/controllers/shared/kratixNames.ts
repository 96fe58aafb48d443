/** Kratix's API version and the labels it puts on Works, runs and resources: one definition for every controller. */
export const KRATIX_API = 'platform.kratix.io/v1alpha1';
export const LABEL_PROMISE_NAME = 'kratix.io/promise-name';
export const LABEL_RESOURCE_NAME = 'kratix.io/resource-name';
export const LABEL_PIPELINE_NAME = 'kratix.io/pipeline-name';
export const LABEL_WORK_TYPE = 'kratix.io/work-type';
export const LABEL_WORKFLOW_TYPE = 'kratix.io/workflow-type';
export const LABEL_WORKFLOW_ACTION = 'kratix.io/workflow-action';
export const LABEL_HASH = 'kratix.io/hash';
/** On a resource or a Promise: no new workflows run until it is removed (then they run from the start). */
export const LABEL_PAUSED = 'kratix.io/paused';
/** On a Promise: every resource of it runs its configure workflow once more; removed when handed out. */
export const LABEL_RECONCILE_RESOURCES = 'kratix.io/reconcile-resources';
/** On a resource or a Promise: run the workflows again now; removed when the run starts. */
export const LABEL_MANUAL_RECONCILIATION = 'kratix.io/manual-reconciliation';

/** The Reconciled condition Kratix sets while an object or its Promise is paused, and how to recognise it. */
export const PAUSED_CONDITION = { type: 'Reconciled', status: 'Unknown', reason: 'PausedReconciliation', message: 'Paused' } as const;
export function isPausedCondition(c: { type: string; reason?: string }): boolean {
  return c.type === PAUSED_CONDITION.type && c.reason === PAUSED_CONDITION.reason;
}

/** Whether an object carries `kratix.io/paused: "true"`. */
export function isPaused(obj: { metadata: { labels?: Record<string, string> } }): boolean {
  return obj.metadata.labels?.[LABEL_PAUSED] === 'true';
}
/**
 * On a resource whose workflow suspended itself (workflow-control.yaml): removing it resumes the workflow; FleetOps
 * removes it when a retryAfter has passed or the spec changed.
 */
export const LABEL_WORKFLOW_SUSPENDED = 'kratix.io/workflow-suspended';
