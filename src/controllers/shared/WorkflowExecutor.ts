/**
 * Runs a Promise's workflow (its list of Pipelines) for one object, pipeline after pipeline, recording each as a
 * WorkflowRun and, for configure workflows, writing each pipeline's outputs as that pipeline's Work. Shared by the
 * resource and Promise controllers: the contract is the same, only the object and the Work's labels differ.
 */
import { errorMessage } from '../../api/errors.ts';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isPlainObject, type StoredObject } from '../../api/types.ts';
import type { KratixPromise } from '../../registry/builtin/kratixKinds.ts';
import { rfc3339Seconds } from '../../api/time.ts';
import type { Client } from '../../client/Client.ts';
import { FLEETOPS_API, type RunExecution, type WorkflowRun } from '../../registry/builtin/fleetopsKinds.ts';
import {
  ANNOTATION_TIMEOUT,
  type ApiCredentials,
  type Pipeline,
  type PipelineResult,
  type PipelineRunner,
  type StepRecord,
  type WorkflowControl,
} from '../../workflows/PipelineRunner.ts';
import { parseGoDuration } from '../../api/duration.ts';
import { backoffLimitOf } from '../../workflows/pipelineSpec.ts';
import { ensurePipelineAccess } from './pipelineAccess.ts';
import { buildWorkloadGroups, type OutputFile } from '../../workflows/outputs.ts';
import { ensureWork, type WorkSeal } from './workSeal.ts';
import { outputScopeOf } from '../../workflows/outputScope.ts';

import {
  KRATIX_API,
  LABEL_HASH,
  LABEL_PIPELINE_NAME,
  LABEL_PROMISE_NAME,
  LABEL_RESOURCE_NAME,
  LABEL_WORK_TYPE,
  LABEL_WORKFLOW_ACTION,
  LABEL_WORKFLOW_TYPE,
} from './kratixNames.ts';

export interface WorkflowTarget {
  object: StoredObject;
  workflowType: 'resource' | 'promise';
  action: 'configure' | 'delete';
  promise: KratixPromise;
  plural: string;
  pipelines: Pipeline[];
  /** Identifies the inputs (Promise spec, object spec) the run is for. */
  hash: string;
  /** Namespace for WorkflowRuns and Works. */
  namespace: string;
  /**
   * The pipelines whose Works the object's status says were written (its last run's `worksFor`), when it says: the
   * Work of any other pipeline is created without being read first (see EnsureOptions.likelyNew).
   */
  worksWritten?: readonly string[];
}

export interface WorkflowOutcome {
  ok: boolean;
  failure?: string;
  failedPipeline?: string;
  /** status.yaml fields of every pipeline, merged in order (top-level keys replace; conditions merge by type). */
  status: Record<string, unknown>;
  control: WorkflowControl;
  succeeded: number;
  runs: string[];
  /** Dry runs only: each pipeline's output files, by pipeline name. */
  outputs?: Map<string, OutputFile[]>;
}

export interface RunOptions {
  readConfig?: (kind: 'ConfigMap' | 'Secret', name: string) => Promise<Record<string, string> | undefined>;
  /** Run the steps but record nothing (no WorkflowRun, no Work): outputs come back in the outcome. */
  dryRun?: boolean;
  /** Pipelines that already finished in an attempt cut short by a restart: not run again (their Work is written). */
  completed?: ReadonlyMap<string, CompletedRun>;
  /**
   * Aborts the steps (the controller stopping): the run is left unfinished, as after a crash, and the call throws, so
   * the object keeps saying Running and the next start resumes it.
   */
  signal?: AbortSignal;
}

export interface CompletedRun {
  /** The WorkflowRun's name. */
  name: string;
  /** The status.yaml fields it produced. */
  status: Record<string, unknown>;
}

export interface WorkflowExecutorOptions {
  client: Client;
  runner: PipelineRunner;
  /** WorkflowRuns kept per object (older ones are deleted), as Kratix keeps 5 Jobs per pipeline. */
  runsToKeep?: number;
  now?: () => Date;
  random?: () => string;
  /**
   * Issues a token for a service account, valid for `seconds` (pipelines with `spec.rbac`); with the CA steps
   * verify the API by. Without it such pipelines fail, saying so.
   */
  /** Seals the Works it writes (the scheduler places only sealed Works), and the runs it dispatches. */
  seal: WorkSeal;
  /**
   * With several replicas: runs are not carried out here but recorded with what any replica needs to run them,
   * claimed by a RunWorker, and awaited through this.
   */
  dispatch?: RunDispatch;
  /** Issues a run's token; bound to its WorkflowRun when there is one (a dry run has none), so it ends with the run. */
  tokens?: { issue(namespace: string, serviceAccount: string, seconds: number, run?: { name: string; uid: string }): Promise<string>; caCert: string };
}

type WorkflowRunStatus = NonNullable<WorkflowRun['status']>;

/** Where dispatched runs are awaited: resolves with the run once it has Succeeded or Failed. */
export interface RunDispatch {
  awaitRun(namespace: string, name: string): Promise<StoredObject>;
  /**
   * A claim for this replica's own RunWorker, when it takes the next run at once (see RunWorker.claimHere): the run
   * is created claimed, so no replica claims it by a write of its own. Undefined: the run is created for any replica.
   */
  claimHere?(): HereClaim | undefined;
}

/** A run's claim by this replica's worker, made before the run exists: the run is created with it, then handed over. */
export interface HereClaim {
  claim: { holder: string; attempt: number; renewTime: string };
  /** The run as created (with the claim): the worker carries it out. */
  start(run: StoredObject): void;
  /** The run was not created: the worker's room is given back. */
  cancel(): void;
}

/** A dispatched run not yet Succeeded or Failed (pending, or claimed by a replica). */
export function isUnfinishedDispatch(run: StoredObject & { spec?: { execution?: unknown }; status?: { phase?: string } }): boolean {
  return run.spec?.execution !== undefined && run.status?.phase !== 'Succeeded' && run.status?.phase !== 'Failed';
}

/** The annotation `kubectl apply` keeps the whole applied object in. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** What a dispatched run carries (RunExecution), from the target as this replica sees it now. */
export function executionOf(target: WorkflowTarget, pipeline: Pipeline, input: StoredObject): RunExecution {
  const { apiVersion, kind, metadata, spec } = target.promise;
  const { [LAST_APPLIED]: _applied, ...annotations } = metadata.annotations ?? {};
  return {
    pipeline,
    input,
    plural: target.plural,
    namespace: target.namespace,
    // Not its API nor its workflows (the run carries its own pipeline), nor its managed fields or the copy of the whole
    // Promise that `kubectl apply` leaves in an annotation: they can be large, and every run of the fleet carries this.
    promise: {
      apiVersion,
      kind,
      metadata: {
        name: metadata.name,
        uid: metadata.uid,
        resourceVersion: metadata.resourceVersion,
        creationTimestamp: metadata.creationTimestamp,
        ...(Object.keys(annotations).length ? { annotations } : {}),
      },
      spec: { destinationSelectors: spec?.destinationSelectors ?? [] },
    },
    ...(workIsNew(target, pipeline) ? { workIsNew: true } : {}),
  };
}

/** Whether the target's status says the pipeline's Work was never written (WorkflowTarget.worksWritten). */
function workIsNew(target: WorkflowTarget, pipeline: Pipeline): boolean {
  return target.worksWritten !== undefined && !target.worksWritten.includes(pipeline.metadata.name);
}

/** The target a dispatched run was started for, as a RunWorker rebuilds it from the run. */
export function targetOfRun(run: StoredObject & { spec?: { workflowType?: string; action?: string; hash?: string; execution?: RunExecution } }): {
  target: WorkflowTarget;
  pipeline: Pipeline;
  input: StoredObject;
} {
  const x = run.spec?.execution;
  if (!x) throw new Error(`WorkflowRun ${run.metadata.name} carries nothing to run`);
  const target: WorkflowTarget = {
    object: x.input,
    workflowType: run.spec?.workflowType === 'promise' ? 'promise' : 'resource',
    action: run.spec?.action === 'delete' ? 'delete' : 'configure',
    promise: x.promise,
    plural: x.plural,
    pipelines: [x.pipeline],
    hash: run.spec?.hash ?? '',
    namespace: x.namespace,
    // What the run needs of the status it was started from: whether its pipeline's Work was written before.
    worksWritten: x.workIsNew ? [] : [x.pipeline.metadata.name],
  };
  return { target, pipeline: x.pipeline, input: x.input };
}

/** The result of a run another replica carried out, as far as the workflow needs it (its Work is written). */
function dispatchedResult(run: StoredObject & { status?: WorkflowRunStatus }): PipelineResult {
  const st = run.status ?? {};
  const ok = st.phase === 'Succeeded';
  return {
    ok,
    ...(ok ? {} : { failure: st.message ?? 'failed' }),
    steps: [],
    outputs: [],
    status: st.output?.status ?? {},
    selectors: [],
    control: st.output?.control ?? {},
  };
}

/** Kratix's status.yaml merge: shallow, with `conditions` merged by type. */
export function mergeStatus(current: Record<string, unknown>, incoming: Record<string, unknown>): Record<string, unknown> {
  const out = { ...current, ...incoming };
  if (Array.isArray(incoming.conditions) && Array.isArray(current.conditions)) {
    const typeOf = (c: unknown): unknown => (isPlainObject(c) ? c.type : undefined);
    const byType = new Map<unknown, unknown>(current.conditions.map((c: unknown) => [typeOf(c), c]));
    for (const c of incoming.conditions) byType.set(typeOf(c), c);
    out.conditions = [...byType.values()];
  }
  return out;
}

/** The name a dry run's token is bound to: it has no WorkflowRun, so the executor vouches for it while it runs. */
export const DRY_RUN_BINDING = 'dry-run';

export class WorkflowExecutor {
  private readonly opts: WorkflowExecutorOptions;
  private readonly dryRuns = new Set<string>();

  /** Whether a dry run's token binding (its uid) belongs to a dry run still running in this process. */
  isLiveDryRun(uid: string): boolean {
    return this.dryRuns.has(uid);
  }

  constructor(opts: WorkflowExecutorOptions) {
    this.opts = opts;
  }

  /** The pipeline's account and grants (made or brought up to date), and a token for this run. */
  private async apiAccess(target: WorkflowTarget, pipeline: Pipeline, boundTo: { name: string; uid: string }): Promise<ApiCredentials> {
    const { tokens } = this.opts;
    if (!tokens) throw new Error('pipelines that use the platform API need FleetOps to issue tokens');
    const id = {
      promise: target.promise.metadata.name,
      workflowType: target.workflowType,
      action: target.action,
      pipeline: pipeline.metadata.name,
      namespace: target.namespace,
      promiseUid: target.promise.metadata.uid,
    };
    const account = await ensurePipelineAccess(this.opts.client, id, pipeline.spec.rbac ?? {});
    // Valid for the run: the longest a step may take, and some margin.
    const timeout = pipeline.metadata.annotations?.[ANNOTATION_TIMEOUT];
    const seconds = Math.ceil((timeout ? parseGoDuration(timeout) : 10 * 60_000) / 1000) * pipeline.spec.containers.length + 300;
    return { token: await tokens.issue(target.namespace, account, seconds, boundTo), caCert: tokens.caCert, namespace: target.namespace };
  }

  private now(): Date {
    return (this.opts.now ?? (() => new Date()))();
  }

  async run(target: WorkflowTarget, log: Logger, options: RunOptions = {}): Promise<WorkflowOutcome> {
    const { readConfig, dryRun = false } = options;
    const outcome: WorkflowOutcome = { ok: true, status: {}, control: {}, succeeded: 0, runs: [], ...(dryRun ? { outputs: new Map() } : {}) };
    let input = target.object;
    for (const pipeline of target.pipelines) {
      const done = options.completed?.get(pipeline.metadata.name);
      if (done) {
        outcome.runs.unshift(done.name);
        outcome.status = mergeStatus(outcome.status, done.status);
        input = { ...input, status: mergeStatus(isPlainObject(input.status) ? input.status : {}, done.status) };
        outcome.succeeded++;
        continue;
      }
      const here = dryRun ? undefined : this.opts.dispatch?.claimHere?.();
      let run: StoredObject | undefined;
      try {
        run = dryRun ? undefined : await this.startRun(target, pipeline, input, here?.claim);
      } catch (err) {
        here?.cancel();
        throw err;
      }
      if (run) outcome.runs.unshift(run.metadata.name);
      if (run && here) here.start(run);
      const started = Date.now();
      // With several replicas, any replica's RunWorker carries the run out; this one waits for its end.
      const result =
        run && this.opts.dispatch
          ? dispatchedResult(await this.opts.dispatch.awaitRun(run.metadata.namespace ?? '', run.metadata.name))
          : await this.execute(target, pipeline, input, {
              ...(run ? { run: () => run } : {}),
              ...(readConfig ? { readConfig } : {}),
              ...(options.signal ? { signal: options.signal } : {}),
            });
      options.signal?.throwIfAborted();
      if (dryRun) outcome.outputs?.set(pipeline.metadata.name, result.outputs);
      log.info({ pipeline: pipeline.metadata.name, ok: result.ok, durationMs: Date.now() - started, dryRun }, 'pipeline finished');
      if (!result.ok) {
        outcome.ok = false;
        outcome.failure = result.failure ?? 'failed';
        outcome.failedPipeline = pipeline.metadata.name;
        return outcome;
      }
      outcome.status = mergeStatus(outcome.status, result.status);
      // The next pipeline sees the status written so far, as Kratix's reader fetches the live object.
      input = { ...input, status: mergeStatus(isPlainObject(input.status) ? input.status : {}, result.status) };
      if (result.control.suspend || result.control.retryAfterMs !== undefined) {
        outcome.control = result.control;
        return outcome; // no Work, later pipelines wait (Kratix's workflow-control)
      }
      outcome.succeeded++;
    }
    return outcome;
  }

  /**
   * Carries out one pipeline for the target, here: its steps, then (configure, succeeded) its Work, then its
   * WorkflowRun's result. `run` gives the run as last written (a RunWorker renews its claim meanwhile, and a result
   * written over a claim taken by another replica is refused as a conflict); without one it is a dry run.
   */
  async execute(
    target: WorkflowTarget,
    pipeline: Pipeline,
    input: StoredObject,
    options: {
      run?: () => StoredObject;
      readConfig?: RunOptions['readConfig'];
      signal?: AbortSignal;
      /** Before the Work and the result are written: false when this replica may no longer record the run. */
      beforeRecord?: () => Promise<boolean>;
      /** A step of the run has its slot and goes into its sandbox. */
      onSandbox?: () => void;
    },
  ): Promise<PipelineResult> {
    const started = Date.now();
    const run = options.run?.();
    // The run's token is bound to its WorkflowRun; a dry run has none, so this executor vouches for it while it runs.
    const boundTo = run ? { name: run.metadata.name, uid: run.metadata.uid } : { name: DRY_RUN_BINDING, uid: randomUUID() };
    if (!run) this.dryRuns.add(boundTo.uid);
    let result: PipelineResult;
    try {
      const context = {
        action: target.action,
        workflowType: target.workflowType,
        promiseName: target.promise.metadata.name,
        object: input,
        plural: target.plural,
        ...(target.workflowType === 'resource' ? { outputScope: outputScopeOf(target.promise, target.namespace) } : {}),
        ...(options.readConfig ? { readConfig: options.readConfig } : {}),
        ...(this.opts.tokens ? { apiAccess: (p: Pipeline) => this.apiAccess(target, p, boundTo) } : {}),
      };
      // jobOptions.backoffLimit: run again at once, as a Job starts a new Pod, before the failure counts.
      const limit = backoffLimitOf(pipeline);
      let attempts = 0;
      do {
        result = await this.opts.runner.run(pipeline, context, {
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onSandbox ? { onSandbox: options.onSandbox } : {}),
        });
        attempts++;
      } while (!result.ok && attempts <= limit && !options.signal?.aborted);
      if (!result.ok && limit && attempts > limit)
        result.failure = `${result.failure ?? 'failed'} (after ${attempts} attempts: jobOptions.backoffLimit ${limit})`;
    } catch (err) {
      result = {
        ok: false,
        failure: `pipeline ${pipeline.metadata.name} could not run: ${errorMessage(err)}`,
        steps: [],
        outputs: [],
        status: {},
        selectors: [],
        control: {},
      };
    } finally {
      if (!run) this.dryRuns.delete(boundTo.uid);
    }
    if (!run || options.signal?.aborted) return result;
    if (options.beforeRecord && !(await options.beforeRecord())) return result;
    // The Work is written before the run is marked Succeeded: a Succeeded run always has its Work (crash recovery
    // relies on it).
    const succeeded = result.ok && !result.control.suspend && result.control.retryAfterMs === undefined;
    if (succeeded && target.action === 'configure') await this.writeWork(target, pipeline, result);
    await this.finishRun(options.run?.() ?? run, result, Date.now() - started);
    return result;
  }

  /** Whether runs are carried out by RunWorkers on any replica (a shared store) rather than here. */
  dispatching(): boolean {
    return this.opts.dispatch !== undefined;
  }

  /** With several replicas: waits for a run another replica carries out (a new leader adopting its predecessor's). */
  awaitDispatched(run: StoredObject): Promise<StoredObject> | undefined {
    return this.opts.dispatch && isUnfinishedDispatch(run) ? this.opts.dispatch.awaitRun(run.metadata.namespace ?? '', run.metadata.name) : undefined;
  }

  /** The Work holding a pipeline's outputs for the target (deterministic: one per object and pipeline). */
  workName(target: Pick<WorkflowTarget, 'promise' | 'object' | 'workflowType'>, pipeline: string): string {
    const promise = target.promise.metadata.name;
    return target.workflowType === 'promise' ? `${promise}-${pipeline}` : `${promise}-${target.object.metadata.name}-${pipeline}`;
  }

  private labels(target: WorkflowTarget, pipeline: string): Record<string, string> {
    const labels: Record<string, string> = { [LABEL_PROMISE_NAME]: target.promise.metadata.name, [LABEL_PIPELINE_NAME]: pipeline };
    if (target.workflowType === 'resource') labels[LABEL_RESOURCE_NAME] = target.object.metadata.name;
    return labels;
  }

  private async writeWork(target: WorkflowTarget, pipeline: Pipeline, result: PipelineResult): Promise<void> {
    const promiseSelectors: Record<string, string> = {};
    for (const s of target.promise.spec?.destinationSelectors ?? []) Object.assign(promiseSelectors, s.matchLabels);
    const workloadGroups = buildWorkloadGroups(result.outputs, result.selectors, promiseSelectors, `${target.workflowType}-workflow`);
    const spec: Record<string, unknown> = { promiseName: target.promise.metadata.name, workloadGroups };
    if (target.workflowType === 'resource') spec.resourceName = target.object.metadata.name;
    await ensureWork(
      this.opts.client,
      this.opts.seal,
      {
        apiVersion: KRATIX_API,
        kind: 'Work',
        metadata: {
          name: this.workName(target, pipeline.metadata.name),
          namespace: target.namespace,
          labels: { ...this.labels(target, pipeline.metadata.name), [LABEL_WORK_TYPE]: target.workflowType },
        },
        spec,
      },
      workIsNew(target, pipeline) ? { likelyNew: true } : {},
    );
  }

  /**
   * Deletes the Works of pipelines the workflow no longer has (Kratix's cleanup after a successful configure). The
   * caller passes the pipelines of the previous run (kept in the object's status), so no list is needed.
   */
  async removeStaleWorks(target: WorkflowTarget, previousPipelines: readonly string[]): Promise<void> {
    const current = new Set(target.pipelines.map((p) => p.metadata.name));
    for (const name of previousPipelines) {
      if (!current.has(name))
        await this.opts.client.delete({ apiVersion: KRATIX_API, kind: 'Work', namespace: target.namespace, name: this.workName(target, name) });
    }
  }

  /**
   * The run history to keep: the newest `runsToKeep` names of `latest` then `previous`; the older ones are deleted.
   * The list lives in the object's status, so pruning costs no list of all runs.
   */
  async pruneRuns(namespace: string, latest: readonly string[], previous: readonly string[], keep = this.opts.runsToKeep ?? 5): Promise<string[]> {
    const all = [...latest, ...previous.filter((n) => !latest.includes(n))];
    for (const name of all.slice(keep)) await this.opts.client.delete({ apiVersion: FLEETOPS_API, kind: 'WorkflowRun', namespace, name });
    return all.slice(0, keep);
  }

  /** Records the run; a dispatched run claimed by this replica's worker (`claim`) is created with its claim. */
  private async startRun(target: WorkflowTarget, pipeline: Pipeline, input: StoredObject, claim?: HereClaim['claim']): Promise<StoredObject> {
    const { object } = target;
    const base = `${target.promise.metadata.name}${target.workflowType === 'resource' ? `-${object.metadata.name}` : ''}-${pipeline.metadata.name}`
      .slice(0, 56)
      .replace(/[^a-z0-9]+$/, '');
    // Five hex digits, as Kubernetes' generateName adds five characters: from randomUUID, which hands out UUIDs from
    // a buffer it fills in bulk, where randomBytes asked OpenSSL for three bytes at every run.
    const suffix = (this.opts.random ?? (() => randomUUID().slice(0, 5)))();
    const labels = {
      ...this.labels(target, pipeline.metadata.name),
      [LABEL_WORKFLOW_TYPE]: target.workflowType,
      [LABEL_WORKFLOW_ACTION]: target.action,
      [LABEL_HASH]: target.hash,
    };
    const run = {
      apiVersion: FLEETOPS_API,
      kind: 'WorkflowRun',
      metadata: { name: `${base}-${suffix}`, namespace: target.namespace, labels },
      spec: {
        promiseName: target.promise.metadata.name,
        workflowType: target.workflowType,
        action: target.action,
        pipeline: pipeline.metadata.name,
        object: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          namespace: object.metadata.namespace ?? '',
          name: object.metadata.name,
          uid: object.metadata.uid,
          generation: object.metadata.generation ?? 1,
        },
        hash: target.hash,
        steps: pipeline.spec.containers.map((c) => ({ name: c.name, image: c.image ?? '', command: [...(c.command ?? []), ...(c.args ?? [])] })),
        ...(this.opts.dispatch ? { execution: executionOf(target, pipeline, input) } : {}),
      },
      ...(claim ? { status: { phase: 'Running', claim, startTime: rfc3339Seconds(this.now()) } } : {}),
    };
    // A dispatched run is sealed like a Work: a replica runs only what FleetOps asked for.
    // The run is only read from here on (its status is written as a new object): the store's shared copy.
    return this.opts.client.create(this.opts.dispatch ? this.opts.seal.sealed(run) : run, { shared: true, ...(claim ? { withStatus: true } : {}) });
  }

  private async finishRun(run: StoredObject, result: PipelineResult, durationMs: number): Promise<void> {
    const steps = result.steps.map((s: StepRecord) => ({ ...s, log: s.log.slice(-64 * 1024) }));
    const claim = isPlainObject(run.status) ? run.status.claim : undefined;
    await this.opts.client.updateStatus(
      {
        ...run,
        status: {
          ...(claim ? { claim } : {}), // which replica ran it, and at which attempt
          phase: result.ok ? 'Succeeded' : 'Failed',
          message: result.ok ? `${steps.length} step(s) succeeded` : (result.failure ?? 'failed'),
          startTime: run.metadata.creationTimestamp,
          completionTime: rfc3339Seconds(this.now()),
          durationMs,
          steps,
          ...(result.ok ? { output: { status: result.status, ...(Object.keys(result.control).length ? { control: result.control } : {}) } } : {}),
        },
      },
      // Finished: its watchers (the workflow awaiting it) get it, and nothing reads it back but a list or a person.
      { shared: true, uncached: true },
    );
  }
}
