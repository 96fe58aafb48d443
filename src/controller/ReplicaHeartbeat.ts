/**
 * A replica's presence: its own Lease (`fleetops-replica-<identity>` in fleetops-system), renewed while it runs and
 * deleted on a graceful stop, as kube-apiserver keeps one identity Lease per server. `fleetops status` and the
 * portal's platform view list them; one whose renewal is older than its duration is gone (killed, or cut off).
 */
import type { Logger } from 'pino';
import { rfc3339Micro } from '../api/time.ts';
import type { LeaseAccess } from './LeaderElector.ts';

export interface ReplicaHeartbeatOptions {
  identity: string;
  lease: LeaseAccess & { delete(): Promise<void> };
  logger: Logger;
  now: () => Date;
  renewEveryMs?: number;
}

export class ReplicaHeartbeat {
  private readonly opts: ReplicaHeartbeatOptions;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private stopped = false;

  constructor(options: ReplicaHeartbeatOptions) {
    this.opts = options;
  }

  private get everyMs(): number {
    return this.opts.renewEveryMs ?? 10_000;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.beat();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.beating = this.beat()
        .catch((err: unknown) => this.opts.logger.warn({ err }, 'replica lease not renewed'))
        .finally(() => {
          this.beating = undefined;
          this.schedule();
        });
    }, this.everyMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const { lease, identity } = this.opts;
    const spec = { holderIdentity: identity, leaseDurationSeconds: Math.ceil((this.everyMs * 3) / 1000), renewTime: rfc3339Micro(this.opts.now()) };
    const current = await lease.get();
    if (current) await lease.update({ ...current.spec, ...spec }, current.resourceVersion);
    else await lease.create({ ...spec, acquireTime: spec.renewTime });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.beating;
    await this.opts.lease.delete().catch((err: unknown) => this.opts.logger.warn({ err }, 'replica lease not removed'));
  }
}
