/**
 * Service account tokens: JWTs (HS256) signed with the installation's key, carrying Kubernetes' claims
 * (`kubernetes.io.namespace`, `.serviceaccount`, `.secret` for long-lived ones). Clients treat them as opaque;
 * FleetOps verifies the signature, the audience and the expiry here and the bound objects' uids itself.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export const TOKEN_AUDIENCE = 'fleetops';

export interface ServiceAccountClaims {
  namespace: string;
  serviceAccount: { name: string; uid: string };
  /** Long-lived tokens are bound to a Secret: deleting it revokes them. */
  secret?: { name: string; uid: string };
  /** A pipeline run's token is bound to its WorkflowRun (same namespace): it is refused once the run has ended. */
  run?: { name: string; uid: string };
  /** Seconds since the epoch; long-lived tokens have none. */
  expiresAt?: number;
  issuedAt: number;
}

interface Payload {
  iss: string;
  sub: string;
  aud: string[];
  iat: number;
  nbf: number;
  exp?: number;
  'kubernetes.io': { namespace: string; serviceaccount: { name: string; uid: string }; secret?: { name: string; uid: string } };
  'fleetops.dev'?: { workflowrun: { name: string; uid: string } };
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');
const HEADER = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

/**
 * Each signing key imported once: an HMAC keyed by a Buffer imports it again on every call (21 µs against 4 with a
 * KeyObject), and every request carrying a service account token is verified.
 */
const imported = new WeakMap<Buffer, KeyObject>();

function signature(key: Buffer, signed: string): Buffer {
  let keyObject = imported.get(key);
  if (!keyObject) imported.set(key, (keyObject = createSecretKey(key)));
  return createHmac('sha256', keyObject).update(signed).digest();
}

export function signServiceAccountToken(key: Buffer, claims: ServiceAccountClaims): string {
  const payload: Payload = {
    iss: 'https://fleetops.local',
    sub: `system:serviceaccount:${claims.namespace}:${claims.serviceAccount.name}`,
    aud: [TOKEN_AUDIENCE],
    iat: claims.issuedAt,
    nbf: claims.issuedAt,
    ...(claims.expiresAt !== undefined ? { exp: claims.expiresAt } : {}),
    'kubernetes.io': { namespace: claims.namespace, serviceaccount: claims.serviceAccount, ...(claims.secret ? { secret: claims.secret } : {}) },
    ...(claims.run ? { 'fleetops.dev': { workflowrun: claims.run } } : {}),
  };
  const signed = `${HEADER}.${b64url(JSON.stringify(payload))}`;
  return `${signed}.${b64url(signature(key, signed))}`;
}

/** The claims of a token this key signed, for this audience, not expired at `nowSeconds`; otherwise undefined. */
export function verifyServiceAccountToken(key: Buffer, token: string, nowSeconds: number): ServiceAccountClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return undefined;
  const given = Buffer.from(parts[2] as string, 'base64url');
  const expected = signature(key, `${parts[0]}.${parts[1]}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let payload: Payload;
  try {
    payload = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as Payload;
  } catch {
    return undefined;
  }
  if (!payload.aud?.includes(TOKEN_AUDIENCE)) return undefined;
  if (payload.exp !== undefined && nowSeconds >= payload.exp) return undefined;
  if (payload.nbf !== undefined && nowSeconds + 60 < payload.nbf) return undefined;
  const k = payload['kubernetes.io'];
  if (!k?.namespace || !k.serviceaccount?.name) return undefined;
  const run = payload['fleetops.dev']?.workflowrun;
  return {
    namespace: k.namespace,
    serviceAccount: k.serviceaccount,
    ...(k.secret ? { secret: k.secret } : {}),
    ...(run?.name && run.uid ? { run } : {}),
    ...(payload.exp !== undefined ? { expiresAt: payload.exp } : {}),
    issuedAt: payload.iat,
  };
}
