import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyStrategicMergePatch } from '../../src/api/strategicMergePatch.ts';

const conditions = { 'status.conditions': { strategy: 'merge' as const, mergeKey: 'type' } };

describe('strategic merge patch', () => {
  it('merges maps and deletes keys set to null, like a merge patch', () => {
    const got = applyStrategicMergePatch({ metadata: { labels: { a: '1', b: '2' } } }, { metadata: { labels: { b: null, c: '3' } } }, {});
    assert.deepEqual(got, { metadata: { labels: { a: '1', c: '3' } } });
  });

  it('replaces lists that have no strategy', () => {
    assert.deepEqual(applyStrategicMergePatch({ rules: [{ verbs: ['get'] }] }, { rules: [{ verbs: ['list'] }] }, {}), { rules: [{ verbs: ['list'] }] });
  });

  it('merges lists of objects by their merge key, and deletes with $patch: delete', () => {
    const original = {
      status: {
        conditions: [
          { type: 'A', status: 'True' },
          { type: 'B', status: 'False' },
        ],
      },
    };
    const got = applyStrategicMergePatch(
      original,
      {
        status: {
          conditions: [
            { type: 'B', status: 'True' },
            { type: 'C', status: 'True' },
            { type: 'A', $patch: 'delete' },
          ],
        },
      },
      conditions,
    );
    assert.deepEqual(got, {
      status: {
        conditions: [
          { type: 'B', status: 'True' },
          { type: 'C', status: 'True' },
        ],
      },
    });
    assert.equal(original.status.conditions.length, 2, 'the original is not modified');
  });

  it('treats metadata.finalizers as a set and honours $deleteFromPrimitiveList', () => {
    const got = applyStrategicMergePatch(
      { metadata: { finalizers: ['a', 'b'] } },
      { metadata: { finalizers: ['b', 'c'], '$deleteFromPrimitiveList/finalizers': ['a'] } },
      {},
    );
    assert.deepEqual(got, { metadata: { finalizers: ['b', 'c'] } });
  });

  it('replaces a map with $patch: replace and keeps only $retainKeys', () => {
    assert.deepEqual(applyStrategicMergePatch({ data: { a: '1', b: '2' } }, { data: { $patch: 'replace', c: '3' } }, {}), { data: { c: '3' } });
    assert.deepEqual(applyStrategicMergePatch({ spec: { a: 1, b: 2 } }, { spec: { $retainKeys: ['a', 'c'], c: 3 } }, {}), { spec: { a: 1, c: 3 } });
  });

  it('orders a merged list by $setElementOrder', () => {
    const got = applyStrategicMergePatch(
      { status: { conditions: [{ type: 'A' }, { type: 'B' }] } },
      { status: { '$setElementOrder/conditions': [{ type: 'B' }, { type: 'A' }] } },
      conditions,
    );
    assert.deepEqual(got, { status: { conditions: [{ type: 'B' }, { type: 'A' }] } });
  });

  it('refuses an unknown directive and a merge-key list element without its key', () => {
    assert.throws(() => applyStrategicMergePatch({}, { $patch: 'explode' }, {}), /unknown patch directive/);
    assert.throws(() => applyStrategicMergePatch({}, { status: { conditions: [{ status: 'x' }] } }, conditions), /merge key "type"/);
  });

  it('merges, deletes and orders big lists element by element (20,000 against 20,000)', () => {
    const n = 20_000;
    const names = Array.from({ length: n }, (_, i) => `f${i}`);
    const evens = names.filter((_, i) => i % 2 === 0);
    const deleted = applyStrategicMergePatch({ metadata: { finalizers: names } }, { metadata: { '$deleteFromPrimitiveList/finalizers': evens } }, {});
    assert.deepEqual(deleted, { metadata: { finalizers: names.filter((_, i) => i % 2 === 1) } });
    const conds = names.map((type) => ({ type, status: 'False' }));
    const patch = {
      status: {
        conditions: [...evens.map((type) => ({ type, status: 'True' })), { type: 'f1', $patch: 'delete' }, { type: 'new', status: 'True' }],
        '$setElementOrder/conditions': [{ type: 'new' }, ...names.map((type) => ({ type })).reverse()],
      },
    };
    const merged = applyStrategicMergePatch({ status: { conditions: conds } }, patch, conditions);
    const got = (merged.status as { conditions: { type: string; status: string }[] }).conditions;
    assert.equal(got.length, n);
    assert.deepEqual(got[0], { type: 'new', status: 'True' });
    assert.deepEqual(got[1], { type: `f${n - 1}`, status: 'False' });
    assert.deepEqual(got[2], { type: `f${n - 2}`, status: 'True' });
    assert.ok(!got.some((c) => c.type === 'f1'));
  });
});
