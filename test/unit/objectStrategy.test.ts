/** The rules every write goes through before the store: decoding, create and update preparation, admission. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isApiError } from '../../src/api/errors.ts';
import type { KubeObject, StoredObject } from '../../src/api/types.ts';
import { widgetType } from '../helpers/widgetType.ts';
import { ObjectStrategy } from '../../src/registry/ObjectStrategy.ts';

const strategy = new ObjectStrategy();

function stored(obj: Partial<StoredObject> & { spec?: unknown; status?: unknown }): StoredObject {
  return {
    apiVersion: 'test.fleetops.dev/v1',
    kind: 'Widget',
    ...obj,
    metadata: { name: 'w', namespace: 'ns', uid: 'u-1', resourceVersion: '7', creationTimestamp: '2026-01-01T00:00:00Z', generation: 3, ...obj.metadata },
  };
}

function rejects(fn: () => unknown, reason: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => isApiError(err) && err.reason === reason && pattern.test(err.message));
}

describe('ObjectStrategy', () => {
  it('decodes a body into the kind and namespace of the request, or says why not', () => {
    const obj = strategy.decode(widgetType, { metadata: { name: 'w' }, spec: { size: 1 } }, 'ns', 'v1');
    assert.equal(obj.apiVersion, 'test.fleetops.dev/v1');
    assert.equal(obj.kind, 'Widget');
    assert.equal(obj.metadata.namespace, 'ns');
    rejects(() => strategy.decode(widgetType, [], 'ns', 'v1'), 'BadRequest', /must be a JSON or YAML object/);
    rejects(() => strategy.decode(widgetType, { kind: 'Gadget', metadata: {} }, 'ns', 'v1'), 'BadRequest', /kind in the data \(Gadget\)/);
    rejects(() => strategy.decode(widgetType, { metadata: { namespace: 'other' } }, 'ns', 'v1'), 'BadRequest', /namespace of the provided object/);
    rejects(() => strategy.decode(widgetType, { metadata: 'x' }, 'ns', 'v1'), 'BadRequest', /metadata must be an object/);
  });

  it('prepares a create: a name from generateName, no server-owned fields, generation 1, no status', () => {
    const obj: KubeObject = {
      apiVersion: 'test.fleetops.dev/v1',
      kind: 'Widget',
      metadata: { generateName: 'w-', uid: 'forged', resourceVersion: '99', generation: 5 },
      status: { ready: true },
    };
    strategy.prepareForCreate(widgetType, obj);
    assert.match(obj.metadata.name ?? '', /^w-[0-9a-f]{5}$/);
    assert.equal(obj.metadata.uid, undefined);
    assert.equal(obj.metadata.resourceVersion, undefined);
    assert.equal(obj.metadata.generation, 1);
    assert.equal(obj.status, undefined);
  });

  it('prepares an update: status comes from its subresource only, uid and creation time from the stored object', () => {
    const old = stored({ spec: { size: 1 }, status: { phase: 'old' } });
    const main = strategy.prepareForUpdate(
      widgetType,
      old,
      { ...old, metadata: { name: 'w', uid: 'forged' }, spec: { size: 2 }, status: { phase: 'new' } },
      undefined,
    );
    assert.deepEqual(main.status, { phase: 'old' });
    assert.equal(main.metadata.uid, 'u-1');
    assert.equal(main.metadata.creationTimestamp, '2026-01-01T00:00:00Z');
    const status = strategy.prepareForUpdate(widgetType, old, { ...old, spec: { size: 9 }, status: { phase: 'new' } }, 'status');
    assert.deepEqual(status.spec, { size: 1 });
    assert.deepEqual(status.status, { phase: 'new' });
  });

  it('keeps a deleting object deleting and refuses new finalizers on it', () => {
    const old = stored({ metadata: { name: 'w', uid: 'u-1', resourceVersion: '7', creationTimestamp: 'x', deletionTimestamp: 't', finalizers: ['a'] } });
    const next = strategy.prepareForUpdate(widgetType, old, { ...old, metadata: { ...old.metadata, deletionTimestamp: undefined, finalizers: [] } }, undefined);
    assert.equal(next.metadata.deletionTimestamp, 't');
    rejects(
      () => strategy.prepareForUpdate(widgetType, old, { ...old, metadata: { ...old.metadata, finalizers: ['a', 'b'] } }, undefined),
      'Invalid',
      /no new finalizers/,
    );
  });

  it('counts a generation only for changes outside metadata and a subresource status', () => {
    const old = stored({ spec: { size: 1 }, status: { phase: 'a' } });
    assert.equal(strategy.generation(widgetType, old, { ...old, metadata: { ...old.metadata, labels: { x: 'y' } }, status: { phase: 'b' } }), 3);
    assert.equal(strategy.generation(widgetType, old, { ...old, spec: { size: 2 } }), 4);
  });

  it('admits: unknown fields warned (or refused when strict), defaults applied, schema, metadata and kind rules enforced', () => {
    const obj = strategy.decode(widgetType, { metadata: { name: 'w' }, spec: { size: 2, extra: 1 } }, 'ns', 'v1');
    assert.deepEqual(strategy.admit(widgetType, obj, undefined, {}, 'v1'), ['unknown field "spec.extra"']);
    assert.deepEqual(obj.spec, { size: 2, color: 'blue' });
    const strict = strategy.decode(widgetType, { metadata: { name: 'w' }, spec: { size: 2, extra: 1 } }, 'ns', 'v1');
    rejects(
      () => strategy.admit(widgetType, strict, undefined, { fieldValidation: 'Strict' }, 'v1'),
      'BadRequest',
      /strict decoding error: unknown field "spec.extra"/,
    );
    const small = strategy.decode(widgetType, { metadata: { name: 'w' }, spec: { size: 0 } }, 'ns', 'v1');
    rejects(() => strategy.admit(widgetType, small, undefined, {}, 'v1'), 'Invalid', /spec.size/);
    const badName = strategy.decode(widgetType, { metadata: { name: 'Not_A_Name' }, spec: { size: 1 } }, 'ns', 'v1');
    rejects(() => strategy.admit(widgetType, badName, undefined, {}, 'v1'), 'Invalid', /metadata.name/);
    const forbidden = strategy.decode(widgetType, { metadata: { name: 'w', labels: { forbidden: 'yes' } }, spec: { size: 1 } }, 'ns', 'v1');
    rejects(() => strategy.admit(widgetType, forbidden, undefined, {}, 'v1'), 'Invalid', /no/);
  });
});
