import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { GitHubAppTokenError, GitHubAppTokens, githubApiUrlOf } from '../../src/statestores/GitHubAppTokens.ts';

const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const creds = { appId: '1', installationId: '2', privateKey, apiUrl: 'https://api.github.com' };

describe('GitHub App tokens', () => {
  it("finds GitHub's API from the repository URL", () => {
    assert.equal(githubApiUrlOf('https://github.com/org/repo.git'), 'https://api.github.com');
    assert.equal(githubApiUrlOf('https://git.example.com/org/repo.git'), 'https://git.example.com/api/v3');
    assert.equal(githubApiUrlOf('git@github.com:org/repo.git'), 'https://api.github.com');
  });

  it('asks again five minutes before the token expires', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const urls: string[] = [];
    const tokens = new GitHubAppTokens({
      now: () => new Date(now),
      fetch: async (url) => {
        urls.push(String(url));
        return new Response(JSON.stringify({ token: `t${urls.length}`, expires_at: new Date(now + 3_600_000).toISOString() }), { status: 201 });
      },
    });
    assert.equal(await tokens.token(creds), 't1');
    now += 54 * 60_000;
    assert.equal(await tokens.token(creds), 't1');
    now += 2 * 60_000;
    assert.equal(await tokens.token(creds), 't2');
    assert.deepEqual(urls, ['https://api.github.com/app/installations/2/access_tokens', 'https://api.github.com/app/installations/2/access_tokens']);
  });

  it('says what is wrong with a key that does not parse, without the key', async () => {
    const tokens = new GitHubAppTokens({ fetch: () => Promise.reject(new Error('not called')) });
    await assert.rejects(tokens.token({ ...creds, privateKey: 'not a key' }), (err: unknown) => {
      assert.ok(err instanceof GitHubAppTokenError);
      assert.match(err.message, /the privateKey is not a PEM private key/);
      return true;
    });
  });
});
