import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LiveObjects } from '../../src/controllers/gc/LiveObjects.ts';

describe('LiveObjects', () => {
  it('knows an object seen as it was seen, and not once it is gone', () => {
    const live = new LiveObjects({ capacity: 10 });
    live.seen('u1', () => 'g|Thing|ns|a');
    assert.equal(live.has('u1', 'g|Thing|ns|a'), true);
    assert.equal(live.has('u1', 'g|Thing|other|a'), false, 'another namespace');
    assert.equal(live.has('u1', 'g|Thing|ns|b'), false, 'another name');
    assert.equal(live.has('u2', 'g|Thing|ns|a'), false, 'another uid');
    live.gone('u1');
    assert.equal(live.has('u1', 'g|Thing|ns|a'), false);
  });

  it('forgets what was not seen again within its capacity', () => {
    const live = new LiveObjects({ capacity: 4 });
    live.seen('u1', () => 'a');
    live.seen('u2', () => 'b'); // a generation of two: both become the older one
    live.seen('u1', () => 'a'); // seen again: in the newer generation
    live.seen('u3', () => 'c'); // the newer generation is full: the older one (u2 alone now) goes
    assert.equal(live.has('u2', 'b'), false, 'not seen since two generations');
    assert.equal(live.has('u1', 'a'), true);
    assert.equal(live.has('u3', 'c'), true);
    live.gone('u1');
    assert.equal(live.has('u1', 'a'), false, 'gone from either generation');
  });

  it('makes an identity only for an object not seen since the current generation began', () => {
    const live = new LiveObjects({ capacity: 4 });
    let made = 0;
    const identity = (id: string) => (): string => {
      made++;
      return id;
    };
    live.seen('u1', identity('a'));
    live.seen('u1', identity('a'));
    assert.equal(made, 1, 'seen again in the same generation: nothing made');
    live.seen('u2', identity('b')); // the generation is full: both become the older one
    live.seen('u1', identity('a')); // back into the newer generation with the identity it had
    assert.equal(made, 2);
    assert.equal(live.has('u1', 'a'), true);
  });
});
