/**
 * Checkpoints an SQLite database's write-ahead log from a worker thread, so that copying the log into the database
 * file, and that file's fsync, never hold the event loop: SQLite's own automatic checkpoint runs inside whichever
 * COMMIT crosses its threshold (every thousand pages: several milliseconds, tens on a busy disk, while every request
 * and controller waits). The writer's connection turns its automatic checkpoints off; this worker's connection runs
 * PASSIVE checkpoints, which never block the writer, at most every `everyMs` while there are writes. The log restarts
 * from its beginning at the first write after a checkpoint has copied all of it, as with automatic checkpoints.
 *
 * A worker thread costs ~23 MiB of memory: it starts with the first write and ends after `idleMs` without any, so an
 * idle FleetOps does not keep one. Should the worker fail, `onFailure` is told once (the store then checkpoints on
 * commit again).
 */
import { Worker } from 'node:worker_threads';
import { errorMessage } from '../api/errors.ts';

const WORKER = new URL(`./walCheckpointWorker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url);

export interface WalCheckpointerOptions {
  /** The database file. */
  path: string;
  /** Least time between two checkpoints (default 250 ms). */
  everyMs?: number;
  /** The worker ends after this long without writes (default 30 s). */
  idleMs?: number;
  onFailure: (err: Error) => void;
}

type Reply = { ok?: boolean; stopped?: boolean; checkpointed?: number; message?: string };

export class WalCheckpointer {
  private readonly opts: WalCheckpointerOptions;
  private worker: Worker | undefined;
  private timer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private dirty = false;
  private failed = false;
  private stopping: Promise<void> | undefined;
  /** A worker ended for idleness, until it has closed its connection. */
  private ending: { worker: Worker; exited: Promise<void> } | undefined;
  /** Checkpoints done (for tests and status). */
  checkpoints = 0;

  constructor(options: WalCheckpointerOptions) {
    this.opts = options;
  }

  /** Whether a worker thread is running now. */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** A transaction committed: a checkpoint follows within `everyMs`. */
  wrote(): void {
    this.dirty = true;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.inFlight) this.schedule();
  }

  private schedule(): void {
    if (this.failed || this.stopping || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopping || this.failed) return;
      this.dirty = false;
      this.inFlight = true;
      this.ensureWorker().postMessage('checkpoint');
    }, this.opts.everyMs ?? 250);
    this.timer.unref();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER, { workerData: { path: this.opts.path } });
    worker.unref();
    worker.on('message', (m: Reply) => this.replied(worker, m));
    worker.on('error', (err) => {
      if (this.worker === worker) this.fail(err);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.fail(new Error('the WAL checkpoint worker exited'));
    });
    this.worker = worker;
    return worker;
  }

  private replied(worker: Worker, m: Reply): void {
    if (m.stopped || this.worker !== worker) return;
    this.inFlight = false;
    if (!m.ok) {
      this.fail(new Error(`WAL checkpoint failed: ${m.message ?? 'unknown error'}`));
      return;
    }
    this.checkpoints++;
    if (this.dirty) this.schedule();
    else {
      this.idleTimer = setTimeout(() => this.endIdle(worker), this.opts.idleMs ?? 30_000);
      this.idleTimer.unref();
    }
  }

  private endIdle(worker: Worker): void {
    this.idleTimer = undefined;
    if (this.worker !== worker || this.dirty || this.inFlight) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.ending = { worker, exited };
    void exited.then(() => {
      if (this.ending?.worker === worker) this.ending = undefined;
    });
    worker.postMessage('stop'); // it closes its connection and ends
  }

  private clearTimers(): void {
    clearTimeout(this.timer);
    clearTimeout(this.idleTimer);
    this.timer = this.idleTimer = undefined;
  }

  private fail(err: Error): void {
    if (this.failed || this.stopping) return;
    this.failed = true;
    this.clearTimers();
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
    this.opts.onFailure(new Error(`checkpoints of ${this.opts.path} go back to the writer: ${errorMessage(err)}`, { cause: err }));
  }

  /** Ends the worker's connection (so the writer's close is the last, and removes the log). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.clearTimers();
      if (this.ending) {
        this.ending.worker.ref();
        await this.ending.exited;
      }
      const worker = this.worker;
      this.worker = undefined;
      if (!worker) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.ref(); // waited for: the process stays until its connection is closed
      worker.postMessage('stop');
      await exited;
    })();
    return this.stopping;
  }
}
