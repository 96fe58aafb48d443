import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { recordUpdate, serverSideApply } from '../../src/registry/managedFields.ts';
import type { KubeObject } from '../../src/api/types.ts';

const obj = (spec: Record<string, unknown>, labels?: Record<string, string>): KubeObject => ({
  apiVersion: 'g/v1',
  kind: 'K',
  metadata: { name: 'a', ...(labels ? { labels } : {}) },
  spec,
});
const T = '2026-01-01T00:00:00Z';

describe('server-side apply field ownership', () => {
  it('creates with the applier owning its fields', () => {
    const r = serverSideApply(undefined, obj({ a: 1, b: { c: 2 } }), 'm1', false, 'g/v1', T);
    assert.deepEqual(r.conflicts, []);
    assert.deepEqual(r.object.metadata.managedFields?.[0]?.fieldsV1, { 'f:spec': { 'f:a': {}, 'f:b': { 'f:c': {} } } });
  });
  it('reports a conflict when another manager owns a field with a different value, and takes it with force', () => {
    const live = serverSideApply(undefined, obj({ a: 1 }), 'm1', false, 'g/v1', T).object;
    const same = serverSideApply(live, obj({ a: 1 }), 'm2', false, 'g/v1', T);
    assert.deepEqual(same.conflicts, [], 'same value is shared ownership, not a conflict');
    const clash = serverSideApply(live, obj({ a: 2 }), 'm2', false, 'g/v1', T);
    assert.equal(clash.conflicts.length, 1);
    assert.equal(clash.conflicts[0]?.field, '.spec.a');
    const forced = serverSideApply(live, obj({ a: 2 }), 'm2', true, 'g/v1', T);
    assert.equal((forced.object.spec as { a: number }).a, 2);
    assert.deepEqual(
      forced.object.metadata.managedFields?.map((m) => m.manager),
      ['m2'],
    );
  });
  it('removes fields the manager stopped applying when nobody else owns them', () => {
    const live = serverSideApply(undefined, obj({ a: 1, b: 2 }, { x: 'y' }), 'm1', false, 'g/v1', T).object;
    const next = serverSideApply(live, obj({ a: 1 }), 'm1', false, 'g/v1', T).object;
    assert.deepEqual(next.spec, { a: 1 });
    assert.equal(next.metadata.labels, undefined);
  });
  it('records Update ownership for the fields a write changed', () => {
    const before = obj({ a: 1 });
    const after = obj({ a: 2, z: 3 });
    const entries = recordUpdate(before, after, 'kubectl-edit', 'g/v1', T);
    assert.deepEqual(entries, [
      { manager: 'kubectl-edit', operation: 'Update', apiVersion: 'g/v1', time: T, fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:a': {}, 'f:z': {} } } },
    ]);
  });
});

describe('non-apply writes', () => {
  it('a status write records only status fields for its manager and keeps the spec owners', () => {
    const live = serverSideApply(undefined, obj({ a: 1 }), 'team', false, 'g/v1', T).object;
    const withStatus: KubeObject = { ...live, status: { phase: 'Running', replicas: 1 } };
    const fields = recordUpdate(live, withStatus, 'controller', 'g/v1', T, 'status');
    assert.deepEqual(
      fields.map((f) => [f.manager, f.subresource ?? '', f.fieldsV1]),
      [
        ['team', '', { 'f:spec': { 'f:a': {} } }],
        ['controller', 'status', { 'f:status': { 'f:phase': {}, 'f:replicas': {} } }],
      ],
    );
    const next = recordUpdate(
      { ...withStatus, metadata: { ...withStatus.metadata, managedFields: fields } },
      { ...withStatus, status: { phase: 'Done' } },
      'controller',
      'g/v1',
      T,
      'status',
    );
    assert.deepEqual(next.at(-1)?.fieldsV1, { 'f:status': { 'f:phase': {} } }, 'a removed status field leaves its owner');
  });

  it("takes a changed field from its owner and leaves another manager's entry exactly as it was", () => {
    // An entry as kubectl writes it, with markers FleetOps does not interpret ('.', 'k:'): kept byte for byte.
    const kubectlEntry = {
      manager: 'kubectl-client-side-apply',
      operation: 'Update' as const,
      apiVersion: 'g/v1',
      time: T,
      fieldsType: 'FieldsV1' as const,
      fieldsV1: { 'f:spec': { '.': {}, 'f:b': {}, 'f:list': { 'k:{"name":"x"}': { '.': {} } } } },
    };
    const teamEntry = {
      manager: 'team',
      operation: 'Update' as const,
      apiVersion: 'g/v1',
      time: T,
      fieldsType: 'FieldsV1' as const,
      fieldsV1: { 'f:spec': { 'f:a': {}, 'f:c': {} } },
    };
    const live: KubeObject = { ...obj({ a: 1, b: 2, c: 3, list: [{ name: 'x' }] }), metadata: { name: 'a', managedFields: [kubectlEntry, teamEntry] } };
    const fields = recordUpdate(live, obj({ a: 5, b: 2, c: 3, list: [{ name: 'x' }] }), 'controller', 'g/v1', T);
    assert.equal(fields[0], kubectlEntry, 'an entry that lost nothing is the same entry');
    assert.deepEqual(fields[1]?.fieldsV1, { 'f:spec': { 'f:c': {} } }, 'the changed field left its owner');
    assert.deepEqual(fields[2]?.fieldsV1, { 'f:spec': { 'f:a': {} } });
    // Rewriting only what it owns keeps the manager's set; a new field, or one it stops writing, changes it.
    const owned = { ...live, spec: { a: 5, b: 2, c: 3, list: [{ name: 'x' }] }, metadata: { name: 'a', managedFields: fields } };
    assert.deepEqual(recordUpdate(owned, { ...owned, spec: { ...owned.spec, a: 6 } }, 'controller', 'g/v1', T).at(-1)?.fieldsV1, { 'f:spec': { 'f:a': {} } });
    assert.deepEqual(recordUpdate(owned, { ...owned, spec: { ...owned.spec, a: 6, d: 1 } }, 'controller', 'g/v1', T).at(-1)?.fieldsV1, {
      'f:spec': { 'f:a': {}, 'f:d': {} },
    });
    const { a: _a, ...withoutA } = owned.spec;
    assert.equal(
      recordUpdate(owned, { ...owned, spec: withoutA }, 'controller', 'g/v1', T).find((e) => e.manager === 'controller'),
      undefined,
    );
  });
});
