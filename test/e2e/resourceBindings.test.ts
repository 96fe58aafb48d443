/**
 * Kratix's ResourceBindings over FleetOps' revisions, with the real kubectl: one binding per resource, following
 * `latest`; a resource pinned to a version stays on it while a rollout moves the others; changing its binding
 * upgrades just that resource; an unknown version is reported; a binding goes with its resource.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { testPromise } from '../helpers/promises.ts';

const WIDGETS = '/apis/test.fleetops.dev/v1/namespaces/default/widgets';
const BINDINGS = '/apis/platform.kratix.io/v1alpha1/namespaces/default/resourcebindings';

interface Binding {
  spec: { version: string };
  status?: { lastAppliedVersion?: string; failedVersion?: string; conditions?: { type: string; status: string; reason: string }[] };
}

/** `note`: a shell comment after the step's command, which changes the Promise's workflows but not its version. */
function promise(version: string, strategy = '', note = ''): string {
  const p = testPromise({
    kind: 'Widget',
    plural: 'widgets',
    pipeline: {
      name: 'render',
      spec: { containers: [{ name: 'render', image: TEST_IMAGE, command: ['/bin/sh', '-c', `echo "ran: ${version}" > /kratix/metadata/status.yaml${note}`] }] },
    },
  });
  p.metadata.labels = { 'kratix.io/promise-version': version };
  p.metadata.annotations = { 'fleetops.dev/rollout-strategy': `maxConcurrent: 0\n${strategy}` };
  return stringify(p);
}

describe('ResourceBindings', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await kubectl(args, input !== undefined ? { input } : {});
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const ran = async (name: string): Promise<string | undefined> => (await fleet.client.get<{ status?: { ran?: string } }>(`${WIDGETS}/${name}`)).status?.ran;
  const binding = (name: string): Promise<Binding> => fleet.client.get<Binding>(`${BINDINGS}/${name}-widget`);
  const pin = (name: string, version: string): Promise<string> =>
    ok(['patch', 'resourcebinding', `${name}-widget`, '--type=merge', '-p', JSON.stringify({ spec: { version } })]);

  before(async () => {
    fleet = await startTestFleet();
    kubectl = kubectlFor(fleet.kubeconfigPath);
    await ok(['apply', '-f', '-'], promise('v1'));
    await eventually(async () => (await kubectl(['get', 'widgets'])).code === 0, 20_000, 'kind served');
    for (const n of ['w1', 'w2', 'w3'])
      await ok(['apply', '-f', '-'], `apiVersion: test.fleetops.dev/v1\nkind: Widget\nmetadata:\n  name: ${n}\n  namespace: default\nspec: {}\n`);
    await eventually(async () => (await Promise.all(['w1', 'w2', 'w3'].map(ran))).every((v) => v === 'v1'), 60_000, 'every Widget on v1');
  });
  after(async () => fleet.cleanup());

  it('makes one binding per resource, following latest, and shows the version it runs', async () => {
    await eventually(async () => (await binding('w3').catch(() => undefined))?.status?.lastAppliedVersion === 'v1', 20_000, 'bindings with their version');
    const table = await ok(['get', 'resourcebindings']);
    assert.match(table, /^w1-widget\s+widget\s+w1\s+latest\s+v1/m);
    assert.match(table, /^w2-widget\s+widget\s+w2\s+latest\s+v1/m);
  });

  it("writes a new request's binding twice: created, then with the version the resource ran (nothing empty between)", async () => {
    const events: { type: string; status?: Binding['status'] }[] = [];
    const stop = new AbortController();
    // From the list's version: nothing written after it is missed, however long the watch takes to open.
    const from = (await fleet.client.get<{ metadata: { resourceVersion: string } }>(BINDINGS)).metadata.resourceVersion;
    const watching = fleet.client.watch(
      BINDINGS,
      { fieldSelector: 'metadata.name=wx-widget', resourceVersion: from },
      (e) => events.push({ type: e.type, ...(e.object as Binding) }),
      stop.signal,
    );
    await ok(['apply', '-f', '-'], 'apiVersion: test.fleetops.dev/v1\nkind: Widget\nmetadata:\n  name: wx\n  namespace: default\nspec: {}\n');
    await eventually(() => events.some((e) => e.status?.lastAppliedVersion === 'v1'), 60_000, 'the binding of wx on v1');
    stop.abort();
    await watching;
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.status?.lastAppliedVersion ?? '-'}`),
      ['ADDED -', 'MODIFIED v1'],
    );
    await ok(['delete', 'widget', 'wx']);
  });

  it('keeps a pinned resource on its version while a rollout moves the others, then upgrades just it', async () => {
    await pin('w1', 'v1');
    await eventually(
      async () => {
        const w = await fleet.client.get<{ metadata: { annotations?: Record<string, string> } }>(`${WIDGETS}/w1`);
        return w.metadata.annotations?.['fleetops.dev/pinned-version'] === 'v1';
      },
      20_000,
      'w1 pinned',
    );
    await ok(['apply', '-f', '-'], promise('v2'));
    await eventually(async () => (await ran('w2')) === 'v2' && (await ran('w3')) === 'v2', 60_000, 'the others on v2');
    const rollout = await eventually(
      async () => {
        const r = await fleet.client.get<{ status?: { phase?: string; total?: number } }>('/apis/fleetops.dev/v1alpha1/rollouts/widget-r2');
        return r.status?.phase === 'Complete' ? r : undefined;
      },
      30_000,
      'the rollout complete',
    );
    assert.equal(rollout.status?.total, 2, 'the pinned resource is not part of the rollout');
    // Kratix's PromiseRevisions, one per version, the current one latest.
    const revisions = await eventually(
      async () => {
        const out = await ok(['get', 'promiserevisions.platform.kratix.io', '-o', 'json']);
        const items = (
          JSON.parse(out) as {
            items: { metadata: { name: string; labels?: Record<string, string> }; spec: { version: string }; status?: { latest?: boolean } }[];
          }
        ).items;
        return items.length === 2 && items.some((i) => i.spec.version === 'v2' && i.status?.latest) ? items : undefined;
      },
      20_000,
      'a Kratix PromiseRevision per version',
    );
    const v1 = revisions.find((i) => i.spec.version === 'v1');
    assert.match(v1?.metadata.name ?? '', /^widget-[0-9a-f]{5}$/);
    assert.equal(v1?.status?.latest, false);
    assert.equal(revisions.find((i) => i.spec.version === 'v2')?.metadata.labels?.['kratix.io/latest-revision'], 'true');
    assert.equal(await ran('w1'), 'v1');
    await eventually(async () => (await binding('w2')).status?.lastAppliedVersion === 'v2', 20_000, 'w2 binding says v2');
    assert.equal((await binding('w1')).status?.lastAppliedVersion, 'v1');
    // Upgrading one binding moves just that resource.
    await pin('w1', 'v2');
    await eventually(async () => (await ran('w1')) === 'v2', 60_000, 'w1 upgraded');
    await eventually(
      async () => {
        const b = await binding('w1');
        return b.status?.lastAppliedVersion === 'v2' && b.status.conditions?.some((c) => c.type === 'UpgradeSucceeded' && c.status === 'True');
      },
      20_000,
      'w1 binding complete',
    );
  });

  it('reports a version no revision has, and goes with its resource', async () => {
    await pin('w2', 'v9');
    const b = await eventually(
      async () => {
        const got = await binding('w2');
        return got.status?.failedVersion === 'v9' ? got : undefined;
      },
      20_000,
      'the failure reported',
    );
    assert.ok(b.status?.conditions?.some((c) => c.type === 'UpgradeSucceeded' && c.status === 'False' && c.reason === 'UpgradeFailed'));
    assert.equal(await ran('w2'), 'v2', 'the resource stays where it was');
    await ok(['delete', 'widget', 'w3']);
    await eventually(async () => !(await binding('w3').catch(() => undefined)), 30_000, 'the binding removed with its resource');
  });

  it('rolls out only to resources whose owners opted in, when the strategy says so', async () => {
    await ok(['apply', '-f', '-'], 'apiVersion: test.fleetops.dev/v1\nkind: Widget\nmetadata:\n  name: w4\n  namespace: default\nspec: {}\n');
    await eventually(async () => (await ran('w4')) === 'v2', 60_000, 'w4 on v2');
    await ok(['label', 'widget', 'w2', 'updates=auto']);
    await ok(['apply', '-f', '-'], promise('v3', 'selector: updates=auto\n'));
    const rollout = await eventually(
      async () => {
        const r = await fleet.client.get<{ status?: { phase?: string; total?: number } }>('/apis/fleetops.dev/v1alpha1/rollouts/widget-r3');
        return r.status?.phase === 'Complete' ? r : undefined;
      },
      60_000,
      'the opt-in rollout complete',
    );
    assert.equal(rollout.status?.total, 1);
    assert.equal(await ran('w2'), 'v3');
    assert.equal(await ran('w4'), 'v2', 'not opted in: stays');
  });

  it("pins new requests to the version they were made at when Kratix's config says so", async () => {
    await ok(['create', 'configmap', 'kratix', '-n', 'kratix-platform-system', '--from-literal=config=resourceBindingVersionStrategy: pinned']);
    await ok(['apply', '-f', '-'], 'apiVersion: test.fleetops.dev/v1\nkind: Widget\nmetadata:\n  name: w5\n  namespace: default\nspec: {}\n');
    const b = await eventually(() => binding('w5').catch(() => undefined), 20_000, 'the binding of a new request');
    assert.equal(b.spec.version, 'v3');
  });

  it('follows a change of that config: new requests are no longer pinned once it says so, nor once it is gone', async () => {
    // A new request after the config is set as `strategy` (undefined: the ConfigMap deleted): the version its binding takes.
    const requestWith = async (name: string, strategy: string | undefined): Promise<string> => {
      if (strategy === undefined) await ok(['delete', 'configmap', 'kratix', '-n', 'kratix-platform-system']);
      else {
        const patch = JSON.stringify({ data: { config: `resourceBindingVersionStrategy: ${strategy}` } });
        await ok(['patch', 'configmap', 'kratix', '-n', 'kratix-platform-system', '--type=merge', '-p', patch]);
      }
      await ok(['apply', '-f', '-'], `apiVersion: test.fleetops.dev/v1\nkind: Widget\nmetadata:\n  name: ${name}\n  namespace: default\nspec: {}\n`);
      return (await eventually(() => binding(name).catch(() => undefined), 20_000, 'the binding of a new request')).spec.version;
    };
    assert.equal(await requestWith('w6', 'latest'), 'latest');
    assert.equal(await requestWith('w7', 'pinned'), 'v3');
    assert.equal(await requestWith('w8', undefined), 'latest');
  });

  it("writes a binding's status back when someone changes it by hand, and again when its resource next runs", async () => {
    const complete = (b: Binding): boolean =>
      b.status?.lastAppliedVersion === 'v3' && (b.status.conditions ?? []).some((c) => c.type === 'UpgradeSucceeded' && c.status === 'True');
    const revision = async (): Promise<number | undefined> =>
      (await fleet.client.get<{ status?: { kratix?: { workflows?: { revision?: number } } } }>(`${WIDGETS}/w6`)).status?.kratix?.workflows?.revision;
    await eventually(async () => complete(await binding('w6')), 20_000, 'w6 binding on v3, upgrade complete');
    const ran = await revision();
    // The status is the controller's to write: a change by someone else (the condition gone, the version left right,
    // which is what the controller may skip reading a binding for) is written back without waiting for a run.
    await ok(['patch', 'resourcebinding', 'w6-widget', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: null } })]);
    await eventually(async () => complete(await binding('w6')), 20_000, "w6 binding's condition written back");
    await ok(['patch', 'resourcebinding', 'w6-widget', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { lastAppliedVersion: 'v0' } })]);
    await eventually(async () => complete(await binding('w6')), 20_000, "w6 binding's version written back");
    assert.equal(await revision(), ran, 'written back without a run');
    // And a run of a new revision of the same version leaves it complete.
    await ok(['label', 'widget', 'w6', 'updates=auto']);
    await ok(['apply', '-f', '-'], promise('v3', 'selector: updates=auto\n', ' # the same version, other workflows'));
    await eventually(async () => (await revision()) === 4, 60_000, 'w6 ran revision 4');
    await eventually(async () => complete(await binding('w6')), 20_000, 'w6 binding complete on revision 4');
  });
});
