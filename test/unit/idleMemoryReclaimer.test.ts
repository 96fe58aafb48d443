import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { IdleMemoryReclaimer, observeMajorCollections } from '../../src/lib/IdleMemoryReclaimer.ts';

setFlagsFromString('--expose-gc');

const MiB = 1024 * 1024;
const silent = pino({ level: 'silent' });

describe('giving memory back after a load', () => {
  it('collects only when the API has been quiet and the heap has grown', () => {
    let now = 0;
    let heapTotal = 50 * MiB;
    let collections = 0;
    const r = new IdleMemoryReclaimer({
      logger: silent,
      now: () => now,
      memory: () => ({ rss: heapTotal + 100 * MiB, heapTotal }),
      gc: () => {
        collections++;
        heapTotal = 40 * MiB;
      },
      majorCollections: () => () => undefined,
    });
    r.start();
    try {
      heapTotal = 300 * MiB;
      now = 5_000;
      assert.equal(r.check(), false, 'not idle yet');
      r.touch();
      now = 14_000;
      assert.equal(r.check(), false, 'a request 9 s ago');
      now = 16_000;
      assert.equal(r.check(), true, 'idle and grown');
      assert.equal(collections, 1);
      now = 60_000;
      assert.equal(r.check(), false, 'nothing grew since');
      heapTotal = 80 * MiB;
      assert.equal(r.check(), false, 'grown by less than the threshold');
    } finally {
      r.stop();
    }
  });

  it('leaves the heap to V8 when a full collection of its own came after the last use', () => {
    let now = 0;
    let heapTotal = 50 * MiB;
    let collections = 0;
    let told: ((endedAt: number) => void) | undefined;
    let unsubscribed = false;
    const r = new IdleMemoryReclaimer({
      logger: silent,
      now: () => now,
      memory: () => ({ rss: heapTotal + 100 * MiB, heapTotal }),
      gc: () => void collections++,
      majorCollections: (listener) => {
        told = listener;
        return () => void (unsubscribed = true);
      },
    });
    r.start();
    try {
      assert.ok(told, 'subscribed at start');
      heapTotal = 300 * MiB;
      now = 1_000;
      r.touch();
      // A collection that ended before the last use (told after it) changes nothing.
      told(500);
      now = 12_000;
      assert.equal(r.check(), true, 'idle and grown, V8 collected only before the last use');
      assert.equal(collections, 1);
      r.touch();
      heapTotal = 500 * MiB;
      told(13_000);
      now = 30_000;
      assert.equal(r.check(), false, "V8's collection after the last use: left alone");
      assert.equal(collections, 1);
      heapTotal = 540 * MiB;
      assert.equal(r.check(), false, 'growth is measured from what V8 left');
    } finally {
      r.stop();
    }
    assert.ok(unsubscribed, 'unsubscribed at stop');
  });

  it("hears of V8's full collections, with the time each ended", async () => {
    const ended: number[] = [];
    const stop = observeMajorCollections((at) => ended.push(at));
    try {
      const before = Date.now();
      (runInNewContext('gc') as () => void)();
      const after = Date.now();
      // Node.js reports collections a little after the fact.
      for (let i = 0; i < 500 && ended.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(ended.length >= 1, 'told of the collection');
      assert.ok(
        ended.some((at) => at >= before - 5 && at <= after + 5),
        `ended between ${before} and ${after}: ${ended.join(', ')}`,
      );
    } finally {
      stop();
    }
  });

  it("shrinks V8's heap for real after a burst of garbage", () => {
    // V8's own collections during the burst are not told: this test is about the reclaimer's.
    const r = new IdleMemoryReclaimer({ logger: silent, now: () => 1e12, idleMs: 0, majorCollections: () => () => undefined });
    r.start();
    try {
      let keep: unknown[] = [];
      // About 250 MiB alive at once, then all garbage.
      for (let round = 0; round < 20; round++) keep.push(Array.from({ length: 200_000 }, (_, i) => ({ i, s: `value-${i}` })));
      keep = [];
      const before = process.memoryUsage().heapTotal;
      assert.ok(before > 150 * MiB, `the burst grew the heap (${Math.round(before / MiB)} MiB)`);
      assert.equal(r.check(), true);
      const after = process.memoryUsage().heapTotal;
      assert.ok(after < before / 2, `heap ${Math.round(before / MiB)} MiB → ${Math.round(after / MiB)} MiB`);
      assert.equal(keep.length, 0);
    } finally {
      r.stop();
    }
  });
});
