/**
 * A list answered with each object's stored JSON (JSON asked for): the same objects as a read of each gives, in every
 * served version, page by page; with label selectors, only the objects whose labels match, though their text may hold
 * what the selector names elsewhere (a selective list parses only the texts that may match).
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
      // Each as a read of it answers (a read parses the stored object).
      const read = await Promise.all(pages.map((o) => fleet.client.get<List['items'][number]>(`${path}/${o.metadata.name}`)));
      assert.deepEqual(pages, read);
      // A selector every object matches lists them all.
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

  it('lists by label only the objects whose labels match, page by page, whatever else their text holds', async () => {
    const path = '/apis/example.fleetops.dev/v1/namespaces/default/gadgets';
    // Labels, and the same words elsewhere: in annotations, and a label of the same value under another key.
    const gadgets: [string, Record<string, string>, Record<string, string>][] = [
      ['l0', { team: 'a', tier: '1' }, {}],
      ['l1', { team: 'b', tier: '2' }, { team: 'a' }],
      ['l2', { owner: 'a' }, { team: 'a', note: '"team":"a"' }],
      ['l3', { team: 'a', tier: '3' }, {}],
      ['l4', { team: 'c' }, {}],
      ['l5', { team: 'a' }, { tier: '2' }],
    ];
    for (const [name, labels, annotations] of gadgets)
      await fleet.client.request('POST', path, {
        body: { apiVersion: 'example.fleetops.dev/v1', kind: 'Gadget', metadata: { name, labels, annotations }, spec: { size: 1 } },
      });
    const names = async (labelSelector: string, limit?: number): Promise<string[]> => {
      const out: string[] = [];
      let cont: string | undefined;
      do {
        const page = await fleet.client.get<List>(path, {
          query: { labelSelector, ...(limit ? { limit: String(limit) } : {}), ...(cont ? { continue: cont } : {}) },
        });
        if (limit) assert.ok(page.items.length <= limit);
        out.push(...page.items.map((o) => o.metadata.name));
        cont = page.metadata.continue;
      } while (cont);
      return out;
    };
    const cases: [string, string[]][] = [
      ['team=a', ['l0', 'l3', 'l5']],
      ['team==a,tier', ['l0', 'l3']],
      ['team in (b,c)', ['l1', 'l4']],
      ['tier>1', ['l1', 'l3']],
      ['owner', ['l2']],
      ['team!=a,team', ['l1', 'l4']],
      ['team=z', []],
    ];
    for (const [selector, want] of cases) {
      assert.deepEqual(await names(selector), want, selector);
      for (const limit of [1, 2]) assert.deepEqual(await names(selector, limit), want, `${selector}, ${limit} at a time`);
    }
    // The Table (kubectl get) and the JSON lists agree.
    const table = await fleet.client.get<{ rows: { object: { metadata: { name: string } } }[] }>(path, {
      query: { labelSelector: 'team=a' },
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
    });
    assert.deepEqual(
      table.rows.map((r) => r.object.metadata.name),
      ['l0', 'l3', 'l5'],
    );
  });

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
