/**
 * Carries out dispatched WorkflowRuns on this replica (`--role worker` or `all`), so pipelines spread over every
 * machine rather than the leader's. A run is claimed by writing `status.claim` over the version this replica saw
 * (optimistic concurrency: of several replicas, one wins), renewed while its steps run, and taken over with the next
 * attempt number once nobody has renewed it for `claimTtlMs` by this replica's own clock (its holder is gone). The
 * result is written over the version of the last renewal: a replica whose claim was taken over gets a conflict and
 * records nothing, and checks its claim again right before writing the Work.
 *
 * The leader on this replica claims here, as it creates them, the runs this worker takes at once (`claimHere`): one
 * write per run fewer, and no wait for the watch. While no other replica runs pipelines that is every run (nobody
 * else could take them, and their claims are not renewed meanwhile); with others, only while this worker has room,
 * so runs still spread over the replicas. Runs it claimed alone past its room, not yet in a sandbox, are released once
 * another such replica is up (releaseBacklog).
 */
import type { Logger } from 'pino';
import { errorMessage, isApiError } from '../../api/errors.ts';
import { rfc3339Micro, rfc3339Seconds } from '../../api/time.ts';
import type { StoredObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { getOf, watchOf } from '../../client/typed.ts';
import { workflowRunType, type WorkflowRun } from '../../registry/builtin/fleetopsKinds.ts';
import { objectOf } from '../../registry/builtin/defineType.ts';
import { configReader } from './configReader.ts';
import { isUnfinishedDispatch, targetOfRun, type HereClaim, type WorkflowExecutor } from './WorkflowExecutor.ts';
import { ANNOTATION_REPLICA_ROLE, REPLICA_LEASE_NAMESPACE, REPLICA_LEASE_PREFIX } from '../../api/fleetopsNames.ts';
import { leaseAge } from '../../api/replicas.ts';
import { leaseType, type Lease } from '../../registry/builtin/coordinationKinds.ts';
import type { WorkSeal } from './workSeal.ts';

export interface RunWorkerOptions {
  client: Client;
  executor: WorkflowExecutor;
  seal: WorkSeal;
  /** This replica, as written in claims. */
  identity: string;
  logger: Logger;
  now: () => Date;
  /** Runs carried out here at once (default 8). */
  concurrency?: number;
  /** A claim nobody renewed for this long is taken over (default 15 s). */
  claimTtlMs?: number;
  /** How often a claim is renewed, and claimable runs looked for (default 3 s). */
  renewMs?: number;
  monotonic?: () => number;
}

type Run = StoredObject & WorkflowRun;

interface Seen {
  run: Run;
  /** When this replica last saw the run change (its own clock). */
  at: number;
}

const keyOf = (run: StoredObject): string => `${run.metadata.namespace ?? ''}/${run.metadata.name}`;

/** A run this worker holds. */
interface Job {
  abort: AbortController;
  done: Promise<void>;
  /** A step of it has entered its sandbox: from then on it is carried out here. */
  inSandbox: boolean;
  /** Stopped to be left to another replica (releaseBacklog): its claim is withdrawn. */
  released: boolean;
}

export class RunWorker {
  private readonly opts: RunWorkerOptions;
  private readonly monotonic: () => number;
  private readonly candidates = new Map<string, Seen>();
  /** The runs this worker holds, in the order it took them. */
  private readonly running = new Map<string, Job>();
  /** Claims handed out by claimHere whose runs are not created yet. */
  private reserved = 0;
  /** Other replicas that run pipelines, by identity: their Leases (renewed while they run). */
  private readonly otherWorkers = new Map<string, Lease['spec']>();
  private watch: { stop(): void } | undefined;
  private leaseWatch: { stop(): void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(options: RunWorkerOptions) {
    this.opts = options;
    this.monotonic = options.monotonic ?? (() => performance.now());
  }

  private get ttl(): number {
    return this.opts.claimTtlMs ?? 15_000;
  }

  private get renewMs(): number {
    return this.opts.renewMs ?? 3_000;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.watch = await watchOf(this.opts.client, workflowRunType, {}, (e) => {
      const key = keyOf(e.object);
      if (e.type === 'DELETED' || !isUnfinishedDispatch(e.object)) this.candidates.delete(key);
      else if (this.candidates.get(key)?.run.metadata.resourceVersion !== e.object.metadata.resourceVersion)
        this.candidates.set(key, { run: e.object, at: this.monotonic() });
      this.pump();
    });
    this.leaseWatch = await watchOf(this.opts.client, leaseType, { namespace: REPLICA_LEASE_NAMESPACE }, (e) => {
      const id = e.object.spec?.holderIdentity;
      if (!e.object.metadata.name.startsWith(REPLICA_LEASE_PREFIX) || !id || id === this.opts.identity) return;
      const runsPipelines = e.object.metadata.annotations?.[ANNOTATION_REPLICA_ROLE] !== 'api';
      if (e.type === 'DELETED' || !runsPipelines) this.otherWorkers.delete(id);
      else this.otherWorkers.set(id, e.object.spec);
    });
    this.timer = setInterval(() => this.pump(), this.renewMs);
    this.timer.unref();
  }

  /** Stops taking runs; those running here are cut short and released, so another replica takes them at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.stop();
    this.leaseWatch?.stop();
    clearInterval(this.timer);
    const running = [...this.running.values()];
    for (const r of running) r.abort.abort(new Error('this replica is stopping'));
    await Promise.all(running.map((r) => r.done));
  }

  /** Whether another replica that runs pipelines has renewed its Lease within its duration (by this replica's clock). */
  private othersRunPipelines(): boolean {
    const now = this.opts.now();
    for (const spec of this.otherWorkers.values()) if (!leaseAge(spec, now).gone) return true;
    return false;
  }

  /**
   * A claim on the next run the leader here creates, so that it is created claimed by this worker (RunDispatch's
   * claimHere): if this worker has room for it now, or else while no other replica runs pipelines — unless runs
   * left unclaimed wait for this worker (made before it started, released or abandoned by a replica gone): they go
   * first, and new runs are left unclaimed behind them.
   */
  claimHere(): HereClaim | undefined {
    if (this.stopped) return undefined;
    if (this.running.size + this.reserved >= this.concurrency && (this.othersRunPipelines() || this.unclaimedWaiting())) return undefined;
    this.reserved++;
    const claim = { holder: this.opts.identity, attempt: 1, renewTime: rfc3339Micro(this.opts.now()) };
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      this.reserved--;
      return true;
    };
    return {
      claim,
      start: (run) => {
        if (!settle()) return;
        const key = keyOf(run);
        // Stopped meanwhile: the claim is left to run out, and another replica takes the run over.
        if (this.stopped || this.running.has(key)) return;
        this.launch(key, (job) => this.carryOut(objectOf(workflowRunType, run), claim, job));
      },
      cancel: () => {
        settle();
      },
    };
  }

  /** Whether a run this worker could claim waits for it. */
  private unclaimedWaiting(): boolean {
    for (const [key, seen] of this.candidates) if (!this.running.has(key) && this.claimable(seen)) return true;
    return false;
  }

  private get concurrency(): number {
    return this.opts.concurrency ?? 8;
  }

  private launch(key: string, run: (job: Job) => Promise<void>): void {
    const job: Job = { abort: new AbortController(), done: Promise.resolve(), inSandbox: false, released: false };
    this.running.set(key, job);
    job.done = run(job).finally(() => {
      this.running.delete(key);
      this.pump();
    });
  }

  /**
   * While another replica runs pipelines, the runs this worker holds past its room that have not entered a sandbox
   * are stopped and their claims withdrawn, the runs it took first kept: a leader alone claims every run it creates
   * (claimHere), and without this a replica that joins during a fleet update would wait for that backlog to drain
   * on the leader's slots before it got any of it.
   */
  private releaseBacklog(): void {
    if (this.running.size <= this.concurrency || !this.othersRunPipelines()) return;
    let room = this.concurrency;
    for (const job of this.running.values()) if (job.inSandbox) room--;
    for (const job of this.running.values()) {
      if (job.inSandbox || job.released) continue;
      if (room > 0) {
        room--;
        continue;
      }
      job.released = true;
      job.abort.abort(new Error('released to another replica'));
    }
  }

  private claimable(seen: Seen): boolean {
    const claim = seen.run.status?.claim;
    if (!claim?.holder) return true;
    return this.monotonic() - seen.at > this.ttl; // its holder stopped renewing
  }

  private pump(): void {
    if (this.stopped) return;
    this.releaseBacklog();
    for (const [key, seen] of this.candidates) {
      if (this.running.size >= this.concurrency) return;
      if (this.running.has(key) || !this.claimable(seen)) continue;
      this.launch(key, (job) => this.claimAndRun(seen.run, job));
    }
  }

  private async claimAndRun(seen: Run, job: Job): Promise<void> {
    const { client, identity, logger } = this.opts;
    const attempt = (seen.status?.claim?.attempt ?? 0) + 1;
    const claim = { holder: identity, attempt, renewTime: rfc3339Micro(this.opts.now()) };
    let latest: Run;
    try {
      const start = seen.status?.startTime ?? rfc3339Seconds(this.opts.now());
      // Only read from here on, as the run is (its next writes spread it): the store's shared copy.
      latest = objectOf(
        workflowRunType,
        await client.updateStatus({ ...seen, status: { ...seen.status, phase: 'Running', claim, startTime: start } }, { shared: true }),
      );
    } catch (err) {
      if (!isApiError(err, 'Conflict') && !isApiError(err, 'NotFound')) logger.warn({ err, run: keyOf(seen) }, 'could not claim a run');
      return; // another replica was quicker, or the run changed: the watch shows its new state
    }
    await this.carryOut(latest, claim, job);
  }

  /** Runs a run this worker has claimed (`latest`: as the claim was written), renewing the claim meanwhile. */
  private async carryOut(claimed: Run, claim: HereClaim['claim'], job: Job): Promise<void> {
    const { client, identity, logger } = this.opts;
    const { abort } = job;
    const { attempt } = claim;
    let latest = claimed;
    const log = logger.child({ run: keyOf(latest), attempt });
    if (!this.opts.seal.verify(latest)) {
      log.warn('refusing a run FleetOps did not seal');
      await client
        .updateStatus({ ...latest, status: { ...latest.status, phase: 'Failed', message: 'refused: this run was not started by FleetOps (no valid seal)' } })
        .catch(() => undefined);
      return;
    }
    // Renewals and the final write go one after another, each over the version the previous one wrote. While no other
    // replica runs pipelines nobody could take the claim over: nothing is written (a leader alone claims every run it
    // creates, more than it has step slots for, and each would renew every few seconds while it waits for one).
    let chain: Promise<void> = Promise.resolve();
    const renew = (): void => {
      chain = chain.then(async () => {
        if (abort.signal.aborted || !this.othersRunPipelines()) return;
        try {
          const renewed = { ...latest.status, claim: { ...claim, renewTime: rfc3339Micro(this.opts.now()) } };
          latest = objectOf(workflowRunType, await client.updateStatus({ ...latest, status: renewed }, { shared: true }));
        } catch (err) {
          log.warn({ err: errorMessage(err) }, 'lost the claim on a run: stopping it here');
          abort.abort(new Error('claim lost'));
        }
      });
    };
    const timer = setInterval(renew, this.renewMs);
    try {
      const { target, pipeline, input } = targetOfRun(latest);
      await this.opts.executor.execute(target, pipeline, input, {
        run: () => latest,
        // As where the run was started: resource workflows read ConfigMaps and Secrets of their namespace.
        ...(target.workflowType === 'resource' ? { readConfig: configReader(client, target.namespace) } : {}),
        signal: abort.signal,
        onSandbox: () => {
          job.inSandbox = true;
        },
        beforeRecord: async () => {
          clearInterval(timer);
          await chain;
          // Still ours? (A replica that took it over has written a newer claim.) A shared read: the run is only
          // read from here on (its last write is built by spreading it).
          const now = await getOf(client, workflowRunType, latest.metadata.name, latest.metadata.namespace, { shared: true }).catch(() => undefined);
          const mine =
            !abort.signal.aborted && now?.status?.phase === 'Running' && now.status.claim?.holder === identity && now.status.claim.attempt === attempt;
          if (mine && now) latest = now;
          return mine;
        },
      });
    } catch (err) {
      // Recording refused: the claim was taken over (conflict), or the store is away; the run is someone else's now.
      log.warn({ err: errorMessage(err) }, 'run not recorded here');
    } finally {
      clearInterval(timer);
      await chain;
    }
    if (abort.signal.aborted && (this.stopped || job.released)) {
      // Released, so another replica takes it at once instead of after the claim's time-out.
      await client
        .updateStatus({ ...latest, status: { ...latest.status, phase: undefined, claim: undefined } })
        .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not release a run'));
    }
  }
}
