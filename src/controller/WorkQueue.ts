/**
 * A work queue with client-go semantics: a key is queued at most once, never processed by two workers at once
 * (a key added while processing is queued again when done), delayed adds, and per-key exponential backoff.
 * Counted as client-go's `workqueue_*` metrics; with tracing on, a key keeps the trace context it was first added in
 * (what caused its reconcile) until it is taken.
 */
import { controllerLevels, workqueueMetrics, type CounterSeries, type HistogramSeries } from '../telemetry/metrics.ts';
import { activeTraceContext, spanIdOf, type Context } from '../telemetry/tracing.ts';

/** Causes kept per key: enough to link a batch's changes without holding a fleet's contexts. */
const MAX_CAUSES = 32;

export interface WorkQueueOptions {
  /** The queue's name in metrics (its controller's). Default `unnamed`. */
  name?: string;
  /** First retry delay after a failure. Default 10 ms. */
  baseDelayMs?: number;
  /** Longest retry delay. Default 60 s. */
  maxDelayMs?: number;
  setTimer?: (fn: () => void, ms: number) => { unref?(): void } | unknown;
  clearTimer?: (handle: unknown) => void;
  /** The clock delayed adds are due by (ms; monotonic: a wall clock set back would hold them). Default `performance.now`. */
  now?: () => number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  /**
   * Delayed adds: when each key is due, and the same as a min-heap of [due, key] (entries whose key is no longer due
   * then are stale, skipped when they surface), woken by one timer for the earliest. A fleet's resources each wait for
   * their periodic reconcile: a Node timer each (a Timeout, its closure and list links) held ~300 bytes per resource.
   */
  private readonly due = new Map<string, number>();
  private heap: [number, string][] = [];
  private wake: { at: number; handle: unknown } | undefined;
  private readonly now: () => number;
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly base: number;
  private readonly max: number;
  private readonly setTimer: NonNullable<WorkQueueOptions['setTimer']>;
  private readonly clearTimer: NonNullable<WorkQueueOptions['clearTimer']>;
  /** When each queued key was added (for workqueue_queue_duration_seconds). */
  private readonly addedAt = new Map<string, number>();
  /** The trace contexts a queued key was added in, first first, at most MAX_CAUSES (tracing on only). */
  private readonly causes = new Map<string, Context[]>();
  private readonly metrics: { adds: CounterSeries; retries: CounterSeries; queued: HistogramSeries };
  private untrack: (() => void) | undefined;
  readonly name: string;

  constructor(options: WorkQueueOptions = {}) {
    this.name = options.name ?? 'unnamed';
    this.metrics = {
      adds: workqueueMetrics.adds.with(this.name),
      retries: workqueueMetrics.retries.with(this.name),
      queued: workqueueMetrics.queueDuration.with(this.name),
    };
    this.base = options.baseDelayMs ?? 10;
    this.max = options.maxDelayMs ?? 60_000;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
    this.now = options.now ?? (() => performance.now());
  }

  get length(): number {
    return this.queue.length - this.head;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    this.remember(key);
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    this.metrics.adds.inc();
    if (!this.addedAt.has(key)) this.addedAt.set(key, performance.now());
    if (this.processing.has(key)) return;
    this.hand(key);
  }

  /** A dirty key to a waiting worker, or to the queue. */
  private hand(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.taken(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
  }

  /** A key handed to a worker: how long it waited is measured. */
  private taken(key: string): void {
    this.processing.add(key);
    const at = this.addedAt.get(key);
    if (at !== undefined) {
      this.addedAt.delete(key);
      this.metrics.queued.observe((performance.now() - at) / 1000);
    }
  }

  /** Keeps the active trace context as a cause of the key's next processing. */
  private remember(key: string): void {
    const cause = activeTraceContext();
    if (!cause) return;
    const causes = this.causes.get(key);
    if (!causes) this.causes.set(key, [cause]);
    else if (causes.length < MAX_CAUSES && !causes.some((c) => spanIdOf(c) === spanIdOf(cause))) causes.push(cause);
  }

  /**
   * The trace contexts that caused the key's current processing, first first (taken once; tracing on only). A batch
   * (one state-store write for many changes) has several: its span continues the first and links the others.
   */
  takeCauses(key: string): Context[] {
    const causes = this.causes.get(key);
    if (!causes) return [];
    this.causes.delete(key);
    return causes;
  }

  /** Adds after a delay; an earlier pending delay for the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    this.remember(key);
    const at = this.now() + ms;
    const existing = this.due.get(key);
    if (existing !== undefined && existing <= at) return;
    this.due.set(key, at);
    this.push([at, key]);
    this.arm();
  }

  /** The one timer, set for the earliest due key (again when an earlier one comes). */
  private arm(): void {
    const first = this.heap[0];
    if (!first || (this.wake && this.wake.at <= first[0])) return;
    if (this.wake) this.clearTimer(this.wake.handle);
    const handle = this.setTimer(() => this.fire(), Math.max(0, first[0] - this.now()));
    (handle as { unref?: () => void }).unref?.();
    this.wake = { at: first[0], handle };
  }

  /** Adds every key now due, and sets the timer for the next. */
  private fire(): void {
    this.wake = undefined;
    const now = this.now();
    for (let top = this.heap[0]; top && top[0] <= now; top = this.heap[0]) {
      this.pop();
      const [at, key] = top;
      if (this.due.get(key) !== at) continue; // stale: the key was due earlier, or is no longer
      this.due.delete(key);
      this.add(key);
    }
    this.arm();
  }

  private push(entry: [number, string]): void {
    const h = this.heap;
    h.push(entry);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (h[parent]![0] <= entry[0]) break;
      h[i] = h[parent]!;
      h[parent] = entry;
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (!h.length) return;
    h[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < h.length && h[l]![0] < h[min]![0]) min = l;
      if (r < h.length && h[r]![0] < h[min]![0]) min = r;
      if (min === i) break;
      [h[i], h[min]] = [h[min]!, h[i]!];
      i = min;
    }
  }

  /** Re-adds after this key's next backoff delay. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.metrics.retries.inc();
    this.addAfter(key, Math.min(this.max, this.base * 2 ** n));
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Waits for the next key; undefined once shut down. Call `done(key)` after processing. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    if (this.head < this.queue.length) {
      const key = this.queue[this.head++] as string;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.dirty.delete(key);
      this.taken(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (!this.dirty.has(key)) return;
    // Added while it was processed (and counted then): queued now.
    if (this.shuttingDown) this.dirty.delete(key);
    else this.hand(key);
  }

  /** Takes keys again after shutDown (a controller started anew, e.g. a replica that leads again). */
  reopen(): void {
    this.shuttingDown = false;
    this.untrack ??= controllerLevels.queueDepth.track(() => [[[this.name], this.length]]);
  }

  /**
   * Stops handing out keys, dropping those queued (as client-go's ShutDown: a stop does not wait for a backlog,
   * 100,000 keys at a fleet's start-up; whoever starts the controller next lists everything again).
   */
  shutDown(): void {
    this.shuttingDown = true;
    this.queue.length = 0;
    this.head = 0;
    this.dirty.clear();
    this.untrack?.();
    this.untrack = undefined;
    this.causes.clear();
    this.addedAt.clear();
    if (this.wake) this.clearTimer(this.wake.handle);
    this.wake = undefined;
    this.due.clear();
    this.heap = [];
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}
