import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffFieldPaths, fieldPaths, recordUpdate, serverSideApply } from '../../src/registry/managedFields.ts';
import { isPlainObject, jsonEqual, type JsonObject } from '../../src/api/types.ts';
import { atomicFieldsOf } from '../../src/registry/schema/atomicFields.ts';
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

describe('the fields a write changes', () => {
  /** The definition: every leaf of each side, looked up in the other. */
  const valueAt = (obj: unknown, path: string[]): unknown => {
    let cur = obj;
    for (const p of path) {
      if (!isPlainObject(cur)) return undefined;
      cur = cur[p];
    }
    return cur;
  };
  const byDefinition = (old: JsonObject, updated: JsonObject): { changed: string[][]; removed: string[][] } => ({
    changed: fieldPaths(updated).filter((p) => !jsonEqual(valueAt(old, p), valueAt(updated, p))),
    removed: fieldPaths(old).filter((p) => valueAt(updated, p) === undefined),
  });
  const sorted = (paths: string[][]): string[] => paths.map((p) => p.join('.')).sort();

  it('are those of the definition, in its order, on random objects and their random changes', () => {
    let seed = 11;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const keys = ['a', 'b', 'c', 'd'];
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 2 || r < 0.35) return pick<unknown>(['x', 'y', 1, 2, true, null, [], [1], {}]);
      const out: JsonObject = {};
      for (const k of keys) if (random() < 0.5) out[k] = value(depth + 1);
      return out;
    };
    /** A changed copy: members kept (often the same object), changed, removed, set to undefined or added. */
    const change = (v: unknown, depth: number): unknown => {
      if (!isPlainObject(v) || random() < 0.15) return random() < 0.5 ? v : value(depth);
      const out: JsonObject = {};
      for (const k of keys) {
        const r = random();
        if (k in v && r < 0.5) out[k] = v[k];
        else if (k in v && r < 0.75) out[k] = change(v[k], depth + 1);
        else if (r < 0.8) out[k] = undefined;
        else if (r < 0.9) out[k] = value(depth + 1);
      }
      return out;
    };
    const object = (): JsonObject => ({
      apiVersion: 'g/v1',
      kind: 'K',
      metadata: {
        name: 'n',
        ...(random() < 0.7 ? { labels: { app: pick(['x', 'y']), ...(random() < 0.5 ? { tier: 'web' } : {}) } } : {}),
        ...(random() < 0.5 ? { annotations: { note: pick(['1', '2']) } } : {}),
        ...(random() < 0.5 ? { finalizers: [pick(['f1', 'f2'])] } : {}),
      },
      spec: value(0),
      ...(random() < 0.6 ? { status: value(1) } : {}),
    });
    for (let i = 0; i < 2000; i++) {
      const old = JSON.parse(JSON.stringify(object())) as JsonObject;
      const fresh = object();
      const updated: JsonObject = {
        ...old,
        metadata: random() < 0.5 ? old.metadata : fresh.metadata,
        spec: change(old.spec, 0),
        ...(random() < 0.3 ? { status: change(old.status, 1) } : {}),
        ...(random() < 0.1 ? { extra: value(0) } : {}),
      };
      const got = diffFieldPaths(old, updated);
      const want = byDefinition(old, updated);
      assert.deepEqual(got.changed, want.changed, `changed, case ${i}: ${JSON.stringify(old)} → ${JSON.stringify(updated)}`);
      assert.deepEqual(sorted(got.removed), sorted(want.removed), `removed, case ${i}: ${JSON.stringify(old)} → ${JSON.stringify(updated)}`);
    }
  });
});

describe("a manager's fields after its write", () => {
  /** A FieldsV1 tree's leaves, depth first, and a tree made of leaves: the definition the recorded tree must match. */
  const leaves = (tree: JsonObject, prefix: string[] = []): string[][] => {
    const keys = Object.keys(tree).filter((k) => k.startsWith('f:'));
    if (!keys.length) return prefix.length ? [prefix] : [];
    return keys.flatMap((k) => leaves(tree[k] as JsonObject, [...prefix, k.slice(2)]));
  };
  const treeOf = (paths: string[][]): JsonObject => {
    const root: JsonObject = {};
    for (const p of paths) {
      let node = root;
      for (const part of p) node = (node[`f:${part}`] ??= {}) as JsonObject;
    }
    return root;
  };

  it('are the fields it owned that it neither changed nor lost, then those it changed, on random objects and writes', () => {
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const keys = ['a', 'b', 'c'];
    const value = (depth: number): unknown => {
      if (depth > 2 || random() < 0.3) return random() < 0.5 ? 'x' : [1];
      const out: JsonObject = {};
      for (const k of keys) if (random() < 0.6) out[k] = value(depth + 1);
      return out;
    };
    const someOf = (paths: string[][]): string[][] => paths.filter(() => random() < 0.6);
    let rebuilt = 0;
    for (let i = 0; i < 2000; i++) {
      const old: KubeObject = { apiVersion: 'g/v1', kind: 'K', metadata: { name: 'n' }, spec: value(0) as JsonObject };
      const updated: KubeObject = { ...old, spec: random() < 0.8 ? (value(0) as JsonObject) : old.spec, ...(random() < 0.3 ? { status: value(1) } : {}) };
      // What the manager owned: some of the old object's fields, and some that were never there (owned, then gone).
      const ownedBefore = [
        ...someOf(fieldPaths(old)),
        ...someOf([
          ['spec', 'z'],
          ['spec', 'a', 'z'],
          ['status', 'q'],
        ]),
      ];
      const other = {
        manager: 'team',
        operation: 'Update' as const,
        apiVersion: 'g/v1',
        time: T,
        fieldsType: 'FieldsV1' as const,
        fieldsV1: { 'f:spec': { 'f:c': {} } },
      };
      const mine = {
        manager: 'ctl',
        operation: 'Update' as const,
        apiVersion: 'g/v1',
        time: T,
        fieldsType: 'FieldsV1' as const,
        fieldsV1: treeOf(ownedBefore),
      };
      const before = JSON.stringify(mine.fieldsV1);
      const fields = recordUpdate({ ...old, metadata: { ...old.metadata, managedFields: [other, mine] } }, updated, 'ctl', 'g/v1', T);
      const { changed, removed } = diffFieldPaths(old, updated);
      const gone = new Set([...changed, ...removed].map((p) => p.join('.')));
      const want = [...leaves(mine.fieldsV1).filter((p) => !gone.has(p.join('.'))), ...changed];
      const got = fields.find((e) => e.manager === 'ctl');
      const case_ = `case ${i}: ${JSON.stringify(old.spec)} → ${JSON.stringify(updated)}, owned ${before}`;
      assert.equal(JSON.stringify(mine.fieldsV1), before, `the stored tree is left as it was, ${case_}`);
      if (!changed.length && !removed.length) {
        assert.equal(got, mine, case_);
        continue;
      }
      if (!want.length) {
        assert.equal(got, undefined, case_);
        continue;
      }
      assert.ok(got, case_);
      const sorted = (paths: string[][]): string[] => paths.map((p) => p.join('.')).sort();
      assert.deepEqual(sorted(leaves(got.fieldsV1)), sorted(treeOf(want) && leaves(treeOf(want))), case_);
      // Unless kept whole (the same set), the tree is the definition's, member order included.
      if (got.fieldsV1 !== mine.fieldsV1) {
        rebuilt++;
        assert.equal(JSON.stringify(got.fieldsV1), JSON.stringify(treeOf(want)), case_);
      }
    }
    assert.ok(rebuilt > 500, `trees rebuilt in ${rebuilt} of 2000 cases`);
  });
});

describe('maps the schema marks atomic (x-kubernetes-map-type: atomic)', () => {
  const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
  const schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          selector: { ...stringMap, 'x-kubernetes-map-type': 'atomic' },
          labels: stringMap,
          // below a granular map of objects: each value's `sealed` member is atomic
          routes: { type: 'object', additionalProperties: { type: 'object', properties: { sealed: { type: 'object', 'x-kubernetes-map-type': 'atomic' } } } },
        },
      },
    },
  };
  const atomic = atomicFieldsOf(schema);

  it('are found through properties and additionalProperties, and a schema without any has none', () => {
    assert.equal(atomicFieldsOf({ type: 'object', properties: { spec: { type: 'object', properties: { labels: stringMap } } } }), undefined);
    assert.equal(atomicFieldsOf(undefined), undefined);
    assert.equal(atomicFieldsOf(schema), atomic, 'worked out once per schema');
    assert.deepEqual(
      fieldPaths(obj({ selector: { app: 'web', tier: 'front' }, labels: { a: '1' }, routes: { r1: { sealed: { x: 1, y: { z: 2 } }, open: 1 } } }), atomic),
      [
        ['spec', 'selector'],
        ['spec', 'labels', 'a'],
        ['spec', 'routes', 'r1', 'sealed'],
        ['spec', 'routes', 'r1', 'open'],
      ],
    );
  });

  it('are one field: a change of a member changes the map, another manager takes it whole', () => {
    const before = obj({ selector: { app: 'web' }, labels: { a: '1' } });
    const after = obj({ selector: { app: 'web', tier: 'front' }, labels: { a: '1' } });
    assert.deepEqual(diffFieldPaths(before, after, atomic), { changed: [['spec', 'selector']], removed: [] });
    assert.deepEqual(diffFieldPaths(after, obj({ labels: { a: '1' } }), atomic), { changed: [], removed: [['spec', 'selector']] });
    const first = recordUpdate(undefined, before, 'one', 'g/v1', T, undefined, atomic);
    assert.deepEqual(first[0]?.fieldsV1, { 'f:spec': { 'f:selector': {}, 'f:labels': { 'f:a': {} } } });
    const fields = recordUpdate({ ...before, metadata: { ...before.metadata, managedFields: first } }, after, 'two', 'g/v1', T, undefined, atomic);
    assert.deepEqual(
      fields.map((f) => [f.manager, f.fieldsV1]),
      [
        ['one', { 'f:spec': { 'f:labels': { 'f:a': {} } } }],
        ['two', { 'f:spec': { 'f:selector': {} } }],
      ],
    );
  });

  it('are replaced whole by an apply, and two appliers of different members conflict (granular maps merge)', () => {
    const live = serverSideApply(undefined, obj({ selector: { app: 'web' }, labels: { team: 'a' } }), 'a', false, 'g/v1', T, atomic).object;
    const other = obj({ selector: { tier: 'front' }, labels: { owner: 'b' } });
    const clash = serverSideApply(live, other, 'b', false, 'g/v1', T, atomic);
    assert.deepEqual(
      clash.conflicts.map((c) => c.field),
      ['.spec.selector'],
    );
    const forced = serverSideApply(live, other, 'b', true, 'g/v1', T, atomic).object;
    assert.deepEqual(forced.spec, { selector: { tier: 'front' }, labels: { team: 'a', owner: 'b' } });
    assert.deepEqual(
      forced.metadata.managedFields?.map((f) => [f.manager, f.fieldsV1]),
      [
        ['a', { 'f:spec': { 'f:labels': { 'f:team': {} } } }],
        ['b', { 'f:spec': { 'f:selector': {}, 'f:labels': { 'f:owner': {} } } }],
      ],
    );
    // Without the schema's word, the same two applies merge the selectors member by member.
    const granular = serverSideApply(
      serverSideApply(undefined, obj({ selector: { app: 'web' } }), 'a', false, 'g/v1', T).object,
      obj({ selector: { tier: 'front' } }),
      'b',
      false,
      'g/v1',
      T,
    );
    assert.deepEqual(granular.conflicts, []);
    assert.deepEqual(granular.object.spec, { selector: { app: 'web', tier: 'front' } });
  });

  it('collapse into one field at the next write when the tree still lists their members', () => {
    // Recorded member by member (before the map was marked atomic), then changed by the same manager.
    const before = obj({ selector: { app: 'web', tier: 'front' } });
    const entries = recordUpdate(undefined, before, 'ctl', 'g/v1', T);
    assert.deepEqual(entries[0]?.fieldsV1, { 'f:spec': { 'f:selector': { 'f:app': {}, 'f:tier': {} } } });
    const after = obj({ selector: { app: 'api' } });
    const fields = recordUpdate({ ...before, metadata: { ...before.metadata, managedFields: entries } }, after, 'ctl', 'g/v1', T, undefined, atomic);
    assert.deepEqual(fields[0]?.fieldsV1, { 'f:spec': { 'f:selector': {} } });
  });
});
