/**
 * Kubernetes RBAC (`rbac.authorization.k8s.io/v1`) with its validation, and the create-only review kinds of
 * `authorization.k8s.io/v1` and `authentication.k8s.io/v1` (answered by the API server, never stored).
 */
import type { StatusCause } from '../../api/errors.ts';
import { RBAC_GROUP, type RoleRef, type Subject } from '../../api/rbac.ts';
import type { KubeObject } from '../../api/types.ts';
import type { ResourceType } from '../ResourceType.ts';
import { ageColumn, defineType, s, type ObjectOf } from './defineType.ts';

const rule = s.obj(
  { verbs: s.arr(s.str()), apiGroups: s.arr(s.str()), resources: s.arr(s.str()), resourceNames: s.arr(s.str()), nonResourceURLs: s.arr(s.str()) },
  { required: ['verbs'] },
);
const labelSelector = s.obj({
  matchLabels: s.map(),
  matchExpressions: s.arr(
    s.obj({ key: s.str(), operator: s.str({ enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }), values: s.arr(s.str()) }, { required: ['key', 'operator'] }),
  ),
});
// The kinds a subject and a roleRef may name are checked by the strategies below (with Kubernetes' messages).
const subject = s.obj({ kind: s.str<Subject['kind']>(), apiGroup: s.str(), name: s.str(), namespace: s.str() }, { required: ['kind', 'name'] });
const roleRef = s.obj({ apiGroup: s.str(), kind: s.str<RoleRef['kind']>(), name: s.str() }, { required: ['apiGroup', 'kind', 'name'] });

function causeAt(field: string, type: 'FieldValueRequired' | 'FieldValueNotSupported' | 'FieldValueInvalid', message: string): StatusCause {
  return { reason: type, field, message };
}

function validateRules(obj: KubeObject, namespaced: boolean): StatusCause[] {
  const causes: StatusCause[] = [];
  ((obj.rules ?? []) as { verbs?: string[]; apiGroups?: string[]; resources?: string[]; nonResourceURLs?: string[] }[]).forEach((r, i) => {
    const at = `rules[${i}]`;
    if (!r.verbs?.length) causes.push(causeAt(`${at}.verbs`, 'FieldValueRequired', 'Required value: verbs must contain at least one value'));
    if (r.nonResourceURLs?.length) {
      if (namespaced) causes.push(causeAt(`${at}.nonResourceURLs`, 'FieldValueInvalid', 'Invalid value: namespaced rules cannot apply to non-resource URLs'));
      if (r.apiGroups?.length || r.resources?.length)
        causes.push(causeAt(`${at}.nonResourceURLs`, 'FieldValueInvalid', 'Invalid value: rules cannot apply to both regular resources and non-resource URLs'));
    } else if (!r.apiGroups?.length || !r.resources?.length) {
      causes.push(causeAt(`${at}.apiGroups`, 'FieldValueRequired', 'Required value: resource rules must supply at least one api group and one resource'));
    }
  });
  return causes;
}

function validateBinding(obj: KubeObject, old: KubeObject | undefined, namespaced: boolean): StatusCause[] {
  const causes: StatusCause[] = [];
  const ref = (obj.roleRef ?? {}) as { apiGroup?: string; kind?: string; name?: string };
  if (ref.apiGroup !== RBAC_GROUP)
    causes.push(causeAt('roleRef.apiGroup', 'FieldValueNotSupported', `Unsupported value: "${ref.apiGroup ?? ''}": supported values: "${RBAC_GROUP}"`));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(ref.kind ?? ''))
    causes.push(
      causeAt('roleRef.kind', 'FieldValueNotSupported', `Unsupported value: "${ref.kind ?? ''}": supported values: ${kinds.map((k) => `"${k}"`).join(', ')}`),
    );
  if (!ref.name) causes.push(causeAt('roleRef.name', 'FieldValueRequired', 'Required value'));
  if (old && JSON.stringify(old.roleRef) !== JSON.stringify(obj.roleRef)) {
    causes.push(causeAt('roleRef', 'FieldValueInvalid', 'Invalid value: cannot change roleRef'));
  }
  ((obj.subjects ?? []) as { kind?: string; apiGroup?: string; name?: string; namespace?: string }[]).forEach((sub, i) => {
    const at = `subjects[${i}]`;
    if (!['User', 'Group', 'ServiceAccount'].includes(sub.kind ?? '')) {
      causes.push(
        causeAt(`${at}.kind`, 'FieldValueNotSupported', `Unsupported value: "${sub.kind ?? ''}": supported values: "ServiceAccount", "User", "Group"`),
      );
    } else if (sub.kind === 'ServiceAccount') {
      if (sub.apiGroup) causes.push(causeAt(`${at}.apiGroup`, 'FieldValueNotSupported', `Unsupported value: "${sub.apiGroup}": supported values: ""`));
      if (!namespaced && !sub.namespace) causes.push(causeAt(`${at}.namespace`, 'FieldValueRequired', 'Required value'));
    } else if (sub.apiGroup !== RBAC_GROUP) {
      causes.push(causeAt(`${at}.apiGroup`, 'FieldValueNotSupported', `Unsupported value: "${sub.apiGroup ?? ''}": supported values: "${RBAC_GROUP}"`));
    }
  });
  return causes;
}

const roleColumns = [{ name: 'Created At', type: 'date' as const, jsonPath: '.metadata.creationTimestamp' }];
const bindingColumns = [
  { name: 'Role', type: 'string' as const, jsonPath: '.roleRef.name' },
  { name: 'Subjects', type: 'string' as const, jsonPath: '.subjects[*].name', priority: 1 },
  ageColumn,
];

export const roleType = defineType({
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'Role',
  noGeneration: true,
  plural: 'roles',
  namespaced: true,
  patchStrategies: {},
  nameIsPathSegment: true,
  schema: s.root(undefined, undefined, { rules: s.arr(rule) }),
  printerColumns: roleColumns,
  strategy: { validate: (obj) => validateRules(obj, true) },
});

export const clusterRoleType = defineType({
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'ClusterRole',
  noGeneration: true,
  plural: 'clusterroles',
  namespaced: false,
  patchStrategies: {},
  nameIsPathSegment: true,
  schema: s.root(undefined, undefined, { rules: s.arr(rule), aggregationRule: s.obj({ clusterRoleSelectors: s.arr(labelSelector) }) }),
  printerColumns: roleColumns,
  strategy: { validate: (obj) => validateRules(obj, false) },
});

export const roleBindingType = defineType({
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'RoleBinding',
  noGeneration: true,
  plural: 'rolebindings',
  namespaced: true,
  patchStrategies: {},
  nameIsPathSegment: true,
  schema: s.root(undefined, undefined, { subjects: s.arr(subject), roleRef }, ['roleRef']),
  printerColumns: bindingColumns,
  strategy: { validate: (obj, old) => validateBinding(obj, old, true) },
});

export const clusterRoleBindingType = defineType({
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'ClusterRoleBinding',
  noGeneration: true,
  plural: 'clusterrolebindings',
  namespaced: false,
  patchStrategies: {},
  nameIsPathSegment: true,
  schema: s.root(undefined, undefined, { subjects: s.arr(subject), roleRef }, ['roleRef']),
  printerColumns: bindingColumns,
  strategy: { validate: (obj, old) => validateBinding(obj, old, false) },
});

const review = (group: string, kind: string, plural: string, namespaced = false): ResourceType => ({
  ...defineType({ group, version: 'v1', kind, plural, namespaced, patchStrategies: {} }),
  createOnly: true,
});

export type Role = ObjectOf<typeof roleType>;
export type ClusterRole = ObjectOf<typeof clusterRoleType>;
export type RoleBinding = ObjectOf<typeof roleBindingType>;
export type ClusterRoleBinding = ObjectOf<typeof clusterRoleBindingType>;

export const AUTHORIZATION_GROUP = 'authorization.k8s.io';
export const AUTHENTICATION_GROUP = 'authentication.k8s.io';

export const rbacTypes: ResourceType[] = [
  roleType,
  clusterRoleType,
  roleBindingType,
  clusterRoleBindingType,
  review(AUTHORIZATION_GROUP, 'SelfSubjectAccessReview', 'selfsubjectaccessreviews'),
  review(AUTHORIZATION_GROUP, 'SelfSubjectRulesReview', 'selfsubjectrulesreviews'),
  review(AUTHORIZATION_GROUP, 'SubjectAccessReview', 'subjectaccessreviews'),
  review(AUTHENTICATION_GROUP, 'SelfSubjectReview', 'selfsubjectreviews'),
];
