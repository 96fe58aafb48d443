/**
 * The summary a rollout's decision needs (see `RolloutSummary`), kept up to date one resource change at a time rather
 * than walked for every decision: at 100,000 resources the walk took 100 ms or more, several times a second, and
 * grew with the fleet. Built once per rollout (revision and strategy) from the resources' views, then told of every
 * change; what it answers is what `summarize` would answer over the same views (a unit test plays both).
 */
import { adoptionPolicies, type AdoptionPolicy, type RolloutStrategy } from './strategy.ts';
import { inRolloutOrder, rankIn, scopeOf, stateOf, type ResourceState, type ResourceView, type RolloutSummary } from './progress.ts';
import { inOrder, PendingQueue, type Waiting } from './PendingQueue.ts';

/** Where one view stands in this rollout: out of scope, or its state (and, pending, its adoption policy). */
type Place = { state: ResourceState; policy: AdoptionPolicy | undefined } | undefined;

export interface RolloutTallyOptions {
  revision: number;
  strategy: RolloutStrategy;
  /** Every resource's view by key (namespace/name), as the controller caches them: read at once, counted in chunks. */
  views: Iterable<[string, ResourceView]>;
  /** Between chunks of the first count, gives the event loop to other work (default: the next turn). */
  pause?: () => Promise<void>;
}

/** Views counted per chunk while a tally is built: about 5 ms of work at a time. */
const CHUNK = 5_000;

export class RolloutTally implements RolloutSummary {
  readonly revision: number;
  /** The strategy as JSON: a rollout whose strategy changes gets a new tally. */
  readonly strategyText: string;
  total = 0;
  readonly counts: Record<ResourceState, number> = { updated: 0, failed: 0, inProgress: 0, pending: 0 };
  private readonly strategy: RolloutStrategy;
  private readonly policyOf: (r: ResourceView) => AdoptionPolicy;
  private readonly rank: (r: ResourceView) => number;
  private readonly inScope: (r: ResourceView) => boolean;
  private manual = 0;
  private readonly queues: Record<'automatic' | 'window', PendingQueue>;
  private readonly order = (a: Waiting, b: Waiting): number => inRolloutOrder(a.rank, a.view, b.rank, b.view);
  /** Changes told while the first count runs, applied after it (in order: each one's `before` is then the tally's). */
  private backlog: [string, ResourceView | undefined, ResourceView | undefined][] | undefined = [];
  /** Resolves once the tally counts every view (a decision waits for it). */
  readonly ready: Promise<void>;

  constructor({ revision, strategy, views, pause = () => new Promise((resolve) => setImmediate(resolve)) }: RolloutTallyOptions) {
    this.revision = revision;
    this.strategy = strategy;
    this.strategyText = JSON.stringify(strategy);
    this.policyOf = adoptionPolicies(strategy);
    this.rank = rankIn(strategy.order);
    this.inScope = scopeOf(strategy);
    this.queues = { automatic: new PendingQueue({ order: this.order }), window: new PendingQueue({ order: this.order }) };
    this.ready = this.fill(Array.from(views), pause);
  }

  /**
   * The first count, over the views as they were when the tally was made, a chunk per turn of the event loop (at
   * 100,000 resources one pass held /healthz); what changed meanwhile follows.
   */
  private async fill(views: [string, ResourceView][], pause: () => Promise<void>): Promise<void> {
    for (let i = 0; i < views.length; i++) {
      const [key, view] = views[i]!;
      this.move(key, undefined, view, true);
      if (i % CHUNK === CHUNK - 1) await pause();
    }
    this.queues.automatic.sorted();
    this.queues.window.sorted();
    const backlog = this.backlog ?? [];
    this.backlog = undefined;
    for (const [key, before, after] of backlog) this.update(key, before, after);
  }

  /** Whether this tally is the one for `revision` under `strategy`. */
  isFor(revision: number, strategy: RolloutStrategy): boolean {
    return revision === this.revision && JSON.stringify(strategy) === this.strategyText;
  }

  get pendingBy(): Record<AdoptionPolicy, number> {
    return { automatic: this.queues.automatic.size, window: this.queues.window.size, manual: this.manual };
  }

  /** A resource changed: its view before (undefined: it was new) and after (undefined: it is gone). */
  update(key: string, before: ResourceView | undefined, after: ResourceView | undefined): void {
    if (this.backlog) {
      this.backlog.push([key, before, after]);
      return;
    }
    this.move(key, before ? this.placeOf(before) : undefined, after, false);
  }

  /** The rollout handed `view` the revision (its label is written; the event follows). */
  assign(key: string, view: ResourceView): void {
    const before = this.placeOf(view);
    view.assigned = this.revision;
    this.move(key, before, view, false);
  }

  first(count: number, windowOpen: boolean): ResourceView[] {
    const automatic = this.queues.automatic.first(count);
    // Each queue's first `count`, merged: the first `count` of both.
    const first = windowOpen ? [...inOrder(automatic, this.queues.window.first(count), this.order)].slice(0, count) : automatic;
    return first.map((w) => w.view);
  }

  private placeOf(view: ResourceView): Place {
    if (!this.inScope(view)) return undefined;
    const state = stateOf(view, this.revision, this.strategy.requireHealthy);
    return { state, policy: state === 'pending' ? this.policyOf(view) : undefined };
  }

  /** Moves a resource's count from where it stood (`from`) to where `view` stands now. */
  private move(key: string, from: Place, view: ResourceView | undefined, building: boolean): void {
    const to = view ? this.placeOf(view) : undefined;
    if (from) {
      this.total--;
      this.counts[from.state]--;
      if (from.policy === 'manual') this.manual--;
      // Still waiting in the same queue: its entry stays (the queue takes the new view).
      else if (from.policy && from.policy !== to?.policy) this.queues[from.policy].remove(key);
    }
    if (!to || !view) return;
    this.total++;
    this.counts[to.state]++;
    if (to.policy === 'manual') this.manual++;
    else if (to.policy) this.queues[to.policy].add(key, view, this.rank(view), building);
  }
}
