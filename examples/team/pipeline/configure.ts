/**
 * team onboarding step: a Team gets a namespace per environment (`<team>-<environment>`), a ResourceQuota sized by its
 * tier in each, and a RoleBinding giving its identity-provider group the `edit` ClusterRole there.
 */
import { readInput, setStatus, writeOutput } from '/fleetops/src/sdk/kratix.ts';

interface Team {
  metadata: { name: string };
  spec: { group: string; tier?: 'small' | 'medium' | 'large'; environments?: string[] };
}

const QUOTAS = {
  small: { 'requests.cpu': '2', 'requests.memory': '4Gi', pods: '20' },
  medium: { 'requests.cpu': '8', 'requests.memory': '16Gi', pods: '60' },
  large: { 'requests.cpu': '32', 'requests.memory': '64Gi', pods: '200' },
};

const team = readInput<Team>();
const tier = team.spec.tier ?? 'small';
const namespaces = (team.spec.environments ?? ['dev', 'prod']).map((env) => `${team.metadata.name}-${env}`);
const labels = { 'fleetops.dev/team': team.metadata.name, 'app.kubernetes.io/managed-by': 'fleetops' };

for (const ns of namespaces) {
  writeOutput(
    `${ns}.yaml`,
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } },
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'team-quota', namespace: ns, labels }, spec: { hard: QUOTAS[tier] } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'team-edit', namespace: ns, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: team.spec.group }],
    },
  );
}
setStatus({ message: `${namespaces.length} namespaces for group ${team.spec.group} (${tier})`, namespaces: namespaces.join(',') });
