/** One watch per kind for every controller: late watchers see what is there, all see the same events, the last stop ends it. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
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
    assert.deepEqual(
      shared.cached('v1', 'ConfigMap')?.map((o) => o.metadata.name),
      ['before'],
    );
    first.stop();
    assert.equal(stops, 0);
    second.stop();
    assert.equal(stops, 1);
    assert.equal(shared.cached('v1', 'ConfigMap'), undefined);
  });

  it('keeps a namespace watch apart, and starts afresh after the last watcher left', async () => {
    const scoped = await shared.watch('v1', 'ConfigMap', { namespace: 'default' }, () => {});
    const again = await shared.watch('v1', 'ConfigMap', {}, () => {});
    assert.equal(watches, 3);
    scoped.stop();
    again.stop();
  });

  it('passes a watch that cannot start to its caller', async () => {
    await assert.rejects(shared.watch('v1', 'NoSuchKind', {}, () => {}));
    await assert.rejects(shared.watch('v1', 'NoSuchKind', {}, () => {}));
  });
});
