/**
 * RBAC's escalation prevention, as Kubernetes' RBAC storage enforces it: a Role or ClusterRole may be written only by
 * a user who holds every permission it grants (or may `escalate` roles), and a binding only by a user who holds
 * every permission of the role it refers to (or may `bind` that role). Without it, a namespace admin could bind
 * itself to `cluster-admin`. Superusers (`system:masters`) pass, as in Kubernetes.
 */
import { forbidden } from '../../api/errors.ts';
import { escalationMessage, isSuperuser, RBAC_GROUP, uncoveredRules, type PolicyRule, type RoleRef, type UserInfo } from '../../api/rbac.ts';
import { isPlainObject, jsonEqual, type KubeObject } from '../../api/types.ts';
import type { RbacAuthorizer } from './RbacAuthorizer.ts';

const ROLE_KINDS = new Set(['Role', 'ClusterRole']);
const BINDING_KINDS = new Set(['RoleBinding', 'ClusterRoleBinding']);

const pluralOf = (kind: string): string => `${kind.toLowerCase()}s`;

function rulesOf(o: KubeObject): PolicyRule[] {
  return Array.isArray(o.rules) ? o.rules.filter(isPlainObject).map((r) => ({ ...r, verbs: Array.isArray(r.verbs) ? r.verbs.map(String) : [] })) : [];
}

function roleRefOf(o: KubeObject): RoleRef {
  const r = isPlainObject(o.roleRef) ? o.roleRef : {};
  return { apiGroup: String(r.apiGroup ?? ''), kind: r.kind === 'Role' ? 'Role' : 'ClusterRole', name: String(r.name ?? '') };
}

/** Whether the RBAC kinds' escalation check applies to a write of this kind. */
export function guardsEscalation(group: string, kind: string): boolean {
  return group === RBAC_GROUP && (ROLE_KINDS.has(kind) || BINDING_KINDS.has(kind));
}

/** Refuses (403, Kubernetes' message) a Role or binding that grants more than `user` holds. */
export async function checkEscalation(authorizer: RbacAuthorizer, user: UserInfo, obj: KubeObject, old: KubeObject | undefined): Promise<void> {
  if (isSuperuser(user)) return;
  const namespace = obj.metadata.namespace || undefined;
  const name = obj.metadata.name ?? '';
  const plural = pluralOf(obj.kind);
  if (ROLE_KINDS.has(obj.kind)) {
    // Changes that grant nothing new (labels, annotations, finalizers) need no check, as in Kubernetes.
    if (old && jsonEqual(rulesOf(old), rulesOf(obj)) && jsonEqual(old.aggregationRule, obj.aggregationRule)) return;
    const escalate = { verb: 'escalate', group: RBAC_GROUP, resource: plural, name, ...(namespace ? { namespace } : {}) };
    if ((await authorizer.authorize(user, escalate)).allowed) return;
    if (obj.aggregationRule !== undefined) {
      throw forbidden(plural, RBAC_GROUP, name, `must have cluster-admin privileges to use the aggregationRule`);
    }
    const missing = uncoveredRules(await authorizer.heldRules(user, namespace), rulesOf(obj));
    if (missing.length) throw forbidden(plural, RBAC_GROUP, name, escalationMessage(user, missing));
    return;
  }
  if (!BINDING_KINDS.has(obj.kind)) return;
  if (old && jsonEqual(old.roleRef, obj.roleRef) && jsonEqual(old.subjects, obj.subjects)) return;
  const ref = roleRefOf(obj);
  const bind = { verb: 'bind', group: RBAC_GROUP, resource: pluralOf(ref.kind), name: ref.name, ...(namespace && ref.kind === 'Role' ? { namespace } : {}) };
  if ((await authorizer.authorize(user, bind)).allowed) return;
  if (ref.kind === 'ClusterRole' && namespace && (await authorizer.authorize(user, { ...bind, namespace })).allowed) return;
  const rules = await authorizer.roleRules(ref, namespace ?? '');
  if (!rules) throw forbidden(plural, RBAC_GROUP, name, `${pluralOf(ref.kind)}.${RBAC_GROUP} ${JSON.stringify(ref.name)} not found`);
  const missing = uncoveredRules(await authorizer.heldRules(user, namespace), rules);
  if (missing.length) throw forbidden(plural, RBAC_GROUP, name, escalationMessage(user, missing));
}
