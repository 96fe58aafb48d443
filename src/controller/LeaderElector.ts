/**
 * Leader election over a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does it: the holder renews
 * the lease every few seconds; another replica takes it over only after seeing it unchanged for a whole lease
 * duration by its own monotonic clock (so clocks that disagree between machines do not matter); a holder that has
 * not renewed within the renew deadline (shorter than the duration) stops leading before anyone can take over. A
 * graceful stop releases the lease, and followers that watch it take over at once.
 */
import type { Logger } from 'pino';
import { isApiError } from '../api/errors.ts';
import { rfc3339Micro } from '../api/time.ts';

export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** The one Lease object an elector contends for. Writes throw a Conflict/AlreadyExists ApiError when raced. */
export interface LeaseAccess {
  get(): Promise<{ spec: LeaseRecord; resourceVersion: string } | undefined>;
  create(spec: LeaseRecord): Promise<void>;
  update(spec: LeaseRecord, resourceVersion: string): Promise<void>;
  /** Calls back on every change of the lease with its holder, undefined once deleted (followers react to a release at once). */
  watch(onChange: (holder: string | undefined) => void): Promise<{ stop(): void }>;
}

export interface LeaderElectorOptions {
  /** This replica, as written in `holderIdentity`. */
  identity: string;
  leases: LeaseAccess;
  logger: Logger;
  now: () => Date;
  /** Milliseconds from a monotonic clock (default performance.now). */
  monotonic?: () => number;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Called when this replica becomes the leader. */
  onStartedLeading(): Promise<void>;
  /** Called when it stops leading (lost the lease, or stop()); must have stopped the leader's work when it resolves. */
  onStoppedLeading(): Promise<void>;
}

export class LeaderElector {
  private readonly opts: LeaderElectorOptions;
  private readonly durationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly monotonic: () => number;
  /** While leading: leaseTransitions written when this replica acquired the lease (its fencing token). */
  private acquired: number | undefined;
  private lastRenew = 0;
  private observedRv = '';
  private observedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private watch: { stop(): void } | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.opts = options;
    this.durationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryMs = options.retryPeriodMs ?? 2_000;
    this.monotonic = options.monotonic ?? (() => performance.now());
  }

  isLeader(): boolean {
    return this.acquired !== undefined;
  }

  async start(): Promise<void> {
    this.stopped = false;
    // A change by anyone else brings a round at once (a release, a take-over). Not the leader's own renewals: a
    // round renews, and a round for each renewal renewed the lease back to back, as fast as the store answered.
    this.watch = await this.opts.leases.watch((holder) => {
      if (holder !== this.opts.identity || !this.isLeader()) this.kick();
    });
    this.kick();
  }

  /** Stops contending; a leader stops its work, then releases the lease for the next one. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watch?.stop();
    while (this.ticking) await this.ticking;
    if (!this.isLeader()) return;
    await this.stepDown();
    try {
      const current = await this.opts.leases.get();
      if (current?.spec.holderIdentity === this.opts.identity)
        await this.opts.leases.update({ ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 }, current.resourceVersion);
    } catch (err) {
      this.opts.logger.warn({ err }, 'could not release the lease: another replica takes over when it expires');
    }
  }

  /** Runs a round now (coalesced with one already running), and schedules the next. */
  private kick(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.ticking = (async () => {
      do {
        this.again = false;
        await this.round().catch((err: unknown) => this.opts.logger.warn({ err }, 'leader election round failed'));
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.ticking = undefined;
      if (!this.stopped) {
        this.timer = setTimeout(() => this.kick(), this.isLeader() ? Math.min(this.retryMs, this.renewDeadlineMs / 4) : this.retryMs);
        this.timer.unref();
      }
    });
  }

  /** One round at a time: a round that comes while one runs joins it (two could both acquire). */
  private round(): Promise<void> {
    this.inFlight ??= this.contend().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async contend(): Promise<void> {
    const { leases, identity } = this.opts;
    const now = rfc3339Micro(this.opts.now());
    const seconds = Math.ceil(this.durationMs / 1000);
    const current = await leases.get().catch(() => undefined);
    if (this.isLeader()) {
      let renewed = false;
      if (current?.spec.holderIdentity === identity) {
        renewed = await leases.update({ ...current.spec, renewTime: now, leaseDurationSeconds: seconds }, current.resourceVersion).then(
          () => true,
          () => false,
        );
      }
      if (renewed) this.lastRenew = this.monotonic();
      else if (current && current.spec.holderIdentity !== identity) await this.stepDown('another replica holds the lease');
      else if (this.monotonic() - this.lastRenew > this.renewDeadlineMs) await this.stepDown('the lease could not be renewed in time');
      return;
    }
    if (!current) {
      const record = { holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now, leaseTransitions: 0 };
      await this.acquire(record, () => leases.create(record));
      return;
    }
    if (current.resourceVersion !== this.observedRv) {
      this.observedRv = current.resourceVersion;
      this.observedAt = this.monotonic();
    }
    const holder = current.spec.holderIdentity ?? '';
    const duration = (current.spec.leaseDurationSeconds ?? seconds) * 1000;
    const free = holder === '' || holder === identity || this.monotonic() - this.observedAt > duration;
    if (!free) return;
    // Every acquisition counts as a transition, also taking back one's own: a write fenced with the old count (from
    // before a restart or a lost lease) must not pass.
    const record = {
      holderIdentity: identity,
      leaseDurationSeconds: seconds,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: (current.spec.leaseTransitions ?? 0) + 1,
    };
    await this.acquire(record, () => leases.update(record, current.resourceVersion));
  }

  /** The fencing token while leading: the lease must still name this holder and this acquisition (ADR 0019). */
  fence(): { holder: string; transitions: number } | undefined {
    return this.acquired !== undefined ? { holder: this.opts.identity, transitions: this.acquired } : undefined;
  }

  private async acquire(record: LeaseRecord, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (isApiError(err, 'Conflict') || isApiError(err, 'AlreadyExists')) return; // another replica was quicker
      throw err;
    }
    this.acquired = record.leaseTransitions ?? 0;
    this.lastRenew = this.monotonic();
    this.opts.logger.info({ identity: this.opts.identity }, 'leading: this replica runs the controllers');
    try {
      await this.opts.onStartedLeading();
    } catch (err) {
      this.opts.logger.error({ err }, 'the controllers did not start: stepping down');
      await this.stepDown();
    }
  }

  private async stepDown(why?: string): Promise<void> {
    if (!this.isLeader()) return;
    this.acquired = undefined;
    if (why) this.opts.logger.warn({ identity: this.opts.identity, why }, 'stopped leading');
    await this.opts.onStoppedLeading();
  }
}
