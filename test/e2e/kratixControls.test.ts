/**
 * Kratix's reconciliation labels, as a platform team uses them with kubectl: `kratix.io/paused` on a resource or on
 * its Promise stops new workflows (Reconciled Unknown PausedReconciliation) until removed, after which the workflow
 * runs from the start; `kratix.io/reconcile-resources` on a Promise runs every resource's workflow once more and is
 * removed; a workflow that suspends itself (workflow-control.yaml) labels its resource `kratix.io/workflow-suspended`
 * and resumes when the label is removed, and a delete workflow that suspends holds the teardown likewise. Runs are
 * counted from the WorkflowRuns FleetOps records for each resource.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, installPromise, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { kubectlFor, type Kubectl } from '../helpers/kubectl.ts';
import { testPromise } from '../helpers/promises.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { metricTotal } from '../../src/telemetry/metrics.ts';

const promise = testPromise({
  kind: 'Lamp',
  plural: 'lamps',
  specProperties: { size: { type: 'integer' } },
  pipeline: {
    name: 'light',
    spec: {
      containers: [
        {
          name: 'light',
          image: TEST_IMAGE,
          command: [
            'sh',
            '-c',
            'echo "lit: true" > /kratix/metadata/status.yaml; printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: $KRATIX_OBJECT_NAME}\\n" > /kratix/output/lamp.yaml',
          ],
        },
      ],
    },
  },
});

interface Lamp {
  metadata: { labels?: Record<string, string> };
  status?: { lit?: boolean; message?: string; conditions?: { type: string; status: string; reason: string }[]; kratix?: { workflows?: { phase?: string } } };
}

/** WorkflowRuns FleetOps recorded for a resource in namespace default. */
async function runsOf(fleet: TestFleet, name: string, pipeline?: string): Promise<number> {
  const runs = await fleet.client.get<{ items: unknown[] }>('/apis/fleetops.dev/v1alpha1/namespaces/default/workflowruns', {
    query: { labelSelector: `kratix.io/resource-name=${name}${pipeline ? `,kratix.io/pipeline-name=${pipeline}` : ''}` },
  });
  return runs.items.length;
}

/** Runs kubectl and asserts it succeeded. */
async function succeeds(kubectl: Kubectl, args: string[]): Promise<void> {
  const r = await kubectl(args);
  assert.equal(r.code, 0, r.stderr);
}

describe('Kratix reconciliation labels', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;

  const lamp = (name: string): Promise<Lamp> => fleet.client.get<Lamp>(`/apis/test.fleetops.dev/v1/namespaces/default/lamps/${name}`);
  const runs = (name: string): Promise<number> => runsOf(fleet, name);
  const reconciled = async (name: string): Promise<{ status: string; reason: string } | undefined> =>
    (await lamp(name)).status?.conditions?.find((c) => c.type === 'Reconciled');
  const succeeded = async (name: string): Promise<boolean> => (await lamp(name)).status?.kratix?.workflows?.phase === 'Succeeded';
  const create = async (name: string, labels: Record<string, string> = {}, size = 1): Promise<void> => {
    await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/lamps', {
      body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Lamp', metadata: { name, labels }, spec: { size } },
    });
  };
  const ok = (args: string[]): Promise<void> => succeeds(kubectl, args);

  before(async () => {
    fleet = await startTestFleet();
    kubectl = kubectlFor(fleet.kubeconfigPath);
    await installPromise(fleet, promise);
  });
  after(() => fleet?.cleanup());

  it('runs no workflow for a paused resource until the label goes, then runs it from the start', async () => {
    await create('paused-one', { 'kratix.io/paused': 'true' });
    await create('free-one');
    await eventually(() => succeeded('free-one'), 30_000, 'the unpaused lamp lit');
    await eventually(async () => (await reconciled('paused-one'))?.reason === 'PausedReconciliation', 30_000, 'the paused lamp says so');
    assert.equal((await reconciled('paused-one'))?.status, 'Unknown');
    assert.match(String((await lamp('paused-one')).status?.message), /Paused: the resource is labelled kratix.io\/paused=true/);
    assert.equal(await runs('paused-one'), 0);

    await ok(['label', 'lamps', 'paused-one', 'kratix.io/paused-']);
    await eventually(() => succeeded('paused-one'), 30_000, 'the lamp lit once unpaused');
    assert.equal(await runs('paused-one'), 1);
    assert.equal((await lamp('paused-one')).status?.lit, true);

    // Paused again, its spec changes: nothing runs; unpaused, it runs with the new spec.
    await ok(['label', 'lamps', 'paused-one', 'kratix.io/paused=true']);
    await ok(['patch', 'lamps', 'paused-one', '--type=merge', '-p', '{"spec":{"size":2}}']);
    await eventually(async () => (await reconciled('paused-one'))?.reason === 'PausedReconciliation', 30_000, 'paused again');
    assert.equal(await runs('paused-one'), 1);
    await ok(['label', 'lamps', 'paused-one', 'kratix.io/paused-']);
    await eventually(async () => (await runs('paused-one')) === 2 && (await succeeded('paused-one')), 30_000, 'the second run');
  });

  it('pauses every resource of a paused Promise, and resumes them when unpaused', async () => {
    await ok(['label', 'promise', 'lamp', 'kratix.io/paused=true']);
    await create('during-pause');
    await eventually(async () => (await reconciled('during-pause'))?.reason === 'PausedReconciliation', 30_000, 'a new lamp waits');
    await eventually(async () => (await reconciled('free-one'))?.reason === 'PausedReconciliation', 30_000, 'an existing lamp is paused too');
    assert.match(String((await lamp('during-pause')).status?.message), /Promise lamp is labelled/);
    assert.equal(await runs('during-pause'), 0);
    // The Promise itself says it is paused: not Available, reason PausedReconciliation, as Kratix says it.
    type PromiseStatus = { status?: { status?: string; conditions?: { type: string; status: string; reason: string }[] } };
    const available = async (): Promise<{ status: string; reason: string } | undefined> =>
      (await fleet.client.get<PromiseStatus>('/apis/platform.kratix.io/v1alpha1/promises/lamp')).status?.conditions?.find((c) => c.type === 'Available');
    await eventually(async () => (await available())?.reason === 'PausedReconciliation', 30_000, 'the Promise paused');
    assert.equal((await available())?.status, 'False');
    const before = await runs('free-one');

    await ok(['label', 'promise', 'lamp', 'kratix.io/paused-']);
    await eventually(async () => (await available())?.status === 'True', 30_000, 'the Promise available again');
    await eventually(() => succeeded('during-pause'), 30_000, 'the new lamp lit');
    await eventually(async () => (await runs('free-one')) === before + 1 && (await succeeded('free-one')), 30_000, 'the existing lamp ran from the start');
  });

  it('runs every resource once more for kratix.io/reconcile-resources, and removes the label', async () => {
    const names = ['free-one', 'paused-one', 'during-pause'];
    for (const n of names) await eventually(() => succeeded(n), 30_000, `${n} settled`);
    const before = new Map(await Promise.all(names.map(async (n) => [n, await runs(n)] as const)));
    await ok(['label', 'promise', 'lamp', 'kratix.io/reconcile-resources=true']);
    await eventually(
      async () => !(await fleet.client.get<Lamp>('/apis/platform.kratix.io/v1alpha1/promises/lamp')).metadata.labels?.['kratix.io/reconcile-resources'],
      30_000,
      'the Promise label removed',
    );
    for (const n of names) {
      await eventually(async () => (await runs(n)) === before.get(n)! + 1 && (await succeeded(n)), 30_000, `${n} ran once more`);
      assert.equal((await lamp(n)).metadata.labels?.['kratix.io/manual-reconciliation'], undefined, `${n}'s manual label is gone`);
    }
    // Once: nothing more is queued after the runs (the resource controller settles with one run each).
    await fleet.controllers.resources.controller.idle();
    for (const n of names) assert.equal(await runs(n), before.get(n)! + 1, `${n} ran exactly once more`);
  });

  it('dry-runs one resource (inline or existing) and returns its outputs without writing anything', async () => {
    const dryRun = (name: string, spec: Record<string, unknown>): string =>
      JSON.stringify({
        apiVersion: 'platform.kratix.io/v1alpha1',
        kind: 'DryRun',
        metadata: { name, namespace: 'default' },
        spec: { promiseRef: { name: 'lamp' }, ...spec },
      });
    const phase = async (
      name: string,
    ): Promise<{ phase?: string; message?: string; outputs?: { path: string; content: string }[]; status?: { lit?: boolean }; changes?: string[] }> =>
      (await fleet.client.get<{ status?: Record<string, never> }>(`/apis/platform.kratix.io/v1alpha1/namespaces/default/dryruns/${name}`)).status ?? {};
    const worksBefore = (await fleet.client.get<{ items: unknown[] }>('/apis/platform.kratix.io/v1alpha1/namespaces/default/works')).items.length;
    const runsBefore = await runs('free-one');

    let r = await kubectl(['apply', '-f', '-'], {
      input: dryRun('preview', { resource: { apiVersion: 'test.fleetops.dev/v1', kind: 'Lamp', metadata: { name: 'preview' }, spec: { size: 3 } } }),
    });
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => (await phase('preview')).phase === 'Complete', 30_000, 'the inline dry run complete');
    const inline = await phase('preview');
    assert.equal(inline.status?.lit, true);
    assert.deepEqual(
      inline.outputs?.map((o) => o.path),
      ['lamp.yaml'],
    );
    assert.match(inline.outputs?.[0]?.content ?? '', /name: preview/);
    assert.notEqual((await kubectl(['get', 'lamps', 'preview'])).code, 0, 'no Lamp was created');
    assert.equal(await runs('preview'), 0, 'no WorkflowRun');

    r = await kubectl(['apply', '-f', '-'], { input: dryRun('existing', { resourceRequestRef: { name: 'free-one', namespace: 'default' } }) });
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => (await phase('existing')).phase === 'Complete', 30_000, 'the dry run of an existing lamp complete');
    assert.deepEqual((await phase('existing')).changes, [], 'the same workflows change nothing');
    assert.equal(await runs('free-one'), runsBefore, 'the existing lamp did not run');
    assert.equal(
      (await fleet.client.get<{ items: unknown[] }>('/apis/platform.kratix.io/v1alpha1/namespaces/default/works')).items.length,
      worksBefore,
      'no Work written',
    );

    r = await kubectl(['apply', '-f', '-'], { input: dryRun('elsewhere', { resourceRequestRef: { name: 'x', namespace: 'kube-system' } }) });
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => (await phase('elsewhere')).phase === 'Failed', 30_000, 'a dry run outside its namespace refused');
    assert.match(String((await phase('elsewhere')).message), /must be the DryRun's own namespace/);
    r = await kubectl(['apply', '-f', '-'], {
      input: dryRun('invalid', { resource: { apiVersion: 'test.fleetops.dev/v1', kind: 'Lamp', metadata: { name: 'bad' }, spec: { size: 'big' } } }),
    });
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => (await phase('invalid')).phase === 'Failed', 30_000, 'an invalid inline resource refused');
    assert.match(String((await phase('invalid')).message), /not a valid Lamp/);
  });
});

/** A gate: its configure step suspends until annotated gate=approved, its delete step until teardown=approved. */
const gatePromise = testPromise({
  kind: 'Gate',
  plural: 'gates',
  pipeline: {
    name: 'open',
    spec: {
      containers: [
        {
          name: 'open',
          image: TEST_IMAGE,
          command: [
            'sh',
            '-c',
            'if grep -q "gate: approved" /kratix/input/object.yaml; then echo "opened: true" > /kratix/metadata/status.yaml; ' +
              'else printf "suspend: true\\nmessage: waiting for approval\\n" > /kratix/metadata/workflow-control.yaml; fi',
          ],
        },
      ],
    },
  },
});
const gateWorkflows = (gatePromise.spec as { workflows: { resource: Record<string, unknown[]> } }).workflows.resource;
// A first pipeline before the one that suspends: a resumed workflow does not run it again (Kratix resumes from the
// suspended pipeline).
gateWorkflows.configure!.unshift({
  apiVersion: 'platform.kratix.io/v1alpha1',
  kind: 'Pipeline',
  metadata: { name: 'prepare' },
  spec: { containers: [{ name: 'prepare', image: TEST_IMAGE, command: ['sh', '-c', 'echo "prepared: true" > /kratix/metadata/status.yaml'] }] },
});
gateWorkflows.delete = [
  {
    apiVersion: 'platform.kratix.io/v1alpha1',
    kind: 'Pipeline',
    metadata: { name: 'close' },
    spec: {
      containers: [
        {
          name: 'close',
          image: TEST_IMAGE,
          command: ['sh', '-c', 'grep -q "teardown: approved" /kratix/input/object.yaml || printf "suspend: true\\n" > /kratix/metadata/workflow-control.yaml'],
        },
      ],
    },
  },
];

interface Gate {
  metadata: { labels?: Record<string, string> };
  status?: {
    opened?: boolean;
    prepared?: boolean;
    conditions?: { type: string; status: string; reason: string }[];
    kratix?: { workflows?: { phase?: string } };
  };
}

describe('workflows that suspend themselves', () => {
  let fleet: TestFleet;
  let kubectl: Kubectl;
  const path = '/apis/test.fleetops.dev/v1/namespaces/default/gates';
  const gate = (name: string): Promise<Gate> => fleet.client.get<Gate>(`${path}/${name}`);
  const condition = async (name: string, type: string): Promise<string | undefined> =>
    (await gate(name)).status?.conditions?.find((c) => c.type === type)?.reason;
  const runs = (name: string, pipeline?: string): Promise<number> => runsOf(fleet, name, pipeline);
  const ok = (args: string[]): Promise<void> => succeeds(kubectl, args);

  before(async () => {
    fleet = await startTestFleet();
    kubectl = kubectlFor(fleet.kubeconfigPath);
    await installPromise(fleet, gatePromise);
  });
  after(() => fleet?.cleanup());

  it('labels a suspended configure workflow and resumes it when the label is removed', async () => {
    await fleet.client.request('POST', path, { body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Gate', metadata: { name: 'g1' }, spec: {} } });
    await eventually(async () => (await gate('g1')).metadata.labels?.['kratix.io/workflow-suspended'] === 'true', 30_000, 'the suspended label');
    assert.equal(await condition('g1', 'Reconciled'), 'WorkflowSuspended');
    assert.equal((await gate('g1')).status?.kratix?.workflows?.phase, 'Suspended');
    assert.equal(await runs('g1'), 2);
    // Approval alone does not resume it (the workflow waits for its label's removal).
    await ok(['annotate', 'gates', 'g1', 'gate=approved']);
    await ok(['label', 'gates', 'g1', 'kratix.io/workflow-suspended-']);
    await eventually(async () => (await gate('g1')).status?.kratix?.workflows?.phase === 'Succeeded', 30_000, 'the resumed workflow done');
    assert.equal((await gate('g1')).status?.opened, true);
    assert.equal((await gate('g1')).metadata.labels?.['kratix.io/workflow-suspended'], undefined);
    // Resumed from the suspended pipeline: `open` ran again, `prepare` did not, and its status is kept.
    assert.equal(await runs('g1', 'open'), 2);
    assert.equal(await runs('g1', 'prepare'), 1);
    assert.equal((await gate('g1')).status?.prepared, true);
  });

  it('holds the teardown while the delete workflow is suspended, until its label is removed', async () => {
    await ok(['delete', 'gates', 'g1', '--wait=false']);
    await eventually(async () => (await condition('g1', 'DeleteWorkflowCompleted')) === 'DeleteWorkflowSuspended', 30_000, 'the delete workflow suspended');
    assert.equal((await gate('g1')).metadata.labels?.['kratix.io/workflow-suspended'], 'true');
    await ok(['annotate', 'gates', 'g1', 'teardown=approved']);
    // Still held: the annotation changes nothing until the label goes.
    assert.equal(await condition('g1', 'DeleteWorkflowCompleted'), 'DeleteWorkflowSuspended');
    await ok(['label', 'gates', 'g1', 'kratix.io/workflow-suspended-']);
    await eventually(async () => (await kubectl(['get', 'gates', 'g1'])).code !== 0, 30_000, 'the gate deleted');
  });

  it('runs a failing pipeline again up to jobOptions.backoffLimit times before the failure counts', async () => {
    const flaky = testPromise({
      kind: 'Flaky',
      plural: 'flakies',
      pipeline: {
        name: 'wobble',
        spec: { jobOptions: { backoffLimit: 2 }, containers: [{ name: 'wobble', image: TEST_IMAGE, command: ['sh', '-c', 'exit 7'] }] },
      },
    });
    const invalid = structuredClone(flaky);
    invalid.metadata.name = 'flaky-invalid';
    const pipelines = (invalid.spec as { workflows: { resource: { configure: { spec: { jobOptions: unknown } }[] } } }).workflows.resource.configure;
    pipelines[0]!.spec.jobOptions = { backoffLimit: -1 };
    const refused = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(invalid) });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /jobOptions\.backoffLimit: Invalid value: -1: must be a non-negative integer/);

    await installPromise(fleet, flaky);
    await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/flakies', {
      body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Flaky', metadata: { name: 'f1' }, spec: {} },
    });
    const failed = async (): Promise<string | undefined> =>
      (
        await fleet.client.get<{ status?: { kratix?: { workflows?: { phase?: string; message?: string } } } }>(
          '/apis/test.fleetops.dev/v1/namespaces/default/flakies/f1',
        )
      ).status?.kratix?.workflows?.phase === 'Failed'
        ? 'failed'
        : undefined;
    await eventually(failed, 30_000, 'the workflow failed');
    // Three runs of the pipeline (one and two more), counted where the runner counts them.
    const runsOf = (): Promise<number> => metricTotal('fleetops_pipeline_runs_total', { promise: 'flaky', result: 'failed' });
    assert.ok((await runsOf()) >= 3, `runs ${await runsOf()}`);
    const message = (
      await fleet.client.get<{ status?: { kratix?: { workflows?: { message?: string } } } }>('/apis/test.fleetops.dev/v1/namespaces/default/flakies/f1')
    ).status?.kratix?.workflows?.message;
    assert.match(String(message), /after 3 attempts: jobOptions\.backoffLimit 2/);
  });
});
