import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TextCache } from '../../src/store/TextCache.ts';

describe('text cache', () => {
  it('evicts the least recently used beyond its budget, down to 90%', () => {
    const cache = new TextCache({ maxChars: 100 });
    for (let i = 0; i < 10; i++) cache.remember(`k${i}`, 'x'.repeat(10), i + 1);
    assert.equal(cache.get('k0'), 'x'.repeat(10)); // k0 is now the freshest
    cache.remember('k10', 'x'.repeat(10), 11);
    assert.equal(cache.get('k1'), undefined, 'the stalest went');
    assert.equal(cache.get('k2'), undefined, 'and the next, down to 90 characters');
    assert.equal(cache.get('k3'), 'x'.repeat(10), 'no more');
    assert.equal(cache.get('k0'), 'x'.repeat(10), 'a read keeps an entry fresh');
    assert.equal(cache.forgottenRv, 3);
  });

  it('takes a row read from the database only if nothing newer was seen or forgotten since', () => {
    const cache = new TextCache();
    cache.remember('a', 'a@5', 5);
    cache.offer('a', 'a@3', 3);
    assert.equal(cache.get('a'), 'a@5', 'an older read does not replace a newer version');
    cache.remember('b', undefined, 7); // deleted at 7
    cache.offer('b', 'b@6', 6);
    assert.equal(cache.get('b'), undefined, 'a read from before the deletion does not bring it back');
    cache.offer('c', 'c@8', 8);
    assert.equal(cache.get('c'), 'c@8');
  });
});
