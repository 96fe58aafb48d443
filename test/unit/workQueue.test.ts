import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { WorkQueue } from '../../src/controller/WorkQueue.ts';
import { Controller } from '../../src/controller/Controller.ts';
import { ApiError } from '../../src/api/errors.ts';

describe('WorkQueue', () => {
  it('deduplicates keys and never hands one key to two workers', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    assert.equal(q.length, 2);
    const first = await q.get();
    assert.equal(first, 'a');
    q.add('a'); // while processing: queued again only after done
    assert.equal(await q.get(), 'b');
    let got: string | undefined;
    const waiting = q.get().then((k) => (got = k));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(got, undefined, 'a is still being processed');
    q.done('a');
    await waiting;
    assert.equal(got, 'a');
  });
  it('hands out no more keys once shut down, dropping those queued, and takes keys again when reopened', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 1000; i++) q.add(`k${i}`);
    assert.equal(await q.get(), 'k0');
    q.add('k0'); // changed while processed
    q.shutDown();
    assert.equal(await q.get(), undefined, 'a backlog is not worked through on shutdown');
    assert.equal(q.length, 0);
    q.done('k0');
    assert.equal(q.length, 0, 'a key changed while processed is not queued after shutdown');
    q.reopen();
    q.add('k1');
    assert.equal(await q.get(), 'k1');
  });
  /** A queue on a fake clock and fake timers: `advance` moves the clock and fires the timers due. */
  function fakeTimed(options: { baseDelayMs?: number; maxDelayMs?: number } = {}) {
    let clock = 0;
    const timers: { fn: () => void; at: number }[] = [];
    const q = new WorkQueue({
      ...options,
      now: () => clock,
      setTimer: (fn, ms) => {
        const t = { fn, at: clock + ms };
        timers.push(t);
        return t;
      },
      clearTimer: (t) => void timers.splice(timers.indexOf(t as (typeof timers)[number]), 1),
    });
    const advance = (ms: number): void => {
      clock += ms;
      for (const t of timers.filter((x) => x.at <= clock)) {
        timers.splice(timers.indexOf(t), 1);
        t.fn();
      }
    };
    return { q, timers, advance };
  }

  it('backs off exponentially per key and forgets on success', async () => {
    const { q, advance } = fakeTimed({ baseDelayMs: 10, maxDelayMs: 50 });
    /** How long until a retried key is queued again (then taken and done). */
    const retry = async (): Promise<number> => {
      q.addRateLimited('k');
      let waited = 0;
      while (q.length === 0) {
        advance(1);
        waited++;
      }
      assert.equal(await q.get(), 'k');
      q.done('k');
      return waited;
    };
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) delays.push(await retry());
    assert.deepEqual(delays, [10, 20, 40, 50, 50]);
    q.forget('k');
    assert.equal(await retry(), 10);
  });

  it('adds delayed keys when due, the earliest delay winning, with one timer for them all', async () => {
    const { q, timers, advance } = fakeTimed();
    q.addAfter('a', 100);
    q.addAfter('b', 50);
    q.addAfter('a', 30); // earlier: it wins
    q.addAfter('b', 200); // later: ignored
    for (let i = 0; i < 1000; i++) q.addAfter(`many-${i}`, 1000 + i);
    assert.equal(timers.length, 1, 'one timer');
    advance(29);
    assert.equal(q.length, 0);
    advance(1);
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
    q.done('a');
    q.addAfter('a', 400); // due at 430 now
    advance(20);
    assert.equal(await q.get(), 'b');
    q.done('b');
    advance(100);
    assert.equal(q.length, 0, 'the stale entry of a (due at 100) adds nothing');
    advance(850); // at 1,000
    assert.equal(q.length, 2, 'a (due at 430) and the first of many');
    advance(999);
    assert.equal(q.length, 1001, 'each of many in its turn');
    assert.equal(timers.length, 0);
    q.addAfter('late', 10);
    q.shutDown();
    assert.equal(timers.length, 0, 'a shut down queue keeps no timer');
  });
});

describe('Controller', () => {
  it('retries failures, retries conflicts at once, and honours requeueAfter', async () => {
    const calls: string[] = [];
    let n = 0;
    const c = new Controller({
      name: 't',
      logger: pino({ level: 'silent' }),
      queue: new WorkQueue({ baseDelayMs: 1 }),
      reconciler: {
        async reconcile(key) {
          calls.push(key);
          n++;
          if (n === 1) throw new Error('transient');
          if (n === 2) throw new ApiError(409, 'Conflict', 'conflict');
          if (n === 3) return { requeueAfter: 5 };
          return undefined;
        },
      },
    });
    c.start();
    c.enqueue('x');
    const deadline = Date.now() + 2000;
    while (calls.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await c.stop();
    assert.deepEqual(calls, ['x', 'x', 'x', 'x']);
  });

  it('aborts running reconciles on stop through their signal, and works again when started anew', async () => {
    const seen: string[] = [];
    const c = new Controller({
      name: 't',
      logger: pino({ level: 'silent' }),
      reconciler: {
        async reconcile(key, _log, signal) {
          seen.push(`start ${key}`);
          if (key === 'long') await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          seen.push(`${signal.aborted ? 'aborted' : 'done'} ${key}`);
        },
      },
    });
    c.start();
    c.enqueue('long');
    while (!seen.includes('start long')) await new Promise((r) => setTimeout(r, 2));
    await c.stop(); // would hang if the reconcile were not told
    assert.deepEqual(seen, ['start long', 'aborted long']);
    c.start(); // a replica leading again
    c.enqueue('short');
    await c.idle();
    await c.stop();
    assert.deepEqual(seen.slice(2), ['start short', 'done short']);
  });

  it('gives way to timers and I/O while reconciles that never wait keep its queue full', async () => {
    // Reconciles against the embedded store resolve at once: without giving way, 2,000 of them would run as one chain
    // of microtasks and the timer below (standing for an API request, or /healthz) would fire only after the last.
    let done = 0;
    const c = new Controller({
      name: 't',
      logger: pino({ level: 'silent' }),
      concurrency: 2,
      reconciler: {
        async reconcile() {
          const until = performance.now() + 0.05;
          while (performance.now() < until); // a little CPU, no I/O
          done++;
        },
      },
    });
    for (let i = 0; i < 2000; i++) c.enqueue(`k${i}`);
    const firedAfter = new Promise<number>((resolve) => setTimeout(() => resolve(done), 0));
    c.start();
    const seen = await firedAfter;
    assert.ok(seen < 2000, `the timer fired after ${seen} of 2000 reconciles: the workers never gave way`);
    while (done < 2000) await new Promise((r) => setTimeout(r, 5));
    await c.stop();
  });

  it('shares one budget between every worker: a turn of the event loop is not as long as the workers are many', async () => {
    // Five controllers of four workers, each reconcile 1 ms of CPU: were each worker to spend a budget of its own per
    // turn, a turn would hold about 20 × 10 reconciles; shared, about one budget's worth plus one per worker.
    let done = 0;
    const controllers = Array.from(
      { length: 5 },
      (_, i) =>
        new Controller({
          name: `c${i}`,
          logger: pino({ level: 'silent' }),
          concurrency: 4,
          reconciler: {
            async reconcile() {
              const until = performance.now() + 1;
              while (performance.now() < until); // CPU, no I/O
              done++;
            },
          },
        }),
    );
    for (const c of controllers) for (let k = 0; k < 400; k++) c.enqueue(`k${k}`);
    // The most reconciles seen between two timer callbacks (each timer stands for a request waiting on the loop).
    let most = 0;
    let seen = 0;
    const tick = (): void => {
      most = Math.max(most, done - seen);
      seen = done;
      if (done < 2000) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    for (const c of controllers) c.start();
    while (done < 2000) await new Promise((r) => setTimeout(r, 5));
    for (const c of controllers) await c.stop();
    assert.ok(most < 100, `${most} reconciles ran in one turn of the event loop`);
  });
});
