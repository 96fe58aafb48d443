/**
 * Impersonation (`kubectl --as`, `--as-group`, `--as-uid`), as Kubernetes' filter does it: each impersonated user,
 * service account, group and uid needs the `impersonate` verb on it, and the request then runs as that identity.
 * Without the verb the request is refused with Kubernetes' 403, never silently run as the caller.
 */
import { badRequest, forbidden } from '../api/errors.ts';
import { AUTHENTICATED_GROUP, deniedMessage, type ResourceAttributes, type UserInfo } from '../api/rbac.ts';
import type { Decision } from './rbac/RbacAuthorizer.ts';

export interface ImpersonationAuthorizer {
  authorize(user: UserInfo, attrs: ResourceAttributes): Promise<Decision>;
}

type Headers = Record<string, string | string[] | undefined>;

const values = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The identity a request runs as: the caller, or whom it impersonates when allowed to. */
export async function impersonated(authorizer: ImpersonationAuthorizer, caller: UserInfo, headers: Headers): Promise<UserInfo> {
  const [username, ...extra] = values(headers['impersonate-user']);
  const groups = values(headers['impersonate-group']);
  const [uid] = values(headers['impersonate-uid']);
  if (username === undefined) {
    if (groups.length || uid !== undefined) throw badRequest('impersonating groups or a uid requires impersonating a user (Impersonate-User)');
    return caller;
  }
  if (extra.length) throw badRequest('only one Impersonate-User header may be sent');
  const checks: ResourceAttributes[] = [];
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  checks.push(
    sa
      ? { verb: 'impersonate', group: '', resource: 'serviceaccounts', namespace: sa[1] ?? '', name: sa[2] ?? '' }
      : { verb: 'impersonate', group: '', resource: 'users', name: username },
  );
  for (const g of groups) checks.push({ verb: 'impersonate', group: '', resource: 'groups', name: g });
  if (uid !== undefined) checks.push({ verb: 'impersonate', group: 'authentication.k8s.io', resource: 'uids', name: uid });
  for (const attrs of checks) {
    if (!(await authorizer.authorize(caller, attrs)).allowed) throw forbidden(attrs.resource, attrs.group, attrs.name ?? '', deniedMessage(caller, attrs));
  }
  const implied = sa ? ['system:serviceaccounts', `system:serviceaccounts:${sa[1]}`] : [];
  const all = [...new Set([...groups, ...(groups.length ? [] : implied), AUTHENTICATED_GROUP])];
  return { username, groups: all, ...(uid !== undefined ? { uid } : {}) };
}
