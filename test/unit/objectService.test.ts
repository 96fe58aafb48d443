/**
 * The generic store and its reads over a real SQLite store: optimistic concurrency, patch retries, server-side
 * apply's single write, finalizers and propagation, a namespace held for its controller, dry runs; lists with selectors and
 * paging, and watches as a watcher with a selector sees them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isApiError } from '../../src/api/errors.ts';
import { configMapType, coreTypes, namespaceType } from '../../src/registry/builtin/coreKinds.ts';
import { widgetType } from '../helpers/widgetType.ts';
import { ObjectService, type WatchEvent } from '../../src/registry/ObjectService.ts';
import { Registry } from '../../src/registry/Registry.ts';
import { SqliteStore } from '../../src/store/SqliteStore.ts';

const widget = (name: string, size = 1, labels: Record<string, string> = {}): object => ({
  apiVersion: 'test.fleetops.dev/v1',
  kind: 'Widget',
  metadata: { name, labels },
  spec: { size },
});

async function rejects(p: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => isApiError(err) && err.reason === reason);
}

describe('ObjectService', () => {
  let store: SqliteStore;
  let objects: ObjectService;

  before(async () => {
    const now = (): Date => new Date('2030-01-02T03:04:05Z');
    store = new SqliteStore({ path: ':memory:', now });
    const registry = new Registry();
    for (const t of [...coreTypes, widgetType]) registry.register(t);
    objects = new ObjectService({ store, registry, now });
    for (const ns of ['a', 'b']) await objects.create(namespaceType, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });
  after(() => store.close());

  it('creates with the clock it was given, and refuses a stale update', async () => {
    const { object } = await objects.create(widgetType, 'a', widget('w1'));
    assert.equal(object.metadata.creationTimestamp, '2030-01-02T03:04:05Z');
    const stale = { ...object, spec: { size: 2 } };
    await objects.update(widgetType, 'a', 'w1', { ...object, spec: { size: 3 } });
    await rejects(objects.update(widgetType, 'a', 'w1', stale), 'Conflict');
    await rejects(objects.create(widgetType, 'a', widget('w1')), 'AlreadyExists');
    await rejects(objects.create(widgetType, 'nowhere', widget('w1')), 'NotFound');
  });

  it("leaves the caller's object as it was, unless it hands its body over", async () => {
    const mine = widget('w-kept', 4, { team: 'x' });
    const before = structuredClone(mine);
    const { object } = await objects.create(widgetType, 'a', mine);
    assert.deepEqual(mine, before, 'create copies the object it is given');
    const next = { ...object, spec: { size: 5 } };
    const nextBefore = structuredClone(next);
    await objects.update(widgetType, 'a', 'w-kept', next);
    assert.deepEqual(next, nextBefore, 'so does update');
    // A body parsed for the request (the API server's) is stored as it is: the stored object is what it said.
    const { object: owned } = await objects.create(widgetType, 'a', widget('w-owned', 6), { ownedBody: true });
    assert.equal((owned.spec as { size: number }).size, 6);
    assert.deepEqual((await objects.get(widgetType, 'a', 'w-owned')).spec, owned.spec);
  });

  it('writes a server-side apply of a new object once, owned by its manager', async () => {
    const events: WatchEvent[] = [];
    const handle = await objects.watch(widgetType, 'a', { resourceVersion: await objects.currentResourceVersion() }, (e) => events.push(e));
    const { object, created } = await objects.patch(widgetType, 'a', 'applied', 'apply', widget('applied', 4), { fieldManager: 'kubectl' });
    assert.equal(created, true);
    assert.equal(object.metadata.managedFields?.[0]?.manager, 'kubectl');
    await new Promise((r) => setTimeout(r, 50));
    handle.stop();
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.object.metadata.name}`),
      ['ADDED applied'],
    );
    await rejects(objects.patch(widgetType, 'a', 'applied', 'apply', widget('applied', 5), { fieldManager: 'other' }), 'Conflict');
  });

  it('merge-patches the current object and bumps the generation only for spec changes', async () => {
    const before = await objects.create(widgetType, 'a', widget('p1'));
    const labelled = await objects.patch(widgetType, 'a', 'p1', 'merge', { metadata: { labels: { tier: 'x' } } });
    assert.equal(labelled.object.metadata.generation, before.object.metadata.generation);
    const resized = await objects.patch(widgetType, 'a', 'p1', 'merge', { spec: { size: 9 } });
    assert.equal(resized.object.metadata.generation, (before.object.metadata.generation ?? 1) + 1);
    await rejects(objects.patch(widgetType, 'a', 'p1', 'json', [{ op: 'test', path: '/spec/size', value: 1 }]), 'Invalid');
  });

  it('holds a deleted object while finalizers remain, and orphans keep the object until released', async () => {
    await objects.create(widgetType, 'a', { ...widget('f1'), metadata: { name: 'f1', finalizers: ['test.fleetops.dev/hold'] } });
    const marked = await objects.delete(widgetType, 'a', 'f1');
    assert.equal(marked.deleted, false);
    assert.ok(marked.object.metadata.deletionTimestamp);
    const held = await objects.get(widgetType, 'a', 'f1');
    const released = await objects.update(widgetType, 'a', 'f1', { ...held, metadata: { ...held.metadata, finalizers: [] } });
    assert.ok(released.object.metadata.deletionTimestamp);
    assert.equal(await objects.find(widgetType, 'a', 'f1'), undefined);
    await objects.create(widgetType, 'a', widget('o1'));
    const orphaning = await objects.delete(widgetType, 'a', 'o1', { propagationPolicy: 'Orphan' });
    assert.deepEqual(orphaning.object.metadata.finalizers, ['orphan']);
  });

  it('keeps the resourceVersion of a write that changes nothing, and gives one to any change, recorded in managed fields or not', async () => {
    const manager = { fieldManager: 'ctl' };
    const { object } = await objects.create(widgetType, 'a', widget('w-noop', 2), manager);
    const same = await objects.update(widgetType, 'a', 'w-noop', object, manager);
    assert.equal(same.object.metadata.resourceVersion, object.metadata.resourceVersion, 'the same object again: no write');
    const status = await objects.update(widgetType, 'a', 'w-noop', { ...object, status: { phase: 'Ready' } }, { ...manager, subresource: 'status' });
    assert.notEqual(status.object.metadata.resourceVersion, object.metadata.resourceVersion);
    const again = await objects.update(widgetType, 'a', 'w-noop', status.object, { ...manager, subresource: 'status' });
    assert.equal(again.object.metadata.resourceVersion, status.object.metadata.resourceVersion, 'the same status again: no write');
    // Owner references are not among the fields managed fields record: the change is found by comparing the objects.
    const owned = await objects.update(
      widgetType,
      'a',
      'w-noop',
      { ...again.object, metadata: { ...again.object.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'u-1' }] } },
      manager,
    );
    assert.notEqual(owned.object.metadata.resourceVersion, again.object.metadata.resourceVersion);
    assert.equal(owned.object.metadata.ownerReferences?.[0]?.uid, 'u-1');
  });

  it('gives no generation to kinds Kubernetes gives none (a ConfigMap), created or updated', async () => {
    const cm = await objects.create(configMapType, 'a', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'plain', generation: 7 }, data: { a: '1' } });
    assert.equal(cm.object.metadata.generation, undefined);
    const changed = await objects.patch(configMapType, 'a', 'plain', 'merge', { data: { a: '2' } });
    assert.equal(changed.object.metadata.generation, undefined);
  });

  it('answers a dry run without writing', async () => {
    const dry = await objects.create(widgetType, 'a', widget('dry'), { dryRun: true });
    assert.ok(dry.object.metadata.uid);
    assert.equal(await objects.find(widgetType, 'a', 'dry'), undefined);
  });

  it('holds a deleted namespace (Terminating, finalizer kubernetes) for the namespace controller, refusing new content', async () => {
    await objects.create(widgetType, 'b', widget('gone-1'));
    const r = await objects.delete(namespaceType, '', 'b');
    assert.equal(r.deleted, false);
    assert.deepEqual(r.object.metadata.finalizers, ['kubernetes']);
    assert.equal((r.object.status as { phase?: string }).phase, 'Terminating');
    assert.equal((await objects.list(widgetType, 'b')).items.length, 1, 'the contents wait for the controller');
    await rejects(objects.create(widgetType, 'b', widget('late')), 'Forbidden');
  });
});

describe('ObjectService reads', () => {
  let store: SqliteStore;
  let objects: ObjectService;

  before(async () => {
    store = new SqliteStore({ path: ':memory:' });
    const registry = new Registry();
    for (const t of [...coreTypes, widgetType]) registry.register(t);
    objects = new ObjectService({ store, registry });
    await objects.create(namespaceType, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'r' } });
    for (let i = 0; i < 30; i++) await objects.create(widgetType, 'r', widget(`w${String(i).padStart(2, '0')}`, i + 1, { parity: i % 2 ? 'odd' : 'even' }));
  });
  after(() => store.close());

  it('pages a filtered list with continue tokens until every match is seen once', async () => {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await objects.list(widgetType, 'r', { labelSelector: 'parity=odd', limit: 4, ...(token ? { continue: token } : {}) });
      assert.ok(page.items.length <= 4);
      names.push(...page.items.map((o) => o.metadata.name));
      token = page.continue;
    } while (token);
    assert.deepEqual(
      names,
      Array.from({ length: 15 }, (_, i) => `w${String(2 * i + 1).padStart(2, '0')}`),
    );
    await rejects(objects.list(widgetType, 'r', { continue: 'not-a-token' }), 'BadRequest');
    await rejects(objects.list(widgetType, 'r', { fieldSelector: 'spec.size=1' }), 'BadRequest');
  });

  it('watches as a watcher with a selector sees it: leaving the selector is DELETED, entering it ADDED', async () => {
    const events: string[] = [];
    const handle = await objects.watch(widgetType, 'r', { labelSelector: 'parity=odd' }, (e) => events.push(`${e.type} ${e.object.metadata.name}`));
    assert.equal(events.length, 15); // the synthetic ADDED of every current match
    events.length = 0;
    await objects.patch(widgetType, 'r', 'w01', 'merge', { metadata: { labels: { parity: 'even' } } });
    await objects.patch(widgetType, 'r', 'w02', 'merge', { metadata: { labels: { parity: 'odd' } } });
    await objects.patch(widgetType, 'r', 'w04', 'merge', { spec: { size: 100 } });
    await new Promise((r) => setTimeout(r, 50));
    handle.stop();
    assert.deepEqual(events, ['DELETED w01', 'ADDED w02']);
  });
});
