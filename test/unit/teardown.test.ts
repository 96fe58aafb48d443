import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Teardown, TeardownError } from '../../src/lib/Teardown.ts';

describe('Teardown', () => {
  it('releases the last acquired first, waiting for each', async () => {
    const order: string[] = [];
    const teardown = new Teardown();
    teardown.add('store', () => order.push('store'));
    teardown.add('helper', async () => {
      await new Promise((r) => setTimeout(r, 5));
      order.push('helper');
    });
    teardown.add('server', () => order.push('server'));
    await teardown.run();
    assert.deepEqual(order, ['server', 'helper', 'store']);
  });

  it('runs every release when one fails, and throws the first failure once all have run', async () => {
    const order: string[] = [];
    const teardown = new Teardown();
    teardown.add('lock', () => order.push('lock'));
    teardown.add('store', () => {
      throw new Error('disk gone');
    });
    teardown.add('helper', () => Promise.reject(new Error('helper hung')));
    teardown.add('server', () => order.push('server'));
    const err: unknown = await teardown.run().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof TeardownError);
    assert.equal(err.message, 'stopping helper failed: helper hung');
    assert.equal((err.cause as Error).message, 'helper hung');
    assert.deepEqual(order, ['server', 'lock']);
  });

  it('releases nothing twice: a second run waits for the first', async () => {
    let released = 0;
    const teardown = new Teardown();
    teardown.add('store', async () => {
      await new Promise((r) => setTimeout(r, 5));
      released++;
    });
    await Promise.all([teardown.run(), teardown.run()]);
    await teardown.run();
    assert.equal(released, 1);
  });
});
