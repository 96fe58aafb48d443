import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Slots } from '../../src/lib/Slots.ts';

describe('Slots', () => {
  it('grants up to its size at once, then in the order asked as slots come back', async () => {
    const slots = new Slots({ size: 2 });
    const first = await slots.take();
    const second = await slots.take();
    assert.equal(slots.available, 0);
    const granted: string[] = [];
    const third = slots.take().then((give) => {
      granted.push('third');
      return give;
    });
    const fourth = slots.take().then((give) => {
      granted.push('fourth');
      return give;
    });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(granted, [], 'nobody gets a slot while both are taken');
    assert.equal(slots.queued, 2);
    second();
    second(); // given back twice: counts once
    const giveThird = await third;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(granted, ['third']);
    assert.equal(slots.available, 0, 'the slot went straight to the waiter');
    first();
    (await fourth)();
    giveThird();
    assert.equal(slots.available, 2);
    assert.equal(slots.queued, 0);
  });

  it('a wait ended by its signal takes no slot and leaves the queue', async () => {
    const slots = new Slots({ size: 1 });
    const held = await slots.take();
    const stop = new AbortController();
    const waiting = slots.take(stop.signal);
    const next = slots.take();
    stop.abort(new Error('run stopped'));
    await assert.rejects(waiting, /run stopped/);
    assert.equal(slots.queued, 1);
    held();
    (await next)();
    assert.equal(slots.available, 1);
    await assert.rejects(slots.take(stop.signal), /run stopped/, 'an already stopped run does not queue');
    assert.equal(slots.available, 1);
  });

  it('refuses a size that is not a whole number of at least 1', () => {
    assert.throws(() => new Slots({ size: 0 }), /at least 1/);
    assert.throws(() => new Slots({ size: 1.5 }), /whole number/);
  });
});
