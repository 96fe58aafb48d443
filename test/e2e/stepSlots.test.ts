/**
 * Step slots: a FleetOps allowed two steps at once reconciles more resources than that, yet never has more than two
 * sandboxes running. Each step notes the machine's uptime when it starts and ends (in its status); however the runs
 * are scheduled, no moment may fall inside three of those spans.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { testPromise } from '../helpers/promises.ts';

const RESOURCES = 8;
const SLOTS = 2;

interface Spanned {
  metadata: { name: string };
  status?: { started?: string; ended?: string };
}

describe('step slots', () => {
  let fleet: TestFleet;

  before(async () => {
    fleet = await startTestFleet({ workflowConcurrency: SLOTS });
  });
  after(() => fleet.cleanup());

  it(`runs at most ${SLOTS} steps at once while more resources are reconciled`, async () => {
    const step = [
      'sh',
      '-c',
      // /proc/uptime: the host's, in hundredths of a second, the same clock in every sandbox.
      'a=$(cut -d" " -f1 /proc/uptime); sleep 0.3; b=$(cut -d" " -f1 /proc/uptime); printf "started: \\"%s\\"\\nended: \\"%s\\"\\n" $a $b > /kratix/metadata/status.yaml',
    ];
    const promise = testPromise({
      kind: 'Slotted',
      plural: 'slotteds',
      pipeline: { name: 'main', spec: { containers: [{ name: 'span', image: TEST_IMAGE, command: step }] } },
    });
    await fleet.client.request('POST', '/apis/platform.kratix.io/v1alpha1/promises', { body: promise });
    await eventually(() => fleet.client.get('/apis/test.fleetops.dev/v1/slotteds'), 15_000, 'kind served');
    for (let i = 0; i < RESOURCES; i++) {
      await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/slotteds', {
        body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Slotted', metadata: { name: `s${i}` }, spec: {} },
      });
    }
    const items = await eventually(
      async () => {
        const list = await fleet.client.get<{ items: Spanned[] }>('/apis/test.fleetops.dev/v1/namespaces/default/slotteds');
        return list.items.length === RESOURCES && list.items.every((o) => o.status?.ended) ? list.items : undefined;
      },
      120_000,
      'every step ran',
    );
    // Ends before starts at the same instant: a slot given back and taken again at once is no overlap.
    const moments = items
      .flatMap((o) => [
        { at: Number(o.status?.started), change: 1 },
        { at: Number(o.status?.ended), change: -1 },
      ])
      .sort((a, b) => a.at - b.at || a.change - b.change);
    let running = 0;
    let most = 0;
    for (const m of moments) {
      assert.ok(Number.isFinite(m.at), `a step noted its uptime: ${JSON.stringify(items.map((o) => o.status))}`);
      running += m.change;
      most = Math.max(most, running);
    }
    assert.ok(most <= SLOTS, `at most ${SLOTS} steps at once, saw ${most}`);
    assert.ok(most >= 1);
  });
});
