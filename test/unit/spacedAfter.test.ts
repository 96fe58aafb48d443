import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spacedAfter } from '../../src/controller/spacedAfter.ts';

test('spaces fleet-sized work by three times its last run, within its bounds', () => {
  assert.equal(spacedAfter(0, 200, 2_000), 200);
  assert.equal(spacedAfter(100, 200, 2_000), 300);
  assert.equal(spacedAfter(5_000, 200, 2_000), 2_000);
});
