/**
 * Bearer-token authentication and a small authorization policy: platform admins may do anything; application
 * teams may read the platform's catalog (Promises and other cluster-scoped kinds, except Secrets) and may read and
 * write namespaced objects only in their own namespaces, never the platform's own kinds.
 */
import { timingSafeEqual } from 'node:crypto';

export interface User {
  name: string;
  role: 'admin' | 'team';
  /** For teams: the namespaces they own. */
  namespaces: string[];
}

export interface TokenEntry extends User {
  token: string;
}

export interface RequestAttributes {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
  group: string;
  plural: string;
  namespaced: boolean;
  namespace?: string;
  name?: string;
}

/** Groups whose kinds only the platform team may change. */
const PLATFORM_GROUPS = new Set(['platform.kratix.io', 'fleetops.dev']);
const READ_VERBS = new Set(['get', 'list', 'watch']);
/** Cluster-scoped kinds whose content names and diffs every team's resources: the platform team's alone. */
const PLATFORM_ONLY_READS = new Set(['fleetops.dev/rolloutplans']);

export class TokenAuthenticator {
  private readonly entries: { token: Buffer; user: User }[];

  constructor(tokens: TokenEntry[]) {
    this.entries = tokens.map(({ token, ...user }) => ({ token: Buffer.from(token), user }));
  }

  /** Returns the user for an `Authorization` header, or undefined. Compares in constant time. */
  authenticate(header: string | undefined): User | undefined {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) return undefined;
    return this.byToken(m[1] as string);
  }

  /** Basic auth with a token as the password (what Git clients and GitOps agents send), or a bearer token. */
  authenticateBasicOrBearer(header: string | undefined): User | undefined {
    const m = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) return this.authenticate(header);
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
    return this.byToken(decoded.slice(decoded.indexOf(':') + 1));
  }

  private byToken(token: string): User | undefined {
    const given = Buffer.from(token);
    let found: User | undefined;
    for (const e of this.entries) {
      if (e.token.length === given.length && timingSafeEqual(e.token, given)) found = e.user;
    }
    return found;
  }
}

/** Returns why the request is denied, or undefined when allowed. */
export function authorize(user: User, attrs: RequestAttributes): string | undefined {
  if (user.role === 'admin') return undefined;
  const read = READ_VERBS.has(attrs.verb);
  if (!attrs.namespaced) {
    if (attrs.group === '' && attrs.plural === 'namespaces' && read && attrs.name && user.namespaces.includes(attrs.name)) return undefined;
    if (read && PLATFORM_ONLY_READS.has(`${attrs.group}/${attrs.plural}`)) {
      return `User "${user.name}" cannot ${attrs.verb} resource "${attrs.plural}" in API group "${attrs.group}" at the cluster scope: they show every team's resources; only the platform team may`;
    }
    if (read && attrs.group !== '') return undefined;
    return `User "${user.name}" cannot ${attrs.verb} resource "${attrs.plural}" in API group "${attrs.group}" at the cluster scope`;
  }
  if (!attrs.namespace || !user.namespaces.includes(attrs.namespace)) {
    const where = attrs.namespace ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope';
    return `User "${user.name}" cannot ${attrs.verb} resource "${attrs.plural}" in API group "${attrs.group}" ${where}`;
  }
  if (!read && PLATFORM_GROUPS.has(attrs.group)) {
    return `User "${user.name}" cannot ${attrs.verb} resource "${attrs.plural}" in API group "${attrs.group}": only the platform team may`;
  }
  return undefined;
}
