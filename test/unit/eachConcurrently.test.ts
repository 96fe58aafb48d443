import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eachConcurrently } from '../../src/lib/eachConcurrently.ts';

/** A call that waits until the test ends it. */
function gate(): { promise: Promise<void>; open(): void; fail(err: Error): void } {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('eachConcurrently', () => {
  it('calls for every item, in order, never more than the limit at once', async () => {
    const gates = new Map<number, ReturnType<typeof gate>>();
    const started: number[] = [];
    const done = eachConcurrently([1, 2, 3, 4, 5], 2, (n) => {
      started.push(n);
      const g = gate();
      gates.set(n, g);
      return g.promise;
    });
    await turn();
    assert.deepEqual(started, [1, 2]);
    gates.get(2)?.open();
    await turn();
    assert.deepEqual(started, [1, 2, 3], 'a finished call makes room for the next item');
    gates.get(1)?.open();
    gates.get(3)?.open();
    await turn();
    assert.deepEqual(started, [1, 2, 3, 4, 5]);
    gates.get(4)?.open();
    gates.get(5)?.open();
    await done;
  });

  it('starts nothing after a failure, waits for the calls under way and throws the first failure', async () => {
    const gates = new Map<number, ReturnType<typeof gate>>();
    const started: number[] = [];
    let settled = false;
    const done = eachConcurrently([1, 2, 3, 4], 2, (n) => {
      started.push(n);
      const g = gate();
      gates.set(n, g);
      return g.promise;
    }).finally(() => (settled = true));
    await turn();
    gates.get(1)?.fail(new Error('one failed'));
    await turn();
    assert.deepEqual(started, [1, 2], 'no new call after the failure');
    assert.equal(settled, false, 'the call under way is awaited');
    gates.get(2)?.fail(new Error('two failed too'));
    await assert.rejects(done, /one failed/);
  });

  it('with no items, or a limit under 1, still calls for each item', async () => {
    await eachConcurrently([], 4, () => Promise.reject(new Error('never called')));
    const seen: string[] = [];
    await eachConcurrently(['a', 'b'], 0, async (s) => {
      seen.push(s);
    });
    assert.deepEqual(seen, ['a', 'b']);
  });
});
