/**
 * `fleetops rollout status|pause|resume|abort|undo|history|plan`: the platform team's controls over how a Promise
 * change reaches the fleet. Rollouts, revisions and plans are objects of the API (fleetops.dev/v1alpha1), so each
 * command is a read or a small patch; the controllers do the work.
 */
import type { KratixPromise } from '../../registry/builtin/kratixKinds.ts';
import type { Revision as RevisionObject, Rollout as RolloutObject, RolloutPlan } from '../../registry/builtin/fleetopsKinds.ts';
import { formatGoDuration, humanDuration } from '../../api/duration.ts';
import { ApiError } from '../../api/errors.ts';
import { collectionPath, objectPath } from '../../client/discovery.ts';
import type { CliContext } from '../context.ts';
import { readManifests } from '../manifests.ts';
import { revisionName } from '../../api/fleetopsNames.ts';
import { FINISHED_PHASES, rolloutControl, undoneTo, undoTarget, type RolloutAction } from '../../api/rolloutControls.ts';
import { formatColumns, renderJson, renderYaml } from '../printers.ts';

const group = { group: 'fleetops.dev', version: 'v1alpha1', namespaced: false } as const;
const ROLLOUTS = { ...group, plural: 'rollouts' };
const REVISIONS = { ...group, plural: 'revisions' };
const PLANS = { ...group, plural: 'rolloutplans' };
const PROMISES = { group: 'platform.kratix.io', version: 'v1alpha1', plural: 'promises', namespaced: false } as const;

type Rollout = RolloutObject & { spec: NonNullable<RolloutObject['spec']> };
type Revision = RevisionObject & { spec: NonNullable<RevisionObject['spec']> };
type Plan = RolloutPlan;

type Out = (text: string) => void;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const FINISHED = FINISHED_PHASES;

async function rolloutsOf(ctx: CliContext, promise: string): Promise<Rollout[]> {
  const list = await ctx.client.get<{ items: Rollout[] }>(collectionPath(ROLLOUTS), { query: { labelSelector: `kratix.io/promise-name=${promise}` } });
  return list.items.sort((a, b) => b.spec.revision - a.spec.revision);
}

async function latestRollout(ctx: CliContext, promise: string): Promise<Rollout> {
  const p = await ctx.client.get<KratixPromise>(objectPath(PROMISES, undefined, promise));
  const [latest] = await rolloutsOf(ctx, promise);
  if (!latest) {
    const rev = p.status?.latestRevision ?? 1;
    throw new Error(
      `Promise ${promise} has no rollout yet: it is at revision ${rev}, and a rollout starts with its next change ("kubectl apply -f promise.yaml")`,
    );
  }
  return latest;
}

/** `[██████░░░░] 12/20` */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total ? Math.round((done / total) * width) : width;
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${total}`;
}

function stepLabel(s: { count?: number; percent?: number; pause?: boolean } | undefined): string {
  if (!s) return '';
  return `${s.count !== undefined ? `${s.count} resource${s.count === 1 ? '' : 's'}` : `${s.percent}%`}${s.pause ? ', then pause' : ''}`;
}

export function renderRollout(r: Rollout): string {
  const st = r.status ?? {};
  const total = st.total ?? 0;
  const lines = [
    `Rollout ${r.metadata.name}: Promise ${r.spec.promiseName} revision ${r.spec.fromRevision ?? '?'} → ${r.spec.revision}   ${st.phase ?? 'Pending'}${r.spec.paused ? ' (paused)' : ''}`,
    `${progressBar(st.updated ?? 0, total)} updated   in progress ${st.inProgress ?? 0}   pending ${st.pending ?? 0}   failed ${st.failed ?? 0}`,
  ];
  const steps = r.spec.strategy?.steps ?? [];
  (st.steps ?? []).forEach((s, i) => {
    const mark = s.reached >= s.target ? 'done' : i === st.currentStep ? 'current' : '';
    lines.push(`  step ${i + 1}/${st.steps!.length}: ${stepLabel(steps[i]).padEnd(22)} ${String(s.reached).padStart(5)}/${s.target}  ${mark}`);
  });
  const windows = r.spec.strategy?.windows ?? [];
  if (windows.length)
    lines.push(
      `  windows: ${windows.map((w) => `${w.kind} "${w.schedule}" for ${formatGoDuration(w.durationMs)}${w.timeZone && w.timeZone !== 'UTC' ? ` (${w.timeZone})` : ''}`).join('; ')}`,
    );
  if (st.outsideWindow) lines.push(`  ${st.outsideWindow} wait for a window${st.windowOpensAt ? ` until ${st.windowOpensAt}` : ''}`);
  if (st.manual)
    lines.push(`  ${st.manual} adopt by hand (policy manual): "fleetops rollout promote ${r.spec.promiseName} -l <selector>" hands them the revision`);
  if (st.message) lines.push(st.message);
  return lines.join('\n');
}

function compactLine(r: Rollout): string {
  const st = r.status ?? {};
  return `${progressBar(st.updated ?? 0, st.total ?? 0, 20)} updated, ${st.inProgress ?? 0} in progress, ${st.pending ?? 0} pending, ${st.failed ?? 0} failed — ${st.phase ?? 'Pending'}${st.steps && st.steps.length > 1 ? ` (step ${Math.min((st.currentStep ?? 0) + 1, st.steps.length)}/${st.steps.length})` : ''}`;
}

export interface StatusOptions {
  watch?: boolean;
  /** Give up watching after this many seconds (exit code 1). */
  timeoutSeconds?: number;
  revision?: number;
}

/** Exit code: 0 when the rollout completed (or is shown without -w), 1 when it halted, aborted or was superseded. */
export async function rolloutStatusCommand(ctx: CliContext, promise: string, opts: StatusOptions, out: Out): Promise<number> {
  const pick = async (): Promise<Rollout> => {
    if (opts.revision === undefined) return latestRollout(ctx, promise);
    return ctx.client.get<Rollout>(objectPath(ROLLOUTS, undefined, revisionName(promise, opts.revision)));
  };
  let r = await pick();
  if (!opts.watch) {
    out(renderRollout(r));
    return 0;
  }
  out(renderRollout(r));
  const deadline = opts.timeoutSeconds ? Date.now() + opts.timeoutSeconds * 1000 : Infinity;
  let last = '';
  for (;;) {
    const line = compactLine(r);
    if (line !== last) out(line);
    last = line;
    const phase = r.status?.phase ?? '';
    if (FINISHED.has(phase) || phase === 'Halted') {
      out(
        phase === 'Complete'
          ? `rollout of revision ${r.spec.revision} complete: ${r.status?.total ?? 0} resources updated`
          : `rollout ${phase.toLowerCase()}: ${r.status?.message ?? ''}`,
      );
      return phase === 'Complete' ? 0 : 1;
    }
    if (Date.now() > deadline) {
      out(`error: timed out waiting for the rollout (${phase})`);
      return 1;
    }
    await sleep(250);
    r = await ctx.client.get<Rollout>(objectPath(ROLLOUTS, undefined, r.metadata.name));
  }
}

async function patchRollout(ctx: CliContext, r: Rollout, spec: Record<string, unknown>): Promise<void> {
  await ctx.client.request('PATCH', objectPath(ROLLOUTS, undefined, r.metadata.name), {
    body: { spec },
    contentType: 'application/merge-patch+json',
  });
}

export async function rolloutControlCommand(ctx: CliContext, action: RolloutAction, promise: string, out: Out): Promise<number> {
  const r = await latestRollout(ctx, promise);
  const name = `rollout.fleetops.dev/${r.metadata.name}`;
  const control = rolloutControl(action, r);
  if ('nothing' in control) {
    if (action === 'resume' && !FINISHED.has(r.status?.phase ?? '')) {
      out(`${name} is not paused (${r.status?.phase ?? 'Pending'})`);
      return 0;
    }
    throw new Error(`${name} ${control.nothing}${action !== 'abort' ? '' : ' (undo rolls it back: "fleetops rollout undo ' + promise + '")'}`);
  }
  await patchRollout(ctx, r, control.patch);
  if (action === 'pause') out(`${name} paused: resources in progress finish, no more start ("fleetops rollout resume ${promise}" continues)`);
  else if (action === 'abort')
    out(`${name} aborted: no more resources get revision ${r.spec.revision}; "fleetops rollout undo ${promise}" takes the updated ones back`);
  else {
    const waiting = r.status?.phase === 'WaitingForApproval';
    out(`${name} resumed${waiting ? `: step ${Number(control.patch.approvedStep) + 1} approved` : ''}`);
  }
  return 0;
}

export async function rolloutHistoryCommand(ctx: CliContext, promise: string, out: Out): Promise<number> {
  await ctx.client.get(objectPath(PROMISES, undefined, promise));
  const revisions = (
    await ctx.client.get<{ items: Revision[] }>(collectionPath(REVISIONS), { query: { labelSelector: `kratix.io/promise-name=${promise}` } })
  ).items.sort((a, b) => a.spec.revision - b.spec.revision);
  const rollouts = new Map((await rolloutsOf(ctx, promise)).map((r) => [r.spec.revision, r]));
  const rows = revisions.map((rev) => {
    const r = rollouts.get(rev.spec.revision);
    const rollout = r ? `${r.status?.phase ?? 'Pending'} ${r.status?.updated ?? 0}/${r.status?.total ?? 0}` : rev.spec.revision === 1 ? 'installed' : '';
    return [
      String(rev.spec.revision),
      rev.spec.version || '',
      humanDuration(Date.now() - Date.parse(String(rev.metadata.creationTimestamp))),
      rollout,
      rev.spec.change ?? '',
    ];
  });
  out(`Promise ${promise}\n${formatColumns(['REVISION', 'VERSION', 'AGE', 'ROLLOUT', 'CHANGE'], rows)}`);
  return 0;
}

/** Puts the Promise's spec back to an earlier revision; that becomes a new revision, rolled out like any change. */
export async function rolloutUndoCommand(ctx: CliContext, promise: string, opts: { toRevision?: number }, out: Out): Promise<number> {
  const p = await ctx.client.get<KratixPromise>(objectPath(PROMISES, undefined, promise));
  const latest = p.status?.latestRevision;
  const to = undoTarget(promise, latest, opts.toRevision);
  let rev: Revision;
  try {
    rev = await ctx.client.get<Revision>(objectPath(REVISIONS, undefined, revisionName(promise, to)));
  } catch (err) {
    if (err instanceof ApiError && err.code === 404)
      throw new Error(`revision ${to} of Promise ${promise} does not exist ("fleetops rollout history ${promise}" lists them)`, { cause: err });
    throw err;
  }
  // An update with the Promise's resourceVersion: a change made meanwhile is never overwritten (409 instead).
  await ctx.client.request('PUT', objectPath(PROMISES, undefined, promise), { body: undoneTo(p, to, rev.spec) });
  out(
    `promise.platform.kratix.io/${promise} rolled back to the spec of revision ${to} (as revision ${(latest ?? 0) + 1}); follow it with "fleetops rollout status ${promise} -w"`,
  );
  return 0;
}

export interface PromoteOptions {
  selector?: string;
  namespace?: string;
}

/**
 * Hands the latest rollout's revision to resources by hand (those whose adoption policy is `manual`, or any): the
 * label a rollout would set, so the rollout counts them as it counts its own.
 */
export async function rolloutPromoteCommand(ctx: CliContext, promise: string, opts: PromoteOptions, out: Out): Promise<number> {
  const r = await latestRollout(ctx, promise);
  if (FINISHED.has(r.status?.phase ?? '')) throw new Error(`rollout.fleetops.dev/${r.metadata.name} is ${r.status?.phase}: there is nothing to promote`);
  if (!opts.selector && !opts.namespace) throw new Error('say which resources to promote: -l <label selector> and/or -n <namespace>');
  const p = await ctx.client.get<KratixPromise>(objectPath(PROMISES, undefined, promise));
  const api = p.status?.apiVersion;
  const kind = p.status?.kind;
  if (typeof api !== 'string' || typeof kind !== 'string') throw new Error(`Promise ${promise} serves no kind yet`);
  const [groupName = '', version = ''] = api.split('/');
  const plural = (await ctx.client.get<{ resources: { kind: string; name: string }[] }>(`/apis/${groupName}/${version}`)).resources.find(
    (x) => x.kind === kind && !x.name.includes('/'),
  )?.name;
  if (!plural) throw new Error(`the API does not serve ${kind} (${api})`);
  const type = { group: groupName, version, plural, namespaced: true } as const;
  const items = (
    await ctx.client.get<{ items: { metadata: { name: string; namespace?: string; labels?: Record<string, string> } }[] }>(
      collectionPath(type, opts.namespace),
      {
        query: opts.selector ? { labelSelector: opts.selector } : {},
      },
    )
  ).items;
  const revision = String(r.spec.revision);
  let promoted = 0;
  for (const item of items) {
    if (item.metadata.labels?.['fleetops.dev/revision'] === revision) continue;
    await ctx.client.request('PATCH', objectPath(type, item.metadata.namespace, item.metadata.name), {
      body: { metadata: { labels: { 'fleetops.dev/revision': revision } } },
      contentType: 'application/merge-patch+json',
    });
    promoted++;
  }
  out(
    `${promoted} ${plural} promoted to revision ${revision}${items.length > promoted ? ` (${items.length - promoted} already had it)` : ''}; follow with "fleetops rollout status ${promise}"`,
  );
  return 0;
}

export interface PlanOptions {
  filename: string[];
  sample?: number;
  output?: string;
  keep?: boolean;
  timeoutSeconds?: number;
}

export async function rolloutPlanCommand(ctx: CliContext, opts: PlanOptions, out: Out, stdin: () => string, err: Out): Promise<number> {
  const promises = readManifests(opts.filename, stdin).filter((m) => m.object.kind === 'Promise');
  if (promises.length !== 1) throw new Error(`expected exactly one Promise in ${opts.filename.join(', ')}, found ${promises.length}`);
  const promise = promises[0]!.object;
  const body = {
    apiVersion: 'fleetops.dev/v1alpha1',
    kind: 'RolloutPlan',
    metadata: { generateName: `${promise.metadata.name}-plan-` },
    spec: { promise, ...(opts.sample ? { sample: opts.sample } : {}) },
  };
  let plan = (await ctx.client.request<Plan>('POST', collectionPath(PLANS), { body })).body;
  const name = plan.metadata.name;
  const deadline = Date.now() + (opts.timeoutSeconds ?? 1800) * 1000;
  let shown = -1;
  try {
    while (plan.status?.phase !== 'Complete' && plan.status?.phase !== 'Failed') {
      if (Date.now() > deadline) throw new Error(`timed out waiting for rollout plan ${name}`);
      await sleep(200);
      plan = await ctx.client.get<Plan>(objectPath(PLANS, undefined, name));
      const planned = plan.status?.planned ?? 0;
      if (plan.status?.phase === 'Running' && planned !== shown) {
        err(`planning: ${progressBar(planned, plan.status.total ?? 0, 20)}`);
        shown = planned;
      }
    }
  } finally {
    if (!opts.keep) await ctx.client.request('DELETE', objectPath(PLANS, undefined, name)).catch(() => undefined);
  }
  if (opts.output === 'yaml') out(renderYaml(plan));
  else if (opts.output === 'json') out(renderJson(plan));
  else {
    const st = plan.status ?? {};
    if (st.phase === 'Failed') throw new Error(st.message ?? 'the plan failed');
    for (const r of st.resources ?? []) {
      const id = r.namespace ? `${r.namespace}/${r.name}` : r.name;
      if (r.outcome === 'unchanged') out(`  ${id}: unchanged`);
      else if (r.outcome === 'failed') out(`! ${id}: would fail: ${r.error ?? ''}`);
      else out(`~ ${id}:\n${r.changes.map((c) => `    ${c}`).join('\n')}`);
    }
    out(`\nSummary: ${st.message ?? ''}`);
    for (const line of st.summary ?? []) out(`  ${line}`);
    if (opts.keep) out(`(kept as rolloutplan.fleetops.dev/${name})`);
  }
  return plan.status?.phase === 'Complete' ? 0 : 1;
}
