/**
 * Gives memory back after a load. V8 keeps the pages a peak took (its page pool and an oversized heap) long after
 * the objects died: resident memory stayed near the peak for as long as the process lived. When the process has been
 * quiet for a while (`touch()` is called on every API request and every write to the store) and the heap has grown
 * since the last reclaim, one full "last resort" collection (the one V8 runs under memory pressure: compacting,
 * releasing pooled pages) returns most of it. It blocks the event loop for tens of milliseconds (up to seven full
 * collections), so it only runs when nothing is asked or written.
 */
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
    this.timer = setInterval(() => this.check(), this.opts.everyMs ?? 15_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reclaims if idle and grown; returns whether it did. */
  check(): boolean {
    if (!this.gc || this.now() - this.lastActivity < (this.opts.idleMs ?? 10_000)) return false;
    const before = this.memory();
    if (before.heapTotal - this.baseline < (this.opts.growthBytes ?? 64 * 1024 * 1024)) return false;
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
