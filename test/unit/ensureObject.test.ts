/**
 * ensureObject over a real SQLite store through the in-process client: an object the caller believes new
 * (`likelyNew`) is created without a read; one that exists after all is updated as if it had been read first, and one
 * unchanged is left alone.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import type { InProcessClient } from '../../src/client/InProcessClient.ts';
import { ensureObject } from '../../src/controllers/shared/ensure.ts';
import { configMapType } from '../../src/registry/builtin/coreKinds.ts';
import type { ObjectService } from '../../src/registry/ObjectService.ts';
import type { SqliteStore } from '../../src/store/SqliteStore.ts';
import { kratixObjectStore } from '../helpers/objectStore.ts';

describe('ensureObject', () => {
  let store: SqliteStore;
  let objects: ObjectService;
  let client: InProcessClient;
  const configMap = (name: string, value: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', labels: { env: 'dev' } },
    data: { value },
  });
  const read = (name: string): Promise<KubeObject> => objects.get(configMapType, 'default', name);

  before(async () => {
    ({ store, objects, client } = await kratixObjectStore());
  });
  after(() => store.close());

  it('creates an object believed new', async () => {
    const { outcome } = await ensureObject(client, configMap('fresh', 'a'), ['data'], { likelyNew: true });
    assert.equal(outcome, 'created');
    assert.deepEqual((await read('fresh')).data, { value: 'a' });
  });

  it('updates an object believed new that exists, keeping what the caller does not set, and leaves an unchanged one', async () => {
    await objects.create(configMapType, 'default', { ...configMap('there', 'old'), metadata: { name: 'there', labels: { team: 'a' } } });
    const first = await ensureObject(client, configMap('there', 'new'), ['data'], { likelyNew: true });
    assert.equal(first.outcome, 'updated');
    const stored = await read('there');
    assert.deepEqual(stored.data, { value: 'new' });
    assert.deepEqual(stored.metadata.labels, { team: 'a', env: 'dev' }, 'labels merged as after a read');
    const again = await ensureObject(client, configMap('there', 'new'), ['data'], { likelyNew: true });
    assert.equal(again.outcome, 'unchanged');
    assert.equal((await read('there')).metadata.resourceVersion, stored.metadata.resourceVersion, 'not written');
  });
});
