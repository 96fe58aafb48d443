/**
 * The RBAC authorizer: Roles, ClusterRoles and their bindings kept in memory from watches, evaluated with
 * Kubernetes' semantics (api/rbac.ts). A denial is checked once more against a fresh read, so a binding written a
 * moment ago (not yet seen by the watch) already counts.
 */
import {
  isSuperuser,
  ruleAllows,
  ruleAllowsNonResource,
  subjectMatches,
  type NonResourceAttributes,
  type PolicyRule,
  type ResourceAttributes,
  type RoleRef,
  type Subject,
  type UserInfo,
} from '../../api/rbac.ts';
import type { StoredObject } from '../../api/types.ts';
import type { ObjectService } from '../../registry/ObjectService.ts';
import type { ResourceType } from '../../registry/ResourceType.ts';
import { clusterRoleBindingType, clusterRoleType, roleBindingType, roleType } from '../../registry/builtin/rbacKinds.ts';
import { isObjectOf } from '../../registry/builtin/defineType.ts';

interface Binding {
  namespace: string;
  subjects: Subject[];
  roleRef: RoleRef;
}

interface Policy {
  roles: Map<string, PolicyRule[]>;
  clusterRoles: Map<string, PolicyRule[]>;
  bindings: Map<string, Binding>;
}

export interface Decision {
  allowed: boolean;
  reason?: string;
}

export interface RbacAuthorizerOptions {
  objects: ObjectService;
}

const KINDS: ResourceType[] = [roleType, clusterRoleType, roleBindingType, clusterRoleBindingType];

function keyOf(o: StoredObject): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function emptyPolicy(): Policy {
  return { roles: new Map(), clusterRoles: new Map(), bindings: new Map() };
}

function add(policy: Policy, o: StoredObject): void {
  const ns = o.metadata.namespace ?? '';
  if (isObjectOf(roleType, o)) policy.roles.set(`${ns}/${o.metadata.name}`, o.rules ?? []);
  else if (isObjectOf(clusterRoleType, o)) policy.clusterRoles.set(o.metadata.name, o.rules ?? []);
  else if (isObjectOf(roleBindingType, o) || isObjectOf(clusterRoleBindingType, o))
    policy.bindings.set(keyOf(o), { namespace: ns, subjects: o.subjects ?? [], roleRef: o.roleRef });
}

function remove(policy: Policy, o: StoredObject): void {
  if (o.kind === 'Role') policy.roles.delete(`${o.metadata.namespace ?? ''}/${o.metadata.name}`);
  else if (o.kind === 'ClusterRole') policy.clusterRoles.delete(o.metadata.name);
  else policy.bindings.delete(keyOf(o));
}

/** The rules that apply to `user` in `namespace` (cluster-wide bindings, and the namespace's when given). */
function rulesOf(policy: Policy, user: UserInfo, namespace: string | undefined): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const b of policy.bindings.values()) {
    if (b.namespace !== '' && b.namespace !== namespace) continue;
    if (!b.subjects.some((s) => subjectMatches(s, user, b.namespace))) continue;
    const rules = b.roleRef.kind === 'ClusterRole' ? policy.clusterRoles.get(b.roleRef.name) : policy.roles.get(`${b.namespace}/${b.roleRef.name}`);
    if (rules) out.push(...rules);
  }
  return out;
}

export class RbacAuthorizer {
  private readonly opts: RbacAuthorizerOptions;
  private policy = emptyPolicy();
  private watches: { stop(): void }[] = [];

  constructor(options: RbacAuthorizerOptions) {
    this.opts = options;
  }

  async start(): Promise<void> {
    for (const type of KINDS) {
      this.watches.push(
        await this.opts.objects.watch(type, undefined, { resourceVersion: '' }, (e) =>
          e.type === 'DELETED' ? remove(this.policy, e.object) : add(this.policy, e.object),
        ),
      );
    }
  }

  stop(): void {
    for (const w of this.watches) w.stop();
    this.watches = [];
  }

  async authorize(user: UserInfo, attrs: ResourceAttributes): Promise<Decision> {
    if (isSuperuser(user)) return { allowed: true, reason: 'member of system:masters' };
    const check = (p: Policy): boolean => rulesOf(p, user, attrs.namespace).some((r) => ruleAllows(r, attrs));
    if (check(this.policy) || check(await this.fresh())) return { allowed: true };
    return { allowed: false };
  }

  async authorizeNonResource(user: UserInfo, attrs: NonResourceAttributes): Promise<Decision> {
    if (isSuperuser(user)) return { allowed: true, reason: 'member of system:masters' };
    return { allowed: rulesOf(await this.fresh(), user, undefined).some((r) => ruleAllowsNonResource(r, attrs)) };
  }

  /** Every rule that applies to the user in the namespace (what `kubectl auth can-i --list` shows). */
  async rules(user: UserInfo, namespace: string): Promise<PolicyRule[]> {
    if (isSuperuser(user))
      return [
        { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
        { verbs: ['*'], nonResourceURLs: ['*'] },
      ];
    return rulesOf(await this.fresh(), user, namespace);
  }

  /** The rules a user holds in a namespace, or cluster-wide when none is given (never the superuser's shortcut). */
  async heldRules(user: UserInfo, namespace: string | undefined): Promise<PolicyRule[]> {
    return rulesOf(await this.fresh(), user, namespace);
  }

  /**
   * The namespaces where a RoleBinding names the user (or one of its groups): where a team works. The portal offers
   * them as the namespace of a new request; cluster-wide bindings are not namespaces of their own.
   */
  async boundNamespaces(user: UserInfo): Promise<string[]> {
    const namespaces = new Set<string>();
    for (const b of (await this.fresh()).bindings.values())
      if (b.namespace && b.subjects.some((s) => subjectMatches(s, user, b.namespace))) namespaces.add(b.namespace);
    return [...namespaces].sort();
  }

  /** The rules of the role a binding refers to; undefined when it does not exist. */
  async roleRules(roleRef: RoleRef, namespace: string): Promise<PolicyRule[] | undefined> {
    const policy = await this.fresh();
    return roleRef.kind === 'ClusterRole' ? policy.clusterRoles.get(roleRef.name) : policy.roles.get(`${namespace}/${roleRef.name}`);
  }

  private async fresh(): Promise<Policy> {
    const policy = emptyPolicy();
    for (const type of KINDS) for (const o of (await this.opts.objects.list(type, undefined)).items) add(policy, o);
    return policy;
  }
}
