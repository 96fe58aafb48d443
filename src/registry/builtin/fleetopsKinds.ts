/**
 * FleetOps' own kinds (`fleetops.dev/v1alpha1`), beside Kratix's. WorkflowRun records one pipeline execution (the
 * role Kratix gives a Kubernetes Job): which object, Promise and pipeline, each step's image, exit code, duration
 * and log tail. It is written by the workflow executor only; its name carries a random suffix as Kratix's Jobs do.
 */
import type { ResourceType } from '../ResourceType.ts';
import { ageColumn, defineType, s, type ObjectOf } from './defineType.ts';
import type { KratixPromise, PromiseSpec } from './kratixKinds.ts';
import type { Pipeline } from '../../workflows/pipelineSpec.ts';
import type { StoredObject } from '../../api/types.ts';

import { FLEETOPS_GROUP, FLEETOPS_VERSION } from '../../api/fleetopsNames.ts';
export { FLEETOPS_API, FLEETOPS_GROUP, FLEETOPS_VERSION, revisionName } from '../../api/fleetopsNames.ts';

const step = s.obj({
  name: s.str(),
  image: s.str(),
  command: s.arr(s.str()),
  exitCode: s.nullableInt(),
  signal: s.nullableStr(),
  timedOut: s.bool(),
  durationMs: s.int(),
  startedAt: s.str(),
  log: s.str(),
  logTruncated: s.bool(),
  /** How the step's image was had: the reference, its digest, whether it was cached, how long it took. */
  pull: s.obj({ image: s.str(), digest: s.str(), policy: s.str(), cached: s.bool(), durationMs: s.int() }),
  /** Why the kernel stopped it, as Kubernetes says it: `OOMKilled`. */
  reason: s.str(),
});

export const workflowRunType = defineType({
  group: FLEETOPS_GROUP,
  version: FLEETOPS_VERSION,
  kind: 'WorkflowRun',
  plural: 'workflowruns',
  namespaced: true,
  shortNames: ['wfr', 'run'],
  categories: ['fleetops'],
  statusSubresource: true,
  schema: s.root(
    s.obj({
      promiseName: s.str(),
      workflowType: s.str({ enum: ['resource', 'promise'] }),
      action: s.str({ enum: ['configure', 'delete'] }),
      pipeline: s.str(),
      object: s.obj({ apiVersion: s.str(), kind: s.str(), namespace: s.str(), name: s.str(), uid: s.str(), generation: s.int() }),
      hash: s.str(),
      steps: s.arr(s.obj({ name: s.str(), image: s.str(), command: s.arr(s.str()) })),
      /**
       * With several replicas: what any replica needs to run it (the pipeline, the input, the Promise's placement
       * and output rules), sealed like a Work. Absent when the run is carried out where it was started.
       */
      execution: s.atomic<RunExecution>(),
    }),
    s.obj({
      phase: s.str({ enum: ['Running', 'Succeeded', 'Failed'] }),
      /** The replica running it and its claim's attempt; a claim not renewed in time is taken over (attempt + 1). */
      claim: s.obj({ holder: s.str(), attempt: s.int(), renewTime: s.str() }),
      message: s.str(),
      startTime: s.str(),
      completionTime: s.str(),
      durationMs: s.int(),
      steps: s.arr(step),
      /** What the run produced besides its Work: the status.yaml fields (to resume after a restart). */
      output: s.obj(
        { status: s.any<Record<string, unknown>>(), control: s.any<{ suspend?: boolean; retryAfterMs?: number }>() },
        { 'x-kubernetes-map-type': 'atomic' },
      ),
    }),
  ),
  printerColumns: [
    { name: 'Object', type: 'string', jsonPath: '.spec.object.name' },
    { name: 'Pipeline', type: 'string', jsonPath: '.spec.pipeline' },
    { name: 'Action', type: 'string', jsonPath: '.spec.action', priority: 1 },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Duration (ms)', type: 'integer', jsonPath: '.status.durationMs' },
    { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
    ageColumn,
  ],
});

/** What a dispatched WorkflowRun carries for the replica that runs it (see WorkflowExecutor). */
export interface RunExecution {
  [key: string]: unknown;
  pipeline: Pipeline;
  /** The object as the pipeline sees it. */
  input: StoredObject;
  plural: string;
  namespace: string;
  /**
   * The Promise as far as the run needs it: its name, uid and annotations (output rules; not the copy of the whole
   * Promise that `kubectl apply` keeps in one) and its destination selectors.
   */
  promise: KratixPromise;
  /** The object's status said this pipeline's Work was never written: it is created without a read first. */
  workIsNew?: boolean;
}

/**
 * An immutable, numbered copy of a Promise's spec: what resources are reconciled with. Name `<promise>-r<N>`.
 * Called `Revision` (not PromiseRevision, its name before #21) so that no plural is served by two groups: Kratix's
 * per-version PromiseRevision is derived from these (ADR 0018).
 */
export const revisionType = defineType({
  group: FLEETOPS_GROUP,
  version: FLEETOPS_VERSION,
  kind: 'Revision',
  plural: 'revisions',
  namespaced: false,
  shortNames: ['rev'],
  categories: ['fleetops'],
  schema: s.root(
    s.obj(
      { promiseName: s.str(), revision: s.int(), hash: s.str(), version: s.str(), promiseSpec: s.atomic<PromiseSpec>(), change: s.str(), changeCause: s.str() },
      { required: ['promiseName', 'revision'] },
    ),
    undefined,
  ),
  printerColumns: [
    { name: 'Promise', type: 'string', jsonPath: '.spec.promiseName' },
    { name: 'Revision', type: 'integer', jsonPath: '.spec.revision' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version' },
    { name: 'Change', type: 'string', jsonPath: '.spec.change' },
    ageColumn,
  ],
  strategy: {
    validate(obj, old) {
      return old && JSON.stringify(old.spec) !== JSON.stringify(obj.spec)
        ? [{ reason: 'FieldValueForbidden', field: 'spec', message: 'Forbidden: a Revision is immutable' }]
        : [];
    },
  },
});

/** A Rollout's progress as the RolloutController writes it. */
export interface RolloutStatus {
  phase?: string;
  message?: string;
  total?: number;
  updated?: number;
  inProgress?: number;
  pending?: number;
  failed?: number;
  currentStep?: number;
  steps?: { target: number; reached: number }[];
  startTime?: string;
  completionTime?: string;
  /** Pending resources adopting by hand (policy manual), waiting for a window, and when the window opens. */
  manual?: number;
  outsideWindow?: number;
  windowOpensAt?: string | null;
  [field: string]: unknown;
}

/** A plan's findings: counts, a summary of the changes, and per-resource details (a sample when large). */
export interface RolloutPlanStatus {
  phase?: string;
  message?: string;
  total?: number;
  planned?: number;
  changed?: number;
  unchanged?: number;
  failed?: number;
  summary?: string[];
  resources?: { namespace: string; name: string; outcome: string; changes: string[]; error?: string }[];
  [field: string]: unknown;
}

const rolloutStep = s.obj({ count: s.int({ minimum: 1 }), percent: s.int({ minimum: 1, maximum: 100 }), pause: s.bool() });

/**
 * The roll-out of one Promise revision across the resources of its kind. Name `<promise>-r<N>`. The strategy comes
 * from the Promise's `fleetops.dev/rollout-strategy` annotation; `spec.paused`, `spec.aborted` and
 * `spec.approvedStep` are the platform team's controls (`fleetops rollout pause|resume|abort`).
 */
export const rolloutType = defineType({
  group: FLEETOPS_GROUP,
  version: FLEETOPS_VERSION,
  kind: 'Rollout',
  plural: 'rollouts',
  namespaced: false,
  shortNames: ['ro'],
  categories: ['fleetops'],
  statusSubresource: true,
  schema: s.root(
    s.obj(
      {
        promiseName: s.str(),
        revision: s.int(),
        fromRevision: s.int(),
        strategy: s.obj({
          maxConcurrent: s.int({ minimum: 0 }),
          steps: s.arr(rolloutStep),
          order: s.arr(s.str()),
          failureBudget: s.int({ minimum: 0 }),
          requireHealthy: s.bool(),
          selector: s.str(),
          namespaces: s.arr(s.str()),
          windows: s.arr(
            s.obj(
              { kind: s.str({ enum: ['allow', 'deny'] }), schedule: s.str(), durationMs: s.int({ minimum: 60_000 }), timeZone: s.str() },
              { required: ['kind', 'schedule', 'durationMs'] },
            ),
          ),
          adoption: s.arr(
            s.obj({ selector: s.str(), namespaces: s.arr(s.str()), policy: s.str({ enum: ['automatic', 'window', 'manual'] }) }, { required: ['policy'] }),
          ),
        }),
        paused: s.bool(),
        aborted: s.bool(),
        /** Steps the platform team approved past their pause (`fleetops rollout resume`). */
        approvedStep: s.int(),
      },
      { required: ['promiseName', 'revision'] },
    ),
    s.any<RolloutStatus>(),
  ),
  printerColumns: [
    { name: 'Promise', type: 'string', jsonPath: '.spec.promiseName' },
    { name: 'Revision', type: 'integer', jsonPath: '.spec.revision' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Updated', type: 'integer', jsonPath: '.status.updated' },
    { name: 'Total', type: 'integer', jsonPath: '.status.total' },
    { name: 'Failed', type: 'integer', jsonPath: '.status.failed' },
    { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
    ageColumn,
  ],
});

/**
 * A dry run of a Promise change (`fleetops rollout plan -f promise.yaml`): the new Promise's resource workflows run
 * in the sandbox for every resource (or a sample) with no side effect, and the status says what would change.
 */
export const rolloutPlanType = defineType({
  group: FLEETOPS_GROUP,
  version: FLEETOPS_VERSION,
  kind: 'RolloutPlan',
  plural: 'rolloutplans',
  namespaced: false,
  shortNames: ['rplan'],
  categories: ['fleetops'],
  statusSubresource: true,
  schema: s.root(s.obj({ promise: s.any(), sample: s.int({ minimum: 1 }) }), s.any<RolloutPlanStatus>()),
  printerColumns: [
    { name: 'Promise', type: 'string', jsonPath: '.spec.promise.metadata.name' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Planned', type: 'integer', jsonPath: '.status.planned' },
    { name: 'Changed', type: 'integer', jsonPath: '.status.changed' },
    { name: 'Unchanged', type: 'integer', jsonPath: '.status.unchanged' },
    { name: 'Failed', type: 'integer', jsonPath: '.status.failed' },
    ageColumn,
  ],
});

export type WorkflowRun = ObjectOf<typeof workflowRunType>;
export type Revision = ObjectOf<typeof revisionType>;
export type Rollout = ObjectOf<typeof rolloutType>;
export type RolloutPlan = ObjectOf<typeof rolloutPlanType>;

export const fleetopsTypes: ResourceType[] = [workflowRunType, revisionType, rolloutType, rolloutPlanType];
