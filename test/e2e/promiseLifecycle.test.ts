/**
 * Promise lifecycle beyond install: deleting a Promise takes every resource of its kind (and its Work) with it before
 * the kind goes away, and a schema change that would invalidate stored resources is refused and reported.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestFleet, type TestFleet } from '../helpers/fleet.ts';
import { isApiError } from '../../src/api/errors.ts';

const PROMISES = '/apis/platform.kratix.io/v1alpha1/promises';

function widgetPromise(name: string, spec: object, extra: object = {}): object {
  return {
    apiVersion: 'platform.kratix.io/v1alpha1',
    kind: 'Promise',
    metadata: { name },
    spec: {
      dependencies: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-operator`, namespace: 'default' }, data: { a: 'b' } }],
      api: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${name}s.example.fleetops.dev` },
        spec: {
          group: 'example.fleetops.dev',
          scope: 'Namespaced',
          names: { kind: name[0]!.toUpperCase() + name.slice(1), plural: `${name}s`, singular: name },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: spec } } } },
            },
          ],
        },
      },
      ...extra,
    },
  };
}

interface Obj {
  metadata: { name: string; resourceVersion: string };
  status?: { status?: string; conditions?: Array<{ type: string; status: string; message: string }> };
}

describe('Promise lifecycle', () => {
  let fleet: TestFleet;
  before(async () => {
    fleet = await startTestFleet();
  });
  after(() => fleet.cleanup());

  const available = (name: string): Promise<boolean> =>
    eventually(async () => (await fleet.client.get<Obj>(`${PROMISES}/${name}`)).status?.status === 'Available', 10_000, `${name} available`);

  it('deleting a Promise with 100 resources leaves nothing behind', async () => {
    await fleet.client.request('POST', PROMISES, { body: widgetPromise('widget', { size: { type: 'integer' } }) });
    await available('widget');
    for (const ns of ['team-a', 'team-b'])
      await fleet.client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        fleet.client.request('POST', `/apis/example.fleetops.dev/v1/namespaces/team-${i % 2 ? 'a' : 'b'}/widgets`, {
          body: { apiVersion: 'example.fleetops.dev/v1', kind: 'Widget', metadata: { name: `w${i}` }, spec: { size: i } },
        }),
      ),
    );
    // One resource holds a finalizer of its own: the Promise must wait for it rather than leave it orphaned.
    await fleet.client.request('PATCH', '/apis/example.fleetops.dev/v1/namespaces/team-a/widgets/w1', {
      contentType: 'application/merge-patch+json',
      body: { metadata: { finalizers: ['example.com/hold'] } },
    });
    assert.equal((await fleet.client.get<{ items: unknown[] }>('/apis/example.fleetops.dev/v1/widgets')).items.length, 100);
    assert.equal(
      (await fleet.client.get<{ items: unknown[] }>('/apis/platform.kratix.io/v1alpha1/works?labelSelector=kratix.io/promise-name%3Dwidget')).items.length,
      1,
    );

    await fleet.client.request('DELETE', `${PROMISES}/widget`);
    await eventually(
      async () => (await fleet.client.get<{ items: unknown[] }>('/apis/example.fleetops.dev/v1/widgets')).items.length === 1,
      10_000,
      'all but the held resource gone',
    );
    const promise = await fleet.client.get<Obj & { metadata: { deletionTimestamp?: string } }>(`${PROMISES}/widget`);
    assert.ok(promise.metadata.deletionTimestamp, 'the Promise waits for its last resource');
    await fleet.client.request('PATCH', '/apis/example.fleetops.dev/v1/namespaces/team-a/widgets/w1', {
      contentType: 'application/merge-patch+json',
      body: { metadata: { finalizers: null } },
    });

    await eventually(
      () =>
        fleet.client.get(`${PROMISES}/widget`).then(
          () => false,
          (e: unknown) => isApiError(e) && e.code === 404,
        ),
      10_000,
      'promise gone',
    );
    const widgets = fleet.registry.byKind('example.fleetops.dev', 'Widget');
    assert.equal(widgets, undefined, 'the kind is no longer served');
    assert.equal((await fleet.store.list({ group: 'example.fleetops.dev', kind: 'Widget' })).items.length, 0, 'no resource left in the store');
    assert.equal((await fleet.client.get<{ items: unknown[] }>('/apis/platform.kratix.io/v1alpha1/works')).items.length, 0, 'no Work left');
    await assert.rejects(fleet.client.get('/apis/example.fleetops.dev/v1/widgets'), (e: unknown) => isApiError(e) && e.code === 404);
  });

  it('refuses a schema change that would invalidate stored resources and says why, then applies a compatible one', async () => {
    await fleet.client.request('POST', PROMISES, { body: widgetPromise('gadget', { size: { type: 'integer' } }) });
    await available('gadget');
    const gadgets = '/apis/example.fleetops.dev/v1/namespaces/default/gadgets';
    for (const [name, size] of [
      ['small', 2],
      ['big', 9],
    ] as const) {
      await fleet.client.request('POST', gadgets, { body: { apiVersion: 'example.fleetops.dev/v1', kind: 'Gadget', metadata: { name }, spec: { size } } });
    }
    const current = await fleet.client.get<Obj>(`${PROMISES}/gadget`);
    await fleet.client.request('PUT', `${PROMISES}/gadget`, {
      body: {
        ...widgetPromise('gadget', { size: { type: 'integer', maximum: 5 } }),
        metadata: { name: 'gadget', resourceVersion: current.metadata.resourceVersion },
      },
    });
    const cond = await eventually(
      async () => (await fleet.client.get<Obj>(`${PROMISES}/gadget`)).status?.conditions?.find((c) => c.type === 'APICompatible' && c.status === 'False'),
      10_000,
      'APICompatible=False',
    );
    assert.match(cond.message, /1 existing gadgets would be invalid \(default\/big: spec\.size/);
    // The old schema stays in force: a size above the refused maximum is still accepted.
    await fleet.client.request('POST', gadgets, {
      body: { apiVersion: 'example.fleetops.dev/v1', kind: 'Gadget', metadata: { name: 'other' }, spec: { size: 7 } },
    });

    // A compatible change (a new optional field) is applied and clears the condition.
    const latest = await fleet.client.get<Obj>(`${PROMISES}/gadget`);
    await fleet.client.request('PUT', `${PROMISES}/gadget`, {
      body: {
        ...widgetPromise('gadget', { size: { type: 'integer' }, colour: { type: 'string', enum: ['red', 'blue'] } }),
        metadata: { name: 'gadget', resourceVersion: latest.metadata.resourceVersion },
      },
    });
    await eventually(
      async () => !(await fleet.client.get<Obj>(`${PROMISES}/gadget`)).status?.conditions?.some((c) => c.type === 'APICompatible'),
      10_000,
      'condition cleared',
    );
    await assert.rejects(
      fleet.client.request('POST', gadgets, {
        body: { apiVersion: 'example.fleetops.dev/v1', kind: 'Gadget', metadata: { name: 'green' }, spec: { colour: 'green' } },
      }),
      (e: unknown) => isApiError(e) && e.code === 422 && /spec\.colour/.test(e.message),
    );
  });
});
