import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spacedAfter } from '../../src/controller/spacedAfter.ts';

test('spaces fleet-sized work by three times its last run, within its bounds', () => {
  assert.equal(spacedAfter(0, 200, 2_000), 200);
  assert.equal(spacedAfter(100, 200, 2_000), 300);
  assert.equal(spacedAfter(5_000, 200, 2_000), 2_000);
});

test('spaces by another factor when given one (a state store spaces its writes by six)', () => {
  assert.equal(spacedAfter(100, 200, 2_000, 6), 600);
  assert.equal(spacedAfter(10, 200, 2_000, 6), 200);
  assert.equal(spacedAfter(1_000, 200, 2_000, 6), 2_000);
});
