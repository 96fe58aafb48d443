import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limitHeapGrowth } from '../../src/lib/heapGrowth.ts';

test("the heap's growth is limited unless the operator gave node a growth of their own", () => {
  assert.equal(limitHeapGrowth(50, ['--heap-growing-percent=80']), false, 'a flag on the command line wins');
  assert.equal(limitHeapGrowth(50, ['--max-old-space-size=4096 --heap_growing_percent=20']), false, 'in NODE_OPTIONS too');
  assert.equal(limitHeapGrowth(50, ['--max-old-space-size=4096']), true);
});
