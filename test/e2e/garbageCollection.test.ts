/**
 * ownerReferences with Kubernetes' garbage collection, through the real kubectl: dependents go after their owner
 * (background), before it (`--cascade=foreground`), or stay without the reference (`--cascade=orphan`); an object
 * naming an owner that is already gone is collected; a reference to one gone owner among others is dropped.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.ts';

interface Cm {
  metadata: { uid: string; deletionTimestamp?: string; finalizers?: string[]; ownerReferences?: { name: string; uid: string }[] };
}

describe('garbage collection', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  const path = (name: string): string => `/api/v1/namespaces/default/configmaps/${name}`;
  const find = (name: string): Promise<Cm | undefined> => fleet.client.get<Cm>(path(name)).catch(() => undefined);
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await kubectl(args, input !== undefined ? { input } : {});
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const owner = async (name: string): Promise<string> => {
    await ok(['create', 'configmap', name, '--from-literal=role=owner']);
    return (await fleet.client.get<Cm>(path(name))).metadata.uid;
  };
  const dependent = (name: string, owners: { name: string; uid: string }[], finalizer = false): Promise<string> =>
    ok(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name,
          namespace: 'default',
          ownerReferences: owners.map((o) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: o.name, uid: o.uid })),
          ...(finalizer ? { finalizers: ['example.com/hold'] } : {}),
        },
        data: { role: 'dependent' },
      }),
    );

  before(async () => {
    fleet = await startTestFleet();
    kubectl = kubectlFor(fleet.kubeconfigPath);
  });
  after(async () => fleet.cleanup());

  it('deletes dependents after their owner by default', async () => {
    await dependent('bg-dep', [{ name: 'bg-owner', uid: await owner('bg-owner') }]);
    await ok(['delete', 'configmap', 'bg-owner']);
    await eventually(async () => !(await find('bg-dep')), 20_000, 'the dependent collected');
  });

  it('keeps dependents without the reference with --cascade=orphan', async () => {
    await dependent('orphan-dep', [{ name: 'orphan-owner', uid: await owner('orphan-owner') }]);
    await ok(['delete', 'configmap', 'orphan-owner', '--cascade=orphan']);
    await eventually(async () => !(await find('orphan-owner')), 20_000, 'the owner gone');
    const dep = await find('orphan-dep');
    assert.ok(dep, 'the dependent stays');
    assert.equal(dep.metadata.ownerReferences, undefined);
  });

  it('holds the owner until its dependents are gone with --cascade=foreground', async () => {
    await dependent('fg-dep', [{ name: 'fg-owner', uid: await owner('fg-owner') }], true);
    await ok(['delete', 'configmap', 'fg-owner', '--cascade=foreground', '--wait=false']);
    await eventually(async () => (await find('fg-dep'))?.metadata.deletionTimestamp, 20_000, 'the dependent being deleted');
    const held = await find('fg-owner');
    assert.ok(held?.metadata.deletionTimestamp, 'the owner waits');
    assert.ok(held.metadata.finalizers?.includes('foregroundDeletion'));
    await fleet.client.request('PATCH', path('fg-dep'), { contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } });
    await eventually(async () => !(await find('fg-dep')) && !(await find('fg-owner')), 20_000, 'both gone');
  });

  it('collects an object whose owner is already gone, and drops a reference to one gone owner among others', async () => {
    await dependent('dangling', [{ name: 'never-was', uid: '00000000-0000-0000-0000-000000000000' }]);
    await eventually(async () => !(await find('dangling')), 20_000, 'the dangling dependent collected');
    const keep = await owner('keep-owner');
    const goneUid = await owner('gone-owner');
    await dependent('two-owners', [
      { name: 'keep-owner', uid: keep },
      { name: 'gone-owner', uid: goneUid },
    ]);
    await ok(['delete', 'configmap', 'gone-owner']);
    await eventually(async () => (await find('two-owners'))?.metadata.ownerReferences?.length === 1, 20_000, 'one reference left');
    assert.equal((await find('two-owners'))?.metadata.ownerReferences?.[0]?.name, 'keep-owner');
    const bad = await fleet.client
      .request('DELETE', path('keep-owner'), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Sideways' } })
      .then(
        () => undefined,
        (err: unknown) => err as { code: number; message: string },
      );
    assert.equal(bad?.code, 400);
    assert.match(bad?.message ?? '', /propagationPolicy must be one of "Orphan", "Background" or "Foreground"/);
  });

  // The collector does not read the owners of a new dependent that it has just seen exist (LiveObjects): what it knows
  // of them must be as exact as a read — their uid under the name and in the namespace the reference says, not gone.
  it('collects a new dependent whose owner was seen and is gone, or is named wrongly, and keeps one named rightly', async () => {
    const goneUid = await owner('seen-then-gone');
    await ok(['delete', 'configmap', 'seen-then-gone']);
    await eventually(async () => !(await find('seen-then-gone')), 20_000, 'the owner gone');
    await dependent('after-owner-gone', [{ name: 'seen-then-gone', uid: goneUid }]);

    const liveUid = await owner('live-owner');
    await dependent('wrong-name', [{ name: 'not-live-owner', uid: liveUid }]);
    await ok(['create', 'namespace', 'elsewhere']);
    await ok(['create', 'configmap', 'other-ns-owner', '-n', 'elsewhere', '--from-literal=role=owner']);
    const otherUid = (await fleet.client.get<Cm>('/api/v1/namespaces/elsewhere/configmaps/other-ns-owner')).metadata.uid;
    await dependent('other-namespace', [{ name: 'other-ns-owner', uid: otherUid }]);
    await dependent('right-name', [{ name: 'live-owner', uid: liveUid }]);

    await eventually(
      async () => !(await find('after-owner-gone')) && !(await find('wrong-name')) && !(await find('other-namespace')),
      20_000,
      'the dependents without an owner collected',
    );
    // Collected after the others were written: had it been going, it would have gone by now.
    assert.ok(await find('right-name'), 'the dependent of a live owner stays');
    assert.ok(await find('live-owner'));
  });
});
