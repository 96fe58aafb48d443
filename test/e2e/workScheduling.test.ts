/**
 * How the scheduler records a Work's placements, seen through the API's watches as a user would see them: each
 * placement is recorded in the Work's status before the WorkPlacement exists, and one that goes is removed before
 * the status stops naming it. A new Work's status, placements and conditions together, is one write.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { TEST_IMAGE } from '../helpers/images.ts';
import { testPromise } from '../helpers/promises.ts';
import { httpsGet } from '../helpers/https.ts';
import { loadKubeconfig } from '../../src/client/kubeconfig.ts';

const KRATIX = '/apis/platform.kratix.io/v1alpha1';
const WORKS = `${KRATIX}/namespaces/default/works`;
const PLACEMENTS = `${KRATIX}/namespaces/default/workplacements`;

interface Seen {
  type: string;
  rv: number;
  name: string;
  status?: { placements?: string[]; workPlacementsCreated?: number; conditions?: { type: string; status: string; reason: string }[] };
}

const condition = (s: Seen, type: string): string | undefined => s.status?.conditions?.find((c) => c.type === type)?.status;

describe('Work scheduling', () => {
  let fleet: TestFleet;
  const works: Seen[] = [];
  const placements: Seen[] = [];
  const stop = new AbortController();
  const watching: Promise<void>[] = [];

  before(async () => {
    fleet = await startTestFleet({ defaultDestinations: true });
    const c = fleet.client;
    await c.request('POST', `${KRATIX}/promises`, {
      body: testPromise({
        kind: 'Thing',
        plural: 'things',
        destinationSelectors: { environment: 'worker' },
        pipeline: {
          name: 'render',
          spec: { containers: [{ name: 'render', image: TEST_IMAGE, command: ['sh', '-c', 'echo "a: b" > /kratix/output/a.yaml'] }] },
        },
      }),
    });
    await eventually(() => c.get('/apis/test.fleetops.dev/v1/things'), 20_000, 'kind served');
    // Both watches start from one version: every write after it reaches them, each with its resourceVersion.
    const from = (await c.get<{ metadata: { resourceVersion: string } }>(WORKS)).metadata.resourceVersion;
    const record = (into: Seen[]) => (e: { type: string; object: unknown }) => {
      const o = e.object as { metadata: { name: string; resourceVersion: string }; status?: Seen['status'] };
      into.push({ type: e.type, rv: Number(o.metadata.resourceVersion), name: o.metadata.name, ...(o.status ? { status: o.status } : {}) });
    };
    for (const [path, into] of [
      [WORKS, works],
      [PLACEMENTS, placements],
    ] as const)
      watching.push(c.watch(path, { resourceVersion: from }, record(into), stop.signal).catch(() => undefined));
  });
  after(async () => {
    stop.abort();
    await Promise.all(watching);
    await fleet.cleanup();
  });

  it('records a new Work placements and conditions in one write, before the placement is made', async () => {
    await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/things', {
      body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Thing', metadata: { name: 'one' }, spec: {} },
    });
    const made = await eventually(() => placements.find((p) => p.type === 'ADDED' && p.name.startsWith('thing-one-')), 60_000, 'the placement made');
    // The two watches are two streams: the Work's may be behind the placements'. Each is in version order, so the
    // first version of the Work seen naming placements is the first there was.
    const first = await eventually(
      () => works.find((w) => w.name === 'thing-one-render' && w.status?.placements !== undefined),
      30_000,
      'the Work recording its placements',
    );
    assert.deepEqual(first.status?.placements, [made.name]);
    // Placements, count and conditions came in the same write: no version of the Work names them without them.
    assert.equal(first.status?.workPlacementsCreated, 1);
    assert.equal(condition(first, 'ScheduleSucceeded'), 'True');
    assert.equal(condition(first, 'Ready'), 'True');
    assert.ok(first.rv < made.rv, `recorded (version ${first.rv}) before made (${made.rv})`);
    // Nothing else about scheduling was written for it: its status versions after the first change no placement.
    for (const w of works.filter((x) => x.name === 'thing-one-render' && x.rv > first.rv)) assert.deepEqual(w.status?.placements, [made.name]);
  });

  it('reconciles a new Work once: its own status write does not bring it back', async () => {
    const reconciles = async (): Promise<number> => {
      const { status, body } = await httpsGet(`${fleet.url}/metrics`, fleet.caCert, loadKubeconfig(fleet.kubeconfigPath).token);
      assert.equal(status, 200);
      let sum = 0;
      for (const m of body.matchAll(/^controller_runtime_reconcile_total\{controller="scheduler",[^}]*\} (\d+)$/gm)) sum += Number(m[1]);
      return sum;
    };
    const before = await reconciles();
    await fleet.client.request('POST', '/apis/test.fleetops.dev/v1/namespaces/default/things', {
      body: { apiVersion: 'test.fleetops.dev/v1', kind: 'Thing', metadata: { name: 'two' }, spec: {} },
    });
    // Its placement written to the state store: long after the scheduler's reconcile and any it would bring.
    await eventually(
      () => placements.find((p) => p.name.startsWith('thing-two-') && p.type === 'MODIFIED' && (p.status?.conditions ?? []).some((c) => c.type === 'Ready')),
      60_000,
      'the placement written',
    );
    assert.equal(await reconciles(), before + 1);
  });

  it('removes a placement that goes before its Work stops naming it, and records one that comes before making it', async () => {
    const c = fleet.client;
    const wp = placements.find((p) => p.type === 'ADDED' && p.name.startsWith('thing-one-'))!.name;
    // The Destination no longer matches: the placement goes, and the Work says it is unscheduled.
    await c.request('PATCH', `${KRATIX}/destinations/worker-1`, {
      body: { metadata: { labels: { environment: 'elsewhere' } } },
      contentType: 'application/merge-patch+json',
    });
    const gone = await eventually(() => placements.find((p) => p.type === 'DELETED' && p.name === wp), 60_000, 'the placement removed');
    const unscheduled = await eventually(
      () => works.find((w) => w.name === 'thing-one-render' && w.rv > gone.rv - 1 && condition(w, 'ScheduleSucceeded') === 'False'),
      30_000,
      'the Work unscheduled',
    );
    assert.deepEqual(unscheduled.status?.placements, []);
    assert.ok(gone.rv < unscheduled.rv, `removed (version ${gone.rv}) before the Work stops naming it (${unscheduled.rv})`);
    const firstNamed = works.find((x) => x.name === 'thing-one-render' && x.status?.placements?.includes(wp))!.rv;
    for (const w of works.filter((x) => x.name === 'thing-one-render' && x.rv >= firstNamed && x.rv < gone.rv))
      assert.ok(w.status?.placements?.includes(wp), `named until removed (version ${w.rv})`);

    // It matches again: the placement comes back, recorded first.
    await c.request('PATCH', `${KRATIX}/destinations/worker-1`, {
      body: { metadata: { labels: { environment: 'worker' } } },
      contentType: 'application/merge-patch+json',
    });
    const back = await eventually(() => placements.find((p) => p.type === 'ADDED' && p.name === wp && p.rv > gone.rv), 60_000, 'the placement made again');
    const recorded = await eventually(
      () => works.find((w) => w.name === 'thing-one-render' && w.rv > unscheduled.rv && w.status?.placements?.includes(wp)),
      30_000,
      'the Work recording it again',
    );
    assert.ok(recorded.rv < back.rv, `recorded (version ${recorded.rv}) before made (${back.rv})`);
    assert.equal(condition(recorded, 'ScheduleSucceeded'), 'True');
  });
});
