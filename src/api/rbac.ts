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

/**
 * The parts of `requested` that `owner` does not cover, as Kubernetes' escalation check computes them: each requested
 * rule is broken into single (verb, group, resource[, name]) grants, and each must be granted by some owner rule. A
 * wildcard asked for is covered only by the same wildcard, so `*` cannot be granted by a list of everything known.
 */
export function uncoveredRules(owner: PolicyRule[], requested: PolicyRule[]): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const rule of requested) {
    for (const verb of rule.verbs) {
      if (rule.nonResourceURLs?.length) {
        for (const url of rule.nonResourceURLs) {
          if (!owner.some((o) => has(o.verbs, verb) && (o.nonResourceURLs ?? []).some((u) => urlCovers(u, url))))
            missing.push({ verbs: [verb], nonResourceURLs: [url] });
        }
        continue;
      }
      for (const group of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) {
          const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
          for (const name of names) {
            if (!owner.some((o) => ruleCovers(o, verb, group, resource, name)))
              missing.push({ verbs: [verb], apiGroups: [group], resources: [resource], ...(name !== undefined ? { resourceNames: [name] } : {}) });
          }
        }
      }
    }
  }
  return missing;
}

function urlCovers(owned: string, url: string): boolean {
  if (owned === '*' || owned === url) return true;
  return owned.endsWith('*') && url.startsWith(owned.slice(0, -1));
}

function ruleCovers(o: PolicyRule, verb: string, group: string, resource: string, name: string | undefined): boolean {
  if (!has(o.verbs, verb) || !has(o.apiGroups, group)) return false;
  const slash = resource.indexOf('/');
  const sub = slash < 0 ? undefined : resource.slice(slash + 1);
  const resourceOk = (o.resources ?? []).some((r) => r === '*' || r === resource || (sub !== undefined && r === `*/${sub}`));
  if (!resourceOk) return false;
  const owned = o.resourceNames ?? [];
  return owned.length === 0 || (name !== undefined && owned.includes(name));
}

/** A rule as Kubernetes prints it in an escalation refusal: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}`. */
export function compactRule(r: PolicyRule): string {
  const list = (values: string[]): string => `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${list(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${list(r.resources)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${list(r.resourceNames)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${list(r.nonResourceURLs)}`);
  parts.push(`Verbs:${list(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/** Kubernetes' refusal of a Role or binding that grants more than its author holds. */
export function escalationMessage(user: UserInfo, missing: PolicyRule[]): string {
  return `user ${JSON.stringify(user.username)} (groups=[${user.groups.map((g) => JSON.stringify(g)).join(' ')}]) is attempting to grant RBAC permissions not currently held:\n${missing.map(compactRule).join('\n')}`;
}
