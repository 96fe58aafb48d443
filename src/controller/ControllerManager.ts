/**
 * Starts a replica's controllers in order and stops them in reverse: a controller may rely on those started before
 * it (informers, the scheduler before the state-store writers). A start that fails stops what had started.
 */
import type { Logger } from 'pino';

export interface Runnable {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export interface ControllerManagerOptions {
  logger: Logger;
  runnables: readonly Runnable[];
}

export class ControllerManager {
  private readonly opts: ControllerManagerOptions;
  private started: Runnable[] = [];

  constructor(options: ControllerManagerOptions) {
    this.opts = options;
  }

  async start(): Promise<void> {
    if (this.started.length) return;
    for (const r of this.opts.runnables) {
      try {
        await r.start();
      } catch (err) {
        await this.stop();
        throw err;
      }
      this.started.push(r);
    }
    this.opts.logger.info({ controllers: this.started.length }, 'controllers started');
  }

  async stop(): Promise<void> {
    const started = this.started;
    this.started = [];
    for (const r of started.reverse()) {
      try {
        await r.stop();
      } catch (err) {
        this.opts.logger.error({ err }, 'a controller did not stop cleanly');
      }
    }
  }
}
