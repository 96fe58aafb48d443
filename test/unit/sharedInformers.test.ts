/** One watch per kind for every controller: late watchers see what is there, all see the same events, the last stop ends it. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject, StoredObject } from '../../src/api/types.ts';
import type { Client, ClientWatchEvent } from '../../src/client/Client.ts';
import { InProcessClient } from '../../src/client/InProcessClient.ts';
import { SharedInformers } from '../../src/controllers/shared/SharedInformers.ts';
import { coreTypes, namespaceType } from '../../src/registry/builtin/coreKinds.ts';
import { ObjectService } from '../../src/registry/ObjectService.ts';
import { Registry } from '../../src/registry/Registry.ts';
import { SqliteStore } from '../../src/store/SqliteStore.ts';

const configMap = (name: string, value: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default' },
  data: { value },
});
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

describe('SharedInformers', () => {
  let store: SqliteStore;
  let inner: Client;
  let watches = 0;
  let stops = 0;
  let shared: SharedInformers;

  before(async () => {
    store = new SqliteStore({ path: ':memory:' });
    const registry = new Registry();
    for (const t of coreTypes) registry.register(t);
    const objects = new ObjectService({ store, registry });
    await objects.create(namespaceType, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    const client = new InProcessClient({ objects });
    // Counts the watches that reach the store.
    inner = Object.assign(Object.create(client) as Client, {
      watch: async (...args: Parameters<Client['watch']>) => {
        watches++;
        const handle = await client.watch(...args);
        return { stop: () => (stops++, handle.stop()) };
      },
    });
    shared = new SharedInformers({ client: inner });
    await shared.create(configMap('before', '1'));
  });
  after(() => store.close());

  it('serves every watcher of a kind from one watch, replaying what exists to late ones', async () => {
    const a: string[] = [];
    const b: string[] = [];
    const record = (into: string[]) => (e: ClientWatchEvent) => into.push(`${e.type} ${e.object.metadata.name}`);
    const first = await shared.watch('v1', 'ConfigMap', {}, record(a));
    await shared.create(configMap('during', '2'));
    await settle();
    const second = await shared.watch('v1', 'ConfigMap', {}, record(b));
    assert.equal(watches, 1);
    assert.deepEqual(b, ['ADDED before', 'ADDED during']);
    await shared.mergePatch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'before' }, { data: { value: '3' } });
    await shared.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'during' });
    await settle();
    assert.deepEqual(a, ['ADDED before', 'ADDED during', 'MODIFIED before', 'DELETED during']);
    assert.deepEqual(b, ['ADDED before', 'ADDED during', 'MODIFIED before', 'DELETED during']);
    assert.equal(shared.caching('v1', 'ConfigMap'), true);
    first.stop();
    assert.equal(stops, 0);
    second.stop();
    assert.equal(stops, 1);
    assert.equal(shared.caching('v1', 'ConfigMap'), undefined);
  });

  it('keeps a namespace watch apart, and starts afresh after the last watcher left', async () => {
    const scoped = await shared.watch('v1', 'ConfigMap', { namespace: 'default' }, () => {});
    const again = await shared.watch('v1', 'ConfigMap', {}, () => {});
    assert.equal(watches, 3);
    scoped.stop();
    again.stop();
  });

  it('keeps a first watcher that fails on the existing objects to itself', async () => {
    const failing = shared.watch('v1', 'ConfigMap', {}, () => {
      throw new Error('handler broke');
    });
    const other: string[] = [];
    const healthy = shared.watch('v1', 'ConfigMap', {}, (e) => other.push(e.object.metadata.name));
    await assert.rejects(failing, /handler broke/);
    const handle = await healthy;
    assert.deepEqual(other, ['before']);
    handle.stop();
  });

  it('passes a watch that cannot start to its caller', async () => {
    await assert.rejects(shared.watch('v1', 'NoSuchKind', {}, () => {}));
    await assert.rejects(shared.watch('v1', 'NoSuchKind', {}, () => {}));
  });

  describe('once the controllers have started (no caches)', () => {
    let beforeList: (() => Promise<void>) | undefined;
    let afterList: (() => Promise<void>) | undefined;
    let uncached: SharedInformers;

    before(() => {
      // A list that can be held, to let writes fall between a late watcher's joining and its list's answer.
      const gated = Object.assign(Object.create(inner) as Client, {
        list: async (...args: Parameters<Client['list']>) => {
          const hooks = { before: beforeList, after: afterList };
          beforeList = afterList = undefined;
          await hooks.before?.();
          const items = await inner.list(...args);
          await hooks.after?.();
          return items;
        },
      });
      uncached = new SharedInformers({ client: gated });
      uncached.stopCaching();
    });

    it('brings a late watcher up to date by a list, then the changes after it, none lost and none older', async () => {
      const first: string[] = [];
      const late: string[] = [];
      const valueOf = (o: StoredObject): string => {
        const data = o.data;
        return typeof data === 'object' && data !== null && 'value' in data ? String(data.value) : '';
      };
      const record = (into: string[]) => (e: ClientWatchEvent) => into.push(`${e.type} ${e.object.metadata.name}=${valueOf(e.object)}`);
      const a = await uncached.watch('v1', 'ConfigMap', {}, record(first));
      assert.equal(uncached.caching('v1', 'ConfigMap'), false);
      const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'before' };
      // Changed after the watcher joined, before the list is read: in the list, and its event (held) not replayed.
      beforeList = async () => {
        await uncached.mergePatch(ref, { data: { value: '5' } });
        await settle();
      };
      // Changed after the list was read, before it reached the watcher: delivered after the list.
      afterList = async () => {
        await uncached.mergePatch(ref, { data: { value: '6' } });
        await uncached.create(configMap('meanwhile', '7'));
        await settle();
      };
      const b = await uncached.watch('v1', 'ConfigMap', {}, record(late));
      await uncached.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'meanwhile' });
      // Listed, then deleted: its deletion is newer than the list, though the object was listed at an older version.
      await uncached.delete(ref);
      await settle();
      assert.deepEqual(late, ['ADDED before=5', 'MODIFIED before=6', 'ADDED meanwhile=7', 'DELETED meanwhile=7', 'DELETED before=6']);
      assert.deepEqual(first.slice(-5), ['MODIFIED before=5', 'MODIFIED before=6', 'ADDED meanwhile=7', 'DELETED meanwhile=7', 'DELETED before=6']);
      a.stop();
      b.stop();
      assert.equal(uncached.caching('v1', 'ConfigMap'), undefined);
    });

    it('lets a late watcher whose list fails go, and the others on', async () => {
      const seen: string[] = [];
      const a = await uncached.watch('v1', 'ConfigMap', {}, (e) => seen.push(e.object.metadata.name));
      afterList = () => Promise.reject(new Error('store away'));
      await assert.rejects(
        uncached.watch('v1', 'ConfigMap', {}, () => {}),
        /store away/,
      );
      await uncached.create(configMap('after-failure', '8'));
      await settle();
      assert.deepEqual(seen, ['after-failure']);
      a.stop();
    });
  });
});
