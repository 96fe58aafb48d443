/**
 * The default RBAC policy, reconciled at every start as Kubernetes reconciles its bootstrap roles (objects
 * annotated `rbac.authorization.kubernetes.io/autoupdate: "false"` are left as the platform team edited them):
 * - `cluster-admin`, and `admin` ⊇ `edit` ⊇ `view` built by aggregation, so every Promise's kind (which gets
 *   `fleetops:promise:<name>:edit|view` roles labelled to aggregate) is in them;
 * - `fleetops:catalog-reader` for every authenticated user: the platform's catalog (Promises, Destinations, state
 *   stores, revisions), never Rollouts or RolloutPlans, which name and diff every team's resources (a team reads
 *   where its own resources stand in their status: `status.promiseRevision`);
 * - `system:basic-user`: anyone may ask what they may do (`kubectl auth can-i`, `kubectl auth whoami`);
 * - for each team of the token file, its namespaces and a RoleBinding to `edit` in each.
 */
import { isApiError } from '../../api/errors.ts';
import { AUTHENTICATED_GROUP, RBAC_API, RBAC_GROUP, type PolicyRule } from '../../api/rbac.ts';
import { jsonEqual, type KubeObject } from '../../api/types.ts';
import type { ObjectService } from '../../registry/ObjectService.ts';
import type { ResourceType } from '../../registry/ResourceType.ts';
import { namespaceType } from '../../registry/builtin/coreKinds.ts';
import { clusterRoleBindingType, clusterRoleType, roleBindingType } from '../../registry/builtin/rbacKinds.ts';
import type { TokenEntry } from '../auth.ts';

export const AUTOUPDATE = 'rbac.authorization.kubernetes.io/autoupdate';
export const AGGREGATE_TO = (role: 'admin' | 'edit' | 'view'): string => `rbac.authorization.k8s.io/aggregate-to-${role}`;
const BOOTSTRAP_LABEL = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

function clusterRole(name: string, rules: PolicyRule[], labels: Record<string, string> = {}, aggregateFrom?: string): KubeObject {
  return {
    apiVersion: RBAC_API,
    kind: 'ClusterRole',
    metadata: { name, labels: { ...BOOTSTRAP_LABEL, ...labels }, annotations: { [AUTOUPDATE]: 'true' } },
    ...(aggregateFrom ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [aggregateFrom]: 'true' } }] } } : {}),
    rules,
  };
}

function clusterRoleBinding(name: string, role: string, group: string): KubeObject {
  return {
    apiVersion: RBAC_API,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...BOOTSTRAP_LABEL }, annotations: { [AUTOUPDATE]: 'true' } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'Group', apiGroup: RBAC_GROUP, name: group }],
  };
}

/** The group Kubernetes binds to system:monitoring. */
export const MONITORING_GROUP = 'system:monitoring';

export function bootstrapObjects(): KubeObject[] {
  return [
    clusterRole('cluster-admin', [
      { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
      { verbs: ['*'], nonResourceURLs: ['*'] },
    ]),
    // Aggregated: their rules are written by the aggregation controller.
    clusterRole('admin', [], {}, AGGREGATE_TO('admin')),
    clusterRole('edit', [], { [AGGREGATE_TO('admin')]: 'true' }, AGGREGATE_TO('edit')),
    clusterRole('view', [], { [AGGREGATE_TO('edit')]: 'true' }, AGGREGATE_TO('view')),
    clusterRole(
      'system:aggregate-to-view',
      [
        { verbs: READ, apiGroups: [''], resources: ['configmaps', 'events', 'namespaces', 'namespaces/status', 'serviceaccounts'] },
        { verbs: READ, apiGroups: ['platform.kratix.io'], resources: ['works', 'workplacements'] },
        { verbs: READ, apiGroups: ['fleetops.dev'], resources: ['workflowruns'] },
        { verbs: READ, apiGroups: ['platform.kratix.io'], resources: ['dryruns'] },
      ],
      { [AGGREGATE_TO('view')]: 'true' },
    ),
    clusterRole(
      'system:aggregate-to-edit',
      [
        { verbs: [...READ, ...WRITE], apiGroups: [''], resources: ['configmaps', 'secrets', 'serviceaccounts'] },
        { verbs: ['create'], apiGroups: [''], resources: ['serviceaccounts/token'] },
        // A dry run runs the Promise's own workflows on the team's input, in its namespace: no more than a request.
        { verbs: [...READ, ...WRITE], apiGroups: ['platform.kratix.io'], resources: ['dryruns'] },
      ],
      { [AGGREGATE_TO('edit')]: 'true' },
    ),
    clusterRole('system:aggregate-to-admin', [{ verbs: [...READ, ...WRITE], apiGroups: [RBAC_GROUP], resources: ['roles', 'rolebindings'] }], {
      [AGGREGATE_TO('admin')]: 'true',
    }),
    clusterRole('fleetops:catalog-reader', [
      { verbs: READ, apiGroups: ['platform.kratix.io'], resources: ['promises', 'destinations', 'gitstatestores', 'bucketstatestores'] },
      { verbs: READ, apiGroups: ['fleetops.dev'], resources: ['revisions'] },
    ]),
    clusterRoleBinding('fleetops:catalog-reader', 'fleetops:catalog-reader', AUTHENTICATED_GROUP),
    clusterRole('system:basic-user', [
      { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
      { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
    ]),
    clusterRoleBinding('system:basic-user', 'system:basic-user', AUTHENTICATED_GROUP),
    clusterRole('system:discovery', [
      {
        verbs: ['get'],
        nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/readyz', '/openapi', '/openapi/*', '/version', '/version/'],
      },
    ]),
    clusterRoleBinding('system:discovery', 'system:discovery', AUTHENTICATED_GROUP),
    // Kubernetes' own: a scraper's identity in the group system:monitoring (or bound to the role) reads /metrics.
    clusterRole('system:monitoring', [{ verbs: ['get'], nonResourceURLs: ['/metrics', '/healthz', '/livez', '/readyz'] }]),
    clusterRoleBinding('system:monitoring', 'system:monitoring', MONITORING_GROUP),
  ];
}

/** The objects that give the token file's teams what they had before RBAC: their namespaces, with `edit` in each. */
export function tokenFileObjects(tokens: TokenEntry[]): KubeObject[] {
  const out: KubeObject[] = [];
  for (const t of tokens) {
    if (t.role !== 'team') continue;
    for (const ns of t.namespaces) {
      out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      out.push({
        apiVersion: RBAC_API,
        kind: 'RoleBinding',
        metadata: { name: `fleetops:token-file:${t.name}`, namespace: ns, labels: { 'fleetops.dev/token-file-user': t.name } },
        roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'edit' },
        subjects: [{ kind: 'User', apiGroup: RBAC_GROUP, name: t.name }],
      });
    }
  }
  return out;
}

const TYPES: Record<string, ResourceType> = {
  ClusterRole: clusterRoleType,
  ClusterRoleBinding: clusterRoleBindingType,
  RoleBinding: roleBindingType,
  Namespace: namespaceType,
};

/** Creates what is missing and restores what drifted, unless an object opted out of updates. */
export async function reconcileBootstrapPolicy(objects: ObjectService, tokens: TokenEntry[]): Promise<void> {
  for (const desired of [...bootstrapObjects(), ...tokenFileObjects(tokens)]) {
    const type = TYPES[desired.kind];
    if (!type) throw new Error(`the bootstrap policy holds a ${desired.kind}, which it does not know how to store`);
    const namespace = desired.metadata.namespace ?? '';
    const name = desired.metadata.name ?? '';
    const existing = await objects.find(type, namespace, name);
    if (!existing) {
      try {
        await objects.create(type, namespace, desired);
      } catch (err) {
        if (!isApiError(err, 'AlreadyExists')) throw err;
      }
      continue;
    }
    if (desired.kind === 'Namespace' || existing.metadata.annotations?.[AUTOUPDATE] === 'false') continue;
    // Aggregated roles' rules belong to the aggregation controller.
    const fields = desired.aggregationRule ? ['aggregationRule'] : ['rules', 'roleRef', 'subjects'].filter((f) => f in desired);
    const labels = { ...existing.metadata.labels, ...desired.metadata.labels };
    if (fields.every((f) => jsonEqual(existing[f], desired[f])) && jsonEqual(labels, existing.metadata.labels ?? {})) continue;
    const next: KubeObject = { ...existing, metadata: { ...existing.metadata, labels } };
    for (const f of fields) next[f] = desired[f];
    await objects.update(type, namespace, name, next);
  }
}
