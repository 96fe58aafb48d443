/**
 * The Kratix kinds (`platform.kratix.io/v1alpha1`) with Kratix's field names, defaults and printer columns (as
 * Kratix's own `api/v1alpha1` types define them). Behaviour lives in controllers; here they store and validate.
 */
import type { Condition } from '../../api/conditions.ts';
import type { Pipeline } from '../../workflows/pipelineSpec.ts';
import type { ResourceType } from '../ResourceType.ts';
import type { SchemaValidator } from '../schema/SchemaValidator.ts';
import { promiseStrategy } from './promiseStrategy.ts';
import { ageColumn, defineType, readyColumn, s, type ObjectOf } from './defineType.ts';

export const KRATIX_GROUP = 'platform.kratix.io';
export const KRATIX_VERSION = 'v1alpha1';

const selectors = s.arr(s.obj({ matchLabels: s.map() }, { required: ['matchLabels'] }));
/** Pipelines are checked field by field by the Promise's strategy (Kratix's webhook rules), not by the schema. */
const pipelines = s.arr(s.any<Pipeline>());
const workflowPair = s.obj({ configure: pipelines, delete: pipelines });

/** What the Kratix kinds' statuses have in common: conditions and Kratix's one-word summary. */
interface ConditionedStatus {
  conditions?: Condition[];
  status?: string;
  message?: string;
}

/**
 * A Promise's status as the PromiseController writes it (Kratix's fields, then FleetOps' revision bookkeeping).
 * `kratix.workflows` follows the Promise workflows' runs.
 */
export interface PromiseStatus extends ConditionedStatus {
  kind?: string;
  apiVersion?: string;
  version?: string;
  observedGeneration?: number;
  latestRevision?: number;
  /** md5 of the spec the latest revision was made from. */
  latestRevisionHash?: string;
  lastAvailableTime?: string;
  requiredPromises?: { name: string; version?: string; state: string }[];
  kratix?: { workflows?: WorkflowsStatus };
  [field: string]: unknown;
}

/** Where the workflows of a Promise or resource stand (`status.kratix.workflows`). */
export interface WorkflowsStatus {
  phase?: string;
  hash?: string;
  revision?: number;
  runs?: string[];
  runningSince?: string;
  lastSuccessfulConfigureWorkflowTime?: string;
  /** Failed runs in a row (for the retry backoff), and when the next retry is due. */
  attempts?: number;
  nextRetryAt?: string;
  message?: string;
  /** Pipelines whose Works the last successful run kept (stale Works of removed pipelines are deleted). */
  worksFor?: string[];
  /** The generation a workflow suspended itself at (Kratix's): the label kratix.io/workflow-suspended was set then. */
  suspendedGeneration?: number;
  /** When a suspended delete workflow runs again by itself (its workflow-control retryAfter). */
  deleteNextRetryAt?: string;
  [field: string]: unknown;
}

export const promiseType = defineType({
  group: KRATIX_GROUP,
  version: KRATIX_VERSION,
  kind: 'Promise',
  plural: 'promises',
  namespaced: false,
  categories: ['kratix'],
  statusSubresource: true,
  schema: s.root(
    s.obj({
      api: s.any(),
      dependencies: s.arr(s.any()),
      workflows: s.obj({
        config: s.obj({ pipelineNamespace: s.str(), reconciliationInterval: s.str() }),
        resource: workflowPair,
        promise: workflowPair,
      }),
      destinationSelectors: selectors,
      requiredPromises: s.arr(s.obj({ name: s.str(), version: s.str() }, { required: ['name'] })),
    }),
    s.any<PromiseStatus>(),
  ),
  printerColumns: [
    { name: 'Status', type: 'string', jsonPath: '.status.status' },
    { name: 'Kind', type: 'string', jsonPath: '.status.kind' },
    { name: 'API Version', type: 'string', jsonPath: '.status.apiVersion' },
    { name: 'Version', type: 'string', jsonPath: '.status.version' },
    { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
  ],
});

export const destinationType = defineType({
  group: KRATIX_GROUP,
  version: KRATIX_VERSION,
  kind: 'Destination',
  plural: 'destinations',
  namespaced: false,
  shortNames: ['dest', 'dests'],
  categories: ['kratix'],
  statusSubresource: true,
  schema: s.root(
    s.obj(
      {
        path: s.str({ minLength: 1 }),
        stateStoreRef: s.obj({ kind: s.str({ enum: ['GitStateStore', 'BucketStateStore'] }), name: s.str() }, { required: ['kind', 'name'] }),
        strictMatchLabels: s.bool({ default: false }),
        filepath: s.obj(
          { mode: s.str({ enum: ['nestedByMetadata', 'aggregatedYAML', 'none'], default: 'nestedByMetadata' }), filename: s.str() },
          { default: {} },
        ),
        cleanup: s.str({ enum: ['none', 'all'], default: 'none' }),
        initWorkloads: s.obj({ enabled: s.bool({ default: true }) }, { default: {} }),
      },
      { required: ['path'] },
    ),
    s.any<ConditionedStatus>(),
    {},
    ['spec'],
  ),
  printerColumns: [
    { name: 'StateStoreKind', type: 'string', jsonPath: '.spec.stateStoreRef.kind' },
    { name: 'StateStoreName', type: 'string', jsonPath: '.spec.stateStoreRef.name' },
    readyColumn(),
    ageColumn,
  ],
});

const secretRef = s.obj({ name: s.str(), namespace: s.str({ default: 'default' }) }, { required: ['name'] });

/** A state store's status: its conditions, and the folders FleetOps manages in it (so it can remove stale ones). */
export interface StateStoreStatus extends ConditionedStatus {
  managedPaths?: string[];
  /** Each Destination's folder at the last write (a Destination gone from here was deleted; see cleanup). */
  destinationPaths?: Record<string, string>;
  observedGeneration?: number;
  /** The commit (Git) or version (bucket) last written. */
  lastCommit?: string;
}

const stateStoreColumns = [{ name: 'Status', type: 'string' as const, jsonPath: '.status.status' }, ageColumn];

export const gitStateStoreType = defineType({
  group: KRATIX_GROUP,
  version: KRATIX_VERSION,
  kind: 'GitStateStore',
  plural: 'gitstatestores',
  namespaced: false,
  categories: ['kratix'],
  statusSubresource: true,
  schema: s.root(
    s.obj(
      {
        url: s.str({ minLength: 1 }),
        path: s.str(),
        secretRef,
        branch: s.str({ default: 'main' }),
        authMethod: s.str({ enum: ['basicAuth', 'ssh', 'githubApp'], default: 'basicAuth' }),
        gitAuthor: s.obj({ name: s.str({ default: 'kratix' }), email: s.str() }, { default: {} }),
      },
      { required: ['url'] },
    ),
    s.any<StateStoreStatus>(),
    {},
    ['spec'],
  ),
  printerColumns: [{ name: 'URL', type: 'string', jsonPath: '.spec.url' }, ...stateStoreColumns],
});

export const bucketStateStoreType = defineType({
  group: KRATIX_GROUP,
  version: KRATIX_VERSION,
  kind: 'BucketStateStore',
  plural: 'bucketstatestores',
  namespaced: false,
  categories: ['kratix'],
  statusSubresource: true,
  schema: s.root(
    s.obj(
      {
        bucketName: s.str({ minLength: 1 }),
        endpoint: s.str({ minLength: 1 }),
        path: s.str(),
        insecure: s.bool(),
        useDualStack: s.bool(),
        authMethod: s.str({ enum: ['accessKey', 'IAM'], default: 'accessKey' }),
        secretRef,
      },
      { required: ['bucketName', 'endpoint'] },
    ),
    s.any<StateStoreStatus>(),
    {},
    ['spec'],
  ),
  printerColumns: [{ name: 'Bucket', type: 'string', jsonPath: '.spec.bucketName' }, ...stateStoreColumns],
});

const workload = s.obj({ filepath: s.str(), content: s.str() }, { required: ['filepath'] });

/** A Work's status: scheduling conditions, and the WorkPlacements made for it (recorded before they are made). */
export interface WorkStatus extends ConditionedStatus {
  placements?: string[];
  workPlacements?: number;
  workPlacementsCreated?: number;
}

export const workType = defineType({
  group: KRATIX_GROUP,
  version: KRATIX_VERSION,
  kind: 'Work',
  plural: 'works',
  namespaced: true,
  categories: ['kratix'],
  statusSubresource: true,
  schema: s.root(
    s.obj({
      lastExecutionTimestamp: s.str(),
      promiseName: s.str(),
      resourceName: s.str(),
      workloadGroups: s.arr(
        s.obj({
          id: s.str(),
          directory: s.str(),
          workloads: s.arr(workload),
          destinationSelectors: s.arr(s.obj({ matchLabels: s.map(), source: s.str() })),
        }),
      ),
    }),
    s.any<WorkStatus>(),
  ),
  printerColumns: [{ name: 'Status', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].message' }, ageColumn],
});

/** A WorkPlacement's status: written to its Destination's state store or not, and the version written. */
export interface WorkPlacementStatus extends ConditionedStatus {
  versionID?: string;
  [field: string]: unknown;
}

export const workPlacementType = defineType({
  group: KRATIX_GROUP,
  version: KRATIX_VERSION,
  kind: 'WorkPlacement',
  plural: 'workplacements',
  namespaced: true,
  shortNames: ['wp', 'wps'],
  categories: ['kratix'],
  statusSubresource: true,
  schema: s.root(
    s.obj({
      targetDestinationName: s.str(),
      workloads: s.arr(workload),
      promiseName: s.str(),
      resourceName: s.str(),
      id: s.str(),
      generation: s.int(),
    }),
    s.any<WorkPlacementStatus>(),
  ),
  printerColumns: [{ name: 'Destination', type: 'string', jsonPath: '.spec.targetDestinationName' }, readyColumn(), ageColumn],
});

/** Kratix's HealthRecord: what a health check found about one resource. Its content is under `data`, not `spec`. */
export const healthRecordType = defineType({
  group: KRATIX_GROUP,
  version: KRATIX_VERSION,
  kind: 'HealthRecord',
  plural: 'healthrecords',
  namespaced: true,
  categories: ['kratix'],
  schema: s.root(undefined, undefined, {
    data: s.obj(
      {
        promiseRef: s.obj({ name: s.str() }, { required: ['name'] }),
        resourceRef: s.obj({ name: s.str(), namespace: s.str(), generation: s.int() }, { required: ['name'] }),
        state: s.str({ enum: ['unknown', 'ready', 'unhealthy', 'healthy', 'degraded'], default: 'unknown' }),
        lastRun: s.int(),
        details: s.any(),
      },
      { required: ['promiseRef', 'resourceRef'] },
    ),
  }),
  printerColumns: [
    { name: 'Status', type: 'string', jsonPath: '.data.state' },
    { name: 'Resource', type: 'string', jsonPath: '.data.resourceRef.name' },
    ageColumn,
  ],
});

/**
 * Kratix's ResourceBinding: which version of its Promise a resource request is on. `spec.version` is `latest`
 * (follow the Promise's rollouts) or a `kratix.io/promise-version` to pin it to.
 */
/** Which version a binding's resource was last reconciled at, and the upgrade that failed, if one did. */
export interface ResourceBindingStatus extends ConditionedStatus {
  lastAppliedVersion?: string;
  failedVersion?: string;
  [field: string]: unknown;
}

export const resourceBindingType = defineType({
  group: KRATIX_GROUP,
  version: KRATIX_VERSION,
  kind: 'ResourceBinding',
  plural: 'resourcebindings',
  namespaced: true,
  categories: ['kratix'],
  statusSubresource: true,
  schema: s.root(
    s.obj(
      {
        version: s.str({ default: 'latest' }),
        promiseRef: s.obj({ name: s.str() }, { required: ['name'] }),
        resourceRef: s.obj({ name: s.str(), namespace: s.str() }, { required: ['name'] }),
      },
      { required: ['promiseRef', 'resourceRef'] },
    ),
    s.any<ResourceBindingStatus>(),
  ),
  printerColumns: [
    { name: 'Promise', type: 'string', jsonPath: '.spec.promiseRef.name' },
    { name: 'Resource', type: 'string', jsonPath: '.spec.resourceRef.name' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version' },
    { name: 'Applied', type: 'string', jsonPath: '.status.lastAppliedVersion' },
    ageColumn,
  ],
});

/**
 * Kratix's PromiseRevision: one per version of a Promise (`kratix.io/promise-version`), named
 * `<promise>-<md5(version)[:5]>`, the latest labelled `kratix.io/latest-revision`. FleetOps derives them from its own
 * numbered revisions (fleetops.dev), so Kratix tooling reads the versions a Promise has had.
 */
export const kratixPromiseRevisionType = defineType({
  group: KRATIX_GROUP,
  version: KRATIX_VERSION,
  kind: 'PromiseRevision',
  plural: 'promiserevisions',
  namespaced: false,
  categories: ['kratix'],
  statusSubresource: true,
  schema: s.root(
    s.obj({ promiseRef: s.obj({ name: s.str() }, { required: ['name'] }), promiseSpec: s.any<PromiseSpec>(), version: s.str() }),
    s.any<{ latest?: boolean }>(),
  ),
  printerColumns: [
    { name: 'Promise', type: 'string', jsonPath: '.spec.promiseRef.name' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version' },
    { name: 'Latest', type: 'boolean', jsonPath: '.status.latest' },
    ageColumn,
  ],
});

/** What a DryRun found: the outputs and status its resource's configure workflows would write, nothing written. */
export interface DryRunStatus {
  phase?: 'Running' | 'Complete' | 'Failed';
  message?: string;
  /** Each output file by pipeline (contents truncated past 64 KiB each, 512 KiB in all: see `truncated`). */
  outputs?: { pipeline: string; path: string; content: string }[];
  /** The status fields the workflows' status.yaml would merge into the resource. */
  status?: Record<string, unknown>;
  /** Changes against what the resource's Works hold now (an existing resource only). */
  changes?: string[];
  truncated?: boolean;
  completionTime?: string;
  [field: string]: unknown;
}

/**
 * Kratix's DryRun: a resource request (inline, or an existing one by reference, in the DryRun's own namespace) run
 * through its Promise's configure workflows in the sandbox with no side effect — no Work, no WorkflowRun, no status
 * on the resource; what they would write is in the DryRun's status.
 */
export const dryRunType = defineType({
  group: KRATIX_GROUP,
  version: KRATIX_VERSION,
  kind: 'DryRun',
  plural: 'dryruns',
  namespaced: true,
  categories: ['kratix'],
  statusSubresource: true,
  schema: s.root(
    s.obj(
      {
        promiseRef: s.obj({ name: s.str() }, { required: ['name'] }),
        resourceRequestRef: s.obj({ name: s.str(), namespace: s.str() }, { required: ['name'] }),
        resource: s.any<Record<string, unknown>>(),
      },
      { required: ['promiseRef'] },
    ),
    s.any<DryRunStatus>(),
  ),
  printerColumns: [
    { name: 'Promise', type: 'string', jsonPath: '.spec.promiseRef.name' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
    ageColumn,
  ],
});

export type DryRun = ObjectOf<typeof dryRunType>;

/**
 * Kratix's PromiseRelease: a Promise installed from a URL at a version. The fetched Promise must carry
 * `kratix.io/promise-version` equal to `spec.version`; it is labelled `kratix.io/promise-release-name`, updated when
 * the version changes, and deleted with the release.
 */
export const promiseReleaseType = defineType({
  group: KRATIX_GROUP,
  version: KRATIX_VERSION,
  kind: 'PromiseRelease',
  plural: 'promisereleases',
  namespaced: false,
  categories: ['kratix'],
  statusSubresource: true,
  schema: s.root(
    s.obj(
      {
        version: s.str(),
        sourceRef: s.obj(
          { type: s.str({ enum: ['http'] }), url: s.str(), secretRef: s.obj({ name: s.str(), namespace: s.str() }, { required: ['name'] }) },
          { required: ['type', 'url'] },
        ),
      },
      { required: ['version', 'sourceRef'] },
    ),
    s.any<ConditionedStatus & { status?: string; installedVersion?: string; [field: string]: unknown }>(),
  ),
  printerColumns: [{ name: 'Status', type: 'string', jsonPath: '.status.status' }, { name: 'Version', type: 'string', jsonPath: '.spec.version' }, ageColumn],
});

export type PromiseRelease = ObjectOf<typeof promiseReleaseType>;
export type KratixPromise = ObjectOf<typeof promiseType>;
export type PromiseSpec = NonNullable<KratixPromise['spec']>;
export type Destination = ObjectOf<typeof destinationType>;
export type GitStateStore = ObjectOf<typeof gitStateStoreType>;
export type BucketStateStore = ObjectOf<typeof bucketStateStoreType>;
export type Work = ObjectOf<typeof workType>;
export type WorkloadGroup = NonNullable<NonNullable<Work['spec']>['workloadGroups']>[number];
export type WorkPlacement = ObjectOf<typeof workPlacementType>;
export type HealthRecord = ObjectOf<typeof healthRecordType>;
export type ResourceBinding = ObjectOf<typeof resourceBindingType>;
export type KratixPromiseRevision = ObjectOf<typeof kratixPromiseRevisionType>;
/** The Kratix kinds ready to register, with admission rules that need the schema validator. */
export function kratixTypes(validator: SchemaValidator): ResourceType[] {
  return [
    { ...promiseType, strategy: promiseStrategy(validator) },
    destinationType,
    gitStateStoreType,
    bucketStateStoreType,
    workType,
    workPlacementType,
    healthRecordType,
    resourceBindingType,
    kratixPromiseRevisionType,
    dryRunType,
    promiseReleaseType,
  ];
}
