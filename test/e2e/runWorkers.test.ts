/**
 * Pipeline runs spread over replicas (#22): runs are claimed through the database by any replica that runs
 * pipelines (`--role all|worker`); kill -9 of a worker while its steps run: its runs are taken over once their claim
 * has gone unrenewed, each resource ends with exactly one successful run, and none is recorded twice.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { eventually } from '../helpers/fleet.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import type { FleetProcess } from '../helpers/process.ts';
import { startPostgresReplicas, type PostgresReplicas } from '../helpers/replicas.ts';
import { testPromise } from '../helpers/promises.ts';
import { decodeWorkload } from '../../src/lib/workloads.ts';

const KRATIX = '/apis/platform.kratix.io/v1alpha1';
const SLOWS = '/apis/test.fleetops.dev/v1/namespaces/default/slows';
const RUNS = '/apis/fleetops.dev/v1alpha1/namespaces/default/workflowruns';
const N = 6;

interface Run extends KubeObject {
  spec: { object: { name: string } };
  status?: { phase?: string; claim?: { holder?: string; attempt?: number } };
}

describe('pipeline runs on worker replicas', () => {
  let replicas: PostgresReplicas;
  const replica = (name: string, role: 'all' | 'api' | 'worker'): Promise<FleetProcess> => replicas.start(name, role);

  before(async () => {
    replicas = await startPostgresReplicas();
  });
  after(async () => {
    await replicas.stop();
  });

  it('takes over the runs of a worker killed mid-run, each resource succeeding once', async () => {
    // The API replica leads and runs no steps; workers run them (steps long enough to be cut short by the kill).
    const api = await replica('api', 'api');
    const w1 = await replica('w1', 'worker');
    const c = api.client;
    const promise = testPromise({
      kind: 'Slow',
      plural: 'slows',
      pipeline: {
        name: 'slow',
        spec: { containers: [{ name: 'slow', image: TEST_IMAGE, command: ['sh', '-c', 'sleep 20; echo "done: true" > /kratix/metadata/status.yaml'] }] },
      },
    });
    await c.request('POST', `${KRATIX}/promises`, { body: promise });
    await eventually(() => c.get(SLOWS), 30_000, 'kind served');
    for (let i = 0; i < N; i++)
      await c.request('POST', SLOWS, { body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Slow', metadata: { name: `s-${i}` }, spec: {} } });
    // w1 takes the runs (the only worker yet); w2 comes up, then w1 dies mid-run: w2 can have them only by take-over.
    const running = await eventually(
      async () => {
        const runs = (await c.get<{ items: Run[] }>(RUNS)).items;
        const onW1 = runs.filter((r) => r.status?.phase === 'Running' && r.status.claim?.holder?.includes(`-${w1.child.pid}-`));
        return onW1.length ? onW1 : undefined;
      },
      60_000,
      'runs under way on the first worker',
    );
    const w2 = await replica('w2', 'worker');
    const holderOf = (r: Run): FleetProcess | undefined => [api, w1, w2].find((f) => r.status?.claim?.holder?.includes(`-${f.child.pid}-`));
    assert.equal((await c.get<{ items: Run[] }>(RUNS)).items.filter((r) => holderOf(r) === api).length, 0, 'the api replica runs no steps');
    await w1.kill('SIGKILL');
    const taken = running.map((r) => r.metadata.name);

    await eventually(
      async () => (await c.get<{ items: { status?: { done?: boolean } }[] }>(SLOWS)).items.filter((s) => s.status?.done === true).length === N,
      120_000,
      'every resource done',
    );
    const runs = (await c.get<{ items: Run[] }>(RUNS)).items;
    for (const name of taken) {
      const run = runs.find((r) => r.metadata.name === name);
      assert.equal(run?.status?.phase, 'Succeeded', `${name} finished after the take-over`);
      assert.equal(holderOf(run!)?.child.pid, w2.child.pid, `${name} finished by the surviving worker`);
      assert.equal(run?.status?.claim?.attempt, 2, `${name} taken over once`);
    }
    const succeeded = new Map<string, number>();
    for (const r of runs) if (r.status?.phase === 'Succeeded') succeeded.set(r.spec.object.name, (succeeded.get(r.spec.object.name) ?? 0) + 1);
    assert.deepEqual(
      Array.from({ length: N }, (_, i) => succeeded.get(`s-${i}`)),
      Array.from({ length: N }, () => 1),
      'exactly one successful run per resource',
    );
  });
  it('refuses the result of a run whose spec changed while its leader was gone', async () => {
    // A second API replica to take over; the first leads now (it started first) and goes mid-run.
    const api2 = await replica('api2', 'api');
    const [api, , w2] = replicas.fleets as [FleetProcess, FleetProcess, FleetProcess];
    const c = api2.client;
    const KEEPS = '/apis/test.fleetops.dev/v1/namespaces/default/keeps';
    const promise = testPromise({
      kind: 'Keep',
      plural: 'keeps',
      pipeline: {
        name: 'keep',
        spec: {
          containers: [
            {
              name: 'keep',
              image: TEST_IMAGE,
              command: [
                'sh',
                '-c',
                'if grep -q "value: old" /kratix/input/object.yaml; then sleep 40; fi; grep "value:" /kratix/input/object.yaml > /kratix/output/value.yaml',
              ],
            },
          ],
        },
      },
    });
    await c.request('POST', `${KRATIX}/promises`, { body: promise });
    await eventually(() => c.get(KEEPS), 30_000, 'kind served');
    await c.request('POST', KEEPS, { body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Keep', metadata: { name: 'k' }, spec: { value: 'old' } } });
    const old = await eventually(
      async () =>
        (await c.get<{ items: Run[] }>(RUNS)).items.find(
          (r) => r.spec.object.name === 'k' && r.status?.phase === 'Running' && r.status.claim?.holder?.includes(`-${w2.child.pid}-`),
        ),
      60_000,
      'the old spec running on the worker',
    );
    await api.kill('SIGKILL');
    await c.request('PATCH', `${KEEPS}/k`, { contentType: 'application/merge-patch+json', body: { spec: { value: 'new' } } });
    await eventually(
      async () => (await c.get<Run>(`${RUNS}/${old.metadata.name}`)).status?.phase === 'Failed',
      60_000,
      'the old run superseded by the new leader',
    );
    // The Work's files, as the state stores will write them.
    const workFiles = async (): Promise<string> => {
      const works = await c.get<{ items: { spec?: { workloadGroups?: { workloads?: { content?: string }[] }[] } }[] }>(
        '/apis/platform.kratix.io/v1alpha1/namespaces/default/works?labelSelector=kratix.io%2Fpromise-name%3Dkeep',
      );
      const contents = works.items.flatMap((w) => (w.spec?.workloadGroups ?? []).flatMap((g) => (g.workloads ?? []).map((x) => x.content ?? '')));
      return contents.map((x) => decodeWorkload(x).toString('utf8')).join('\n');
    };
    await eventually(async () => (await workFiles()).includes('value: new'), 90_000, 'the Work of the new spec');
    // Past the old step's 40 s (the leader take-over needs 15 s of them): its result is not recorded over the new one.
    await new Promise((r) => setTimeout(r, 40_000));
    assert.equal((await c.get<Run>(`${RUNS}/${old.metadata.name}`)).status?.phase, 'Failed');
    assert.match(await workFiles(), /value: new/, 'the Work keeps the new spec');
    assert.doesNotMatch(await workFiles(), /value: old/);
  });
});
