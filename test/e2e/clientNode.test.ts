/** @kubernetes/client-node 2.x (Node 24) against FleetOps: list, informer watch, merge patch, server-side apply. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';

describe('@kubernetes/client-node against FleetOps', () => {
  let fleet: TestFleet;
  let kc: k8s.KubeConfig;

  before(async () => {
    fleet = await startTestFleet();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(fleet.kubeconfigPath);
  });
  after(async () => fleet.cleanup());

  it('lists, watches with an informer, and patches', async () => {
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const dest = (name: string, env: string): k8s.KubernetesObject & { spec: unknown } => ({
      apiVersion: 'platform.kratix.io/v1alpha1',
      kind: 'Destination',
      metadata: { name, labels: { environment: env } },
      spec: { path: name, stateStoreRef: { kind: 'GitStateStore', name: 'default' } },
    });
    await objects.create(dest('worker-a', 'dev'));

    const path = '/apis/platform.kratix.io/v1alpha1/destinations';
    const listFn = () =>
      custom.listClusterCustomObject({ group: 'platform.kratix.io', version: 'v1alpha1', plural: 'destinations' }) as Promise<
        k8s.KubernetesListObject<k8s.KubernetesObject>
      >;
    const informer = k8s.makeInformer(kc, path, listFn);
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add:${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update:${o.metadata?.name}:${o.metadata?.labels?.environment}`));
    informer.on('delete', (o) => seen.push(`delete:${o.metadata?.name}`));
    await informer.start();
    try {
      await eventually(() => seen.includes('add:worker-a'), 10_000, 'informer add from list');
      await objects.create(dest('worker-b', 'prod'));
      await eventually(() => seen.includes('add:worker-b'), 10_000, 'informer add from watch');
      await objects.patch(
        { apiVersion: 'platform.kratix.io/v1alpha1', kind: 'Destination', metadata: { name: 'worker-a', labels: { environment: 'staging' } } },
        undefined,
        undefined,
        undefined,
        undefined,
        k8s.PatchStrategy.MergePatch,
      );
      await eventually(() => seen.includes('update:worker-a:staging'), 10_000, 'informer update');
      await objects.delete({ apiVersion: 'platform.kratix.io/v1alpha1', kind: 'Destination', metadata: { name: 'worker-b' } });
      await eventually(() => seen.includes('delete:worker-b'), 10_000, 'informer delete');
      assert.deepEqual(
        informer
          .list()
          .map((o) => o.metadata?.name)
          .sort(),
        ['worker-a'],
      );
    } finally {
      await informer.stop();
    }
    const list = await objects.list('platform.kratix.io/v1alpha1', 'Destination');
    assert.deepEqual(
      list.items.map((o) => o.metadata?.name),
      ['worker-a'],
    );
    const applied = await objects.patch(
      { ...dest('worker-c', 'dev'), spec: { path: 'c', stateStoreRef: { kind: 'GitStateStore', name: 'default' } } } as k8s.KubernetesObject,
      undefined,
      undefined,
      'client-node-test',
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
    assert.equal(applied.metadata?.name, 'worker-c');
    assert.equal((applied as unknown as { spec: { strictMatchLabels: boolean } }).spec.strictMatchLabels, false, 'schema default applied');
  });
});
