/** FleetOps' own names on the API: its group, the names of revisions, its annotations on Kratix objects. */

export const FLEETOPS_GROUP = 'fleetops.dev';
export const FLEETOPS_VERSION = 'v1alpha1';
export const FLEETOPS_API = `${FLEETOPS_GROUP}/${FLEETOPS_VERSION}`;

/** Set on a resource by a rollout: the Promise revision it is to be reconciled with. */
export const LABEL_REVISION = 'fleetops.dev/revision';

/** The name of revision `n` of a Promise, and of the Rollout that takes it to the fleet. */
export function revisionName(promiseName: string, n: number): string {
  return `${promiseName}-r${n}`;
}

/** On a Promise: how its changes roll out (steps, pauses, order, failure budget; see docs/rollouts.md). */
export const ANNOTATION_ROLLOUT_STRATEGY = 'fleetops.dev/rollout-strategy';
/** On a Promise: why it changed, shown by `fleetops rollout history` (set by `rollout undo`). */
export const ANNOTATION_CHANGE_CAUSE = 'fleetops.dev/change-cause';
/** On a resource request: the Promise version its ResourceBinding pins it to (set by FleetOps from the binding). */
export const ANNOTATION_PINNED_VERSION = 'fleetops.dev/pinned-version';
/**
 * On a ServiceAccount: the pipeline whose account it is. Such an account acts only inside its runs (its other tokens
 * are refused) and only FleetOps writes it.
 */
export const LABEL_PIPELINE_ACCESS = 'fleetops.dev/pipeline-access';

export function isPipelineAccount(sa: { metadata: { labels?: Record<string, string> } }): boolean {
  return sa.metadata.labels?.[LABEL_PIPELINE_ACCESS] !== undefined;
}
/**
 * On a Promise: namespaces (comma-separated, or `*`) besides the request's own that its resource workflows may write
 * objects into. Without it, a resource workflow's outputs stay in the request's namespace (see ADR 0015).
 */
export const ANNOTATION_OUTPUT_NAMESPACES = 'fleetops.dev/allowed-output-namespaces';
/** On a Promise: cluster-scoped kinds (comma-separated, or `*`) its resource workflows may write (e.g. `Namespace`). */
export const ANNOTATION_CLUSTER_OUTPUTS = 'fleetops.dev/allowed-cluster-scoped-outputs';

/**
 * On a Promise: files that GitOps agents turn into objects of their own making (comma-separated, or `*`) its resource
 * workflows may write: `kustomize` (a `kustomization.yaml`) and `jsonnet` (`*.jsonnet`, which Argo CD evaluates).
 * Without it they are refused (ADR 0034).
 */
export const ANNOTATION_OUTPUT_GENERATORS = 'fleetops.dev/allowed-output-generators';

/** SelfSubjectReview `status.userInfo.extra` key: the namespaces where RoleBindings name the identity. */
export const EXTRA_NAMESPACES = 'fleetops.dev/namespaces';

/** Where the replicas' Leases are. */
export const REPLICA_LEASE_NAMESPACE = 'fleetops-system';
/** The Lease (in fleetops-system) whose holder runs the controllers. */
export const CONTROLLERS_LEASE_NAME = 'fleetops-controllers';
/** Each replica's own Lease (in fleetops-system) is named this plus its identity; annotated with its URL and store. */
export const REPLICA_LEASE_PREFIX = 'fleetops-replica-';
export const ANNOTATION_REPLICA_URL = 'fleetops.dev/url';
export const ANNOTATION_REPLICA_STORE = 'fleetops.dev/store';
export const ANNOTATION_REPLICA_ROLE = 'fleetops.dev/role';
