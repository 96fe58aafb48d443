/**
 * A list answered with each object's stored JSON, unparsed (no selector, JSON asked for): the same answer as the
 * parsed path gives, in every served version, page by page.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';

const PROMISES = '/apis/platform.kratix.io/v1alpha1/promises';
const schema = { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } };

interface List {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string };
  items: { apiVersion: string; kind: string; metadata: { name: string } }[];
}

describe('lists as stored text', () => {
  let fleet: TestFleet;
  before(async () => {
    fleet = await startTestFleet();
    await fleet.client.request('POST', PROMISES, {
      body: {
        apiVersion: 'platform.kratix.io/v1alpha1',
        kind: 'Promise',
        metadata: { name: 'gadget' },
        spec: {
          api: {
            apiVersion: 'apiextensions.k8s.io/v1',
            kind: 'CustomResourceDefinition',
            metadata: { name: 'gadgets.example.fleetops.dev' },
            spec: {
              group: 'example.fleetops.dev',
              scope: 'Namespaced',
              names: { kind: 'Gadget', plural: 'gadgets', singular: 'gadget' },
              versions: [
                { name: 'v1', served: true, storage: true, schema },
                { name: 'v1beta1', served: true, storage: false, schema },
              ],
            },
          },
        },
      },
    });
    await eventually(
      async () => (await fleet.client.request('GET', '/apis/example.fleetops.dev/v1/namespaces/default/gadgets')).status === 200,
      10_000,
      'kind served',
    );
    for (let i = 0; i < 5; i++)
      await fleet.client.request('POST', '/apis/example.fleetops.dev/v1/namespaces/default/gadgets', {
        body: { apiVersion: 'example.fleetops.dev/v1', kind: 'Gadget', metadata: { name: `g${i}` }, spec: { size: i } },
      });
    // One written with its apiVersion not first: its stored text is parsed and written again.
    await fleet.client.request('POST', '/apis/example.fleetops.dev/v1/namespaces/default/gadgets', {
      body: { kind: 'Gadget', metadata: { name: 'g5' }, spec: { size: 5 }, apiVersion: 'example.fleetops.dev/v1' },
    });
  });
  after(() => fleet.cleanup());

  for (const version of ['v1', 'v1beta1']) {
    it(`answers ${version} as the parsed path does, page by page`, async () => {
      const path = `/apis/example.fleetops.dev/${version}/namespaces/default/gadgets`;
      const pages: List['items'] = [];
      let cont: string | undefined;
      do {
        const page = await fleet.client.get<List>(path, { query: { limit: '2', ...(cont ? { continue: cont } : {}) } });
        assert.equal(page.apiVersion, `example.fleetops.dev/${version}`);
        assert.equal(page.kind, 'GadgetList');
        assert.ok(page.items.length <= 2);
        pages.push(...page.items);
        cont = page.metadata.continue;
      } while (cont);
      // A selector every object matches takes the parsed path.
      const parsed = await fleet.client.get<List>(path, { query: { labelSelector: '!absent' } });
      assert.deepEqual(pages, parsed.items);
      assert.deepEqual(
        pages.map((o) => o.metadata.name),
        ['g0', 'g1', 'g2', 'g3', 'g4', 'g5'],
      );
      for (const o of pages) assert.equal(o.apiVersion, `example.fleetops.dev/${version}`);
      const whole = await fleet.client.get<List>(path);
      assert.deepEqual(whole.items, parsed.items);
    });
  }

  it("watches in two versions each see their own, and neither changes the other's object", async () => {
    const type = fleet.registry.byKind('example.fleetops.dev', 'Gadget');
    assert.ok(type);
    // The store hands every watcher the same object: one in v1 keeps it, then one in v1beta1 is told.
    const kept: { apiVersion: string }[] = [];
    const told: string[] = [];
    const first = await fleet.objects.watch(type, 'default', { resourceVersion: await fleet.objects.currentResourceVersion(), version: 'v1' }, (e) =>
      kept.push(e.object),
    );
    const second = await fleet.objects.watch(type, 'default', { resourceVersion: await fleet.objects.currentResourceVersion(), version: 'v1beta1' }, (e) =>
      told.push(e.object.apiVersion),
    );
    try {
      await fleet.client.request('PATCH', '/apis/example.fleetops.dev/v1/namespaces/default/gadgets/g0', {
        body: { spec: { size: 10 } },
        contentType: 'application/merge-patch+json',
      });
      await eventually(() => kept.length === 1 && told.length === 1, 10_000, 'both watches told');
      assert.deepEqual(told, ['example.fleetops.dev/v1beta1']);
      assert.equal(kept[0]?.apiVersion, 'example.fleetops.dev/v1', "the v1 watcher's object still says v1");
      const read = await fleet.client.get<{ apiVersion: string }>('/apis/example.fleetops.dev/v1/namespaces/default/gadgets/g0');
      assert.equal(read.apiVersion, 'example.fleetops.dev/v1');
    } finally {
      first.stop();
      second.stop();
    }
  });
});
