/**
 * Destinations, scheduling and a Git state store, against a real Git server over HTTP with basic auth: requested
 * Apps appear in a fresh clone under the worker destination's path and go away when deleted; Work with no matching
 * Destination waits and says so, then lands when a Destination appears and leaves when it is relabelled; bad
 * credentials are reported; an outage during 200 changes ends with exactly the desired tree, no change lost and
 * no empty or duplicate commit.
 */
import { testPromise } from '../helpers/promises.ts';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { connectStateStore, startGitServer, type TestGitServer } from '../helpers/gitServer.ts';
import { kubectlFor } from '../helpers/kubectl.ts';
import { createDestination, createGitStateStore } from '../helpers/stateStores.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const KRATIX = '/apis/platform.kratix.io/v1alpha1';

interface Obj {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string };
  status?: { status?: string; conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
}

function shellPromise(name: string, selector: Record<string, string>): object {
  return testPromise({
    kind: name[0]!.toUpperCase() + name.slice(1),
    plural: `${name}s`,
    specProperties: { value: { type: 'string' } },
    destinationSelectors: selector,
    pipeline: {
      name: 'render',
      spec: {
        containers: [
          { name: 'render', image: TEST_IMAGE, command: ['sh', '-c', 'grep "value:" /kratix/input/object.yaml | head -1 > /kratix/output/value.yaml'] },
        ],
      },
    },
  });
}

describe('Git state store', () => {
  let fleet: TestFleet;
  let git: TestGitServer;
  const things = `/apis/test.fleetops.dev/v1/namespaces/default/things`;

  before(async () => {
    git = await startGitServer();
    await git.createRepo('platform');
    fleet = await startTestFleet({ defaultDestinations: false, stateStoreBatchMs: 50, exampleImage: true });
    await connectStateStore(fleet.client, git, 'platform');
  });
  after(async () => {
    await fleet.cleanup();
    await git.close();
  });

  it('writes requested Apps under the worker destination, and removes them when deleted', async () => {
    const c = fleet.client;
    await c.request('POST', `${KRATIX}/promises`, { body: parse(readFileSync(join(root, 'examples/app-as-a-service/promise.yaml'), 'utf8')) });
    await eventually(() => c.get('/apis/marketplace.kratix.io/v1/apps'), 10_000, 'kind served');
    for (const name of ['todo', 'shop', 'blog']) {
      await c.request('POST', '/apis/marketplace.kratix.io/v1/namespaces/default/apps', {
        body: { apiVersion: 'marketplace.kratix.io/v1', kind: 'App', metadata: { name }, spec: { name, image: `example/${name}:1` } },
      });
    }
    const appDir = (clone: string, name: string): string => join(clone, 'worker-1/resources/default/app', name, 'resource-configure/5058f');
    const clone = await eventually(
      async () => {
        const dir = await git.clone('platform');
        return ['todo', 'shop', 'blog'].every((n) => existsSync(join(appDir(dir, n), 'deployment.yaml'))) ? dir : undefined;
      },
      30_000,
      'apps in the repository',
    );
    const deployment = parse(readFileSync(join(appDir(clone, 'shop'), 'deployment.yaml'), 'utf8')) as {
      kind: string;
      spec: { template: { spec: { containers: Array<{ image: string }> } } };
    };
    assert.equal(deployment.kind, 'Deployment');
    assert.equal(deployment.spec.template.spec.containers[0]!.image, 'example/shop:1');
    assert.deepEqual(readdirSync(appDir(clone, 'shop')).sort(), ['deployment.yaml', 'ingress.yaml', 'service.yaml']);
    assert.ok(existsSync(join(clone, 'worker-1/dependencies/kratix-canary-namespace.yaml')), 'canary written');
    assert.ok(!existsSync(join(clone, 'platform/resources/default')), 'nothing scheduled to the platform destination');
    const store = await c.get<Obj>(`${KRATIX}/gitstatestores/gitea`);
    assert.equal(store.status?.status, 'Ready');
    // Each app's placement says it is written, and at which commit (Kratix's WorkPlacement status).
    type Placement = { spec?: { resourceName?: string }; status?: { versionID?: string; conditions?: { type: string; status: string }[] } };
    const written = (p: Placement): boolean =>
      p.status?.conditions?.some((x) => x.type === 'WriteSucceeded' && x.status === 'True') === true && Boolean(p.status.versionID);
    const placements = await eventually(
      async () => {
        const items = (await c.get<{ items: Placement[] }>(`${KRATIX}/workplacements`)).items.filter((p) =>
          ['todo', 'shop', 'blog'].includes(p.spec?.resourceName ?? ''),
        );
        return items.length === 3 && items.every(written) ? items : undefined;
      },
      30_000,
      'placements reported written',
    );
    const commits = (await run('git', ['-C', clone, 'log', '--format=%H'])).stdout.trim().split('\n');
    for (const p of placements) assert.ok(commits.includes(p.status!.versionID!), `${p.spec?.resourceName} written at a commit of the repository`);

    await c.request('DELETE', '/apis/marketplace.kratix.io/v1/namespaces/default/apps/shop');
    await eventually(
      async () => {
        const dir = await git.clone('platform');
        return !existsSync(appDir(dir, 'shop')) && existsSync(join(appDir(dir, 'todo'), 'deployment.yaml'));
      },
      30_000,
      'shop removed from the repository',
    );
  });

  it('keeps Work waiting until a matching Destination exists, and removes files from a relabelled one', async () => {
    const c = fleet.client;
    await c.request('POST', `${KRATIX}/promises`, { body: shellPromise('thing', { environment: 'edge' }) });
    await eventually(() => c.get(things), 10_000, 'kind served');
    await c.request('POST', things, { body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Thing', metadata: { name: 'first' }, spec: { value: 'one' } } });
    const waiting = await eventually(
      async () =>
        (await c.get<Obj>(`${KRATIX}/namespaces/default/works/thing-first-render`).catch(() => undefined))?.status?.conditions?.find(
          (x) => x.type === 'ScheduleSucceeded' && x.status === 'False',
        ),
      20_000,
      'work waiting',
    );
    assert.match(waiting.message, /No matching destination found.*add a Destination with matching labels/);
    // The request is not Reconciled while its outputs reach no Destination, and says what would place them.
    const thing = `${things}/first`;
    const notPlaced = await eventually(
      async () => (await c.get<Obj>(thing)).status?.conditions?.find((x) => x.type === 'Reconciled' && x.reason === 'UnscheduledWorks'),
      20_000,
      'the request not reconciled',
    );
    assert.equal(notPlaced.status, 'False');
    const works = (await c.get<Obj>(thing)).status?.conditions?.find((x) => x.type === 'WorksSucceeded');
    assert.match(works?.message ?? '', /^Work thing-first-render: no Destination matches environment=edge; add a Destination with these labels/);

    await createDestination(c, 'edge-1', { labels: { environment: 'edge' }, store: 'gitea' });
    const file = (dir: string): string => join(dir, 'edge-1/resources/default/thing/first/render/5058f/value.yaml');
    await eventually(async () => existsSync(file(await git.clone('platform'))), 20_000, 'work delivered to the new destination');
    await eventually(
      async () => (await c.get<Obj>(thing)).status?.conditions?.some((x) => x.type === 'Reconciled' && x.status === 'True'),
      20_000,
      'the request reconciled once placed',
    );

    await c.request('PATCH', `${KRATIX}/destinations/edge-1`, {
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { environment: 'retired' } } },
    });
    await eventually(async () => !existsSync(file(await git.clone('platform'))), 20_000, 'files removed from the relabelled destination');
    await eventually(
      async () =>
        (await c.get<Obj>(`${KRATIX}/namespaces/default/works/thing-first-render`)).status?.conditions?.some(
          (x) => x.type === 'ScheduleSucceeded' && x.status === 'False',
        ),
      10_000,
      'work waiting again',
    );
  });

  it('reports bad credentials on the state store', async () => {
    const c = fleet.client;
    // Made the usual way: kubectl sends it as protobuf.
    const made = await kubectlFor(fleet.kubeconfigPath)([
      'create',
      'secret',
      'generic',
      'wrong',
      '--from-literal=username=gitops',
      '--from-literal=password=not-the-password',
    ]);
    assert.equal(made.code, 0, made.stderr);
    await createGitStateStore(c, 'locked', { url: git.url('platform'), secretRef: { name: 'wrong' } });
    const st = await eventually(
      async () =>
        (await c.get<Obj>(`${KRATIX}/gitstatestores/locked`)).status?.status === 'NotReady' ? c.get<Obj>(`${KRATIX}/gitstatestores/locked`) : undefined,
      20_000,
      'store not ready',
    );
    const message = st.status!.conditions!.find((x) => x.type === 'Ready')!.message;
    assert.match(message, /cannot fetch .*platform\.git/);
    assert.doesNotMatch(message, /not-the-password/);
    // Credentials written into the URL never reach the condition either.
    const withUserInfo = git.url('platform').replace('://', '://gitops:token-in-the-url@');
    await c.request('POST', `${KRATIX}/gitstatestores`, {
      body: { apiVersion: 'platform.kratix.io/v1alpha1', kind: 'GitStateStore', metadata: { name: 'userinfo' }, spec: { url: withUserInfo } },
    });
    const st2 = await eventually(
      async () =>
        (await c.get<Obj>(`${KRATIX}/gitstatestores/userinfo`)).status?.status === 'NotReady' ? c.get<Obj>(`${KRATIX}/gitstatestores/userinfo`) : undefined,
      20_000,
      'store not ready',
    );
    const message2 = st2.status!.conditions!.find((x) => x.type === 'Ready')!.message;
    assert.match(message2, /cannot fetch https?:\/\/\*\*\*@127\.0\.0\.1:\d+\/platform\.git/);
    assert.doesNotMatch(message2, /token-in-the-url/);
  });

  it('converges to exactly the desired tree after an outage during 200 changes, with no change lost or duplicated', async () => {
    const c = fleet.client;
    await c.request('PATCH', `${KRATIX}/destinations/edge-1`, {
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { environment: 'edge' } } },
    });
    const before = (await run('git', ['-C', await git.clone('platform'), 'rev-list', '--count', 'HEAD'])).stdout.trim();
    git.setDown(true);
    // 200 changes while the remote is unreachable: 120 creates, 40 updates, 40 deletes.
    for (let i = 0; i < 120; i++)
      await c.request('POST', things, { body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Thing', metadata: { name: `t${i}` }, spec: { value: `v${i}` } } });
    for (let i = 0; i < 40; i++)
      await c.request('PATCH', `${things}/t${i}`, { contentType: 'application/merge-patch+json', body: { spec: { value: `changed${i}` } } });
    for (let i = 80; i < 120; i++) await c.request('DELETE', `${things}/t${i}`);
    await eventually(async () => (await c.get<Obj>(`${KRATIX}/gitstatestores/gitea`)).status?.status === 'NotReady', 20_000, 'outage reported');
    // let the workflows finish while the remote is still down
    await eventually(
      async () => {
        const list = await c.get<{ items: Array<Obj & { spec: { value: string }; status?: { kratix?: { workflows?: { phase?: string } } } }> }>(things);
        return list.items.length === 81 && list.items.every((t) => t.status?.kratix?.workflows?.phase === 'Succeeded');
      },
      60_000,
      'workflows done',
    );
    git.setDown(false);

    const expected = new Map<string, string>([['first', 'one']]);
    for (let i = 0; i < 80; i++) expected.set(`t${i}`, i < 40 ? `changed${i}` : `v${i}`);
    const dir = await eventually(
      async () => {
        const clone = await git.clone('platform');
        const base = join(clone, 'edge-1/resources/default/thing');
        if (!existsSync(base)) return undefined;
        const names = readdirSync(base).sort();
        if (names.length !== expected.size) return undefined;
        for (const [name, value] of expected) {
          const f = join(base, name, 'render/5058f/value.yaml');
          if (!existsSync(f) || readFileSync(f, 'utf8').trim() !== `value: ${value}`) return undefined;
        }
        return clone;
      },
      60_000,
      'repository converged',
    );
    // No empty commit: every commit since the outage changes the tree, and there are few of them (batches).
    const log = (await run('git', ['-C', dir, 'log', '--format=%H %T %P'])).stdout.trim().split('\n');
    const trees = new Map(log.map((l) => [l.split(' ')[0], l.split(' ')[1]]));
    for (const line of log) {
      const [, tree, parent] = line.split(' ');
      if (parent) assert.notEqual(tree, trees.get(parent), `commit ${line} changes nothing`);
    }
    const after = Number((await run('git', ['-C', dir, 'rev-list', '--count', 'HEAD'])).stdout.trim());
    assert.ok(after - Number(before) <= 10, `the outage's 200 changes land in a few batched commits, not one each (got ${after - Number(before)})`);
  });
});

describe('embedded defaults (fleetops up)', () => {
  let fleet: TestFleet;
  before(async () => {
    fleet = await startTestFleet({ defaultDestinations: true, stateStoreBatchMs: 50, exampleImage: true });
  });
  after(() => fleet.cleanup());

  it('serves the app-as-a-service flow with no set-up: platform and worker-1 on the embedded repository, cloneable with a token', async () => {
    const c = fleet.client;
    const dests = await c.get<{ items: Obj[] }>(`${KRATIX}/destinations`);
    assert.deepEqual(dests.items.map((d) => `${d.metadata.name}:${d.metadata.labels?.environment}`).sort(), ['platform:platform', 'worker-1:worker']);
    await c.request('POST', `${KRATIX}/promises`, { body: parse(readFileSync(join(root, 'examples/app-as-a-service/promise.yaml'), 'utf8')) });
    await eventually(() => c.get('/apis/marketplace.kratix.io/v1/apps'), 10_000, 'kind served');
    await c.request('POST', '/apis/marketplace.kratix.io/v1/namespaces/default/apps', {
      body: parse(readFileSync(join(root, 'examples/app-as-a-service/todoer.yaml'), 'utf8')),
    });
    const cloneUrl = fleet.embeddedGit.cloneUrl.replace('https://', `https://fleetops:${fleet.adminToken}@`);
    const dir = await eventually(
      async () => {
        const target = join(mkdtempSync(join(tmpdir(), 'fleetops-embedded-')), 'repo');
        await run('git', ['-c', 'http.sslVerify=false', 'clone', '-q', cloneUrl, target]);
        return existsSync(join(target, 'worker-1/resources/default/app/todoer/resource-configure/5058f/deployment.yaml')) ? target : undefined;
      },
      30_000,
      'todoer in the embedded repository',
    );
    assert.ok(existsSync(join(dir, 'platform/dependencies/kratix-canary-namespace.yaml')));
    // A repeated `service` cannot sneak receive-pack (push) past the read-only check.
    const repeated = await fetchGit(`${fleet.embeddedGit.cloneUrl}/info/refs?service=git-upload-pack&service=git-receive-pack`, fleet.adminToken, fleet.caCert);
    assert.equal(repeated.status, 400);
    assert.doesNotMatch(repeated.body, /receive-pack/);
    const push = await fetchGit(`${fleet.embeddedGit.cloneUrl}/info/refs?service=git-receive-pack`, fleet.adminToken, fleet.caCert);
    assert.equal(push.status, 403);
    // Without a token, the repository is not readable.
    await assert.rejects(
      run('git', ['-c', 'http.sslVerify=false', 'ls-remote', fleet.embeddedGit.cloneUrl], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }),
      /Authentication failed|401|could not read Username/,
    );
  });
});

function fetchGit(url: string, token: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, headers: { authorization: `Basic ${Buffer.from(`fleetops:${token}`).toString('base64')}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
