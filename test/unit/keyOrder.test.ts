import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyOrder } from '../../src/controllers/statestore/KeyOrder.ts';

describe('KeyOrder', () => {
  it('walks its keys in code-unit order as keys come and go, as a sort of the set would', () => {
    const order = new KeyOrder();
    const reference = new Set<string>();
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // Namespaced keys as the controller makes them (NUL between namespace and name), some removed and added again
    // between two walks.
    const keyOf = (): string => `${['a', 'a-x', 'b', 'team-1'][random(4)]}\0${['p', 'p-1', 'q', 'z'][random(4)]}${random(50)}`;
    for (let round = 0; round < 200; round++) {
      for (let op = 0; op < 1 + random(20); op++) {
        // As the controller calls it: adds a key it does not hold, deletes one it holds.
        const key = keyOf();
        if (random(3) === 0) {
          if (reference.delete(key)) order.delete(key);
        } else if (!reference.has(key)) {
          order.add(key);
          reference.add(key);
        }
      }
      assert.deepEqual(order.keys(), [...reference].sort(), `round ${round}`);
      assert.equal(order.size, reference.size);
    }
  });

  it('orders a namespace before a longer one that starts with it, as the pair (namespace, name) sorts', () => {
    const order = new KeyOrder();
    order.add('a-x\0c');
    order.add('a\0b');
    order.add('a\0a');
    assert.deepEqual(order.keys(), ['a\0a', 'a\0b', 'a-x\0c']);
  });
});
