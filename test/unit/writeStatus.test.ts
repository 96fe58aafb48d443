/**
 * writeStatus over a real SQLite store through the in-process client: a conflict makes it read the object again and
 * make the status again from it; an unchanged status is not written; a deleted object is NotFound, as from the
 * client; a conflict that persists is thrown after five attempts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../src/api/errors.ts';
import { stored, type StoredObject } from '../../src/api/types.ts';
import type { Condition } from '../../src/api/conditions.ts';
import type { InProcessClient } from '../../src/client/InProcessClient.ts';
import { writeStatus } from '../../src/client/writeStatus.ts';
import { destinationType } from '../../src/registry/builtin/kratixKinds.ts';
import { objectOf } from '../../src/registry/builtin/defineType.ts';
import type { ObjectService } from '../../src/registry/ObjectService.ts';
import type { SqliteStore } from '../../src/store/SqliteStore.ts';
import { kratixObjectStore } from '../helpers/objectStore.ts';

const view = (o: StoredObject) => objectOf(destinationType, o);

describe('writeStatus', () => {
  let store: SqliteStore;
  let objects: ObjectService;
  let client: InProcessClient;
  let n = 0;
  const destination = async () => {
    const { object } = await objects.create(destinationType, '', {
      apiVersion: 'platform.kratix.io/v1alpha1',
      kind: 'Destination',
      metadata: { name: `d${++n}`, labels: { env: 'dev' } },
      spec: { path: 'worker', stateStoreRef: { kind: 'GitStateStore', name: 'state' } },
    });
    return view(stored(object));
  };
  const ready = (reason: string, status: Condition['status'] = 'True'): { conditions: Condition[] } => ({
    conditions: [{ type: 'Ready', status, reason, message: '' }],
  });

  before(async () => {
    ({ store, objects, client } = await kratixObjectStore());
  });
  after(() => store.close());

  it('reads the object again after a conflict and makes the status from what it reads', async () => {
    const stale = await destination();
    // Another writer changes the object after `stale` was read: its version is behind.
    const moved = await objects.update(destinationType, '', stale.metadata.name, {
      ...stale,
      metadata: { ...stale.metadata, labels: { env: 'prod' } },
    });
    const seen: string[] = [];
    const result = await writeStatus(client, stale, view, (current) => {
      seen.push(current.metadata.labels?.env ?? '');
      return ready(current.metadata.labels?.env ?? '');
    });
    assert.deepEqual(seen, ['dev', 'prod'], 'asked once with the stale object, once with the latest');
    assert.equal(result?.written, true);
    const stored = view(await objects.get(destinationType, '', stale.metadata.name));
    assert.equal(stored.status?.conditions?.[0]?.reason, 'prod');
    assert.equal(stored.metadata.labels?.env, 'prod', 'the other writer\u2019s change is kept');
    assert.notEqual(stored.metadata.resourceVersion, moved.object.metadata.resourceVersion);
  });

  it('writes nothing when the status is unchanged or next declines', async () => {
    const d = await destination();
    const status = ready('Written');
    const first = await writeStatus(client, d, view, () => status);
    assert.equal(first?.written, true);
    const again = await writeStatus(client, first.object, view, () => status);
    assert.equal(again?.written, false);
    assert.equal(again?.object.metadata.resourceVersion, first.object.metadata.resourceVersion);
    const declined = await writeStatus(client, first.object, view, () => false);
    assert.equal(declined?.written, false);
    const stored = await objects.get(destinationType, '', d.metadata.name);
    assert.equal(stored.metadata.resourceVersion, first.object.metadata.resourceVersion, 'no write reached the store');
  });

  it('throws NotFound for an object deleted before its status is written', async () => {
    const d = await destination();
    await objects.delete(destinationType, '', d.metadata.name);
    await assert.rejects(
      writeStatus(client, d, view, () => ready('Written')),
      (err: unknown) => err instanceof ApiError && err.reason === 'NotFound',
    );
  });

  it('throws the conflict after five attempts', async () => {
    const d = await destination();
    let attempts = 0;
    const conflicting = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop === 'updateStatus')
          return () => {
            attempts++;
            return Promise.reject(new ApiError(409, 'Conflict', 'the object has been modified'));
          };
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await assert.rejects(
      writeStatus(conflicting, d, view, () => ready('Failing', 'False')),
      (err: unknown) => err instanceof ApiError && err.reason === 'Conflict',
    );
    assert.equal(attempts, 5);
  });
});
