/**
 * Takes each new Promise revision to the fleet. A Rollout (made by the Promise controller for every revision after
 * the first) hands the revision to resources by labelling them `fleetops.dev/revision=<N>`; the resource controller
 * then runs the workflows of that revision. How many at a time, in which order, with which pauses and failure
 * budget comes from the strategy (`decide` in progress.ts decides; this class gathers the input and writes the result).
 *
 * Level-based and crash-safe: the label is the only record of an assignment and each resource's status records the
 * revision it ran, so after a restart the same decision is re-derived and nothing is skipped or handed out twice.
 * Resource views are cached from one watch per kind (no list of 10,000 objects per decision), and summed up for the
 * active rollout by a RolloutTally that each resource event updates, so a decision costs the same at any fleet size
 * (only a rollout's first decision walks every view). A busy fleet wakes a rollout at most once per `throttleMs`, or
 * per three times what its last decision took.
 */
import type { Logger } from 'pino';
import { isApiError } from '../../api/errors.ts';
import { jsonEqual, type StoredObject } from '../../api/types.ts';
import { ANNOTATION_PINNED_VERSION } from '../../api/fleetopsNames.ts';
import type { Client } from '../../client/Client.ts';
import { getOf, watchOf } from '../../client/typed.ts';
import { Controller, type ReconcileResult } from '../../controller/Controller.ts';
import { rolloutType, type Rollout, type RolloutStatus } from '../../registry/builtin/fleetopsKinds.ts';
import { promiseType, type KratixPromise } from '../../registry/builtin/kratixKinds.ts';
import type { Registry } from '../../registry/Registry.ts';
import { apiVersionOf, type ResourceType } from '../../registry/ResourceType.ts';
import { rfc3339Seconds } from '../../api/time.ts';
import type { EventRecorder } from '../shared/EventRecorder.ts';
import { PromiseKindsWatcher } from '../shared/PromiseKindsWatcher.ts';
import { kindServedBy, promiseNameOf } from '../shared/promiseKinds.ts';
import { resourceRequest } from '../shared/resourceRequest.ts';
import { LABEL_REVISION } from '../resource/ResourceController.ts';
import { spacedAfter } from '../../controller/spacedAfter.ts';
import { decide, type ResourceView, type RolloutPhase } from './progress.ts';
import { RolloutTally } from './RolloutTally.ts';
import { DEFAULT_STRATEGY, type RolloutStrategy } from './strategy.ts';
import { RolloutGauges } from './rolloutMetrics.ts';

export interface RolloutControllerOptions {
  client: Client;
  registry: Registry;
  events: EventRecorder;
  logger: Logger;
  /** A rollout is re-evaluated at most this often while its resources change (default 200 ms). */
  throttleMs?: number;
  now?: () => Date;
}

type RolloutSpec = NonNullable<Rollout['spec']>;

const TERMINAL: ReadonlySet<string> = new Set(['Complete', 'Aborted', 'Superseded']);

/** However long decisions take, a rollout is re-evaluated at least this often while its resources change. */
const MAX_THROTTLE_MS = 2_000;

export function isTerminalPhase(phase: unknown): boolean {
  return typeof phase === 'string' && TERMINAL.has(phase);
}

/** The small view a rollout keeps of a resource. */
export function viewOf(obj: StoredObject): ResourceView {
  const labels = obj.metadata.labels ?? {};
  const assigned = Number(labels[LABEL_REVISION]);
  const status = resourceRequest(obj).status ?? {};
  const wf = status.kratix?.workflows ?? {};
  const succeededAt = Date.parse(String(wf.lastSuccessfulConfigureWorkflowTime ?? ''));
  const health = status.healthStatus;
  // HealthRecords say when they ran in seconds; the newest run is when the health was last observed.
  const observedAt = Math.max(...(health?.healthRecords ?? []).map((r) => (typeof r.lastRun === 'number' ? r.lastRun * 1000 : 0)), 0);
  return {
    ...(Number.isFinite(succeededAt) ? { succeededAt } : {}),
    ...(health?.state ? { health: { state: health.state, observedAt } } : {}),
    ...(obj.metadata.annotations?.[ANNOTATION_PINNED_VERSION] ? { pinned: true } : {}),
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name,
    labels,
    assigned: Number.isInteger(assigned) && assigned > 0 ? assigned : undefined,
    revision: typeof wf.revision === 'number' ? wf.revision : undefined,
    phase: typeof wf.phase === 'string' ? wf.phase : undefined,
  };
}

export class RolloutController {
  readonly controller: Controller;
  private readonly opts: RolloutControllerOptions;
  private readonly kinds: PromiseKindsWatcher;
  /** Promise name → resource key → view. */
  private readonly cache = new Map<string, Map<string, ResourceView>>();
  /** Promise name → the summary of its resources for its active rollout's decisions, kept up to date by their events. */
  private readonly tallies = new Map<string, RolloutTally>();
  /** Promise name → its newest unfinished rollout. */
  private readonly active = new Map<string, { name: string; revision: number }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** How long each rollout's last decision took (ms): its next waits at least three times that. */
  private readonly decisionMs = new Map<string, number>();
  private rolloutWatch: { stop(): void } | undefined;
  private readonly gauges = new RolloutGauges();

  constructor(options: RolloutControllerOptions) {
    this.opts = options;
    this.controller = new Controller({
      name: 'rollout',
      reconciler: { reconcile: (key, log) => this.reconcile(key, log) },
      logger: options.logger,
      concurrency: 2,
    });
    this.kinds = new PromiseKindsWatcher({
      client: options.client,
      registry: options.registry,
      logger: options.logger,
      onEvent: (type, e) => this.onResource(type, e.type, e.object),
    });
  }

  async start(): Promise<void> {
    this.controller.start();
    // Resources first: a rollout is only decided on once its kind's cache holds every resource.
    await this.kinds.start();
    this.rolloutWatch = await watchOf(this.opts.client, rolloutType, {}, (e) => {
      const spec = e.object.spec;
      if (!spec) return;
      const name = e.object.metadata.name;
      const current = this.active.get(spec.promiseName);
      const finished = e.type === 'DELETED' || isTerminalPhase(e.object.status?.phase);
      if (finished) {
        this.decisionMs.delete(name);
        if (current?.name === name) {
          this.active.delete(spec.promiseName);
          this.tallies.delete(spec.promiseName);
        }
      } else if (!current || current.revision <= spec.revision) {
        this.active.set(spec.promiseName, { name, revision: spec.revision });
      }
      // A new rollout or a change of its spec (pause, resume, abort) is acted on at once; its own status writes
      // need no reaction (resource changes wake it).
      if (e.type !== 'DELETED' && (e.type === 'ADDED' || e.object.status?.observedGeneration !== e.object.metadata.generation)) this.controller.enqueue(name);
    });
  }

  async stop(): Promise<void> {
    this.rolloutWatch?.stop();
    await this.kinds.stop();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.tallies.clear();
    await this.controller.stop();
  }

  private onResource(type: ResourceType, event: 'ADDED' | 'MODIFIED' | 'DELETED', obj: StoredObject): void {
    const promise = promiseNameOf(type);
    let views = this.cache.get(promise);
    if (!views) this.cache.set(promise, (views = new Map()));
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const before = views.get(key);
    const after = event === 'DELETED' ? undefined : viewOf(obj);
    if (after) views.set(key, after);
    else views.delete(key);
    this.tallies.get(promise)?.update(key, before, after);
    const rollout = this.active.get(promise);
    if (rollout) this.wake(rollout.name);
  }

  /** Enqueues the rollout after the throttle delay, once however many resources change meanwhile. */
  private wake(name: string): void {
    if (this.timers.has(name)) return;
    const took = this.decisionMs.get(name) ?? 0;
    const t = setTimeout(
      () => {
        this.timers.delete(name);
        this.controller.enqueue(name);
      },
      spacedAfter(took, this.opts.throttleMs ?? 200, MAX_THROTTLE_MS),
    );
    t.unref();
    this.timers.set(name, t);
  }

  private clock(): Date {
    return (this.opts.now ?? (() => new Date()))();
  }

  private now(): string {
    return rfc3339Seconds(this.clock());
  }

  async reconcile(name: string, log: Logger): Promise<ReconcileResult | void> {
    const { client, registry } = this.opts;
    // The rollout and its Promise (schema and all) are only read here (a write copies what it is given): the store's
    // shared copies, not a copy each on every wake-up.
    const rollout = await getOf(client, rolloutType, name, undefined, { shared: true });
    if (!rollout?.spec) return;
    const { spec } = rollout;
    const status = rollout.status ?? {};
    if (isTerminalPhase(status.phase)) return;
    const promise = await getOf(client, promiseType, spec.promiseName, undefined, { shared: true });
    if (!promise) return; // the Promise's deletion removes its rollouts
    const latest = promise.status?.latestRevision;
    if (typeof latest === 'number' && latest > spec.revision) {
      await this.writeStatus(rollout, status, { phase: 'Superseded', message: `superseded by revision ${latest}`, completionTime: this.now() });
      return;
    }
    const type = kindServedBy(registry, spec.promiseName);
    if (!type || !this.kinds.isSynced(type)) return { requeueAfter: 200 };
    // Resources pinned by their ResourceBinding, or outside the strategy's selector or namespaces, stay where they are.
    const strategy: RolloutStrategy = { ...DEFAULT_STRATEGY, ...(spec.strategy ?? {}) };
    const views = this.cache.get(spec.promiseName) ?? new Map<string, ResourceView>();
    let tally = this.tallies.get(spec.promiseName);
    if (!tally?.isFor(spec.revision, strategy)) {
      // Once per rollout (or change of its strategy): one walk over the resources, in chunks; events keep it up to
      // date after (and those during the walk are applied after it).
      tally = new RolloutTally({ revision: spec.revision, strategy, views: views.entries() });
      this.tallies.set(spec.promiseName, tally);
    }
    await tally.ready;
    const started = Date.now();
    const progress = decide(tally, {
      revision: spec.revision,
      strategy,
      paused: spec.paused === true,
      aborted: spec.aborted === true,
      approvedStep: spec.approvedStep ?? 0,
      now: this.clock().getTime(),
    });

    this.decisionMs.set(name, Date.now() - started);
    const apiVersion = apiVersionOf(type);
    let assigned = 0;
    for (const r of progress.assign) {
      try {
        await client.mergePatch(
          { apiVersion, kind: type.kind, name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}) },
          { metadata: { labels: { [LABEL_REVISION]: String(spec.revision) } } },
          undefined,
          { shared: true },
        );
        // The cache sees it before the event arrives (never handed out twice), unless the event came first.
        const key = `${r.namespace}/${r.name}`;
        if (views.get(key) === r) tally.assign(key, r);
        assigned++;
      } catch (err) {
        if (!isApiError(err, 'NotFound')) throw err; // deleted meanwhile: nothing to roll out
      }
    }
    if (assigned) log.info({ revision: spec.revision, assigned, promise: spec.promiseName }, 'revision handed to resources');

    const next: RolloutStatus = {
      phase: progress.phase,
      message: progress.message,
      total: progress.total,
      updated: progress.updated,
      inProgress: progress.inProgress + assigned,
      pending: progress.pending - assigned,
      failed: progress.failed,
      currentStep: progress.currentStep,
      steps: progress.steps,
      startTime: status.startTime ?? this.now(),
      // Who waits for what (adoption policies and windows): shown by `fleetops rollout status`.
      manual: progress.manual ?? 0,
      outsideWindow: progress.outsideWindow ?? 0,
      windowOpensAt: progress.windowOpensAt !== undefined ? rfc3339Seconds(new Date(progress.windowOpensAt)) : null,
    };
    if (progress.phase === 'Complete' || progress.phase === 'Aborted') next.completionTime = this.now();
    if (progress.phase !== status.phase) await this.announce(promise, spec, progress.phase, progress.message);
    await this.writeStatus(rollout, status, next);
    this.gauges.report(spec.promiseName, spec.revision, next, status.failed ?? 0);
    // Timers wake it on every resource change; it also polls, in case a resource is stuck without events: every 30 s,
    // or every 5 s while it waits for a window (a clock that moved, NTP's or a test's, is seen soon), and at the time
    // the window opens.
    const opensIn = progress.windowOpensAt !== undefined ? progress.windowOpensAt - this.clock().getTime() : Infinity;
    return { requeueAfter: Math.max(100, Math.min(progress.phase === 'WaitingForWindow' ? 5_000 : 30_000, opensIn)) };
  }

  private async announce(promise: KratixPromise, spec: RolloutSpec, phase: RolloutPhase, message: string): Promise<void> {
    const warn = phase === 'Halted' || phase === 'Aborted';
    await this.opts.events.record(promise, warn ? 'Warning' : 'Normal', `Rollout${phase}`, `revision ${spec.revision}: ${message}`);
  }

  private async writeStatus(rollout: Rollout, current: RolloutStatus, next: RolloutStatus): Promise<void> {
    const merged = { ...current, ...next, observedGeneration: rollout.metadata.generation };
    if (jsonEqual(merged, current)) return;
    await this.opts.client.updateStatus({ ...rollout, status: merged });
  }
}
