/**
 * Kratix's periodic reconciliation: a Promise annotated `kratix.io/reconciliation-interval: 1m` runs each resource's
 * configure workflow again a minute after its last success, with no change to the resource — the real timer, as a
 * platform team relies on it to correct drift. (The decision itself is unit-tested in nextRun.test.ts.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, installPromise, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { testPromise } from '../helpers/promises.ts';
import { TEST_IMAGE } from '../helpers/images.ts';

describe('reconciliation interval', () => {
  let fleet: TestFleet;
  const runs = async (): Promise<string[]> =>
    (
      await fleet.client.get<{ items: { metadata: { creationTimestamp: string } }[] }>('/apis/fleetops.dev/v1alpha1/namespaces/default/workflowruns', {
        query: { labelSelector: 'kratix.io/resource-name=ticker' },
      })
    ).items
      .map((r) => r.metadata.creationTimestamp)
      .sort();

  before(async () => {
    fleet = await startTestFleet();
    const promise = testPromise({
      kind: 'Clock',
      plural: 'clocks',
      pipeline: {
        name: 'tick',
        spec: { containers: [{ name: 'tick', image: TEST_IMAGE, command: ['sh', '-c', 'echo "ticked: true" > /kratix/metadata/status.yaml'] }] },
      },
    });
    promise.metadata.annotations = { 'kratix.io/reconciliation-interval': '1m' };
    await installPromise(fleet, promise);
  });
  after(() => fleet?.cleanup());

  it('runs the workflow again once the interval has passed since its last success', async () => {
    await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/clocks', {
      body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Clock', metadata: { name: 'ticker' }, spec: {} },
    });
    await eventually(async () => (await runs()).length === 1, 30_000, 'the first run');
    const [first] = await runs();
    const [, second] = await eventually(async () => ((await runs()).length >= 2 ? runs() : undefined), 120_000, 'the periodic run');
    const gap = Date.parse(second!) - Date.parse(first!);
    assert.ok(gap >= 59_000, `the second run came ${gap} ms after the first: not before the interval`);
  });
});
