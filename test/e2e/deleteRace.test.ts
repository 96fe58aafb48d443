/**
 * DELETE without preconditions never answers 409 because a controller wrote the object a moment before: like the
 * apiserver's GuaranteedUpdate, the delete is tried again on the fresh object. Raced here against the resource
 * controller's own writes (finalizer, workflow status) right after each request is created.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { testPromise } from '../helpers/promises.ts';

const THINGS = '/apis/test.fleetops.dev/v1/namespaces/default/racers';

describe('DELETE racing a controller', () => {
  let fleet: TestFleet;
  before(async () => {
    fleet = await startTestFleet();
    const step = { name: 's', image: TEST_IMAGE, command: ['sh', '-c', 'echo "ok: true" > /kratix/metadata/status.yaml'] };
    await fleet.client.request('POST', '/apis/platform.kratix.io/v1alpha1/promises', {
      body: testPromise({ kind: 'Racer', plural: 'racers', pipeline: { name: 'p', spec: { containers: [step] } } }),
    });
    await eventually(() => fleet.client.get(THINGS), 10_000, 'kind served');
  });
  after(() => fleet.cleanup());

  it('deletes every request while the controller is writing it, with no 409', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 60; i++) {
      const name = `r-${i}`;
      await fleet.client.request('POST', THINGS, { body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Racer', metadata: { name }, spec: {} } });
      // A moment for the controller to start writing (finalizer, Running status), then delete into its writes.
      await new Promise((r) => setTimeout(r, i % 6));
      const r = await fleet.client.request('DELETE', `${THINGS}/${name}`).then(
        () => 200,
        (err: { status?: number; code?: number }) => err.status ?? err.code ?? 0,
      );
      codes.push(r);
    }
    assert.deepEqual(
      codes.filter((c) => c !== 200),
      [],
      'every DELETE succeeds',
    );
    await eventually(async () => (await fleet.client.get<{ items: unknown[] }>(THINGS)).items.length === 0, 30_000, 'all gone');
  });
});
