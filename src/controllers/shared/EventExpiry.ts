/**
 * Events expire, as the apiserver's --event-ttl makes them (1 hour by default): otherwise a platform that runs for
 * months keeps every event of every run. A sweep every few minutes deletes those last seen before the TTL.
 */
import type { Logger } from 'pino';
import type { Client } from '../../client/Client.ts';

export interface EventExpiryOptions {
  client: Client;
  logger: Logger;
  /** Events last seen longer ago are deleted (default 1 hour). */
  ttlMs?: number;
  /** How often to sweep (default 5 minutes). */
  everyMs?: number;
  now?: () => Date;
}

export class EventExpiry {
  private readonly opts: EventExpiryOptions;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(opts: EventExpiryOptions) {
    this.opts = opts;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(
      () => {
        this.sweeping ??= this.sweep()
          .catch((err: unknown) => {
            this.opts.logger.warn({ err }, 'expired events not removed; tried again at the next sweep');
            return 0;
          })
          .finally(() => (this.sweeping = undefined));
      },
      this.opts.everyMs ?? 5 * 60_000,
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  /** Deletes the events last seen before the TTL; returns how many. */
  async sweep(): Promise<number> {
    const cutoff = (this.opts.now ?? (() => new Date()))().getTime() - (this.opts.ttlMs ?? 3_600_000);
    let removed = 0;
    for (const e of await this.opts.client.list('v1', 'Event')) {
      const seen = Date.parse(String(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? ''));
      if (!(seen < cutoff)) continue;
      await this.opts.client.delete({ apiVersion: 'v1', kind: 'Event', namespace: e.metadata.namespace ?? '', name: e.metadata.name });
      removed++;
    }
    if (removed) this.opts.logger.info({ removed }, 'expired events removed');
    return removed;
  }
}
