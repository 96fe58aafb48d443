/**
 * A Pipeline's `spec.rbac` as Kratix gives it: a ServiceAccount `<promise>-<type>-<action>-<pipeline>` in the
 * pipeline's namespace (or `spec.rbac.serviceAccount`), and for its `permissions` a Role and RoleBinding in that
 * namespace, in the `resourceNamespace` named, or a ClusterRole and ClusterRoleBinding for `resourceNamespace: "*"`.
 * The steps then get a token of that account, valid for the run, and reach the API through the sandbox's relay.
 */
import { LABEL_PIPELINE_ACCESS } from '../../api/fleetopsNames.ts';
import { RBAC_API, RBAC_GROUP, type PolicyRule } from '../../api/rbac.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { ensureObject } from './ensure.ts';
import { KRATIX_API, LABEL_PROMISE_NAME } from './kratixNames.ts';

export interface PipelineRbac {
  serviceAccount?: string;
  permissions?: (PolicyRule & { resourceNamespace?: string })[];
}

export interface PipelineIdentity {
  promise: string;
  workflowType: string;
  action: string;
  pipeline: string;
  /** Where the pipeline runs: the resource's namespace, or the platform's for Promise workflows. */
  namespace: string;
  /** The Promise's uid: the account and grants are its dependents, collected when it goes. */
  promiseUid: string;
}

export function serviceAccountName(id: PipelineIdentity, rbac: PipelineRbac): string {
  return rbac.serviceAccount || `${id.promise}-${id.workflowType}-${id.action}-${id.pipeline}`.slice(0, 253);
}

/** The objects that give the pipeline's account exactly its permissions. */
export function pipelineAccessObjects(id: PipelineIdentity, rbac: PipelineRbac): KubeObject[] {
  const sa = serviceAccountName(id, rbac);
  const labels = { [LABEL_PIPELINE_ACCESS]: sa, [LABEL_PROMISE_NAME]: id.promise };
  const ownerReferences = [{ apiVersion: KRATIX_API, kind: 'Promise', name: id.promise, uid: id.promiseUid }];
  const subject = { kind: 'ServiceAccount', name: sa, namespace: id.namespace };
  const out: KubeObject[] = [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: id.namespace, labels, ownerReferences } }];
  const byScope = new Map<string, PolicyRule[]>();
  for (const p of rbac.permissions ?? []) {
    const { resourceNamespace, ...rule } = p;
    const scope = resourceNamespace || id.namespace;
    byScope.set(scope, [...(byScope.get(scope) ?? []), rule]);
  }
  for (const [scope, rules] of byScope) {
    if (scope === '*') {
      const name = `${id.namespace}-${sa}`;
      out.push({ apiVersion: RBAC_API, kind: 'ClusterRole', metadata: { name, labels, ownerReferences }, rules });
      out.push({
        apiVersion: RBAC_API,
        kind: 'ClusterRoleBinding',
        metadata: { name, labels, ownerReferences },
        roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name },
        subjects: [subject],
      });
    } else {
      const name = scope === id.namespace ? sa : `${id.namespace}-${sa}`;
      out.push({ apiVersion: RBAC_API, kind: 'Role', metadata: { name, namespace: scope, labels, ownerReferences }, rules });
      out.push({
        apiVersion: RBAC_API,
        kind: 'RoleBinding',
        metadata: { name, namespace: scope, labels, ownerReferences },
        roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name },
        subjects: [subject],
      });
    }
  }
  return out;
}

/** Creates or updates the account and its grants; returns the account's name. */
export async function ensurePipelineAccess(client: Client, id: PipelineIdentity, rbac: PipelineRbac): Promise<string> {
  for (const o of pipelineAccessObjects(id, rbac)) {
    const fields = o.kind === 'ServiceAccount' ? [] : o.kind.endsWith('Binding') ? ['subjects'] : ['rules'];
    await ensureObject(client, o, fields);
  }
  return serviceAccountName(id, rbac);
}
