/**
 * The create-only review kinds, answered from the request's user and the RBAC policy: SelfSubjectAccessReview
 * (`kubectl auth can-i`), SelfSubjectRulesReview (`can-i --list`), SubjectAccessReview (for another user) and
 * SelfSubjectReview (`kubectl auth whoami`).
 */
import { badRequest } from '../../api/errors.ts';
import { isPlainObject } from '../../api/types.ts';
import type { NonResourceAttributes, PolicyRule, ResourceAttributes, UserInfo } from '../../api/rbac.ts';
import type { RbacAuthorizer } from './RbacAuthorizer.ts';

type Json = Record<string, unknown>;

interface ReviewSpec {
  resourceAttributes?: { namespace?: string; verb?: string; group?: string; resource?: string; subresource?: string; name?: string };
  nonResourceAttributes?: { path?: string; verb?: string };
  namespace?: string;
  user?: string;
  groups?: string[];
  uid?: string;
}

function attributesOf(spec: ReviewSpec): { resource?: ResourceAttributes; nonResource?: NonResourceAttributes } {
  const r = spec.resourceAttributes;
  const n = spec.nonResourceAttributes;
  if (!r === !n) throw badRequest('exactly one of spec.resourceAttributes and spec.nonResourceAttributes must be set');
  if (n) return { nonResource: { verb: n.verb ?? '', path: n.path ?? '' } };
  const a = r as NonNullable<ReviewSpec['resourceAttributes']>;
  const out: ResourceAttributes = { verb: a.verb ?? '', group: a.group ?? '', resource: a.resource ?? '' };
  if (a.subresource) out.subresource = a.subresource;
  if (a.namespace) out.namespace = a.namespace;
  if (a.name) out.name = a.name;
  return { resource: out };
}

async function accessStatus(authorizer: RbacAuthorizer, user: UserInfo, spec: ReviewSpec): Promise<Json> {
  const { resource, nonResource } = attributesOf(spec);
  const d = resource ? await authorizer.authorize(user, resource) : await authorizer.authorizeNonResource(user, nonResource as NonResourceAttributes);
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
  const spec = (isPlainObject(body.spec) ? body.spec : {}) as ReviewSpec;
  const echo = { kind, apiVersion: body.apiVersion, metadata: { creationTimestamp: null }, ...(kind === 'SelfSubjectReview' ? {} : { spec }) };
  switch (kind) {
    case 'SelfSubjectAccessReview':
      return { ...echo, status: await accessStatus(authorizer, user, spec) };
    case 'SubjectAccessReview': {
      if (!spec.user && !spec.groups?.length) throw badRequest('spec.user or spec.groups is required');
      const subject: UserInfo = { username: spec.user ?? '', groups: spec.groups ?? [], ...(spec.uid ? { uid: spec.uid } : {}) };
      return { ...echo, status: await accessStatus(authorizer, subject, spec) };
    }
    case 'SelfSubjectRulesReview':
      if (!spec.namespace) throw badRequest('spec.namespace is required');
      return { ...echo, status: splitRules(await authorizer.rules(user, spec.namespace)) };
    case 'SelfSubjectReview':
      return { ...echo, status: { userInfo: { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups } } };
    default:
      throw badRequest(`${kind} is not a review`);
  }
}
