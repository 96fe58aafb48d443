/**
 * Work a watch callback starts but cannot await (watch callbacks are synchronous): each task is kept until it
 * settles so `drain()` can wait for all of them at stop, and a failure is logged, never lost.
 */
import type { Logger } from 'pino';

export class BackgroundTasks {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  run(what: string, task: () => Promise<unknown>): void {
    const p: Promise<unknown> = task()
      .catch((err: unknown) => this.logger.warn({ err, task: what }, 'background task failed'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
