/**
 * Installation tokens of a GitHub App, for a GitStateStore with `authMethod: githubApp` (Kratix's secret keys
 * `appID`, `installationID`, `privateKey`). The App signs a short JWT (RS256, issuer its id) with its private key and
 * exchanges it at `POST {api}/app/installations/{id}/access_tokens` for a token that Git accepts as the password of
 * `x-access-token` over HTTPS. Tokens live an hour; one is reused until five minutes before it expires.
 */
import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { errorMessage } from '../api/errors.ts';

export interface GitHubAppCredentials {
  appId: string;
  installationId: string;
  /** PEM (PKCS#1 as GitHub issues it, or PKCS#8). */
  privateKey: string;
  /** GitHub's REST API: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server. */
  apiUrl: string;
}

/** The answer GitHub gives for an installation token (the fields FleetOps reads). */
interface TokenAnswer {
  token?: unknown;
  expires_at?: unknown;
}

export interface GitHubAppTokensOptions {
  now?: () => Date;
  /** The HTTP client (tests and proxies may pass their own); the global fetch by default. */
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** A token could not be had: the key does not parse, or GitHub refused (its message is kept). */
export class GitHubAppTokenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GitHubAppTokenError';
  }
}

/** The user name Git sends with an installation token. */
export const INSTALLATION_TOKEN_USER = 'x-access-token';

const REFRESH_BEFORE_MS = 5 * 60_000;

/** GitHub's API for a repository URL: api.github.com for github.com, `/api/v3` on the host of an Enterprise Server. */
export function githubApiUrlOf(repoUrl: string): string {
  let host = '';
  try {
    host = new URL(repoUrl).host;
  } catch {
    // scp-like ssh address (git@host:org/repo): githubApp auth is for https URLs; fall back to GitHub's API.
  }
  return !host || host === 'github.com' || host === 'www.github.com' ? 'https://api.github.com' : `https://${host}/api/v3`;
}

export class GitHubAppTokens {
  private readonly opts: GitHubAppTokensOptions;
  private readonly cache = new Map<string, { token: string; refreshAt: number }>();

  constructor(options: GitHubAppTokensOptions = {}) {
    this.opts = options;
  }

  /** A valid installation token, from the cache while it has more than five minutes left. */
  async token(c: GitHubAppCredentials): Promise<string> {
    const now = (this.opts.now ?? (() => new Date()))().getTime();
    // The key is part of the identity: a Secret with another key must not be served the token the first one earned.
    const id = `${c.apiUrl}|${c.appId}|${c.installationId}|${createHash('sha256').update(c.privateKey).digest('hex')}`;
    const hit = this.cache.get(id);
    if (hit && hit.refreshAt > now) return hit.token;
    const jwt = appJwt(c.appId, keyOf(c.privateKey), now);
    const url = `${c.apiUrl.replace(/\/+$/, '')}/app/installations/${encodeURIComponent(c.installationId)}/access_tokens`;
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${jwt}`, Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28', 'User-Agent': 'fleetops' },
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new GitHubAppTokenError(`cannot reach GitHub at ${url}: ${errorMessage(err)}`, { cause: err });
    }
    const text = await res.text();
    if (!res.ok)
      throw new GitHubAppTokenError(
        `GitHub refused an installation token for app ${c.appId}, installation ${c.installationId}: ${res.status} ${githubMessage(text)}`,
      );
    let answer: TokenAnswer;
    try {
      answer = JSON.parse(text);
    } catch (err) {
      throw new GitHubAppTokenError(`GitHub's answer for an installation token is not JSON`, { cause: err });
    }
    if (typeof answer.token !== 'string' || !answer.token) throw new GitHubAppTokenError(`GitHub's answer for an installation token has no token`);
    const expires = typeof answer.expires_at === 'string' ? Date.parse(answer.expires_at) : NaN;
    // Without a readable expiry, GitHub's documented hour.
    const refreshAt = (Number.isFinite(expires) ? expires : now + 3_600_000) - REFRESH_BEFORE_MS;
    this.cache.set(id, { token: answer.token, refreshAt });
    return answer.token;
  }
}

function keyOf(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new GitHubAppTokenError(`the privateKey is not a PEM private key (${errorMessage(err)})`, { cause: err });
  }
}

const base64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/** The App's JWT: issued a minute in the past (GitHub allows for clock drift that way), valid nine minutes after. */
function appJwt(appId: string, key: KeyObject, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000) - 60;
  const head = `${base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${base64url(JSON.stringify({ iat, exp: iat + 600, iss: appId }))}`;
  return `${head}.${base64url(sign('RSA-SHA256', Buffer.from(head), key))}`;
}

/** GitHub's error bodies are `{"message": …}`; anything else is cut short. */
function githubMessage(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && 'message' in parsed && typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON
  }
  return text.slice(0, 200);
}
