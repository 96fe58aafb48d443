/**
 * Authentication: bearer tokens from the token file (the bootstrap identities) and service account tokens. Every
 * authenticated user is in `system:authenticated`; token-file admins are in `system:masters` (all access, as in
 * Kubernetes); token-file teams get RoleBindings in their namespaces at start (see bootstrapPolicy.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import { AUTHENTICATED_GROUP, SUPERUSER_GROUP, serviceAccountUsername, type UserInfo } from '../api/rbac.ts';
import { verifyServiceAccountToken } from '../lib/serviceAccountToken.ts';

/** An entry of the token file (`tokens.json`), kept as it was before RBAC so existing files keep working. */
export interface TokenEntry {
  name: string;
  role: 'admin' | 'team';
  /** For teams: the namespaces they own. */
  namespaces: string[];
  token: string;
}

export const TEAMS_GROUP = 'fleetops:teams';

/** Looks up what a service account token is bound to; undefined when it no longer exists. */
export interface BoundObjects {
  /** The account's uid, and whether it is a pipeline's (whose tokens are FleetOps' to issue, to runs only). */
  account(namespace: string, name: string): Promise<{ uid: string; pipeline: boolean } | undefined>;
  secretUid(namespace: string, name: string): Promise<string | undefined>;
  /** A WorkflowRun's uid, and whether it has ended. */
  run(namespace: string, name: string, uid: string): Promise<{ uid: string; ended: boolean } | undefined>;
}

export interface AuthenticatorOptions {
  tokens: TokenEntry[];
  /** The key service account tokens are signed with. */
  signingKey: Buffer;
  bound: BoundObjects;
  now?: () => Date;
}

export class Authenticator {
  private readonly entries: { token: Buffer; user: UserInfo }[];
  private readonly opts: AuthenticatorOptions;

  constructor(options: AuthenticatorOptions) {
    this.opts = options;
    this.entries = options.tokens.map((e) => ({
      token: Buffer.from(e.token),
      user: { username: e.name, groups: e.role === 'admin' ? [SUPERUSER_GROUP, AUTHENTICATED_GROUP] : [TEAMS_GROUP, AUTHENTICATED_GROUP] },
    }));
  }

  /** The user of an `Authorization: Bearer` header, or undefined. */
  async authenticate(header: string | undefined): Promise<UserInfo | undefined> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    return m?.[1] ? this.byToken(m[1]) : undefined;
  }

  /** Basic auth with a token as the password (what Git clients and GitOps agents send), or a bearer token. */
  async authenticateBasicOrBearer(header: string | undefined): Promise<UserInfo | undefined> {
    const m = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m?.[1]) return this.authenticate(header);
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    return this.byToken(decoded.slice(decoded.indexOf(':') + 1));
  }

  private async byToken(token: string): Promise<UserInfo | undefined> {
    const given = Buffer.from(token);
    let found: UserInfo | undefined;
    for (const e of this.entries) {
      if (e.token.length === given.length && timingSafeEqual(e.token, given)) found = e.user;
    }
    return found ?? this.serviceAccount(token);
  }

  private async serviceAccount(token: string): Promise<UserInfo | undefined> {
    const now = Math.floor((this.opts.now?.() ?? new Date()).getTime() / 1000);
    const claims = verifyServiceAccountToken(this.opts.signingKey, token, now);
    if (!claims) return undefined;
    // Bound tokens die with what they are bound to (a re-created account of the same name has a new uid).
    const account = await this.opts.bound.account(claims.namespace, claims.serviceAccount.name);
    if (account?.uid !== claims.serviceAccount.uid) return undefined;
    if (claims.secret && (await this.opts.bound.secretUid(claims.namespace, claims.secret.name)) !== claims.secret.uid) return undefined;
    if (claims.run) {
      // A run's token dies with the run, whatever its expiry says: a step cannot keep it for later.
      const run = await this.opts.bound.run(claims.namespace, claims.run.name, claims.run.uid);
      if (!run || run.uid !== claims.run.uid || run.ended) return undefined;
    } else if (account.pipeline) {
      // A pipeline's account acts only inside its runs: a token made any other way (a TokenRequest, a token Secret,
      // one minted before FleetOps took the account over) is refused.
      return undefined;
    }
    return {
      username: serviceAccountUsername(claims.namespace, claims.serviceAccount.name),
      uid: claims.serviceAccount.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${claims.namespace}`, AUTHENTICATED_GROUP],
    };
  }
}
