/**
 * Kratix HealthRecords feed the resource's status.healthStatus (worst state wins, deleted records drop out), and a
 * rollout with `requireHealthy` counts a resource as updated only on health observed after its run on the new
 * revision: stale health holds it, fresh healthy completes it, fresh unhealthy spends the failure budget and halts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { testPromise } from '../helpers/promises.ts';

const PATH = '/apis/test.fleetops.dev/v1/namespaces/default/probes';

interface Probe {
  status?: {
    healthStatus?: { state: string; healthRecords: { source: { name: string } }[] };
    kratix?: { workflows?: { revision?: number; phase?: string } };
  };
}

function promise(version: string): string {
  const p = testPromise({
    kind: 'Probe',
    plural: 'probes',
    pipeline: {
      name: 'render',
      spec: {
        containers: [{ name: 'render', image: TEST_IMAGE, command: ['/bin/sh', '-c', `echo "kind: ConfigMap\nv: ${version}" > /kratix/output/cm.yaml`] }],
      },
    },
  });
  p.metadata.annotations = { 'fleetops.dev/rollout-strategy': 'maxConcurrent: 0\nfailureBudget: 0\nrequireHealthy: true\n' };
  return stringify(p);
}

function record(name: string, resource: string, state: string, lastRun: number): string {
  return stringify({
    apiVersion: 'platform.kratix.io/v1alpha1',
    kind: 'HealthRecord',
    metadata: { name, namespace: 'default' },
    data: { promiseRef: { name: 'probe' }, resourceRef: { name: resource, namespace: 'default' }, state, lastRun },
  });
}

describe('health', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  const apply = async (yaml: string): Promise<void> => {
    const r = await kubectl(['apply', '-f', '-'], { input: yaml });
    assert.equal(r.code, 0, r.stderr);
  };
  const probe = (name: string): Promise<Probe> => fleet.client.get<Probe>(`${PATH}/${name}`);
  const rolloutPhase = async (revision: number): Promise<string | undefined> =>
    (await fleet.client.get<{ status?: { phase?: string } }>(`/apis/fleetops.dev/v1alpha1/rollouts/probe-r${revision}`).catch(() => undefined))?.status?.phase;
  const onRevision = (revision: number) => async (): Promise<boolean> => {
    for (const n of ['p1', 'p2', 'p3']) {
      const wf = (await probe(n)).status?.kratix?.workflows;
      if (wf?.revision !== revision || wf.phase !== 'Succeeded') return false;
    }
    return true;
  };
  // A check's time in whole seconds, later than any run that has finished by now (runs end in the past).
  const nowSeconds = (): number => Math.floor(Date.now() / 1000) + 1;

  before(async () => {
    fleet = await startTestFleet({ defaultDestinations: true });
    kubectl = kubectlFor(fleet.kubeconfigPath);
    await apply(promise('v1'));
    await eventually(async () => (await kubectl(['get', 'probes'])).code === 0, 20_000, 'kind served');
    for (const n of ['p1', 'p2', 'p3']) await apply(`apiVersion: test.fleetops.dev/v1\nkind: Probe\nmetadata:\n  name: ${n}\n  namespace: default\nspec: {}\n`);
    await eventually(onRevision(1), 60_000, 'first runs');
  });
  after(async () => fleet.cleanup());

  it("lists a resource's HealthRecords in its status, the worst state winning", async () => {
    await apply(record('p1-check', 'p1', 'healthy', nowSeconds()));
    await eventually(async () => (await probe('p1')).status?.healthStatus?.state === 'healthy', 20_000, 'healthy');
    await apply(record('p1-disk', 'p1', 'degraded', nowSeconds()));
    await eventually(async () => (await probe('p1')).status?.healthStatus?.state === 'degraded', 20_000, 'degraded wins');
    assert.deepEqual((await probe('p1')).status?.healthStatus?.healthRecords.map((r) => r.source.name).sort(), ['p1-check', 'p1-disk']);
    assert.match((await kubectl(['get', 'healthrecords'])).stdout, /p1-disk\s+degraded\s+p1/);
    const r = await kubectl(['delete', 'healthrecord', 'p1-disk', '--timeout=30s']);
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => (await probe('p1')).status?.healthStatus?.state === 'healthy', 20_000, 'the deleted record drops out');
    const events = await kubectl(['get', 'events', '--field-selector', 'reason=HealthRecord', '-o', 'jsonpath={.items[*].message}']);
    assert.match(events.stdout, /health is degraded/);
  });

  it('completes a requireHealthy rollout only on health observed after the new runs', async () => {
    await apply(promise('v2'));
    await eventually(onRevision(2), 60_000, 'runs on revision 2');
    // p1's health is from before its new run: it does not count; nor does no health at all.
    await eventually(async () => (await rolloutPhase(2)) === 'Progressing', 20_000, 'rollout waiting for health');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await rolloutPhase(2), 'Progressing');
    for (const n of ['p1', 'p2', 'p3']) await apply(record(`${n}-check`, n, 'healthy', nowSeconds()));
    await eventually(async () => (await rolloutPhase(2)) === 'Complete', 30_000, 'rollout complete');
  });

  it('halts at the failure budget when the new revision reports unhealthy', async () => {
    // No health carried over from the previous rollout: this one waits for checks of its own runs.
    const del = await kubectl(['delete', 'healthrecords', '--all', '--timeout=30s']);
    assert.equal(del.code, 0, del.stderr);
    await eventually(async () => !(await probe('p1')).status?.healthStatus, 20_000, 'health cleared');
    await apply(promise('v3'));
    await eventually(onRevision(3), 60_000, 'runs on revision 3');
    await apply(record('p2-check', 'p2', 'unhealthy', nowSeconds()));
    for (const n of ['p1', 'p3']) await apply(record(`${n}-check`, n, 'healthy', nowSeconds()));
    await eventually(async () => (await rolloutPhase(3)) === 'Halted', 30_000, 'rollout halted');
    const status = await fleet.client.get<{ status: { message: string } }>('/apis/fleetops.dev/v1alpha1/rollouts/probe-r3');
    assert.match(status.status.message, /1 resources failed, more than the failure budget of 0/);
  });
});
