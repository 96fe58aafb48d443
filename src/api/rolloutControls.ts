/**
 * The platform team's rollout controls, as both the CLI and the portal apply them: pause, resume (approving the next
 * step when a step waits) and abort are merge patches of the Rollout's spec; undo puts a Promise's spec (and version
 * label) back to an earlier revision's, which becomes a new revision rolled out like any change. Isomorphic.
 */
import { ANNOTATION_CHANGE_CAUSE } from './fleetopsNames.ts';

export type RolloutAction = 'pause' | 'resume' | 'abort';

export const FINISHED_PHASES: ReadonlySet<string> = new Set(['Complete', 'Aborted', 'Superseded']);

export interface ControlledRollout {
  spec: { revision: number; paused?: boolean; approvedStep?: number };
  status?: { phase?: string; currentStep?: number };
}

/** What `action` does to the rollout: a patch of its spec, or nothing (with why). */
export function rolloutControl(action: RolloutAction, r: ControlledRollout): { patch: Record<string, unknown> } | { nothing: string } {
  const phase = r.status?.phase ?? '';
  if (FINISHED_PHASES.has(phase)) return { nothing: `it is ${phase}: there is nothing to ${action}` };
  if (action === 'pause') return { patch: { paused: true } };
  if (action === 'abort') return { patch: { aborted: true } };
  const waiting = phase === 'WaitingForApproval';
  if (!r.spec.paused && !waiting) return { nothing: `it is not paused (${phase || 'Pending'})` };
  const approvedStep = waiting ? Math.max(r.spec.approvedStep ?? 0, (r.status?.currentStep ?? 0) + 1) : (r.spec.approvedStep ?? 0);
  return { patch: { paused: false, approvedStep } };
}

/** The revision an undo goes back to (the previous one by default); an Error says why there is none. */
export function undoTarget(promise: string, latest: number | undefined, toRevision?: number): number {
  if (!latest) throw new Error(`Promise ${promise} has no recorded revision yet; wait until it is reconciled`);
  const to = toRevision ?? latest - 1;
  if (to < 1 || to > latest || (toRevision === undefined && latest < 2))
    throw new Error(`Promise ${promise} is at revision ${latest}: there is no earlier revision to go back to`);
  if (to === latest) throw new Error(`Promise ${promise} is already at revision ${to}`);
  return to;
}

export interface UndoablePromise {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** The Promise with the spec and version label of revision `to` (sent as an update: a change made meanwhile is a 409). */
export function undoneTo<P extends UndoablePromise>(p: P, to: number, revision: { version?: string; promiseSpec?: unknown }): P {
  const annotations = { ...(p.metadata.annotations ?? {}), [ANNOTATION_CHANGE_CAUSE]: `rollback to revision ${to}` };
  // The version label goes back with the spec, so the Promise says which version it runs.
  const labels = { ...(p.metadata.labels ?? {}), ...(revision.version ? { 'kratix.io/promise-version': revision.version } : {}) };
  return { ...p, metadata: { ...p.metadata, labels, annotations }, spec: revision.promiseSpec };
}
