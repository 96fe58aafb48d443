import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StringInterner } from '../../src/lib/StringInterner.ts';

describe('string interner', () => {
  it('shares equal short values across parsed objects, in place, leaving keys, uids and long values alone', () => {
    const interner = new StringInterner({ maxLength: 20 });
    const text = JSON.stringify({ metadata: { uid: 'u-1', labels: { team: 'blue' } }, status: { conditions: [{ reason: 'Reconciled' }, 'Reconciled'] } });
    const a = JSON.parse(text);
    const b = JSON.parse(text);
    interner.internAll(a);
    interner.internAll(b);
    assert.deepEqual(a, JSON.parse(text), 'the values are unchanged');
    // The same instance is not observable from JavaScript; what is: the table hands out the first copy.
    assert.equal(interner.intern('Reconciled'), a.status.conditions[0].reason);
    assert.equal(interner.intern('x'.repeat(21)), 'x'.repeat(21));
  });

  it('starts over when full, and keeps answering equal strings', () => {
    const interner = new StringInterner({ maxEntries: 3 });
    for (const s of ['a', 'b', 'c', 'd', 'a']) assert.equal(interner.intern(s), s);
  });
});
