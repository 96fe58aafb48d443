/**
 * Rollout strategies, set by the platform team in the Promise's `fleetops.dev/rollout-strategy` annotation (JSON or
 * YAML) so the Kratix Promise format is untouched. Without it, a new revision goes to every resource with no pause,
 * the workflow concurrency limit pacing the runs: Kratix's behaviour.
 *
 *   fleetops.dev/rollout-strategy: |
 *     maxConcurrent: 5          # resources handed out at once (default 64; 0: all at once)
 *     steps:                    # cumulative targets; pause: wait for `fleetops rollout resume`
 *       - {count: 1, pause: true}
 *       - {percent: 10}
 *       - {percent: 100}
 *     order: ["env=dev", "env=prod"]   # label selectors: matching resources go first, in this order
 *     failureBudget: 2          # more failed resources than this halts the rollout
 *     selector: "updates=auto"  # only resources whose owners opted in (labels); the others stay where they are
 *     namespaces: [team-a]      # only resources in these namespaces
 *     requireHealthy: true      # a resource counts as updated only once its health (Kratix HealthRecords),
 *                               # observed after its run on the new revision, is healthy or ready; unhealthy or
 *                               # degraded then counts as failed
 *     windows:                  # when the revision may be handed out (Argo CD's sync windows): no deny window
 *       - {kind: allow, schedule: "0 9 * * 1-5", duration: 8h, timeZone: Europe/Berlin}   # open, and an allow
 *       - {kind: deny, schedule: "0 0 24 12 *", duration: 48h}                              # one if any are given
 *     adoption:                 # per namespace or label: the first rule that matches decides (default: window)
 *       - {selector: "env=dev", policy: automatic}     # handed out regardless of the windows
 *       - {namespaces: [prod], policy: manual}         # only by hand: fleetops rollout promote
 */
import { errorMessage } from '../../api/errors.ts';
import { parse } from 'yaml';
import { parseLabelSelector } from '../../api/labels.ts';
import { isPlainObject } from '../../api/types.ts';

import { ANNOTATION_ROLLOUT_STRATEGY } from '../../api/fleetopsNames.ts';
import { parseGoDuration } from '../../api/duration.ts';
import { checkTimeZone, parseCron, type RolloutWindow } from './windows.ts';
export { ANNOTATION_CHANGE_CAUSE, ANNOTATION_ROLLOUT_STRATEGY } from '../../api/fleetopsNames.ts';

export interface RolloutStep {
  count?: number;
  percent?: number;
  pause?: boolean;
}

export interface RolloutStrategy {
  maxConcurrent: number;
  steps: RolloutStep[];
  order: string[];
  /** More failed resources than this halts the rollout; absent: no limit (Kratix's behaviour). */
  failureBudget?: number;
  /** Updated means healthy on the new revision, not just run (see ResourceView.health). */
  requireHealthy?: boolean;
  /** Only resources matching this label selector take part (owners opt in); the others keep their revision. */
  selector?: string;
  /** Only resources in these namespaces take part. */
  namespaces?: string[];
  /** When the revision may be handed out (see windows.ts); none: at any time. */
  windows?: RolloutWindow[];
  /** Who adopts the revision how: the first rule matching a resource decides; none matching: `window`. */
  adoption?: AdoptionRule[];
}

/**
 * `automatic`: handed out whatever the windows say (dev floating); `window`: only while the windows allow (the
 * default); `manual`: never by the rollout, only when promoted by hand (`fleetops rollout promote`: prod pinned).
 */
export type AdoptionPolicy = 'automatic' | 'window' | 'manual';

export interface AdoptionRule {
  selector?: string;
  namespaces?: string[];
  policy: AdoptionPolicy;
}

/**
 * Resources a rollout keeps handed out at once when the strategy does not say. Every resource still gets the
 * revision with no pause (Kratix's behaviour), but through a window rather than all at once: the workflow queue is
 * shared, and a new request arriving during a rollout of 10,000 then waits behind 64 runs, not 10,000.
 */
export const DEFAULT_WINDOW = 64;

export const DEFAULT_STRATEGY: RolloutStrategy = { maxConcurrent: DEFAULT_WINDOW, steps: [{ percent: 100 }], order: [] };

/** The strategy in the annotation, or the default and what is wrong with the annotation. */
export function parseStrategy(text: string | undefined): { strategy: RolloutStrategy; problem?: string } {
  if (!text?.trim()) return { strategy: DEFAULT_STRATEGY };
  try {
    const raw: unknown = parse(text);
    if (!isPlainObject(raw)) throw new Error('must be a map with maxConcurrent, steps, order, failureBudget, selector, namespaces, requireHealthy');
    const int = (v: unknown, name: string, min: number, fallback = min): number => {
      if (v === undefined) return fallback;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}`);
      return v;
    };
    const list = (v: unknown, name: string, fallback: unknown[]): unknown[] => {
      if (v === undefined) return fallback;
      if (!Array.isArray(v)) throw new Error(`${name} must be a list`);
      return v;
    };
    const steps = list(raw.steps, 'steps', [{ percent: 100 }]).map((s, i) => {
      if (!isPlainObject(s)) throw new Error(`steps[${i}] must be {count|percent, pause}`);
      if ((s.count === undefined) === (s.percent === undefined)) throw new Error(`steps[${i}] needs exactly one of count or percent`);
      const step: RolloutStep = s.count !== undefined ? { count: int(s.count, `steps[${i}].count`, 1) } : { percent: int(s.percent, `steps[${i}].percent`, 1) };
      if (step.percent !== undefined && step.percent > 100) throw new Error(`steps[${i}].percent must be at most 100`);
      if (s.pause !== undefined) step.pause = s.pause === true;
      return step;
    });
    const order = list(raw.order, 'order', []).map((sel, i) => {
      if (typeof sel !== 'string') throw new Error(`order[${i}] must be a label selector string`);
      parseLabelSelector(sel);
      return sel;
    });
    const strategy: RolloutStrategy = { maxConcurrent: int(raw.maxConcurrent, 'maxConcurrent', 0, DEFAULT_WINDOW), steps, order };
    if (raw.failureBudget !== undefined) strategy.failureBudget = int(raw.failureBudget, 'failureBudget', 0);
    if (raw.selector !== undefined) {
      if (typeof raw.selector !== 'string') throw new Error('selector must be a label selector string');
      parseLabelSelector(raw.selector);
      strategy.selector = raw.selector;
    }
    if (raw.namespaces !== undefined) {
      if (!Array.isArray(raw.namespaces) || raw.namespaces.some((n) => typeof n !== 'string')) throw new Error('namespaces must be a list of names');
      strategy.namespaces = raw.namespaces;
    }
    if (raw.requireHealthy !== undefined) {
      if (typeof raw.requireHealthy !== 'boolean') throw new Error('requireHealthy must be true or false');
      if (raw.requireHealthy) strategy.requireHealthy = true;
    }
    if (raw.windows !== undefined) strategy.windows = list(raw.windows, 'windows', []).map((w, i) => parseWindow(w, i));
    if (raw.adoption !== undefined) strategy.adoption = list(raw.adoption, 'adoption', []).map((a, i) => parseAdoption(a, i));
    const last = steps[steps.length - 1];
    // The last step always takes the rollout to every resource; a strategy that stops short would never complete.
    if (!last || last.percent !== 100) steps.push({ percent: 100 });
    return { strategy };
  } catch (err) {
    return { strategy: DEFAULT_STRATEGY, problem: `annotation ${ANNOTATION_ROLLOUT_STRATEGY} is invalid: ${errorMessage(err)}` };
  }
}

function parseWindow(w: unknown, i: number): RolloutWindow {
  const at = `windows[${i}]`;
  if (!isPlainObject(w)) throw new Error(`${at} must be {kind: allow|deny, schedule, duration, timeZone}`);
  if (w.kind !== 'allow' && w.kind !== 'deny') throw new Error(`${at}.kind must be allow or deny`);
  if (typeof w.schedule !== 'string') throw new Error(`${at}.schedule must be a cron schedule such as "0 9 * * 1-5"`);
  parseCron(w.schedule);
  if (typeof w.duration !== 'string') throw new Error(`${at}.duration must be a duration such as 8h or 30m`);
  const durationMs = parseGoDuration(w.duration);
  if (durationMs < 60_000) throw new Error(`${at}.duration must be at least 1m`);
  const timeZone = w.timeZone === undefined ? 'UTC' : w.timeZone;
  if (typeof timeZone !== 'string') throw new Error(`${at}.timeZone must be an IANA time zone such as Europe/Berlin`);
  try {
    checkTimeZone(timeZone);
  } catch {
    throw new Error(`${at}.timeZone "${timeZone}" is not a known IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)`);
  }
  return { kind: w.kind, schedule: w.schedule, durationMs, timeZone };
}

function parseAdoption(a: unknown, i: number): AdoptionRule {
  const at = `adoption[${i}]`;
  if (!isPlainObject(a)) throw new Error(`${at} must be {selector?, namespaces?, policy: automatic|window|manual}`);
  if (a.policy !== 'automatic' && a.policy !== 'window' && a.policy !== 'manual') throw new Error(`${at}.policy must be automatic, window or manual`);
  const rule: AdoptionRule = { policy: a.policy };
  if (a.selector !== undefined) {
    if (typeof a.selector !== 'string') throw new Error(`${at}.selector must be a label selector string`);
    parseLabelSelector(a.selector);
    rule.selector = a.selector;
  }
  if (a.namespaces !== undefined) {
    if (!Array.isArray(a.namespaces) || a.namespaces.some((n) => typeof n !== 'string')) throw new Error(`${at}.namespaces must be a list of names`);
    rule.namespaces = a.namespaces;
  }
  return rule;
}

/**
 * How the strategy's adoption rules place resources: the first rule that matches a resource decides, `window` when
 * none does. Selectors are parsed once here, not once per resource of the fleet.
 */
export function adoptionPolicies(strategy: Pick<RolloutStrategy, 'adoption'>): (r: { namespace: string; labels: Record<string, string> }) => AdoptionPolicy {
  const rules = (strategy.adoption ?? []).map((rule) => ({ ...rule, matcher: rule.selector ? parseLabelSelector(rule.selector) : undefined }));
  return (r) =>
    rules.find((rule) => (!rule.namespaces || rule.namespaces.includes(r.namespace)) && (!rule.matcher || rule.matcher.matches(r.labels)))?.policy ?? 'window';
}

/** Cumulative number of resources step `i` brings to the new revision, out of `total`. */
export function stepTarget(step: RolloutStep, total: number): number {
  if (step.count !== undefined) return Math.min(total, step.count);
  return Math.min(total, Math.ceil(((step.percent ?? 100) / 100) * total));
}
