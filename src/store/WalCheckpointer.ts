/**
 * Checkpoints an SQLite database's write-ahead log from a worker thread, so that copying the log into the database
 * file, and that file's fsync, never hold the event loop: SQLite's own automatic checkpoint runs inside whichever
 * COMMIT crosses its threshold (every thousand pages: several milliseconds, tens on a busy disk, while every request
 * and controller waits). The writer's connection turns its automatic checkpoints off; this worker's connection runs
 * PASSIVE checkpoints, which never block the writer, at most every `everyMs` while there are writes. The log restarts
 * from its beginning at the first write after a checkpoint has copied all of it, as with automatic checkpoints.
 *
 * Should the worker fail, `onFailure` is told once (the store turns its automatic checkpoints back on).
 */
import { Worker } from 'node:worker_threads';
import { errorMessage } from '../api/errors.ts';

const WORKER = new URL(`./walCheckpointWorker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url);

export interface WalCheckpointerOptions {
  /** The database file. */
  path: string;
  /** Least time between two checkpoints (default 250 ms). */
  everyMs?: number;
  onFailure: (err: Error) => void;
}

export class WalCheckpointer {
  private readonly opts: WalCheckpointerOptions;
  private worker: Worker | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private dirty = false;
  private failed = false;
  private stopping: Promise<void> | undefined;
  /** Checkpoints done, and frames of the log copied by the last (for tests and status). */
  checkpoints = 0;
  lastCopied = 0;

  constructor(options: WalCheckpointerOptions) {
    this.opts = options;
  }

  start(): void {
    const worker = new Worker(WORKER, { workerData: { path: this.opts.path } });
    worker.unref();
    worker.on('message', (m: { ok?: boolean; stopped?: boolean; checkpointed?: number; message?: string }) => {
      if (m.stopped) return;
      this.inFlight = false;
      if (m.ok) {
        this.checkpoints++;
        this.lastCopied = m.checkpointed ?? 0;
      } else this.fail(new Error(`WAL checkpoint failed: ${m.message ?? 'unknown error'}`));
      if (this.dirty) this.schedule();
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', () => {
      if (!this.stopping) this.fail(new Error('the WAL checkpoint worker exited'));
    });
    this.worker = worker;
  }

  /** A transaction committed: a checkpoint follows within `everyMs`. */
  wrote(): void {
    this.dirty = true;
    if (!this.timer && !this.inFlight) this.schedule();
  }

  private schedule(): void {
    if (this.failed || this.stopping || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.worker || this.stopping) return;
      this.dirty = false;
      this.inFlight = true;
      this.worker.postMessage('checkpoint');
    }, this.opts.everyMs ?? 250);
    this.timer.unref();
  }

  private fail(err: Error): void {
    if (this.failed || this.stopping) return;
    this.failed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
    this.opts.onFailure(new Error(`checkpoints of ${this.opts.path} go back to the writer: ${errorMessage(err)}`, { cause: err }));
  }

  /** Ends the worker's connection (so the writer's close is the last, and removes the log). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.timer);
      this.timer = undefined;
      const worker = this.worker;
      this.worker = undefined;
      if (!worker || this.failed) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.ref(); // waited for: the process stays until its connection is closed
      worker.postMessage('stop');
      await exited;
    })();
    return this.stopping;
  }
}
