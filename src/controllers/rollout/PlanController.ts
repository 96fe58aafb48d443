/**
 * Runs RolloutPlans: the resource configure workflows of a Promise as it would be after a change, for each existing
 * resource (or the first `sample` in name order), in the sandbox and with no side effect (no Work, no WorkflowRun,
 * no status written to the resource). Each resource's would-be outputs are compared with its current Work and its
 * status with the status.yaml the new workflows write; the plan's status gets the per-resource changes and a
 * fleet summary. Re-running after a restart starts the plan over: it changes nothing, so that is safe.
 */
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { isKubeObject, isPlainObject, type KubeObject, type StoredObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { getOf, mergeStatusOf } from '../../client/typed.ts';
import { type Static } from '../../registry/builtin/defineType.ts';
import { TypeController } from '../shared/TypeController.ts';
import { rolloutPlanType, type RolloutPlan, type RolloutPlanStatus } from '../../registry/builtin/fleetopsKinds.ts';
import { promiseType, type KratixPromise, type PromiseSpec } from '../../registry/builtin/kratixKinds.ts';
import { apiVersionOf } from '../../registry/ResourceType.ts';
import type { Registry } from '../../registry/Registry.ts';
import { rfc3339Seconds } from '../../api/time.ts';
import type { Pipeline } from '../../workflows/PipelineRunner.ts';
import { configReader } from '../shared/configReader.ts';
import { kindServedBy } from '../shared/promiseKinds.ts';
import type { WorkflowExecutor } from '../shared/WorkflowExecutor.ts';
import { summarize } from './diff.ts';
import { adoptionPolicies, ANNOTATION_ROLLOUT_STRATEGY, parseStrategy, type AdoptionPolicy } from './strategy.ts';
import { windowState } from './windows.ts';
import { workflowChanges } from './workflowChanges.ts';
import { eachConcurrently } from '../../lib/eachConcurrently.ts';

export interface PlanControllerOptions {
  client: Client;
  registry: Registry;
  executor: WorkflowExecutor;
  logger: Logger;
  /** Resources planned in parallel (default: one per core). */
  concurrency?: number;
  /** Per-resource details kept in the plan's status (the summary counts all). */
  maxDetails?: number;
  now?: () => Date;
}

interface ResourcePlan {
  namespace: string;
  name: string;
  outcome: 'changed' | 'unchanged' | 'failed';
  changes: string[];
  error?: string;
}

const DONE = new Set(['Complete', 'Failed']);

/** A spec the Promise kind's admission rules accepted (its pipelines are then well formed). */
function isAdmittedSpec(spec: unknown): spec is PromiseSpec {
  return isPlainObject(spec);
}

export class PlanController {
  private readonly opts: PlanControllerOptions;
  private readonly runner: TypeController<Static<typeof rolloutPlanType>>;

  constructor(options: PlanControllerOptions) {
    this.opts = options;
    this.runner = new TypeController({
      name: 'rollout-plan',
      client: options.client,
      type: rolloutPlanType,
      logger: options.logger,
      reconciler: { reconcile: (key, log) => this.reconcile(key, log) },
      concurrency: 1,
      onEvent: (e, enqueue) => {
        if (e.type === 'ADDED') enqueue(e.object.metadata.name);
      },
    });
  }

  start(): Promise<void> {
    return this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  private now(): string {
    return rfc3339Seconds((this.opts.now ?? (() => new Date()))());
  }

  async reconcile(name: string, log: Logger): Promise<void> {
    const { client, registry } = this.opts;
    const found = await getOf(client, rolloutPlanType, name);
    if (!found || DONE.has(String(found.status?.phase))) return;
    let plan: RolloutPlan = found;
    const write = async (status: RolloutPlanStatus): Promise<void> => {
      plan = await mergeStatusOf(client, rolloutPlanType, plan, status);
    };
    const proposed = this.proposedPromise(plan);
    if (typeof proposed === 'string') return write({ phase: 'Failed', message: proposed });
    const { name: promiseName, spec: nextSpec, strategyText } = proposed;
    const live = await getOf(client, promiseType, promiseName);
    const type = kindServedBy(registry, promiseName);
    if (!live || !type)
      return write({ phase: 'Failed', message: `Promise ${promiseName} is not installed: there are no resources to plan for; apply it instead` });

    const all = (await client.list(apiVersionOf(type), type.kind)).filter((o) => !o.metadata.deletionTimestamp);
    all.sort(
      (a, b) => String(a.metadata.namespace).localeCompare(String(b.metadata.namespace)) || String(a.metadata.name).localeCompare(String(b.metadata.name)),
    );
    const sample = plan.spec?.sample;
    const targets = sample ? all.slice(0, sample) : all;
    const promise: KratixPromise = { ...live, spec: nextSpec };
    const pipelines = nextSpec.workflows?.resource?.configure ?? [];
    await write({
      phase: 'Running',
      total: all.length,
      planned: 0,
      startTime: this.now(),
      message: `running the new workflows for ${targets.length} of ${all.length} ${type.plural}`,
    });

    const results: ResourcePlan[] = [];
    let lastWrite = Date.now();
    await eachConcurrently(targets, this.opts.concurrency ?? availableParallelism(), async (obj) => {
      results.push(await this.planOne(obj, promise, pipelines, type.plural, log));
      if (Date.now() - lastWrite > 1000) {
        lastWrite = Date.now();
        await write({ planned: results.length });
      }
    });
    results.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));

    const sampled = sample && all.length > results.length ? ` (a sample of ${results.length} of ${all.length})` : '';
    const outcome = this.outcomeOf(results, type.plural, sampled);
    const adoption = this.adoptionLine(strategyText, all);
    if (adoption) outcome.summary = [adoption, ...(outcome.summary ?? [])];
    await write({ phase: 'Complete', ...outcome, completionTime: this.now() });
    log.info({ plan: name, planned: results.length, changed: outcome.changed, failed: outcome.failed }, 'rollout plan complete');
  }

  /** The plan's Promise (its name and spec) once it passes the admission rules applying it would; else why not. */
  private proposedPromise(plan: RolloutPlan): { name: string; spec: PromiseSpec; strategyText: string | undefined } | string {
    const next: KubeObject | undefined = isKubeObject(plan.spec?.promise) ? plan.spec.promise : undefined;
    const name = next?.metadata.name;
    if (!next || next.kind !== 'Promise' || !name) return 'spec.promise must be a Promise with metadata.name';
    // Pipelines well formed, API valid: checked before anything runs.
    const problems = this.opts.registry.byKind(promiseType.group, promiseType.kind)?.strategy?.validate?.(next, undefined) ?? [];
    const spec = next.spec ?? {};
    if (problems.length || !isAdmittedSpec(spec)) return `spec.promise is not a valid Promise: ${problems.map((c) => `${c.field}: ${c.message}`).join('; ')}`;
    return { name, spec, strategyText: next.metadata.annotations?.[ANNOTATION_ROLLOUT_STRATEGY] };
  }

  /** How the proposed strategy's adoption policies and windows would treat these resources now (plan's summary). */
  private adoptionLine(strategyText: string | undefined, all: StoredObject[]): string | undefined {
    const { strategy } = parseStrategy(strategyText);
    if (!strategy.adoption?.length && !strategy.windows?.length) return undefined;
    const counts: Record<AdoptionPolicy, number> = { automatic: 0, window: 0, manual: 0 };
    const policyOf = adoptionPolicies(strategy);
    for (const o of all) counts[policyOf({ namespace: o.metadata.namespace ?? '', labels: o.metadata.labels ?? {} })]++;
    const w = windowState(strategy.windows ?? [], (this.opts.now ?? (() => new Date()))().getTime());
    const windows = w.open
      ? 'the windows are open now'
      : `the windows are closed now (${w.reason ?? ''})${w.until !== undefined ? ` until ${new Date(w.until).toISOString()}` : ''}`;
    return `adoption: ${counts.automatic} automatic, ${counts.window} in windows, ${counts.manual} by hand (fleetops rollout promote); ${windows}`;
  }

  /** Counts, the fleet summary of the changes, a headline, and the per-resource details kept. */
  private outcomeOf(results: ResourcePlan[], plural: string, sampled: string): RolloutPlanStatus & { changed: number; failed: number } {
    const count = (o: ResourcePlan['outcome']): number => results.filter((r) => r.outcome === o).length;
    const changes = results.filter((r) => r.outcome === 'changed').map((r) => r.changes);
    const [changed, unchanged, failed] = [count('changed'), count('unchanged'), count('failed')];
    return {
      planned: results.length,
      changed,
      unchanged,
      failed,
      summary: summarize(changes, plural).map((s) => s.text),
      message: `${results.length} ${plural}: ${changed} would change, ${unchanged} unchanged, ${failed} failed${sampled}`,
      resources: results.slice(0, this.opts.maxDetails ?? 500),
    };
  }

  private async planOne(obj: StoredObject, promise: KratixPromise, pipelines: Pipeline[], plural: string, log: Logger): Promise<ResourcePlan> {
    const { client, executor } = this.opts;
    const namespace = obj.metadata.namespace ?? '';
    const base = { namespace, name: obj.metadata.name };
    const target = { object: obj, workflowType: 'resource' as const, action: 'configure' as const, promise, plural, pipelines, hash: 'plan', namespace };
    const outcome = await executor.run(target, log, { readConfig: configReader(client, namespace), dryRun: true });
    if (!outcome.ok)
      return { ...base, outcome: 'failed', changes: [], error: `pipeline ${outcome.failedPipeline ?? ''}: ${outcome.failure ?? 'failed'}`.slice(0, 2000) };
    const changes = await workflowChanges(client, executor, target, obj, outcome);
    return { ...base, outcome: changes.length ? 'changed' : 'unchanged', changes };
  }
}
