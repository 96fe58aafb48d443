/**
 * Kratix's PromiseRelease with kubectl: a Promise published on an HTTP server (behind an Authorization header, the
 * Secret's `authorizationHeader`) is installed at the release's version, refused when its version label differs,
 * updated when the release moves to a new version, and deleted with the release.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { stringify } from 'yaml';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.ts';
import { testPromise } from '../helpers/promises.ts';

const TOKEN = 'Bearer release-token';

function published(version: string): string {
  const p = testPromise({ kind: 'Kite', plural: 'kites' });
  p.metadata.labels = { 'kratix.io/promise-version': version };
  return stringify(p);
}

interface Release {
  status?: { status?: string; installedVersion?: string; conditions?: { type: string; reason: string; message: string }[] };
}

describe('PromiseRelease', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  let server: Server;
  let base = '';

  const release = (name: string, version: string, path: string): string =>
    JSON.stringify({
      apiVersion: 'platform.kratix.io/v1alpha1',
      kind: 'PromiseRelease',
      metadata: { name },
      spec: { version, sourceRef: { type: 'http', url: `${base}${path}`, secretRef: { name: 'release-auth', namespace: 'default' } } },
    });
  const apply = async (text: string): Promise<void> => {
    const r = await kubectl(['apply', '-f', '-'], { input: text });
    assert.equal(r.code, 0, r.stderr);
  };
  const get = (name: string): Promise<Release> => fleet.client.get<Release>(`/apis/platform.kratix.io/v1alpha1/promisereleases/${name}`);
  const kite = (): Promise<{ metadata: { labels?: Record<string, string> }; status?: { status?: string } } | undefined> =>
    fleet.client.get<{ metadata: { labels?: Record<string, string> } }>('/apis/platform.kratix.io/v1alpha1/promises/kite').catch(() => undefined);

  before(async () => {
    server = createServer((req, res) => {
      if (req.headers.authorization !== TOKEN) return void res.writeHead(401).end('unauthorized');
      const version = /^\/(v\d)\/promise\.yaml$/.exec(req.url ?? '')?.[1];
      if (!version) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/yaml' }).end(published(version));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    fleet = await startTestFleet();
    kubectl = kubectlFor(fleet.kubeconfigPath);
    const r = await kubectl(['create', 'secret', 'generic', 'release-auth', '-n', 'default', `--from-literal=authorizationHeader=${TOKEN}`]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await fleet?.cleanup();
    await new Promise((r) => server?.close(r));
  });

  it('installs the published Promise at the release’s version', async () => {
    await apply(release('kite', 'v1', '/v1/promise.yaml'));
    await eventually(async () => (await get('kite')).status?.status === 'Installed', 30_000, 'the release installed');
    assert.equal((await get('kite')).status?.installedVersion, 'v1');
    await eventually(async () => (await kite())?.status?.status === 'Available', 30_000, 'the Promise available');
    const labels = (await kite())?.metadata.labels ?? {};
    assert.equal(labels['kratix.io/promise-release-name'], 'kite');
    assert.equal(labels['kratix.io/promise-version'], 'v1');
    const printed = await kubectl(['get', 'promisereleases']);
    assert.match(printed.stdout, /kite\s+Installed\s+v1/);
  });

  it('refuses a Promise whose version label is not the release’s, saying so', async () => {
    await apply(release('mislabelled', 'v3', '/v1/promise.yaml'));
    await eventually(async () => (await get('mislabelled')).status?.status === 'Error', 30_000, 'the release in error');
    const condition = (await get('mislabelled')).status?.conditions?.find((c) => c.type === 'Installed');
    assert.equal(condition?.reason, 'FetchFailed');
    assert.match(condition?.message ?? '', /labelled kratix.io\/promise-version: "v1", not the release's version "v3"/);
    const r = await kubectl(['delete', 'promiserelease', 'mislabelled']);
    assert.equal(r.code, 0, r.stderr);
  });

  it('updates the Promise when the release moves to a new version', async () => {
    await apply(release('kite', 'v2', '/v2/promise.yaml'));
    await eventually(async () => (await kite())?.metadata.labels?.['kratix.io/promise-version'] === 'v2', 30_000, 'the Promise at v2');
    await eventually(async () => (await get('kite')).status?.installedVersion === 'v2', 30_000, 'the release says v2');
  });

  it('deletes its Promise with it', async () => {
    const r = await kubectl(['delete', 'promiserelease', 'kite']);
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => (await kite()) === undefined, 30_000, 'the Promise deleted');
  });
});
