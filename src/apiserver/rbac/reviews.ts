/**
 * The create-only review kinds, answered from the request's user and the RBAC policy: SelfSubjectAccessReview
 * (`kubectl auth can-i`), SelfSubjectRulesReview (`can-i --list`), SubjectAccessReview (for another user) and
 * SelfSubjectReview (`kubectl auth whoami`).
 */
import { badRequest } from '../../api/errors.ts';
import { isPlainObject } from '../../api/types.ts';
import { EXTRA_NAMESPACES } from '../../api/fleetopsNames.ts';
import type { NonResourceAttributes, PolicyRule, ResourceAttributes, UserInfo } from '../../api/rbac.ts';
import type { RbacAuthorizer } from './RbacAuthorizer.ts';

type Json = Record<string, unknown>;

/** A string field of a request object, or undefined. */
function str(o: Json, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

type Attributes = { resource: ResourceAttributes } | { nonResource: NonResourceAttributes };

function attributesOf(spec: Json): Attributes {
  const r = isPlainObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const n = isPlainObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
  if (n && !r) return { nonResource: { verb: str(n, 'verb') ?? '', path: str(n, 'path') ?? '' } };
  if (!r || n) throw badRequest('exactly one of spec.resourceAttributes and spec.nonResourceAttributes must be set');
  const out: ResourceAttributes = { verb: str(r, 'verb') ?? '', group: str(r, 'group') ?? '', resource: str(r, 'resource') ?? '' };
  for (const k of ['subresource', 'namespace', 'name'] as const) {
    const v = str(r, k);
    if (v) out[k] = v;
  }
  return { resource: out };
}

async function accessStatus(authorizer: RbacAuthorizer, user: UserInfo, spec: Json): Promise<Json> {
  const attrs = attributesOf(spec);
  const d = 'resource' in attrs ? await authorizer.authorize(user, attrs.resource) : await authorizer.authorizeNonResource(user, attrs.nonResource);
  return { allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) };
}

function splitRules(rules: PolicyRule[]): Json {
  const resourceRules = rules
    .filter((r) => !r.nonResourceURLs?.length)
    .map((r) => ({
      verbs: r.verbs,
      apiGroups: r.apiGroups ?? [],
      resources: r.resources ?? [],
      ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
    }));
  const nonResourceRules = rules.filter((r) => r.nonResourceURLs?.length).map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs }));
  return { resourceRules, nonResourceRules, incomplete: false };
}

/** The answer to a review request: the request echoed with its status filled in. */
export async function answerReview(kind: string, body: unknown, user: UserInfo, authorizer: RbacAuthorizer): Promise<Json> {
  if (!isPlainObject(body)) throw badRequest(`a ${kind} must be a JSON object`);
  const spec = isPlainObject(body.spec) ? body.spec : {};
  const echo = { kind, apiVersion: body.apiVersion, metadata: { creationTimestamp: null }, ...(kind === 'SelfSubjectReview' ? {} : { spec }) };
  switch (kind) {
    case 'SelfSubjectAccessReview':
      return { ...echo, status: await accessStatus(authorizer, user, spec) };
    case 'SubjectAccessReview': {
      const groups = Array.isArray(spec.groups) ? spec.groups.filter((g) => typeof g === 'string') : [];
      const username = str(spec, 'user') ?? '';
      const uid = str(spec, 'uid');
      if (!username && !groups.length) throw badRequest('spec.user or spec.groups is required');
      const subject: UserInfo = { username, groups, ...(uid ? { uid } : {}) };
      return { ...echo, status: await accessStatus(authorizer, subject, spec) };
    }
    case 'SelfSubjectRulesReview': {
      const namespace = str(spec, 'namespace');
      if (!namespace) throw badRequest('spec.namespace is required');
      return { ...echo, status: splitRules(await authorizer.rules(user, namespace)) };
    }
    case 'SelfSubjectReview': {
      // Where the identity's RoleBindings are, as an extra attribute (`kubectl auth whoami` prints it): the portal
      // offers these namespaces for new requests.
      const namespaces = await authorizer.boundNamespaces(user);
      const extra = namespaces.length ? { extra: { [EXTRA_NAMESPACES]: namespaces } } : {};
      return { ...echo, status: { userInfo: { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...extra } } };
    }
    default:
      throw badRequest(`${kind} is not a review`);
  }
}
