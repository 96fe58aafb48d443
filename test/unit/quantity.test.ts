/** Kubernetes quantities as a container's resources.limits give them: memory in bytes, CPU in thousandths of a core. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpuMillis, memoryBytes, QuantityError } from '../../src/api/quantity.ts';

describe('quantities', () => {
  it('read memory with binary and decimal suffixes', () => {
    assert.equal(memoryBytes('128Mi'), 128 * 2 ** 20);
    assert.equal(memoryBytes('1.5Gi'), 1.5 * 2 ** 30);
    assert.equal(memoryBytes('1G'), 1e9);
    assert.equal(memoryBytes('500000'), 500000);
    assert.equal(memoryBytes(1024), 1024);
    assert.equal(memoryBytes('1e3'), 1000);
  });
  it('read CPU as whole cores or millicores', () => {
    assert.equal(cpuMillis('500m'), 500);
    assert.equal(cpuMillis('2'), 2000);
    assert.equal(cpuMillis(0.25), 250);
    assert.equal(cpuMillis('1m'), 1);
    assert.equal(cpuMillis('0'), 0);
  });
  it('refuse what is not a quantity, naming the forms', () => {
    for (const bad of ['lots', '12Q', '-1', '', '1 Gi'])
      assert.throws(
        () => memoryBytes(bad),
        (e: unknown) => e instanceof QuantityError && /use e\.g\. "512Mi"/.test(e.message),
        bad,
      );
    assert.throws(() => cpuMillis(-2), QuantityError);
  });
});
