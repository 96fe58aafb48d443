/**
 * The namespace controller over a real SQLite store: a deleted namespace's objects are deleted, one held by its own
 * finalizer keeps the namespace until it goes, and a controller started after a crash (the namespace already
 * Terminating, the objects still there) finishes the work.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { coreTypes, namespaceType } from '../../src/registry/builtin/coreKinds.ts';
import { ObjectService } from '../../src/registry/ObjectService.ts';
import { Registry } from '../../src/registry/Registry.ts';
import { SqliteStore } from '../../src/store/SqliteStore.ts';
import { InProcessClient } from '../../src/client/InProcessClient.ts';
import { NamespaceController } from '../../src/controllers/namespace/NamespaceController.ts';
import { widgetType } from '../helpers/widgetType.ts';
import { eventually } from '../helpers/fleet.ts';

const widget = (name: string, finalizers: string[] = []): object => ({
  apiVersion: 'test.fleetops.dev/v1',
  kind: 'Widget',
  metadata: { name, finalizers },
  spec: { size: 1 },
});

describe('NamespaceController', () => {
  let store: SqliteStore;
  let objects: ObjectService;
  let registry: Registry;
  const controllers: NamespaceController[] = [];
  const start = async (): Promise<void> => {
    const c = new NamespaceController({ client: new InProcessClient({ objects }), registry, logger: pino({ level: 'silent' }), recheckMs: 50 });
    controllers.push(c);
    await c.start();
  };

  before(async () => {
    store = new SqliteStore({ path: ':memory:' });
    registry = new Registry();
    for (const t of [...coreTypes, widgetType]) registry.register(t);
    objects = new ObjectService({ store, registry });
  });
  after(async () => {
    for (const c of controllers) await c.stop();
    await store.close();
  });

  it('finishes a deletion that was under way when FleetOps stopped, and waits for finalizers', async () => {
    await objects.create(namespaceType, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await objects.create(widgetType, 'doomed', widget('plain'));
    await objects.create(widgetType, 'doomed', widget('held', ['example.com/hold']));
    // Deleted while no controller runs (as after a crash right after the DELETE).
    await objects.delete(namespaceType, '', 'doomed');
    assert.equal((await objects.list(widgetType, 'doomed')).items.length, 2);
    await start();
    await eventually(async () => (await objects.find(widgetType, 'doomed', 'plain')) === undefined, 10_000, 'the plain widget deleted');
    const held = await objects.get(widgetType, 'doomed', 'held');
    assert.ok(held.metadata.deletionTimestamp, 'the held widget is marked for deletion');
    assert.ok(await objects.find(namespaceType, '', 'doomed'), 'the namespace waits for the held widget');
    await objects.update(widgetType, 'doomed', 'held', { ...held, metadata: { ...held.metadata, finalizers: [] } });
    await eventually(async () => (await objects.find(namespaceType, '', 'doomed')) === undefined, 10_000, 'the namespace gone');
  });
});
