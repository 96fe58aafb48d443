/**
 * Rollout windows and adoption policies, with FleetOps' injected clock: a Promise whose strategy denies rollouts from
 * 10:00 to 12:00 UTC changes at 11:00. Dev resources (policy automatic) take the revision at once, the others
 * (policy window) wait — `fleetops rollout status` says until 12:00 — and prod (policy manual) waits for
 * `fleetops rollout promote`. When the clock reaches 12:00 the window resources go; promoted by hand, prod completes
 * the rollout.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, fleetopsCli, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { counterPromise } from '../helpers/promises.ts';

const ELEVEN = Date.parse('2026-12-02T11:00:00Z');
const NOON = Date.parse('2026-12-02T12:00:00Z');
const STRATEGY = [
  'maxConcurrent: 10',
  'windows: [{kind: deny, schedule: "0 10 * * *", duration: 2h}]',
  'adoption:',
  '  - {selector: "env=dev", policy: automatic}',
  '  - {namespaces: [prod], policy: manual}',
  '',
].join('\n');

function promise(revision: number): ReturnType<typeof counterPromise> {
  const p = counterPromise(revision, { stepSeconds: 0, maxConcurrent: 10 });
  p.metadata.annotations = { 'fleetops.dev/rollout-strategy': STRATEGY };
  return p;
}

const COUNTERS = [
  { name: 'dev-1', namespace: 'default', env: 'dev' },
  { name: 'dev-2', namespace: 'default', env: 'dev' },
  { name: 'stage-1', namespace: 'default', env: 'staging' },
  { name: 'stage-2', namespace: 'default', env: 'staging' },
  { name: 'prod-1', namespace: 'prod', env: 'prod' },
];

describe('rollout windows and adoption policies', () => {
  let fleet: TestFleet;
  let offset = ELEVEN - Date.now();
  let cli: ReturnType<typeof fleetopsCli>;

  const seen = async (c: { name: string; namespace: string }): Promise<number | undefined> =>
    (await fleet.client.get<{ status?: { seen?: number } }>(`/apis/test.fleetops.dev/v1/namespaces/${c.namespace}/counters/${c.name}`)).status?.seen;
  const rollout = (): Promise<{ status?: { phase?: string; message?: string; windowOpensAt?: string; manual?: number } }> =>
    fleet.client.get('/apis/fleetops.dev/v1alpha1/rollouts/counter-r2');

  before(async () => {
    fleet = await startTestFleet({ now: () => new Date(Date.now() + offset) });
    cli = fleetopsCli(fleet.kubeconfigPath);
    await fleet.client.request('POST', '/apis/platform.kratix.io/v1alpha1/promises', { body: promise(1) });
    await eventually(
      async () =>
        (await fleet.client.get<{ status?: { status?: string } }>('/apis/platform.kratix.io/v1alpha1/promises/counter')).status?.status === 'Available',
      30_000,
      'the Promise available',
    );
    await fleet.client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod' } } });
    for (const c of COUNTERS) {
      await fleet.client.request('POST', `/apis/test.fleetops.dev/v1/namespaces/${c.namespace}/counters`, {
        body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Counter', metadata: { name: c.name, labels: { env: c.env } }, spec: {} },
      });
    }
    for (const c of COUNTERS) await eventually(async () => (await seen(c)) === 1, 30_000, `${c.name} on revision 1`);
  });
  after(() => fleet?.cleanup());

  it('shows in the plan who would adopt the change how, and whether the windows are open', async () => {
    const plan = await cli(['rollout', 'plan', '-f', '-'], JSON.stringify(promise(2)), 60_000);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(
      plan.stdout,
      /adoption: 2 automatic, 2 in windows, 1 by hand \(fleetops rollout promote\); the windows are closed now \(a deny window is open\) until 2026-12-02T12:00:00.000Z/,
    );
  });

  it('hands the revision to automatic resources at once and holds the others outside the window', async () => {
    // Server-side apply, as `kubectl apply --server-side` changes a Promise (no read-modify-write to race with).
    await fleet.client.request('PATCH', '/apis/platform.kratix.io/v1alpha1/promises/counter', {
      body: promise(2),
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'platform-team', force: true },
    });
    for (const c of COUNTERS.filter((x) => x.env === 'dev')) await eventually(async () => (await seen(c)) === 2, 30_000, `${c.name} on revision 2`);
    await eventually(async () => (await rollout()).status?.phase === 'WaitingForWindow', 30_000, 'the rollout waits for its window');
    const r = await rollout();
    assert.equal(r.status?.windowOpensAt, '2026-12-02T12:00:00Z');
    assert.equal(r.status?.manual, 1);
    for (const c of COUNTERS.filter((x) => x.env !== 'dev')) assert.equal(await seen(c), 1, `${c.name} still on revision 1`);
    const status = await cli(['rollout', 'status', 'counter']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /WaitingForWindow/);
    assert.match(status.stdout, /windows: deny "0 10 \* \* \*" for 2h/);
    assert.match(status.stdout, /2 wait for a window until 2026-12-02T12:00:00Z/);
    assert.match(status.stdout, /1 adopt by hand \(policy manual\): "fleetops rollout promote counter -l <selector>"/);
  });

  it('goes on when the clock reaches the end of the deny window, then waits for the manual ones', async () => {
    offset = NOON - 2_000 - Date.now();
    for (const c of COUNTERS.filter((x) => x.env === 'staging')) await eventually(async () => (await seen(c)) === 2, 40_000, `${c.name} on revision 2`);
    await eventually(async () => (await rollout()).status?.phase === 'WaitingForPromotion', 30_000, 'the rollout waits for promotion');
    assert.equal(await seen(COUNTERS[4]!), 1);
  });

  it('completes once the manual resources are promoted by hand', async () => {
    const refused = await cli(['rollout', 'promote', 'counter']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /say which resources to promote/);
    const r = await cli(['rollout', 'promote', 'counter', '-n', 'prod']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 counters promoted to revision 2/);
    await eventually(async () => (await seen(COUNTERS[4]!)) === 2, 30_000, 'prod on revision 2');
    await eventually(async () => (await rollout()).status?.phase === 'Complete', 30_000, 'the rollout complete');
  });
});
