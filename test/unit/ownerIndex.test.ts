import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OwnerIndex } from '../../src/controllers/gc/OwnerIndex.ts';

describe('owner index', () => {
  it('follows objects as their owner references come, change and go', () => {
    const index = new OwnerIndex();
    index.set('work-a', ['res-1']);
    index.set('work-b', ['res-1']);
    index.set('run-a', ['res-1', 'promise']);
    assert.deepEqual(index.dependentsOf('res-1').sort(), ['run-a', 'work-a', 'work-b']);
    assert.deepEqual(index.dependentsOf('promise'), ['run-a']);
    index.set('work-b', ['res-1']); // the same owners again: nothing changes
    index.set('run-a', ['promise']); // one owner dropped
    assert.deepEqual(index.dependentsOf('res-1').sort(), ['work-a', 'work-b']);
    index.set('work-a', ['res-2']); // moved to another owner
    index.set('work-b', []); // owners gone from the object
    assert.deepEqual(index.dependentsOf('res-1'), []);
    assert.deepEqual(index.dependentsOf('res-2'), ['work-a']);
    index.set('work-c', ['res-2']);
    index.set('work-d', ['res-2']);
    index.set('work-c', []);
    index.set('work-a', []);
    assert.deepEqual(index.dependentsOf('res-2'), ['work-d'], 'down to one dependent and back to a set of two');
    index.set('work-e', ['res-2']);
    assert.deepEqual(index.dependentsOf('res-2').sort(), ['work-d', 'work-e']);
    index.forget('res-2');
    assert.deepEqual(index.dependentsOf('res-2'), []);
    index.set('work-d', ['res-2', 'res-3']);
    assert.deepEqual(index.dependentsOf('res-3'), ['work-d']);
    assert.deepEqual(index.dependentsOf('res-2'), ['work-d'], 'a forgotten owner named again is indexed again');
  });
});
