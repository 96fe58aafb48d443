/**
 * The decision at the heart of a rollout, as a pure function of what the store says: how far the revision has got
 * across the resources of its kind, which step it is on, whether it must wait (pause, approval, failure budget),
 * and which resources to hand the revision next. The RolloutController only gathers the input and writes the
 * result, so a restart at any point re-derives the same decision.
 */
import { parseLabelSelector, type LabelSelector } from '../../api/labels.ts';
import { compareCodeUnits } from '../../api/types.ts';
import { adoptionPolicies, stepTarget, type AdoptionPolicy, type RolloutStrategy } from './strategy.ts';
import { windowState } from './windows.ts';

/** What a rollout needs to know of one resource (kept small: a rollout may span 10,000 of them). */
export interface ResourceView {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** The revision a rollout assigned it (label `fleetops.dev/revision`). */
  assigned: number | undefined;
  /** The revision of its last (or current) workflow run, and that run's phase. */
  revision: number | undefined;
  phase: string | undefined;
  /** When that run succeeded (ms since the epoch). */
  succeededAt?: number;
  /** Pinned to a version by its ResourceBinding: rollouts pass it by. */
  pinned?: boolean;
  /** Its health (Kratix HealthRecords) and when it was last observed (ms); absent without records. */
  health?: { state: string; observedAt: number };
}

export interface RolloutInput {
  revision: number;
  strategy: RolloutStrategy;
  paused: boolean;
  aborted: boolean;
  /** How many step pauses the platform team has approved. */
  approvedStep: number;
  resources: readonly ResourceView[];
  /** The injected clock's time (ms), for the strategy's windows. */
  now: number;
}

export type RolloutPhase = 'Progressing' | 'Paused' | 'WaitingForApproval' | 'WaitingForWindow' | 'WaitingForPromotion' | 'Halted' | 'Aborted' | 'Complete';

export interface RolloutProgress {
  phase: RolloutPhase;
  /** Pending resources whose policy is manual, and those whose policy waits for a closed window (and when it opens). */
  manual?: number;
  outsideWindow?: number;
  windowOpensAt?: number;
  message: string;
  total: number;
  updated: number;
  inProgress: number;
  pending: number;
  failed: number;
  /** Index of the step being worked on (steps.length when all are done). */
  currentStep: number;
  steps: { target: number; reached: number }[];
  /** Resources to hand the revision now, in rollout order. */
  assign: ResourceView[];
}

export type ResourceState = 'updated' | 'failed' | 'inProgress' | 'pending';

/**
 * Where a resource stands in the rollout of `revision`. With `requireHealthy`, a resource whose run succeeded is
 * updated only when health observed after that run says healthy or ready, failed when it says unhealthy or degraded,
 * and in progress until then: health from before the run says nothing about the new revision.
 */
export function stateOf(r: ResourceView, revision: number, requireHealthy = false): ResourceState {
  if (r.revision === revision && r.phase === 'Succeeded') {
    if (!requireHealthy) return 'updated';
    // Both are whole seconds (HealthRecords' lastRun, the condition's time): a check in the same second as the run's
    // end may have preceded it, so only a later one counts.
    const fresh = r.health && r.succeededAt !== undefined && r.health.observedAt > r.succeededAt ? r.health.state : undefined;
    if (fresh === 'healthy' || fresh === 'ready') return 'updated';
    if (fresh === 'unhealthy' || fresh === 'degraded') return 'failed';
    return 'inProgress';
  }
  if (r.revision === revision && r.phase === 'Failed') return 'failed';
  if (r.assigned === revision || r.revision === revision) return 'inProgress';
  return 'pending';
}

/** Resources in rollout order: those matching order[0] first, then order[1], …, then the rest; by namespace/name within. */
export function orderResources(resources: readonly ResourceView[], order: readonly string[]): ResourceView[] {
  return firstInOrder(resources, order, resources.length);
}

/**
 * A resource's rank in rollout order: the index of the first of `order`'s selectors it matches, or `order.length`.
 * Selectors are parsed once here, not once per resource.
 */
export function rankIn(order: readonly string[]): (r: ResourceView) => number {
  const selectors: LabelSelector[] = order.map((o) => parseLabelSelector(o));
  return (r) => {
    const i = selectors.findIndex((s) => s.matches(r.labels));
    return i < 0 ? selectors.length : i;
  };
}

/** Rollout order of a resource of rank `k` against one of rank `kb` (negative: it comes first). */
export function inRolloutOrder(k: number, r: ResourceView, kb: number, b: ResourceView): number {
  return k - kb || compareCodeUnits(r.namespace, b.namespace) || compareCodeUnits(r.name, b.name);
}

/**
 * The first `count` resources in rollout order (see orderResources), without sorting them all: a decision hands out
 * a window of a few dozen from up to 10,000 pending, many times a second while a big rollout runs.
 */
export function firstInOrder(resources: readonly ResourceView[], order: readonly string[], count: number): ResourceView[] {
  const rank = rankIn(order);
  type Ranked = { r: ResourceView; k: number };
  const before = (a: Ranked, b: Ranked): number => inRolloutOrder(a.k, a.r, b.k, b.r);
  if (count <= 0) return [];
  if (count >= resources.length / 4)
    return resources
      .map((r) => ({ r, k: rank(r) }))
      .sort(before)
      .slice(0, count)
      .map(({ r }) => r);
  // Keep the best `count` in a sorted array; most candidates lose to its last entry with one comparison.
  const best: Ranked[] = [];
  for (const r of resources) {
    const k = rank(r);
    const last = best.length === count ? best[count - 1] : undefined;
    // Most lose to the last kept: compared before anything is allocated for them.
    if (last && inRolloutOrder(k, r, last.k, last.r) >= 0) continue;
    const item = { r, k };
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(best[mid]!, item) <= 0) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, item);
    if (best.length > count) best.pop();
  }
  return best.map(({ r }) => r);
}

/** Whether a resource is one a strategy's rollout is about: not pinned by its binding, and opted in when it asks for that. */
export function scopeOf(strategy: RolloutStrategy): (r: ResourceView) => boolean {
  const selector = strategy.selector ? parseLabelSelector(strategy.selector) : undefined;
  const namespaces = strategy.namespaces ? new Set(strategy.namespaces) : undefined;
  return (r) => !r.pinned && (!selector || selector.matches(r.labels)) && (!namespaces || namespaces.has(r.namespace));
}

/** The resources a strategy's rollout is about (see scopeOf). */
export function inScope(resources: readonly ResourceView[], strategy: RolloutStrategy): ResourceView[] {
  return resources.filter(scopeOf(strategy));
}

/**
 * What a decision needs to know of the resources in scope: how many stand where, how the pending ones adopt the
 * revision, and the first pending ones in rollout order. Made by walking a list (`summarize`), or kept up to date
 * change by change (RolloutTally), so a decision costs the same at 100 as at 100,000 resources.
 */
export interface RolloutSummary {
  total: number;
  counts: Readonly<Record<ResourceState, number>>;
  /** Pending resources by adoption policy. */
  pendingBy: Readonly<Record<AdoptionPolicy, number>>;
  /** The first `count` pending resources that may be handed the revision (policy automatic, or window while open). */
  first(count: number, windowOpen: boolean): ResourceView[];
}

/** The summary of `resources` (those in scope) by one walk over them. */
export function summarize(resources: readonly ResourceView[], revision: number, strategy: RolloutStrategy): RolloutSummary {
  const counts = { updated: 0, failed: 0, inProgress: 0, pending: 0 };
  const policyOf = adoptionPolicies(strategy);
  const automatic: ResourceView[] = [];
  const window: ResourceView[] = [];
  let manual = 0;
  for (const r of resources) {
    const st = stateOf(r, revision, strategy.requireHealthy);
    counts[st]++;
    if (st !== 'pending') continue;
    const policy = policyOf(r);
    if (policy === 'manual') manual++;
    else (policy === 'automatic' ? automatic : window).push(r);
  }
  return {
    total: resources.length,
    counts,
    pendingBy: { automatic: automatic.length, window: window.length, manual },
    first: (count, windowOpen) => firstInOrder(windowOpen ? [...automatic, ...window] : automatic, strategy.order, count),
  };
}

export function computeProgress(input: RolloutInput): RolloutProgress {
  return decide(summarize(input.resources, input.revision, input.strategy), input);
}

/** The decision, from the summary of the resources in scope. */
export function decide(summary: RolloutSummary, input: Omit<RolloutInput, 'resources'>): RolloutProgress {
  const { revision, strategy } = input;
  const { total, counts } = summary;
  const reached = total - counts.pending; // resources that have been given the revision
  const steps = strategy.steps.map((s) => ({ target: stepTarget(s, total), reached: Math.min(reached, stepTarget(s, total)) }));
  const base = { total, ...counts, steps, assign: [] as ResourceView[] };
  let currentStep = steps.findIndex((s) => s.reached < s.target);
  if (currentStep < 0) currentStep = counts.inProgress > 0 ? steps.length - 1 : steps.length;

  if (input.aborted)
    return {
      ...base,
      currentStep,
      phase: 'Aborted',
      message: `aborted at ${counts.updated}/${total} updated; resources already updated stay on revision ${revision} (undo rolls them back)`,
    };
  if (strategy.failureBudget !== undefined && counts.failed > strategy.failureBudget) {
    return {
      ...base,
      currentStep,
      phase: 'Halted',
      message: `${counts.failed} resources failed, more than the failure budget of ${strategy.failureBudget}: fix the Promise and apply it again, or undo`,
    };
  }
  if (counts.updated === total) return { ...base, currentStep: steps.length, phase: 'Complete', message: `all ${total} resources are on revision ${revision}` };

  // The step whose target bounds how many resources may have the revision now: stop at a finished step that pauses
  // until the platform team approves it.
  let allowed = total;
  for (let i = 0; i < strategy.steps.length; i++) {
    const step = strategy.steps[i]!;
    const target = steps[i]!.target;
    allowed = target;
    const finished = reached >= target && counts.inProgress === 0;
    if (!finished) break;
    if (step.pause && input.approvedStep <= i && target < total) {
      return {
        ...base,
        currentStep: i,
        phase: 'WaitingForApproval',
        message: `step ${i + 1} of ${strategy.steps.length} done (${target}/${total}): approve the next step with "fleetops rollout resume"`,
      };
    }
  }
  if (input.paused)
    return { ...base, currentStep, phase: 'Paused', message: `paused at ${counts.updated}/${total} updated ("fleetops rollout resume" continues)` };

  // Who may be handed the revision now: adoption policies and windows (see strategy.ts).
  const windows = windowState(strategy.windows ?? [], input.now);
  const manual = summary.pendingBy.manual;
  const outsideWindow = windows.open ? 0 : summary.pendingBy.window;
  const eligible = summary.pendingBy.automatic + (windows.open ? summary.pendingBy.window : 0);
  const capacity = strategy.maxConcurrent > 0 ? Math.max(0, strategy.maxConcurrent - counts.inProgress) : Infinity;
  const room = Math.max(0, Math.min(capacity, allowed - reached));
  const assign = summary.first(room, windows.open); // none when room is 0, all when it is unbounded
  const until = windows.until !== undefined ? new Date(windows.until).toISOString() : undefined;
  const waits = { manual, outsideWindow, ...(outsideWindow && windows.until !== undefined ? { windowOpensAt: windows.until } : {}) };
  if (!assign.length && counts.inProgress === 0 && !eligible) {
    if (outsideWindow)
      return {
        ...base,
        ...waits,
        currentStep,
        phase: 'WaitingForWindow',
        message: `${counts.updated}/${total} updated; ${outsideWindow} wait for a rollout window (${windows.reason ?? 'closed'}) ${until ? `until ${until}` : 'not within a year'}${manual ? `, ${manual} for promotion by hand` : ''}`,
      };
    if (manual)
      return {
        ...base,
        ...waits,
        currentStep,
        phase: 'WaitingForPromotion',
        message: `${counts.updated}/${total} updated; ${manual} adopt by hand (policy manual): "fleetops rollout promote" hands them the revision`,
      };
  }
  const failedNote = counts.failed ? `, ${counts.failed} failed (retrying)` : '';
  const waitNote = [outsideWindow ? `${outsideWindow} wait for a window${until ? ` until ${until}` : ''}` : '', manual ? `${manual} for promotion by hand` : '']
    .filter(Boolean)
    .join(', ');
  return {
    ...base,
    ...waits,
    assign,
    currentStep,
    phase: 'Progressing',
    message: `${counts.updated}/${total} updated, ${counts.inProgress + assign.length} in progress${failedNote}${waitNote ? `; ${waitNote}` : ''}`,
  };
}
