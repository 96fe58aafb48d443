/**
 * One clock: a FleetOps whose clock is a month ahead of the machine's stamps its objects and conditions with that
 * clock, and still retries a failed workflow after its backoff. Were the wait computed from the injected clock's
 * `nextRetryAt` against the system clock, it would be a month and the second attempt would never come.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { testPromise } from '../helpers/promises.ts';

const MONTH_MS = 30 * 24 * 3_600_000;

interface Failing {
  metadata: { creationTimestamp: string };
  status?: {
    conditions?: { type: string; lastTransitionTime?: string }[];
    kratix?: { workflows?: { attempts?: number; nextRetryAt?: string } };
  };
}

describe('the injected clock', () => {
  let fleet: TestFleet;

  before(async () => {
    fleet = await startTestFleet({ retryBaseMs: 200, now: () => new Date(Date.now() + MONTH_MS) });
  });
  after(() => fleet.cleanup());

  it('stamps objects with it and times workflow retries by it alone', async () => {
    const promise = testPromise({
      kind: 'Skewed',
      plural: 'skeweds',
      pipeline: { name: 'main', spec: { containers: [{ name: 'fail', image: TEST_IMAGE, command: ['sh', '-c', 'exit 1'] }] } },
    });
    await fleet.client.request('POST', '/apis/platform.kratix.io/v1alpha1/promises', { body: promise });
    await eventually(() => fleet.client.get('/apis/test.fleetops.dev/v1/skeweds'), 15_000, 'kind served');
    await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/skeweds', {
      body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Skewed', metadata: { name: 's1' }, spec: {} },
    });
    const failed = await eventually(
      async () => {
        const o = await fleet.client.get<Failing>('/apis/test.fleetops.dev/v1/namespaces/default/skeweds/s1');
        return (o.status?.kratix?.workflows?.attempts ?? 0) >= 3 ? o : undefined;
      },
      60_000,
      'three attempts with a clock a month ahead',
    );
    const ahead = (stamp: string | undefined): boolean => Date.parse(stamp ?? '') > Date.now() + MONTH_MS / 2;
    assert.ok(ahead(failed.metadata.creationTimestamp), `creationTimestamp ${failed.metadata.creationTimestamp} is from the injected clock`);
    assert.ok(ahead(failed.status?.kratix?.workflows?.nextRetryAt), 'nextRetryAt is from the injected clock');
    for (const c of failed.status?.conditions ?? []) assert.ok(ahead(c.lastTransitionTime), `${c.type} changed at the injected clock's time`);
  });
});
