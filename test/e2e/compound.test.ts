/**
 * Compound Promises with the real kubectl: an App with `dbDriver: postgresql` writes a Postgresql request to the
 * platform destination; FleetOps applies it (owned by the App), the postgresql Promise's workflow runs, both
 * workflows' outputs reach Git, the App reports its component; an App change updates the sub-request, dropping the
 * database deletes it, deleting the App cascades; and what a pipeline may apply this way is limited.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { eventually, fleetopsCli, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { testPromise } from '../helpers/promises.ts';

const examples = join(import.meta.dirname, '..', '..', 'examples');

interface Obj {
  metadata: { name: string; uid: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string; uid: string }[] };
  spec: Record<string, unknown>;
  status?: { message?: string; components?: { kind: string; name: string; ready: string; message?: string }[] };
}

describe('compound Promises', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  const clone = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'compound-git-'));
    execFileSync('git', ['clone', '-q', fleet.embeddedGit.path, dir]);
    return dir;
  };
  const app = (replicas: number, dbDriver: string): string =>
    `apiVersion: marketplace.kratix.io/v1\nkind: App\nmetadata:\n  name: shop\n  namespace: default\nspec:\n  name: shop\n  image: example/shop:1\n  replicas: ${replicas}\n  dbDriver: ${dbDriver}\n`;
  const pgPath = '/apis/marketplace.kratix.io/v1alpha1/namespaces/default/postgresqls/shop';

  before(async () => {
    fleet = await startTestFleet({ defaultDestinations: true });
    kubectl = kubectlFor(fleet.kubeconfigPath);
    const cli = fleetopsCli(fleet.kubeconfigPath);
    for (const folder of ['app-as-a-service', 'postgresql']) {
      const built = await cli(['image', 'build', join(examples, folder, 'pipeline'), '--data-dir', fleet.dataDir], undefined, 180_000);
      assert.equal(built.code, 0, built.stderr);
      const r = await kubectl(['apply', '-f', join(examples, folder, 'promise.yaml')]);
      assert.equal(r.code, 0, r.stderr);
    }
    await eventually(async () => (await kubectl(['get', 'apps'])).code === 0 && (await kubectl(['get', 'postgresqls'])).code === 0, 30_000, 'kinds served');
  });
  after(async () => fleet.cleanup());

  it('applies the sub-request, runs its workflow, and reports it on the App', async () => {
    const r = await kubectl(['apply', '-f', '-'], { input: app(2, 'postgresql') });
    assert.equal(r.code, 0, r.stderr);
    const pg = await eventually(() => fleet.client.get<Obj>(pgPath).catch(() => undefined), 60_000, 'the Postgresql requested by the App');
    const shop = await fleet.client.get<Obj>('/apis/marketplace.kratix.io/v1/namespaces/default/apps/shop');
    assert.deepEqual(pg.spec.teamId, 'shopteam');
    assert.equal(pg.spec.instances, 2);
    assert.equal(pg.metadata.ownerReferences?.[0]?.uid, shop.metadata.uid, 'owned by the App');
    assert.equal(pg.metadata.labels?.['kratix.io/component-of-resource-name'], 'shop');
    // The sub-request's own workflow runs and reports; the App shows its component's state.
    await eventually(
      async () => {
        const a = await fleet.client.get<Obj>('/apis/marketplace.kratix.io/v1/namespaces/default/apps/shop');
        const c = a.status?.components?.find((x) => x.kind === 'Postgresql' && x.name === 'shop');
        return c?.ready === 'True' && /database shopdb on shopteam-shop/.test(c.message ?? '');
      },
      90_000,
      'the App reporting its database as ready',
    );
    // Both workflows' outputs in Git: the App's Deployment (with the connection settings) on the worker, the
    // sub-request on the platform destination, the operator's postgresql object on the worker.
    await eventually(
      () => {
        const dir = clone();
        const find = (sub: string): string | undefined => {
          const out = execFileSync('git', ['-C', dir, 'ls-files'], { encoding: 'utf8' })
            .split('\n')
            .filter((f) => f.startsWith(sub));
          return out.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n---\n') || undefined;
        };
        const platform = find('platform/');
        const worker = find('worker-1/');
        return platform?.includes('kind: Postgresql') && worker?.includes('PGHOST') && worker.includes('kind: postgresql') && worker.includes('shopteam-shop');
      },
      60_000,
      'outputs of both workflows in the state store',
    );
  });

  it('updates the sub-request when the App changes, and deletes it when the App no longer asks', async () => {
    let r = await kubectl(['apply', '-f', '-'], { input: app(3, 'postgresql') });
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => (await fleet.client.get<Obj>(pgPath)).spec.instances === 3, 60_000, 'instances follow the App');
    r = await kubectl(['apply', '-f', '-'], { input: app(3, 'none') });
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => !(await fleet.client.get<Obj>(pgPath).catch(() => undefined)), 60_000, 'the Postgresql removed');
    await eventually(
      async () => !(await fleet.client.get<Obj>('/apis/marketplace.kratix.io/v1/namespaces/default/apps/shop')).status?.components,
      30_000,
      'no components',
    );
  });

  it('cascades the deletion of the App to its sub-request', async () => {
    let r = await kubectl(['apply', '-f', '-'], { input: app(1, 'postgresql') });
    assert.equal(r.code, 0, r.stderr);
    await eventually(() => fleet.client.get<Obj>(pgPath).catch(() => undefined), 60_000, 'the Postgresql again');
    r = await kubectl(['delete', 'app', 'shop', '--timeout=120s']);
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => !(await fleet.client.get<Obj>(pgPath).catch(() => undefined)), 60_000, 'the Postgresql deleted with its App');
    await eventually(
      () => {
        const dir = clone();
        return !existsSync(join(dir, 'platform')) || !execFileSync('git', ['-C', dir, 'ls-files', 'platform'], { encoding: 'utf8' }).includes('shop');
      },
      60_000,
      'the platform destination emptied',
    );
  });

  it('refuses what a pipeline may not apply through the platform destination', async () => {
    // A step that writes a ClusterRoleBinding and a request in another namespace next to a legitimate request.
    const evil = testPromise({
      kind: 'Sneaky',
      plural: 'sneakies',
      pipeline: {
        name: 'escalate',
        spec: {
          containers: [
            {
              name: 'write',
              image: TEST_IMAGE,
              command: ['/bin/sh', '-c'],
              args: [
                [
                  'mkdir -p /kratix/output/platform',
                  `printf 'apiVersion: rbac.authorization.k8s.io/v1\\nkind: ClusterRoleBinding\\nmetadata:\\n  name: mine\\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\\nsubjects: [{kind: Group, apiGroup: rbac.authorization.k8s.io, name: system:authenticated}]\\n' > /kratix/output/platform/crb.yaml`,
                  `printf 'apiVersion: marketplace.kratix.io/v1alpha1\\nkind: Postgresql\\nmetadata:\\n  name: elsewhere\\n  namespace: kube-system\\nspec: {teamId: x}\\n' > /kratix/output/platform/other.yaml`,
                  `printf 'apiVersion: marketplace.kratix.io/v1alpha1\\nkind: Postgresql\\nmetadata:\\n  name: fine\\nspec: {teamId: sneaky}\\n' > /kratix/output/platform/ok.yaml`,
                  `printf -- '- directory: platform\\n  matchLabels: {environment: platform}\\n' > /kratix/metadata/destination-selectors.yaml`,
                ].join(' && '),
              ],
            },
          ],
        },
      },
    });
    // Even where the Promise lets its outputs leave the request's namespace (ADR 0015), the platform destination
    // applies only Promise requests in the requester's namespace.
    evil.metadata.annotations = { 'fleetops.dev/allowed-cluster-scoped-outputs': '*', 'fleetops.dev/allowed-output-namespaces': '*' };
    let r = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(evil) });
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => (await kubectl(['get', 'sneakies'])).code === 0, 20_000, 'kind served');
    r = await kubectl(['apply', '-f', '-'], {
      input: 'apiVersion: test.fleetops.dev/v1\nkind: Sneaky\nmetadata:\n  name: s1\n  namespace: default\nspec: {}\n',
    });
    assert.equal(r.code, 0, r.stderr);
    await eventually(
      () => fleet.client.get('/apis/marketplace.kratix.io/v1alpha1/namespaces/default/postgresqls/fine').catch(() => undefined),
      60_000,
      'the legitimate request',
    );
    const events = await eventually(
      async () => {
        const out = await kubectl(['get', 'events', '-n', 'default', '--field-selector', 'reason=PlatformApplyRefused', '-o', 'json']);
        const items = (JSON.parse(out.stdout) as { items: { message: string }[] }).items;
        return items.length ? items.map((i) => i.message).join('\n') : undefined;
      },
      30_000,
      'a refusal event',
    );
    assert.match(events, /ClusterRoleBinding is not served here|ClusterRoleBinding is not a Promise's kind/);
    assert.match(events, /namespace "kube-system": a resource's workflow may only request in its own \("default"\)/);
    assert.equal((await kubectl(['get', 'clusterrolebinding', 'mine'])).code, 1, 'no ClusterRoleBinding was applied');
    const crb = parse((await kubectl(['get', 'clusterrolebindings', '-o', 'yaml'])).stdout) as { items: { metadata: { name: string } }[] };
    assert.ok(!crb.items.some((i) => i.metadata.name === 'mine'));
  });
});
