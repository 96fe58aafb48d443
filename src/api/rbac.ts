/**
 * Kubernetes RBAC semantics (rbac.authorization.k8s.io/v1), as the apiserver's RBAC authorizer evaluates them:
 * a request is allowed when some rule of some role bound to the user matches it, never denied by a rule. The
 * cluster's bindings apply everywhere; a namespace's RoleBindings only to requests in that namespace.
 */
import { selectorFromRequirements, type Requirement } from './labels.ts';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
export const RBAC_API = `${RBAC_GROUP}/v1`;
/** Members bypass authorization, as in Kubernetes. */
export const SUPERUSER_GROUP = 'system:masters';
export const AUTHENTICATED_GROUP = 'system:authenticated';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: 'Role' | 'ClusterRole';
  name: string;
}

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

/** What a request does, in the apiserver's authorization attributes. */
export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  /** The request's namespace; for a named Namespace object, its own name (as Kubernetes sets it). */
  namespace?: string;
  name?: string;
}

export interface NonResourceAttributes {
  verb: string;
  path: string;
}

export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

export function isSuperuser(user: UserInfo): boolean {
  return user.groups.includes(SUPERUSER_GROUP);
}

const has = (list: string[] | undefined, value: string): boolean => !!list && (list.includes('*') || list.includes(value));

/** Whether `rule` grants the resource request. */
export function ruleAllows(rule: PolicyRule, a: ResourceAttributes): boolean {
  if (!has(rule.verbs, a.verb) || !has(rule.apiGroups, a.group)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resourceOk = (rule.resources ?? []).some((r) => r === '*' || r === combined || (!!a.subresource && r === `*/${a.subresource}`));
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (!!a.name && names.includes(a.name));
}

/** Whether `rule` grants the non-resource request (`/healthz`, `/api/*`). */
export function ruleAllowsNonResource(rule: PolicyRule, a: NonResourceAttributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
}

/** Whether a binding's subject is this user; a ServiceAccount without a namespace is in the binding's. */
export function subjectMatches(subject: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.username;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount':
      return user.username === serviceAccountUsername(subject.namespace || bindingNamespace, subject.name);
    default:
      return false;
  }
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** Whether labels match a metav1.LabelSelector (an empty selector matches everything, as Kubernetes says). */
export function labelSelectorMatches(selector: LabelSelectorObject, labels: Record<string, string> | undefined): boolean {
  const requirements: Requirement[] = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({ key, operator: '=' as const, values: [value] }));
  for (const e of selector.matchExpressions ?? []) {
    const operator = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as const)[e.operator];
    requirements.push({ key: e.key, operator, values: e.values ?? [] });
  }
  return selectorFromRequirements(requirements).matches(labels ?? {});
}

/** Kubernetes' wording of a denial (the Status message adds `<plural> "<name>" is forbidden: ` before it). */
export function deniedMessage(user: UserInfo, a: ResourceAttributes): string {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `User "${user.username}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${where}`;
}
