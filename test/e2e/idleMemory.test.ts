/**
 * The idle memory reclaimer runs once the process is quiet: requests keep it away, and so do writes to the store
 * without any request (the controllers' own work, e.g. a fleet update); health probes (a load balancer's every few
 * seconds) do not, nor do Lease renewals.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { startTestFleet, type TestFleet } from '../helpers/fleet.ts';

describe('idle memory reclaimer', () => {
  let fleet: TestFleet;
  let collections = 0;

  before(async () => {
    fleet = await startTestFleet({
      // The heap as the reclaimer sees it stays put, and V8's own collections are not told: this test is about when
      // the process counts as idle, not about growth (V8's heap may shrink below what it was at start, which is not
      // growth, and no collection would come) nor about V8's memory reducer coming first.
      idleMemory: {
        idleMs: 3_000,
        everyMs: 100,
        growthBytes: 0,
        memory: () => ({ rss: 0, heapTotal: 0 }),
        gc: () => void collections++,
        majorCollections: () => () => undefined,
      },
    });
  });
  after(() => fleet.cleanup());

  /** Keeps calling `send` every 50 ms for `ms`, or until `done`. */
  async function keep(send: () => Promise<unknown>, ms: number, done = (): boolean => false): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end && !done()) {
      await send();
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const probe = (): Promise<number> =>
    new Promise((resolve, reject) => {
      // /healthz is public: no token, as a load balancer asks.
      const req = request(new URL('/healthz', fleet.url), { ca: fleet.caCert }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });

  it('waits while requests come, and runs while only probes do', async () => {
    // Longer than the idle time: without the requests a collection would come.
    await keep(() => fleet.client.get('/api/v1/namespaces'), 4_500);
    assert.equal(collections, 0, 'no collection while the API is in use');
    // Writes made inside the process, as the controllers make theirs: no request reaches the API meanwhile.
    const configMaps = fleet.registry.byKind('', 'ConfigMap');
    assert.ok(configMaps);
    let n = 0;
    await keep(() => fleet.objects.create(configMaps, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `work-${n++}` } }), 4_500);
    assert.equal(collections, 0, 'no collection while the store is being written');
    // Probes go on every 50 ms the whole time: the collection must come while they do.
    await keep(
      async () => assert.equal(await probe(), 200),
      20_000,
      () => collections > 0,
    );
    assert.ok(collections > 0, 'a collection while only probes come');
  });
});
