/**
 * A GitStateStore with `authMethod: githubApp` (Kratix's secret keys appID, installationID, privateKey): FleetOps
 * signs the App's JWT, exchanges it for an installation token at GitHub's API, and pushes with it as the password of
 * `x-access-token`. GitHub's API is stood in for by a local server that checks the JWT's RS256 signature against the
 * App's public key, as GitHub does; the Git server is a real one that accepts only the installation token. A key
 * GitHub does not know leaves the store not Ready with GitHub's own message.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, relative } from 'node:path';
import { eventually, installPromise, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { startGitServer, type TestGitServer } from '../helpers/gitServer.ts';
import { testPromise } from '../helpers/promises.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { createDestination, createGitStateStore } from '../helpers/stateStores.ts';

const kratix = '/apis/platform.kratix.io/v1alpha1';
const TOKEN = 'ghs_installationToken0123456789';

/** GitHub's installation-token endpoint, checking the App JWT the way GitHub does. */
async function standInGitHub(appId: string, installationId: string, publicKeyPem: string): Promise<{ url: string; calls: () => number; close(): void }> {
  const publicKey = createPublicKey(publicKeyPem);
  let calls = 0;
  const server: Server = createServer((req, res) => {
    const refuse = (message: string): void => {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
    };
    if (req.method !== 'POST' || req.url !== `/api/v3/app/installations/${installationId}/access_tokens`) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    const [head = '', body = '', sig = ''] = (/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '').split('.');
    if (!verify('RSA-SHA256', Buffer.from(`${head}.${body}`), publicKey, Buffer.from(sig, 'base64url'))) return refuse('A JSON web token could not be decoded');
    const header: unknown = JSON.parse(Buffer.from(head, 'base64url').toString());
    const claims: { iss?: string; iat?: number; exp?: number } = JSON.parse(Buffer.from(body, 'base64url').toString());
    const now = Date.now() / 1000;
    if (JSON.stringify(header) !== '{"alg":"RS256","typ":"JWT"}') return refuse('unexpected JWT header');
    if (claims.iss !== appId) return refuse(`Integration not found (iss ${String(claims.iss)})`);
    if (!claims.exp || !claims.iat || claims.exp <= now || claims.iat > now || claims.exp - claims.iat > 600)
      return refuse("'Expiration time' claim ('exp') is too far in the future");
    calls++;
    res
      .writeHead(201, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token: TOKEN, expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: { contents: 'write' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/api/v3`, calls: () => calls, close: () => server.close() };
}

const appSecret = (name: string, privateKey: string, apiUrl: string): object => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name },
  stringData: { appID: '314159', installationID: '2718', privateKey, apiURL: apiUrl },
});

function filesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((p) => !p.startsWith('.git/'));
}

describe('GitStateStore with GitHub App auth', () => {
  let git: TestGitServer;
  let github: Awaited<ReturnType<typeof standInGitHub>>;
  let fleet: TestFleet;
  const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // GitHub hands out PKCS#1 PEM files ("BEGIN RSA PRIVATE KEY").
  const privateKey = app.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

  before(async () => {
    git = await startGitServer({ username: 'x-access-token', password: TOKEN });
    await git.createRepo('platform');
    github = await standInGitHub('314159', '2718', app.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    fleet = await startTestFleet({ stateStoreBatchMs: 50 });
  });
  after(async () => {
    await fleet?.cleanup();
    await git?.close();
    github?.close();
  });

  const storeCondition = async (name: string): Promise<{ status: string; reason: string; message: string } | undefined> => {
    const store = await fleet.client.get<{ status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }>(
      `${kratix}/gitstatestores/${name}`,
    );
    return store.status?.conditions?.find((c) => c.type === 'Ready');
  };

  it('pushes with an installation token got with the App JWT, and reuses the token', async () => {
    await fleet.client.request('POST', '/api/v1/namespaces/default/secrets', { body: appSecret('github-app', privateKey, github.url) });
    await createGitStateStore(fleet.client, 'github', {
      url: git.url('platform'),
      branch: 'main',
      authMethod: 'githubApp',
      secretRef: { name: 'github-app', namespace: 'default' },
    });
    await createDestination(fleet.client, 'gh-worker', { labels: { via: 'github-app' }, store: 'github', spec: { filepath: { mode: 'none' } } });
    await installPromise(
      fleet,
      testPromise({
        kind: 'Note',
        plural: 'notes',
        destinationSelectors: { via: 'github-app' },
        pipeline: {
          name: 'write',
          spec: {
            containers: [
              {
                name: 'write',
                image: TEST_IMAGE,
                command: ['sh', '-c', 'printf "kind: ConfigMap\\nmetadata: {name: $KRATIX_OBJECT_NAME}\\n" > /kratix/output/$KRATIX_OBJECT_NAME.yaml'],
              },
            ],
          },
        },
      }),
    );
    for (const name of ['first', 'second'])
      await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/notes', {
        body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Note', metadata: { name }, spec: {} },
      });
    const clone = await eventually(
      async () => {
        const dir = await git.clone('platform');
        return existsSync(join(dir, 'gh-worker', 'first.yaml')) && existsSync(join(dir, 'gh-worker', 'second.yaml')) ? dir : undefined;
      },
      60_000,
      'both notes pushed with the installation token',
    ).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\nstore: ${JSON.stringify(await storeCondition('github'))}, token calls ${github.calls()}`);
    });
    assert.ok(filesIn(join(clone, 'gh-worker')).includes('first.yaml'));
    assert.deepEqual(await storeCondition('github').then((c) => c?.status), 'True');
    // Several writes, one token: it is reused while it has more than five minutes left.
    assert.equal(github.calls(), 1);
  });

  it('reports GitHub refusing a key it does not know, on the store and its Destination', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    await fleet.client.request('POST', '/api/v1/namespaces/default/secrets', { body: appSecret('stranger-app', stranger, github.url) });
    await createGitStateStore(fleet.client, 'stranger', {
      url: git.url('platform'),
      authMethod: 'githubApp',
      secretRef: { name: 'stranger-app', namespace: 'default' },
    });
    await createDestination(fleet.client, 'stranger-worker', { store: 'stranger' });
    const condition = await eventually(async () => {
      const c = await storeCondition('stranger');
      return c?.status === 'False' ? c : undefined;
    }).catch(async (err: unknown) => {
      throw new Error(`${String(err)}: ${JSON.stringify(await fleet.client.get(`${kratix}/gitstatestores/stranger`))}`);
    });
    const destination = await eventually(async () => {
      const d = await fleet.client.get<{ status?: { conditions?: { type: string; status: string; message: string }[] } }>(
        `${kratix}/destinations/stranger-worker`,
      );
      return d.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False');
    });
    assert.match(destination.message, /State store stranger is not ready: GitHub refused/);
    assert.match(condition.message, /GitHub refused an installation token for app 314159, installation 2718: 401 A JSON web token could not be decoded/);
    assert.doesNotMatch(condition.message, /PRIVATE KEY/);
  });
});
