/**
 * Runs a level-based reconciler over a work queue: N workers, keys deduplicated, failures retried with backoff,
 * 409 conflicts retried at once without noise, `requeueAfter` honoured. Keys are opaque strings (usually
 * `namespace/name`).
 */
import type { Logger } from 'pino';
import { isApiError } from '../api/errors.ts';
import { controllerLevels, controllerMetrics, workqueueMetrics, type CounterSeries, type HistogramSeries } from '../telemetry/metrics.ts';
import { inSpan } from '../telemetry/tracing.ts';
import { WorkQueue } from './WorkQueue.ts';

export interface ReconcileResult {
  /** Reconcile again after this many milliseconds (polling). */
  requeueAfter?: number;
}

/**
 * Reconciles against the embedded store never wait on I/O (its reads and writes resolve at once), so workers going
 * from one to the next run as one chain of microtasks: with a queue of 100,000 keys the event loop would serve no
 * API request and no /healthz until it drained. Every worker of every controller gives way to I/O once reconciles
 * have had the loop for this long. The budget is shared: the workers waiting for their turn resume together and
 * spend one budget between them (one budget each made a turn last as long as the sum: 20 workers, 200 ms).
 */
const GIVE_WAY_AFTER_MS = 10;
let turnStarted = performance.now();
let nextTurn: Promise<void> | undefined;

async function giveWay(): Promise<void> {
  if (performance.now() - turnStarted < GIVE_WAY_AFTER_MS) return;
  nextTurn ??= new Promise((resolve) =>
    setImmediate(() => {
      nextTurn = undefined;
      turnStarted = performance.now();
      resolve();
    }),
  );
  await nextTurn;
}

/** Thrown for failures that retrying cannot fix; logged once, not retried. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export interface Reconciler {
  /**
   * Brings the world in line with the object named by `key`. Must be idempotent and must not depend on which
   * event caused the call. Throw to retry with backoff; return `requeueAfter` to poll. `signal` aborts when the
   * controller stops (a graceful stop, or this replica losing the controllers' Lease): long work stops there.
   */
  reconcile(key: string, log: Logger, signal: AbortSignal): Promise<ReconcileResult | void>;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  logger: Logger;
  concurrency?: number;
  queue?: WorkQueue;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly log: Logger;
  private readonly concurrency: number;
  private workers: Promise<void>[] = [];
  private running = false;
  private reconcileSeq = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private busy = 0;
  private abort = new AbortController();
  private readonly metrics: {
    results: Record<'success' | 'error' | 'requeue' | 'requeue_after', CounterSeries>;
    errors: CounterSeries;
    time: HistogramSeries;
    work: HistogramSeries;
  };
  private untrack: (() => void) | undefined;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.reconciler = options.reconciler;
    this.log = options.logger.child({ controller: options.name });
    this.concurrency = options.concurrency ?? 1;
    this.queue = options.queue ?? new WorkQueue({ name: options.name });
    const total = controllerMetrics.reconcileTotal;
    this.metrics = {
      results: {
        success: total.with(this.name, 'success'),
        error: total.with(this.name, 'error'),
        requeue: total.with(this.name, 'requeue'),
        requeue_after: total.with(this.name, 'requeue_after'),
      },
      errors: controllerMetrics.reconcileErrors.with(this.name),
      time: controllerMetrics.reconcileTime.with(this.name),
      work: workqueueMetrics.workDuration.with(this.queue.name),
    };
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.queue.reopen();
    const untrack = [
      controllerLevels.activeWorkers.track(() => [[[this.name], this.busy]]),
      controllerLevels.maxConcurrentReconciles.track(() => [[[this.name], this.concurrency]]),
    ];
    this.untrack = () => untrack.forEach((u) => u());
    for (let i = 0; i < this.concurrency; i++) this.workers.push(this.work());
  }

  private async work(): Promise<void> {
    for (;;) {
      await giveWay();
      const key = await this.queue.get();
      if (key === undefined) return;
      this.busy++;
      const log = this.log.child({ key, reconcileId: ++this.reconcileSeq });
      log.trace('reconcile start');
      const started = performance.now();
      try {
        // The reconcile's span continues the trace of the write that queued its key (see WorkQueue).
        const [cause, ...more] = this.queue.takeCauses(key);
        const result = await inSpan(
          `reconcile ${this.name}`,
          { attributes: { 'fleetops.controller': this.name }, ...(cause ? { parent: cause } : {}), links: more },
          () => this.reconciler.reconcile(key, log, this.abort.signal),
        );
        this.queue.forget(key);
        if (result?.requeueAfter !== undefined) this.queue.addAfter(key, result.requeueAfter);
        this.metrics.results[result?.requeueAfter !== undefined ? 'requeue_after' : 'success'].inc();
      } catch (err) {
        const conflict = isApiError(err, 'Conflict');
        this.metrics.results[conflict ? 'requeue' : 'error'].inc();
        if (!conflict) this.metrics.errors.inc();
        if (err instanceof TerminalError) {
          log.error({ err }, 'reconcile failed permanently');
          this.queue.forget(key);
        } else if (isApiError(err, 'Conflict')) {
          log.debug('conflict, requeue');
          this.queue.add(key);
        } else {
          log.warn({ err }, 'reconcile failed, retrying with backoff');
          this.queue.addRateLimited(key);
        }
      } finally {
        const took = (performance.now() - started) / 1000;
        this.metrics.time.observe(took);
        this.metrics.work.observe(took);
        this.queue.done(key);
        this.busy--;
        if (this.busy === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      }
    }
  }

  /** Resolves when no key is queued or being processed (for tests and benchmarks). */
  idle(): Promise<void> {
    if (this.busy === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.untrack?.();
    this.untrack = undefined;
    this.abort.abort(new Error(`controller ${this.name} stopped`));
    this.queue.shutDown();
    await Promise.all(this.workers);
    this.workers = [];
  }
}
