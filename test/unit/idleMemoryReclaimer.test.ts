import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { IdleMemoryReclaimer } from '../../src/lib/IdleMemoryReclaimer.ts';

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

  it("shrinks V8's heap for real after a burst of garbage", () => {
    const r = new IdleMemoryReclaimer({ logger: silent, now: () => 1e12, idleMs: 0 });
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
