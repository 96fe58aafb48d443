/**
 * Gives memory back after a load. V8 keeps the pages a peak took (its page pool and an oversized heap) long after
 * the objects died: resident memory stayed near the peak for as long as the process lived. When the process has been
 * quiet for a while (`touch()` is called on every API request and every write to the store) and the heap has grown
 * since the last reclaim, one full "last resort" collection (the one V8 runs under memory pressure: compacting,
 * releasing pooled pages) returns most of it. It blocks the event loop for tens of milliseconds (up to seven full
 * collections), so it only runs when nothing is asked or written.
 *
 * V8's own memory reducer does the same job with incremental marking once allocation stops, and mostly comes first:
 * when a full collection has run since the last request or write, the reclaimer leaves it at that. At 100,000
 * resources its last resort held the event loop for ~350 ms (two compacting collections back to back) to give back
 * 20 MiB more than V8's reducer had (533 against 553 MiB of RSS), whose own pause was under 90 ms.
 */
import { PerformanceObserver, constants, performance, type PerformanceEntry } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from 'pino';

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

export interface IdleMemoryReclaimerOptions {
  logger: Logger;
  /** How long without requests counts as idle. Default 10 s. */
  idleMs?: number;
  /** How often to look. Default 15 s. */
  everyMs?: number;
  /** Reclaim only when the heap grew this much since the last reclaim. Default 64 MiB. */
  growthBytes?: number;
  now?: () => number;
  memory?: () => { rss: number; heapTotal: number };
  /** The collector (default: V8's, exposed at start). */
  gc?: GcFunction;
  /**
   * Subscribes `listener` to V8's full collections, whoever starts them, told when each ended (`now`'s clock);
   * answers the unsubscribe (default: a PerformanceObserver of major collections, for the default clock).
   */
  majorCollections?: (listener: (endedAt: number) => void) => () => void;
}

/** A `gc` entry's kind (its `detail`, which Node.js's types leave out of PerformanceEntry). */
function gcKindOf(entry: PerformanceEntry): unknown {
  const detail: unknown = Reflect.get(entry, 'detail');
  return typeof detail === 'object' && detail !== null && 'kind' in detail ? detail.kind : undefined;
}

/**
 * V8's major collections as Node.js reports them, a little after the fact: each with the time it ended (Date.now's
 * clock), not the time it was reported, which may come after a request that followed it.
 */
export function observeMajorCollections(listener: (endedAt: number) => void): () => void {
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (gcKindOf(e) === constants.NODE_PERFORMANCE_GC_MAJOR) listener(performance.timeOrigin + e.startTime + e.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

function exposeGc(): GcFunction {
  const existing = (globalThis as { gc?: GcFunction }).gc;
  if (existing) return existing;
  // The documented way to reach V8's gc() without the command-line flag: a fresh context sees it once exposed.
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as GcFunction;
}

export class IdleMemoryReclaimer {
  private readonly opts: IdleMemoryReclaimerOptions;
  private readonly now: () => number;
  private readonly memory: () => { rss: number; heapTotal: number };
  private lastActivity: number;
  private baseline: number;
  private timer: NodeJS.Timeout | undefined;
  private gc: GcFunction | undefined;
  /** When V8 last finished a full collection (this clock), or -Infinity. */
  private lastMajor = -Infinity;
  private unobserve: (() => void) | undefined;

  constructor(options: IdleMemoryReclaimerOptions) {
    this.opts = options;
    this.now = options.now ?? Date.now;
    this.memory = options.memory ?? (() => process.memoryUsage());
    this.lastActivity = this.now();
    this.baseline = this.memory().heapTotal;
  }

  /** Called on every API request and store write. */
  touch(): void {
    this.lastActivity = this.now();
  }

  start(): void {
    if (this.timer) return;
    this.gc = this.opts.gc ?? exposeGc();
    this.unobserve = (this.opts.majorCollections ?? observeMajorCollections)((endedAt) => (this.lastMajor = Math.max(this.lastMajor, endedAt)));
    this.timer = setInterval(() => this.check(), this.opts.everyMs ?? 15_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unobserve?.();
    this.unobserve = undefined;
  }

  /** Reclaims if idle and grown; returns whether it did. */
  check(): boolean {
    if (!this.gc || this.now() - this.lastActivity < (this.opts.idleMs ?? 10_000)) return false;
    const before = this.memory();
    if (before.heapTotal - this.baseline < (this.opts.growthBytes ?? 64 * 1024 * 1024)) return false;
    if (this.lastMajor > this.lastActivity) {
      // V8 collected the whole heap after the last use (its memory reducer, once allocation stopped): what is left
      // is what lives, and the growth is measured from here.
      this.baseline = before.heapTotal;
      return false;
    }
    const started = performance.now();
    this.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    // The event loop stood still meanwhile (~0.8 s at 100,000 resources): said, for whoever reads a slow probe.
    const pauseMs = Math.round(performance.now() - started);
    const after = this.memory();
    this.baseline = after.heapTotal;
    this.opts.logger.info(
      { rssBefore: before.rss, rssAfter: after.rss, heapBefore: before.heapTotal, heapAfter: after.heapTotal, pauseMs },
      'memory given back after a load',
    );
    return true;
  }
}
